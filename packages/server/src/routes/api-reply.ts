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
 * a request id, the error itself only in the log.
 */
export function sendError(reply: FastifyReply, request: FastifyRequest, error: unknown) {
  const name = parseApiPath(request.url)?.name ?? 'unknown';
  if (error instanceof TasklaneError) {
    if (error.status >= 500) request.log.error({ err: error, endpoint: name }, 'request failed');
    return sendEnvelope(reply, request, error.status, {
      data: {},
      subcode: error.subcode,
      message: error.message,
      errorData: { code: error.code, ...error.details },
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
