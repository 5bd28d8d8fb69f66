/**
 * Every error Tasklane reports has one of these codes. The HTTP status of the reply is the code's status, and the
 * ClearML-compatible `result_subcode` is taken from {@link ERROR_SUBCODE}.
 */
export const ERROR_STATUS = {
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
} as const;

/** One of Tasklane's error codes; user code can branch on `err.code`. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** ClearML's `result_subcode` for each code (see ClearML's `apierrors/errors.conf`), so ClearML clients can branch on it. */
export const ERROR_SUBCODE: Record<ErrorCode, number> = {
  INVALID_INPUT: 12,
  UNAUTHORIZED: 20,
  FORBIDDEN: 0,
  ENDPOINT_NOT_FOUND: 0,
  TASK_NOT_FOUND: 101,
  PROJECT_NOT_FOUND: 403,
  QUEUE_NOT_FOUND: 701,
  WORKER_NOT_FOUND: 1001,
  MODEL_NOT_FOUND: 201,
  FILE_NOT_FOUND: 0,
  FILE_TOO_LARGE: 0,
  REQUEST_TOO_LARGE: 0,
  RANGE_NOT_SATISFIABLE: 0,
  INVALID_TRANSITION: 110,
  STATUS_CONFLICT: 121,
  TASK_READ_ONLY: 110,
  MODEL_READ_ONLY: 203,
  MODEL_IN_USE: 205,
  ALREADY_EXISTS: 801,
  PROJECT_NOT_EMPTY: 402,
  QUEUE_NOT_EMPTY: 702,
  UNSUPPORTED_MEDIA_TYPE: 0,
  TOO_MANY_REQUESTS: 0,
  INTERNAL: 1,
  SERVER_UNREACHABLE: 0,
  DATABASE_UNAVAILABLE: 0,
};

/**
 * The codes of failures that pass by themselves (the server or its database is away for a while): a client waits and
 * sends the request again rather than giving up. The reply of a server carries a `Retry-After` header with them.
 */
export const TRANSIENT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['SERVER_UNREACHABLE', 'DATABASE_UNAVAILABLE']);

/** Tells whether an error is one of {@link TRANSIENT_ERROR_CODES}: trying again later may work. */
export function isTransientError(error: unknown): boolean {
  return error instanceof TasklaneError && TRANSIENT_ERROR_CODES.has(error.code);
}

/** Tells whether a string is one of Tasklane's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** The one error type of Tasklane: a code, a message that says what to do, and optional details. */
export class TasklaneError extends Error {
  override readonly name = 'TasklaneError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The HTTP status this error is answered with. */
  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** ClearML's `result_subcode` for this error. */
  get subcode(): number {
    return ERROR_SUBCODE[this.code];
  }
}
