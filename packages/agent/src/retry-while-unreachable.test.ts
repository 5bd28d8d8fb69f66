import { describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import type { AgentLog } from './agent-log.js';
import { isUnreachable, retryWhileUnreachable } from './retry-while-unreachable.js';

/** A log that keeps its lines. */
function recordingLog(lines: string[]): AgentLog {
  const log: AgentLog = {
    debug: (_fields, message) => void lines.push(`debug ${message}`),
    info: (_fields, message) => void lines.push(`info ${message}`),
    warn: (_fields, message) => void lines.push(`warn ${message}`),
    error: (_fields, message) => void lines.push(`error ${message}`),
    child: () => log,
  };
  return log;
}

/** A call that fails with `errors` in turn, then answers `value`. */
function failingThen<T>(errors: Error[], value: T): { call: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    call: async () => {
      calls += 1;
      const error = errors[calls - 1];
      if (error !== undefined) throw error;
      return value;
    },
    calls: () => calls,
  };
}

describe('retryWhileUnreachable', () => {
  it('waits out a server whose database is away (503 DATABASE_UNAVAILABLE) as it waits out an unreachable server', async () => {
    const lines: string[] = [];
    const away = new TasklaneError('DATABASE_UNAVAILABLE', "The server's database is unavailable (connection refused (ECONNREFUSED)).");
    const unreachable = new TasklaneError('SERVER_UNREACHABLE', 'Cannot reach the Tasklane server');
    const { call, calls } = failingThen([away, unreachable, away], 'done');
    await expect(retryWhileUnreachable(call, { what: 'mark the task completed', log: recordingLog(lines), maxDelayMs: 1 })).resolves.toBe('done');
    expect(calls()).toBe(4);
    expect(lines).toEqual(['warn server unreachable; will retry to mark the task completed', 'info server reachable again: mark the task completed done']);
  });

  it('throws any other error at once', async () => {
    const { call, calls } = failingThen([new TasklaneError('INTERNAL', 'Unexpected server error')], 'done');
    await expect(retryWhileUnreachable(call, { what: 'read the task', log: recordingLog([]), maxDelayMs: 1 })).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(calls()).toBe(1);
  });

  it('counts both codes as transient, and nothing else', () => {
    expect(isUnreachable(new TasklaneError('DATABASE_UNAVAILABLE', 'x'))).toBe(true);
    expect(isUnreachable(new TasklaneError('SERVER_UNREACHABLE', 'x'))).toBe(true);
    expect(isUnreachable(new TasklaneError('STATUS_CONFLICT', 'x'))).toBe(false);
    expect(isUnreachable(new Error('fetch failed'))).toBe(false);
  });
});
