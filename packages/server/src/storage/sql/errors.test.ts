import { describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import { databaseOutageOf, isUnstorableText, isUniqueViolation } from './errors.js';

/** An error as pg or Node makes them: a message and a code. */
function withCode(code: string, message = `error ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('databaseOutageOf', () => {
  it.each([
    ['ECONNREFUSED', 'connection_refused', 'connection refused (ECONNREFUSED)'],
    ['ECONNRESET', 'connection_lost', 'the connection to the database was reset (ECONNRESET)'],
    ['EPIPE', 'connection_lost', 'the connection to the database broke (EPIPE)'],
    ['ETIMEDOUT', 'no_answer', 'the database did not answer in time (ETIMEDOUT)'],
    ['EHOSTUNREACH', 'no_answer', 'the database host cannot be reached (EHOSTUNREACH)'],
    ['ENOTFOUND', 'no_answer', 'the database host name does not resolve (ENOTFOUND)'],
    ['57P01', 'shutting_down', 'the database is shutting down (57P01 admin_shutdown)'],
    ['57P02', 'shutting_down', 'the database is shutting down (57P02 crash_shutdown)'],
    ['57P03', 'starting_up', 'the database is starting up or shutting down (57P03 cannot_connect_now)'],
    ['53300', 'too_many_connections', 'the database has no connection slot left (53300 too_many_connections)'],
    ['08006', 'connection_lost', 'the connection to the database broke (08006 connection exception)'],
    ['08001', 'connection_lost', 'the connection to the database broke (08001 connection exception)'],
    ['08P01', 'connection_lost', 'the connection to the database broke (08P01 connection exception)'],
  ])('takes %s for the database being away (%s)', (code, reason, text) => {
    expect(databaseOutageOf(withCode(code))).toEqual({ reason, text });
  });

  it.each([
    ['Connection terminated unexpectedly', 'connection_lost'],
    ['Connection terminated due to connection timeout', 'no_answer'],
    ['Client has encountered a connection error and is not queryable', 'connection_lost'],
    ['timeout exceeded when trying to connect', 'no_answer'],
  ])('takes the driver\'s "%s" for the database being away', (message, reason) => {
    expect(databaseOutageOf(new Error(message))).toEqual({ reason, text: expect.stringContaining(`(${message})`) });
  });

  it('looks through the causes of a wrapped error', () => {
    const wrapped = new TasklaneError('INTERNAL', 'Could not save the task', {}, { cause: withCode('57P01') });
    expect(databaseOutageOf(wrapped)?.reason).toBe('shutting_down');
  });

  it('leaves alone what a statement or a request got wrong', () => {
    for (const error of [
      withCode('40001', 'could not serialize access'),
      withCode('23505', 'duplicate key'),
      withCode('42P01', 'relation does not exist'),
      withCode('28P01', 'password authentication failed'),
      withCode('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
      withCode('SQLITE_BUSY', 'database is locked'),
      new TasklaneError('TASK_NOT_FOUND', 'No task has id "x"'),
      new Error('The PostgreSQL store is closed.'),
      undefined,
      'Connection terminated unexpectedly',
    ]) {
      expect(databaseOutageOf(error)).toBeUndefined();
    }
  });
});

describe('isUnstorableText', () => {
  it('is PostgreSQL refusing a NUL in text (22021) or in jsonb (22P05)', () => {
    expect(isUnstorableText(withCode('22021'))).toBe(true);
    expect(isUnstorableText(withCode('22P05'))).toBe(true);
    expect(isUnstorableText(withCode('22P02'))).toBe(false);
    expect(isUnstorableText(undefined)).toBe(false);
  });
});

describe('isUniqueViolation', () => {
  it('is a unique key on either store', () => {
    expect(isUniqueViolation(withCode('23505'))).toBe(true);
    expect(isUniqueViolation(withCode('SQLITE_CONSTRAINT_UNIQUE'))).toBe(true);
    expect(isUniqueViolation(withCode('23503'))).toBe(false);
  });
});
