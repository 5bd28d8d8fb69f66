import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  API_VERSION,
  ENDPOINTS,
  TasklaneError,
  isEndpointName,
  newId,
  parseInput,
  type EndpointName,
  type ResponseEnvelope,
} from '@tasklane/protocol';
import type { ServiceContext } from '../services/context.js';
import { HANDLERS, type Handler } from '../services/handlers.js';
import type { Store } from '../storage/store.js';
import { mergeQuery, parseBody, readRawBody, tooLarge } from './request-body.js';

/** `/[vX.Y/]service.action[/]`, as ClearML's endpoint path. */
const ENDPOINT_PATH = /^\/(?:v(\d+\.\d+)\/)?([A-Za-z_]\w*\.[A-Za-z_]\w*)\/?$/;

export interface ApiRouteOptions {
  store: Store;
  context: Omit<ServiceContext, 'repos'>;
  maxRequestBytes: number;
  /** Answers GET requests outside the API (the web UI). */
  serveUi: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;
}

/** Mounts the whole API on one catch-all route: every method, any `service.action` path. */
export function registerApiRoute(app: FastifyInstance, options: ApiRouteOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxRequestBytes }, (_req, body, done) => done(null, body));

  // Errors Fastify raises before the handler (body too large, broken stream) still get the envelope.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const [, version = API_VERSION, name = 'unknown'] = ENDPOINT_PATH.exec(path) ?? [];
    const known =
      error.statusCode === 413
        ? tooLarge(options.maxRequestBytes)
        : error.statusCode !== undefined && error.statusCode < 500
          ? new TasklaneError('INVALID_INPUT', `Invalid request: ${error.message}`)
          : error;
    return sendError(reply, request, known, name, version);
  });

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'],
    url: '/*',
    handler: async (request, reply) => {
      const path = request.url.split('?', 1)[0]!;
      const match = ENDPOINT_PATH.exec(path);
      if (!match) {
        if (request.method === 'GET' || request.method === 'HEAD') return options.serveUi(request, reply);
        return sendError(reply, request, notFound(path), 'unknown', API_VERSION);
      }
      const [, version = API_VERSION, name = ''] = match;
      if (request.method === 'OPTIONS') return reply.code(200).send();
      try {
        if (!isEndpointName(name)) throw unknownEndpoint(name);
        if (request.headers['content-encoding']) {
          throw new TasklaneError(
            'UNSUPPORTED_MEDIA_TYPE',
            `Compressed request bodies are not accepted (Content-Encoding: ${request.headers['content-encoding']}); send plain JSON.`,
          );
        }
        const raw = Buffer.isBuffer(request.body)
          ? request.body
          : request.method === 'GET' || request.method === 'HEAD'
            ? await readRawBody(request.raw, options.maxRequestBytes)
            : undefined;
        const parsed = mergeQuery(parseBody(raw, request.headers['content-type']), request.query as Record<string, unknown>);
        const data = await callEndpoint(name, parsed, options, callerOf(request));
        return sendEnvelope(reply, request, name, version, 200, { data });
      } catch (error) {
        return sendError(reply, request, error, name, version);
      }
    },
  });
}

async function callEndpoint(name: EndpointName, rawBody: unknown, options: ApiRouteOptions, caller: ServiceContext['caller']): Promise<unknown> {
  const body = stripClientNoise(rawBody);
  const input = parseInput(ENDPOINTS[name].request, body);
  const handler = HANDLERS[name] as Handler<EndpointName>;
  const afterCommit: (() => Promise<void>)[] = [];
  const data = await options.store.transaction(
    (repos) =>
      handler(
        { ...options.context, repos, caller, afterCommit: (work) => afterCommit.push(work) },
        input as never,
      ),
    { readOnly: READ_ONLY_ENDPOINTS.has(name) },
  );
  for (const work of afterCommit) await work();
  return data;
}

/**
 * Endpoints that only read: their transaction takes no write lock up front, so they do not wait behind a writer in
 * another process. Each must never write (a write would have to take the lock midway and could fail as busy).
 */
const READ_ONLY_ENDPOINTS: ReadonlySet<EndpointName> = new Set<EndpointName>([
  'events.get_task_log',
  'events.download_task_log',
  'events.get_task_events',
  'events.get_task_metrics',
  'events.get_scalar_metrics_and_variants',
  'events.scalar_metrics_iter_histogram',
  'events.multi_task_scalar_metrics_iter_histogram',
  'events.get_task_single_value_metrics',
  'events.get_task_latest_scalar_values',
  'events.get_task_plots',
  'events.debug_images',
  'events.get_debug_image_sample',
  'events.next_debug_image_sample',
]);

/** ClearML's SDK adds `"method": "get"` and `_allow_extra_fields_` to bodies; they are not data. */
function stripClientNoise(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { method: _method, _allow_extra_fields_: _extra, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * Who is calling: the worker (ClearML's X-ClearML-Worker header) and the user, which Tasklane's SDK and CLI send as
 * X-Tasklane-User (URI-encoded) and which new tasks record — there is no authentication to take it from yet.
 */
function callerOf(request: FastifyRequest): ServiceContext['caller'] {
  const header = request.headers['x-clearml-worker'] ?? request.headers['x-trains-worker'];
  // An empty worker header names no worker: events then record none rather than "".
  const worker = typeof header === 'string' && header !== '' ? header : undefined;
  const user = decodeUser(request.headers['x-tasklane-user']);
  if (worker === undefined && user === undefined) return undefined;
  return { ...(worker !== undefined ? { worker } : {}), ...(user !== undefined ? { user } : {}) };
}

function decodeUser(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const user = decodeURIComponent(value).trim();
    return user.length > 0 && user.length <= 128 ? user : undefined;
  } catch {
    return undefined; // not URI-encoded: ignored rather than refusing the call
  }
}

function notFound(path: string): TasklaneError {
  return new TasklaneError(
    'ENDPOINT_NOT_FOUND',
    `Nothing at ${JSON.stringify(path)}: API endpoints look like /<service>.<action> (e.g. /tasks.get_all); see docs/api.md.`,
    { path },
  );
}

function unknownEndpoint(name: string): TasklaneError {
  const service = name.split('.')[0];
  const siblings = Object.keys(ENDPOINTS).filter((e) => e.startsWith(`${service}.`));
  const hint =
    siblings.length > 0
      ? ` The ${service} service has: ${siblings.map((e) => e.slice(service!.length + 1)).join(', ')}.`
      : ` Services: ${[...new Set(Object.keys(ENDPOINTS).map((e) => e.split('.')[0]))].join(', ')}.`;
  return new TasklaneError('ENDPOINT_NOT_FOUND', `Unknown endpoint "${name}".${hint}`, { endpoint: name });
}

function sendEnvelope(
  reply: FastifyReply,
  request: FastifyRequest,
  name: string,
  version: string,
  code: number,
  body: { data: unknown; subcode?: number; message?: string; errorData?: Record<string, unknown> },
) {
  const id = newId();
  const trx = request.headers['x-clearml-trx'] ?? request.headers['x-trains-trx'];
  const envelope: ResponseEnvelope = {
    meta: {
      id,
      trx: typeof trx === 'string' ? trx : id,
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

function sendError(reply: FastifyReply, request: FastifyRequest, error: unknown, name: string, version: string) {
  if (error instanceof TasklaneError) {
    if (error.status >= 500) request.log.error({ err: error, endpoint: name }, 'request failed');
    return sendEnvelope(reply, request, name, version, error.status, {
      data: {},
      subcode: error.subcode,
      message: error.message,
      errorData: { code: error.code, ...error.details },
    });
  }
  const reference = request.id;
  request.log.error({ err: error, endpoint: name }, 'unexpected error');
  return sendEnvelope(reply, request, name, version, 500, {
    data: {},
    subcode: 1,
    message: `Unexpected server error (request ${reference}); the server log has the details.`,
    errorData: { code: 'INTERNAL' },
  });
}
