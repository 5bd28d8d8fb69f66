import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_VERSION, ENDPOINTS, TasklaneError, newId, type ResponseEnvelope } from '@tasklane/protocol';

/** `/[vX.Y/]service.action[/]`, as ClearML's endpoint path. */
const ENDPOINT_PATH = /^\/(?:v(\d+\.\d+)\/)?([A-Za-z_]\w*)\.([A-Za-z_]\w*)\/?$/;

/** The services of the API (`tasks`, `events`, ...). */
const SERVICES: ReadonlySet<string> = new Set(Object.keys(ENDPOINTS).map((name) => name.split('.')[0]!));

/** The endpoint a path names: `{ version, name }`, or undefined for a path outside the API. */
export interface ApiPath {
  version: string;
  name: string;
}

/**
 * Reads an API path. `/tasks.get_all` and `/v2.23/tasks.get_all` are the API (an unknown action of a known service
 * too, so it gets a helpful 404); `/index.html` or `/favicon.ico` look alike but name no service: they belong to the
 * web UI's files. A version prefix always means the API.
 */
export function parseApiPath(url: string): ApiPath | undefined {
  const path = url.split('?', 1)[0]!;
  const match = ENDPOINT_PATH.exec(path);
  if (!match) return undefined;
  const [, version, service = '', action = ''] = match;
  if (version === undefined && !SERVICES.has(service)) return undefined;
  return { version: version ?? API_VERSION, name: `${service}.${action}` };
}

export function isApiPath(url: string): boolean {
  return parseApiPath(url) !== undefined;
}

/** Sends ClearML's envelope: `{ meta: {...}, data }`. */
export function sendEnvelope(
  reply: FastifyReply,
  request: FastifyRequest,
  code: number,
  body: { data: unknown; subcode?: number; message?: string; errorData?: Record<string, unknown> },
) {
  const { name, version } = parseApiPath(request.url) ?? { name: 'unknown', version: API_VERSION };
  const id = newId();
  const trx = request.headers['x-clearml-trx'] ?? request.headers['x-trains-trx'];
  const envelope: ResponseEnvelope = {
    meta: {
      id,
      trx: typeof trx === 'string' && trx.length <= 128 ? trx : id,
      endpoint: { name, requested_version: version, actual_version: version < API_VERSION ? version : API_VERSION },
      result_code: code,
      result_subcode: body.subcode ?? 0,
      result_msg: body.message ?? 'OK',
      error_stack: null,
      error_data: body.errorData ?? {},
    },
    data: body.data,
  };
  return reply.code(code).header('content-type', 'application/json; charset=utf-8').send(envelope);
}

/**
 * Sends an error in the envelope: a TasklaneError with its status, code and details; anything else as INTERNAL with
 * a request id, the error itself only in the log. Whatever a message or its details quote of a request, the reply
 * stays short (see {@link boundMessage}).
 */
export function sendError(reply: FastifyReply, request: FastifyRequest, error: unknown) {
  const name = parseApiPath(request.url)?.name ?? 'unknown';
  if (error instanceof TasklaneError) {
    if (error.code === 'DATABASE_UNAVAILABLE') {
      // The store logged one warning when the database went away (and logs when it is back): no stack per request.
      request.log.debug({ endpoint: name, reason: error.details?.reason }, 'request failed: the database is unavailable');
      reply.header('retry-after', String(error.details?.retry_after_sec ?? 5));
    } else if (error.status >= 500) {
      request.log.error({ err: error, endpoint: name }, 'request failed');
    }
    return sendEnvelope(reply, request, error.status, {
      data: {},
      subcode: error.subcode,
      message: boundMessage(error.message),
      errorData: { ...(boundDetails(error.details ?? {}, 0) as Record<string, unknown>), code: error.code },
    });
  }
  request.log.error({ err: error, endpoint: name }, 'unexpected error');
  return sendEnvelope(reply, request, 500, {
    data: {},
    subcode: 1,
    message: `Unexpected server error (request ${request.id}); the server log has the details.`,
    errorData: { code: 'INTERNAL' },
  });
}

/** The most characters of an error's `result_msg`. */
export const MAX_RESULT_MSG_CHARS = 1_000;
/** The most characters of a text in `error_data`, the most items of a list or an object there, and how deep it goes. */
const MAX_DETAIL_CHARS = 200;
const MAX_DETAIL_ITEMS = 20;
const MAX_DETAIL_DEPTH = 4;

/**
 * An error message no longer than {@link MAX_RESULT_MSG_CHARS}. Messages quote what was wrong, and what was wrong may
 * be a megabyte of input (an id, a key, a scroll_id): a longer message keeps its start, which says what was wrong,
 * and its end, which says what to do, and loses its middle.
 */
export function boundMessage(message: string): string {
  if (message.length <= MAX_RESULT_MSG_CHARS) return message;
  const tailChars = 250;
  const headChars = MAX_RESULT_MSG_CHARS - tailChars - 50;
  const cut = message.length - headChars - tailChars;
  return `${wholeCharacters(message.slice(0, headChars))}…(${cut.toLocaleString('en')} characters cut)…${wholeCharacters(message.slice(-tailChars))}`;
}

/** The details of an error for `error_data`, texts and lists cut short (they may quote a hostile request). */
function boundDetails(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.length > MAX_DETAIL_CHARS ? `${wholeCharacters(value.slice(0, MAX_DETAIL_CHARS - 3))}...` : value;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DETAIL_DEPTH) return Array.isArray(value) ? [] : {};
  if (Array.isArray(value)) return value.slice(0, MAX_DETAIL_ITEMS).map((item) => boundDetails(item, depth + 1));
  const bounded = Object.create(null) as Record<string, unknown>;
  for (const [key, item] of Object.entries(value).slice(0, MAX_DETAIL_ITEMS)) {
    bounded[boundDetails(key, MAX_DETAIL_DEPTH) as string] = boundDetails(item, depth + 1);
  }
  return bounded;
}

/** Text without a half surrogate pair at either end (left by a cut). */
function wholeCharacters(text: string): string {
  return text.replace(/^[\udc00-\udfff]|[\ud800-\udbff]$/g, '');
}
