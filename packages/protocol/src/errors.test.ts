import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, ERROR_SUBCODE, TasklaneError, isErrorCode, isTransientError, type ErrorCode } from './errors.js';

const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

interface DocumentedCode {
  code: string;
  status: number;
  subcode: number;
  when: string;
  whatToDo: string;
}

/** The rows of the table in docs/errors.md: `| \`CODE\` | HTTP | subcode | when | what to do |`. */
function readDocumentedCodes(): DocumentedCode[] {
  const text = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
      expect(cells, `docs/errors.md row has 5 cells: ${line}`).toHaveLength(5);
      const [code = '', status = '', subcode = '', when = '', whatToDo = ''] = cells;
      return { code: code.replace(/^`|`$/g, ''), status: Number(status), subcode: Number(subcode), when, whatToDo };
    });
}

describe('docs/errors.md', () => {
  const documented = readDocumentedCodes();

  it('lists exactly the codes of ERROR_STATUS, each once', () => {
    const names = documented.map((row) => row.code);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...CODES].sort());
  });

  it.each(CODES)('gives %s its HTTP status and ClearML subcode', (code) => {
    const row = documented.find((r) => r.code === code);
    expect(row).toBeDefined();
    expect(row?.status).toBe(ERROR_STATUS[code]);
    expect(row?.subcode).toBe(ERROR_SUBCODE[code]);
  });

  it.each(CODES)('says when %s happens and what to do', (code) => {
    const row = documented.find((r) => r.code === code);
    expect(row?.when.length).toBeGreaterThan(10);
    expect(row?.whatToDo.length).toBeGreaterThan(10);
  });
});

describe('error codes', () => {
  it('each have a ClearML subcode, and nothing else does', () => {
    expect(Object.keys(ERROR_SUBCODE).sort()).toEqual([...CODES].sort());
  });

  it('answer with the HTTP statuses ClearML clients understand', () => {
    expect(ERROR_STATUS).toEqual({
      INVALID_INPUT: 400,
      UNAUTHORIZED: 401,
      FORBIDDEN: 403,
      ENDPOINT_NOT_FOUND: 404,
      TASK_NOT_FOUND: 404,
      PROJECT_NOT_FOUND: 404,
      QUEUE_NOT_FOUND: 404,
      WORKER_NOT_FOUND: 404,
      MODEL_NOT_FOUND: 404,
      FILE_NOT_FOUND: 404,
      FILE_TOO_LARGE: 413,
      REQUEST_TOO_LARGE: 413,
      RANGE_NOT_SATISFIABLE: 416,
      INVALID_TRANSITION: 409,
      STATUS_CONFLICT: 409,
      TASK_READ_ONLY: 409,
      MODEL_READ_ONLY: 409,
      MODEL_IN_USE: 409,
      ALREADY_EXISTS: 409,
      PROJECT_NOT_EMPTY: 409,
      QUEUE_NOT_EMPTY: 409,
      UNSUPPORTED_MEDIA_TYPE: 415,
      TOO_MANY_REQUESTS: 429,
      INTERNAL: 500,
      SERVER_UNREACHABLE: 503,
      DATABASE_UNAVAILABLE: 503,
    });
  });

  it('use the ClearML subcodes of clearml-api.md §1.2 where one fits', () => {
    // 400/12 validation_error, 401/20 no_credentials, 400/101 invalid_task_id, 400/701 invalid_queue_id,
    // 400/1001 invalid_worker_id, 400/110 invalid_task_status, 400/121 failed_changing_task_status,
    // 400/801 expected_unique_data, 400/702 queue_not_empty, 500/1 internal_error, 400/403 project_not_found,
    // 400/201 invalid_model_id, 400/203 model_is_ready, 400/205 model_in_use.
    expect(ERROR_SUBCODE).toMatchObject({
      INVALID_INPUT: 12,
      UNAUTHORIZED: 20,
      TASK_NOT_FOUND: 101,
      PROJECT_NOT_FOUND: 403,
      QUEUE_NOT_FOUND: 701,
      WORKER_NOT_FOUND: 1001,
      INVALID_TRANSITION: 110,
      STATUS_CONFLICT: 121,
      TASK_READ_ONLY: 110,
      ALREADY_EXISTS: 801,
      QUEUE_NOT_EMPTY: 702,
      MODEL_NOT_FOUND: 201,
      MODEL_READ_ONLY: 203,
      MODEL_IN_USE: 205,
      INTERNAL: 1,
    });
  });

  it('are recognised by isErrorCode, and nothing else is', () => {
    for (const code of CODES) expect(isErrorCode(code)).toBe(true);
    for (const value of ['invalid_input', 'NOPE', '', 'toString', 'constructor', '__proto__', 400, undefined, null, {}]) {
      expect(isErrorCode(value)).toBe(false);
    }
  });
});

describe('TasklaneError', () => {
  it('carries its code, message, name, status and subcode', () => {
    const error = new TasklaneError('TASK_NOT_FOUND', 'Task 3f2c9a1b not found');
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(TasklaneError);
    expect(error.name).toBe('TasklaneError');
    expect(error.code).toBe('TASK_NOT_FOUND');
    expect(error.message).toBe('Task 3f2c9a1b not found');
    expect(error.status).toBe(404);
    expect(error.subcode).toBe(101);
    expect(error.details).toBeUndefined();
    expect(error.cause).toBeUndefined();
    expect(String(error)).toBe('TasklaneError: Task 3f2c9a1b not found');
    expect(error.stack).toContain('TasklaneError: Task 3f2c9a1b not found');
  });

  it.each(CODES)('answers the status and subcode of %s', (code) => {
    const error = new TasklaneError(code, 'message');
    expect(error.status).toBe(ERROR_STATUS[code]);
    expect(error.subcode).toBe(ERROR_SUBCODE[code]);
  });

  it('keeps its details as given', () => {
    const details = { task: '3f2c9a1b4d5e6f708192a3b4c5d6e7f8', current_status: 'completed', new_status: 'queued' };
    const error = new TasklaneError('INVALID_TRANSITION', 'Cannot enqueue task 3f2c9a1b', details);
    expect(error.details).toBe(details);
    expect(error.status).toBe(409);
    expect(error.subcode).toBe(110);
  });

  it('wraps a cause', () => {
    const cause = new Error('EACCES: permission denied');
    const error = new TasklaneError('INTERNAL', 'Could not write artifact "w.pt"', {}, { cause });
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({});
    expect(error.status).toBe(500);
    expect(error.subcode).toBe(1);
  });

  it('keeps code, details and cause read through a catch', () => {
    const cause = new TypeError('fetch failed');
    let caught: unknown;
    try {
      throw new TasklaneError('SERVER_UNREACHABLE', 'Cannot reach the Tasklane server', { url: 'http://127.0.0.1:8008' }, { cause });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TasklaneError);
    expect(caught).toMatchObject({ code: 'SERVER_UNREACHABLE', status: 503, subcode: 0, details: { url: 'http://127.0.0.1:8008' } });
    expect((caught as TasklaneError).cause).toBe(cause);
  });
});

describe('isTransientError', () => {
  it('is true for the server or its database being away, and for nothing else', () => {
    expect(isTransientError(new TasklaneError('SERVER_UNREACHABLE', 'Cannot reach the Tasklane server'))).toBe(true);
    expect(isTransientError(new TasklaneError('DATABASE_UNAVAILABLE', 'The database is unavailable'))).toBe(true);
    for (const code of CODES.filter((c) => c !== 'SERVER_UNREACHABLE' && c !== 'DATABASE_UNAVAILABLE')) {
      expect(isTransientError(new TasklaneError(code, 'message')), code).toBe(false);
    }
    // only Tasklane's errors: a plain error with the same code says nothing
    expect(isTransientError(Object.assign(new Error('x'), { code: 'DATABASE_UNAVAILABLE' }))).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });
});
