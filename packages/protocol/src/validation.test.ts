import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENDPOINTS } from './endpoints.js';
import { TasklaneError } from './errors.js';
import { MAX_EVENTS_PER_BATCH, MAX_METRICS_PER_FILTER, MAX_OTHER_EVENTS_PER_BATCH, MAX_VECTOR_VALUES } from './event-limits.js';
import { parseEvent } from './events.js';
import { parseInput, refuseOverCap } from './validation.js';

const TASK_ID = '3f2c9a1b4d5e6f708192a3b4c5d6e7f8';

/** Runs `fn` and answers the TasklaneError it threw; fails the test if it threw nothing or something else. */
function invalidInput(fn: () => unknown): TasklaneError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TasklaneError);
    const tasklaneError = error as TasklaneError;
    expect(tasklaneError.code).toBe('INVALID_INPUT');
    expect(tasklaneError.status).toBe(400);
    expect(tasklaneError.subcode).toBe(12);
    return tasklaneError;
  }
  throw new Error('expected parseInput to throw, but it returned normally');
}

describe('parseInput', () => {
  it('answers the parsed body when it is valid', () => {
    expect(parseInput(ENDPOINTS['tasks.get_by_id'].request, { task: TASK_ID })).toEqual({ task: TASK_ID });
  });

  it('names a missing required field and says it is missing', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, {}));
    expect(error.details).toEqual({ fields: ['body.task'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.task: required field is missing"`);
  });

  it('names a field of the wrong type and shows what it got', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, { task: 42 }));
    expect(error.details).toEqual({ fields: ['body.task'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.task: expected a string, got 42"`);
  });

  it('shows a string that is not an id, quoted', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, { task: 'abc' }));
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.task: expected a 32-character hex id, got "abc""`);
  });

  it('names a number out of range with the bound and the value', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.set_progress'].request, { task: TASK_ID, progress: 250 }));
    expect(error.details).toEqual({ fields: ['body.progress'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.progress: expected a number ≤ 100, got 250"`);
  });

  it('accepts the bounds of a range themselves', () => {
    const schema = ENDPOINTS['tasks.set_progress'].request;
    expect(parseInput(schema, { task: TASK_ID, progress: 0 })).toEqual({ task: TASK_ID, progress: 0 });
    expect(parseInput(schema, { task: TASK_ID, progress: 100 })).toEqual({ task: TASK_ID, progress: 100 });
  });

  it('lists the options of an enum it does not know', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.create'].request, { name: 'train', type: 'bogus' }));
    expect(error.details).toEqual({ fields: ['body.type'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.type: expected one of "training", "testing", "inference", "data_processing", "application", "monitor", "controller", "optimizer", "service", "qc", "custom", got "bogus""`);
  });

  it('refuses a name shorter than 3 characters', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.create'].request, { name: 'ab' }));
    expect(error.details).toEqual({ fields: ['body.name'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.name: names must have at least 3 characters, got "ab""`);
  });

  it('trims a name before counting its characters', () => {
    const schema = ENDPOINTS['tasks.create'].request;
    invalidInput(() => parseInput(schema, { name: '  ab  ' }));
    expect(parseInput(schema, { name: '  abc  ' })).toEqual({ name: 'abc' });
  });

  it('names every wrong field, nested ones by their path', () => {
    const error = invalidInput(() =>
      parseInput(ENDPOINTS['tasks.edit_hyper_params'].request, {
        task: 7,
        hyperparams: [{ section: 'Args', name: 'lr', value: 0.1 }, { section: '', name: 'epochs' }],
        replace_hyperparams: 'some',
      }),
    );
    expect(error.details).toEqual({ fields: ['body.task', 'body.hyperparams.1.section', 'body.replace_hyperparams'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.task: expected a string, got 7; body.hyperparams.1.section: cannot be empty, got ""; body.replace_hyperparams: expected one of "none", "section", "all", got "some""`);
  });

  it('uses the name of the place the input came from', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, {}, 'query'));
    expect(error.details).toEqual({ fields: ['query.task'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: query.task: required field is missing"`);
  });

  it('shortens a long value it shows', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, { task: 'x'.repeat(200) }));
    expect(error.message).toContain(`got "${'x'.repeat(56)}...`);
    expect(error.message).not.toContain('x'.repeat(60));
  });

  it('refuses a body that is not an object', () => {
    const error = invalidInput(() => parseInput(ENDPOINTS['tasks.get_by_id'].request, ['a']));
    expect(error.details).toEqual({ fields: ['body'] });
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body: expected an object, got ["a"]"`);
  });

  it('turns hyperparameter values given as numbers or booleans into strings, as ClearML does', () => {
    const parsed = parseInput(ENDPOINTS['tasks.edit_hyper_params'].request, {
      task: TASK_ID,
      hyperparams: [
        { section: 'Args', name: 'lr', value: 0.01 },
        { section: 'Args', name: 'epochs', value: 10 },
        { section: 'Args', name: 'shuffle', value: false },
        { section: 'Args', name: 'resume', value: null },
        { section: 'Args', name: 'optimizer', value: 'adam' },
        { section: 'Args', name: 'seed' },
      ],
    });
    expect(parsed.hyperparams.map((p) => p.value)).toEqual(['0.01', '10', 'false', '', 'adam', '']);
  });

  it('turns hyperparameter values of a new task into strings too', () => {
    const parsed = parseInput(ENDPOINTS['tasks.create'].request, {
      name: 'train',
      hyperparams: { Args: { batch_size: { section: 'Args', name: 'batch_size', value: 32, type: 'int' } } },
      configuration: { flags: { name: 'flags', value: true } },
    });
    expect(parsed.hyperparams).toEqual({ Args: { batch_size: { section: 'Args', name: 'batch_size', value: '32', type: 'int' } } });
    expect(parsed.configuration).toEqual({ flags: { name: 'flags', value: 'true' } });
  });

  it('refuses a hyperparameter value that is an object', () => {
    const error = invalidInput(() =>
      parseInput(ENDPOINTS['tasks.edit_hyper_params'].request, {
        task: TASK_ID,
        hyperparams: [{ section: 'Args', name: 'lr', value: { a: 1 } }],
      }),
    );
    expect(error.details).toEqual({ fields: ['body.hyperparams.0.value'] });
  });

  it('strips unknown fields, which ClearML clients send', () => {
    const parsed = parseInput(ENDPOINTS['tasks.ping'].request, { task: TASK_ID, method: 'get', _allow_extra_fields_: true });
    expect(parsed).toEqual({ task: TASK_ID });
  });

  it('strips unknown fields of nested objects too', () => {
    const parsed = parseInput(ENDPOINTS['tasks.create'].request, {
      name: 'train',
      created_by_sdk: '1.16',
      script: { entry_point: 'train.py', legacy_field: 1 },
    });
    expect(parsed).toEqual({ name: 'train', script: { entry_point: 'train.py' } });
  });

  it('fills defaults: tasks.reset', () => {
    expect(parseInput(ENDPOINTS['tasks.reset'].request, { task: TASK_ID })).toEqual({
      task: TASK_ID,
      force: false,
      clear_all: false,
      delete_output_models: true,
    });
  });

  it('keeps values given instead of the defaults', () => {
    expect(parseInput(ENDPOINTS['tasks.reset'].request, { task: TASK_ID, force: true, delete_output_models: false })).toEqual({
      task: TASK_ID,
      force: true,
      clear_all: false,
      delete_output_models: false,
    });
  });

  it('fills defaults: tasks.edit_hyper_params, workers.register, workers.get_all', () => {
    expect(parseInput(ENDPOINTS['tasks.edit_hyper_params'].request, { task: TASK_ID, hyperparams: [] })).toEqual({
      task: TASK_ID,
      hyperparams: [],
      replace_hyperparams: 'none',
      force: false,
    });
    expect(parseInput(ENDPOINTS['workers.register'].request, { worker: 'gpu-box:0' })).toEqual({ worker: 'gpu-box:0', timeout: 600 });
    expect(parseInput(ENDPOINTS['workers.get_all'].request, {})).toEqual({ last_seen: 3600 });
  });

  it('accepts a single string where ClearML takes a list', () => {
    expect(parseInput(ENDPOINTS['tasks.get_all'].request, { status: 'queued', tags: 'best' })).toEqual({
      status: ['queued'],
      tags: ['best'],
    });
  });

  it('names the first five problems and counts the others, in the message and in error_data.fields', () => {
    const schema = z.object({ list: z.array(z.number()) });
    const error = invalidInput(() => parseInput(schema, { list: Array.from({ length: 12 }, (_, i) => `n${i}`) }));
    expect(error.details).toEqual({
      fields: ['body.list.0', 'body.list.1', 'body.list.2', 'body.list.3', 'body.list.4'],
      more_problems: 7,
    });
    expect(error.message).toMatchInlineSnapshot(
      `"Invalid request: body.list.0: expected a number, got "n0"; body.list.1: expected a number, got "n1"; body.list.2: expected a number, got "n2"; body.list.3: expected a number, got "n3"; body.list.4: expected a number, got "n4"; and 7 more problems"`,
    );
  });

  it('shows the start of a huge value without serializing all of it', () => {
    const huge = Array.from({ length: 1_000_000 }, (_, i) => ({ i }));
    const started = performance.now();
    const error = invalidInput(() => parseInput(z.object({ task: z.string() }), { task: huge }));
    expect(performance.now() - started).toBeLessThan(100);
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.task: expected a string, got [{"i":0},{"i":1},{"i":2},{"i":3},{"i":4},{"i":5},{"i":6},..."`);
  });

  it('refuses a value over a cap with REQUEST_TOO_LARGE, before the schema looks at its items', () => {
    let itemsSeen = 0;
    const item = z.number().refine(() => (itemsSeen += 1) > 0);
    const schema = refuseOverCap(z.array(item), (value) =>
      Array.isArray(value) && value.length > 3 ? { message: `at most 3, got ${value.length}`, details: { limit: 3, count: value.length } } : undefined,
    );
    expect(parseInput(schema, [1, 2, 3])).toEqual([1, 2, 3]);
    let caught: unknown;
    try {
      parseInput(schema, [1, 2, 3, 4]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TasklaneError);
    expect(caught).toMatchObject({ code: 'REQUEST_TOO_LARGE', status: 413, message: 'at most 3, got 4', details: { limit: 3, count: 4 } });
    expect(itemsSeen).toBe(3);
  });

  it('caps every events request: batches count first, lists of read requests have a length', () => {
    const addBatch = ENDPOINTS['events.add_batch'].request;
    expect(() => parseInput(addBatch, Array<object>(MAX_EVENTS_PER_BATCH + 1).fill({}))).toThrow(
      expect.objectContaining({ code: 'REQUEST_TOO_LARGE', details: { limit: MAX_EVENTS_PER_BATCH, count: MAX_EVENTS_PER_BATCH + 1 } }),
    );
    const logs = Array<object>(MAX_OTHER_EVENTS_PER_BATCH + 1).fill({ type: 'log' });
    expect(() => parseInput(addBatch, logs)).toThrow(expect.objectContaining({ code: 'REQUEST_TOO_LARGE' }));
    expect(parseInput(addBatch, logs.slice(1))).toHaveLength(MAX_OTHER_EVENTS_PER_BATCH);
    const histogram = ENDPOINTS['events.scalar_metrics_iter_histogram'].request;
    const tooMany = Array.from({ length: MAX_METRICS_PER_FILTER + 1 }, (_, i) => ({ metric: `m${i}` }));
    expect(invalidInput(() => parseInput(histogram, { task: TASK_ID, metrics: tooMany })).details).toEqual({ fields: ['body.metrics'] });
    const vector = { type: 'training_stats_vector', task: TASK_ID, values: Array<number>(MAX_VECTOR_VALUES + 1).fill(0) };
    expect(() => parseEvent(vector)).toThrow(`values: expected a list of at most ${MAX_VECTOR_VALUES.toLocaleString('en')} finite numbers`);
    expect(parseEvent({ ...vector, values: vector.values.slice(1) })).toMatchObject({ type: 'training_stats_vector' });
  });
});
