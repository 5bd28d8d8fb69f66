import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  ENDPOINTS,
  MAX_JSON_VALUES,
  batchCountExcess,
  findUnstorableText,
  TasklaneError,
  isEndpointName,
  isWriteEndpoint,
  parseInput,
  type EndpointName,
} from '@tasklane/protocol';
import type { Authenticator } from '../services/authenticator.js';
import type { ServiceContext } from '../services/context.js';
import { prepareKeyPair } from '../services/users.js';
import { HANDLERS, type Handler } from '../services/handlers.js';
import type { Store } from '../storage/store.js';
import { parseApiPath, sendEnvelope, sendError } from './api-reply.js';
import { identityOf, sessionCookie } from './auth-guard.js';
import { isJsonContentType, mergeQuery, parseBody, readRawBody, tooLarge } from './request-body.js';

export interface ApiRouteOptions {
  store: Store;
  context: Omit<ServiceContext, 'repos'>;
  maxRequestBytes: number;
  /** Checks credentials; absent where authentication is off. */
  auth?: Authenticator;
  /** Answers GET requests outside the API (the web UI). */
  serveUi: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown;
}

/** Mounts the whole API on one catch-all route: every method, any `service.action` path. */
export function registerApiRoute(app: FastifyInstance, options: ApiRouteOptions): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxRequestBytes }, (_req, body, done) => done(null, body));

  // Errors Fastify raises before the handler (body too large, broken stream) still get the envelope.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const known =
      error.statusCode === 413
        ? tooLarge(options.maxRequestBytes)
        : error.statusCode !== undefined && error.statusCode < 500
          ? new TasklaneError('INVALID_INPUT', `Invalid request: ${error.message}`)
          : error;
    return sendError(reply, request, known);
  });

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'],
    url: '/*',
    handler: async (request, reply) => {
      const api = parseApiPath(request.url);
      if (api === undefined) {
        if (request.method === 'GET' || request.method === 'HEAD') return options.serveUi(request, reply);
        return sendError(reply, request, notFound(request.url.split('?', 1)[0]!));
      }
      // Preflights of allowed origins are answered by the request guard; anything else needs no body.
      if (request.method === 'OPTIONS') return reply.code(204).header('allow', 'GET, POST, PUT, DELETE, HEAD').send();
      const { name } = api;
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
        const contentType = request.headers['content-type'];
        checkContentType(name, contentType, raw !== undefined && raw.length > 0);
        const body = await parseBody(raw, contentType, {
          maxValues: EVENT_WRITE_ENDPOINTS.has(name) ? Number.POSITIVE_INFINITY : MAX_JSON_VALUES,
          ...(name === 'events.add_batch' ? { checkItemCount: batchCountExcess } : {}),
        });
        const parsed = mergeQuery(body, request.query as Record<string, unknown>);
        // JSON writes NUL only as the escape \u0000 and a lone surrogate only as an escape \udXXX (UTF-8 cannot hold
        // one), a query string NUL as %00: without any of them, no walk is needed.
        const mayHoldUnstorable = raw !== undefined && (raw.includes('\\u0000') || raw.includes('\\ud') || raw.includes('\\uD'));
        if (mayHoldUnstorable || request.url.includes('%00')) refuseUnstorableText(name, parsed);
        const data = await callEndpoint(name, parsed, options, request, reply);
        return sendEnvelope(reply, request, 200, { data });
      } catch (error) {
        return sendError(reply, request, error);
      }
    },
  });
}

/**
 * Refuses a request that holds text PostgreSQL cannot store anywhere, keys included — the NUL character (U+0000) or a
 * lone UTF-16 surrogate — so both stores refuse it alike. The one exception is console text (the `msg` of a log
 * event), which may be any process's output: the events service stores those characters as U+FFFD instead.
 */
function refuseUnstorableText(name: EndpointName, value: unknown): void {
  let found: ReturnType<typeof findUnstorableText>;
  if (EVENT_WRITE_ENDPOINTS.has(name)) {
    const items: unknown[] = Array.isArray(value) ? value : [value];
    for (let i = 0; i < items.length && found === undefined; i += 1) {
      const item = items[i];
      const isLogEvent = typeof item === 'object' && item !== null && (item as { type?: unknown }).type === 'log';
      found = findUnstorableText(isLogEvent ? { ...item, msg: '' } : item, Array.isArray(value) ? `body.${i}` : 'body');
    }
  } else {
    found = findUnstorableText(value);
  }
  if (found === undefined) return;
  throw new TasklaneError(
    'INVALID_INPUT',
    `Invalid request: ${found.path} contains ${found.problem}, which cannot be stored. Remove it (or replace it, e.g. with U+FFFD) and send the request again.`,
    { fields: [found.path] },
  );
}

/**
 * The rule that keeps web pages of other origins from changing anything: a body must be JSON by its declared type,
 * and an endpoint that changes state needs that type even without a body. A cross-site form, image or simple fetch
 * can only send text/plain, form types or nothing; declaring JSON makes the browser ask first (a CORS preflight),
 * and the server refuses the preflights of origins it does not know.
 */
function checkContentType(name: EndpointName, contentType: string | undefined, hasBody: boolean): void {
  if (isJsonContentType(contentType)) return;
  const got = contentType === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(contentType.slice(0, 80))}`;
  if (hasBody) {
    throw new TasklaneError(
      'UNSUPPORTED_MEDIA_TYPE',
      `Request bodies must be JSON: send Content-Type: application/json (application/json-lines for events.add_batch), got ${got}.`,
      { content_type: contentType?.slice(0, 80) ?? null },
    );
  }
  if (isWriteEndpoint(name)) {
    throw new TasklaneError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${name} changes data, so it takes a JSON body sent with Content-Type: application/json (got ${got}); only ` +
        'endpoints that read accept the query string alone.',
      { content_type: contentType?.slice(0, 80) ?? null },
    );
  }
}

async function callEndpoint(name: EndpointName, rawBody: unknown, options: ApiRouteOptions, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const body = stripClientNoise(rawBody);
  const input = parseInput(ENDPOINTS[name].request, body);
  const handler = HANDLERS[name] as Handler<EndpointName>;
  const caller = callerOf(request);
  const prepared = await prepareOutsideTransaction(name, input, options, request, caller);
  // What the unit of work leaves for after its commit. On PostgreSQL a unit of work may run more than once (a
  // serialization failure re-runs it from the start), so each attempt collects its own and only the attempt that
  // committed counts: its file deletions run once, and its cookie is the one set.
  const secure = request.protocol === 'https';
  let committed: Attempt | undefined;
  const data = await options.store.transaction(
    (repos) => {
      const attempt: Attempt = { afterCommit: [], cookie: undefined };
      committed = attempt;
      return handler(
        {
          ...options.context,
          repos,
          caller: prepared.caller,
          ...(options.auth !== undefined ? { auth: options.auth } : {}),
          session: {
            set: (token, maxAgeSec) => void (attempt.cookie = sessionCookie(token, maxAgeSec, secure)),
            clear: () => void (attempt.cookie = sessionCookie('', 0, secure)),
          },
          prepared: prepared.value,
          afterCommit: (work) => attempt.afterCommit.push(work),
        },
        input as never,
      );
    },
    { readOnly: READ_ONLY_ENDPOINTS.has(name), guardedByRowLocks: ROW_LOCKED_ENDPOINTS.has(name) },
  );
  const { afterCommit, cookie } = committed ?? { afterCommit: [], cookie: undefined };
  if (cookie !== undefined) reply.header('set-cookie', cookie);
  for (const work of afterCommit) await work();
  return data;
}

/** What one run of an endpoint's unit of work leaves for after its commit. */
interface Attempt {
  afterCommit: (() => Promise<void>)[];
  /** The Set-Cookie value of the session cookie, when the endpoint set or cleared it. */
  cookie: string | undefined;
}

/**
 * Work an endpoint needs done before its transaction, because it is slow and must not hold the store: checking a
 * sign-in's password, hashing a new key pair's secret (scrypt, on the thread pool).
 */
async function prepareOutsideTransaction(
  name: EndpointName,
  input: unknown,
  options: ApiRouteOptions,
  request: FastifyRequest,
  caller: ServiceContext['caller'],
): Promise<{ caller: ServiceContext['caller']; value?: unknown }> {
  if (name === 'auth.sign_in' && options.auth !== undefined) {
    const { name: userName, password } = input as { name: string; password: string };
    const identity = await options.auth.checkPassword(userName, password, request.ip);
    return { caller: { ...caller, user: identity.user.name, identity } };
  }
  if (name === 'auth.create_credentials' && caller?.identity !== undefined) return { caller, value: await prepareKeyPair() };
  if (name === 'auth.login' && caller?.identity !== undefined) {
    request.log.info({ user: caller.identity.user.name, access_key: caller.identity.accessKey, via: caller.identity.via, address: request.ip }, 'logged in');
  }
  return { caller };
}

/**
 * Endpoints that store events: a batch holds more values than MAX_JSON_VALUES, and they validate them cheaply and
 * count them by caps of their own (events, points, series per request).
 */
const EVENT_WRITE_ENDPOINTS: ReadonlySet<EndpointName> = new Set<EndpointName>(['events.add_batch', 'events.add', 'events.add_scalars']);

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

/**
 * Endpoints whose only write is guarded by a row lock they take (`FOR UPDATE SKIP LOCKED`), so they need no
 * serializable isolation (TransactionOptions.guardedByRowLocks): agents polling a queue through several processes.
 */
const ROW_LOCKED_ENDPOINTS: ReadonlySet<EndpointName> = new Set<EndpointName>(['queues.get_next_task']);

/** ClearML's SDK adds `"method": "get"` and `_allow_extra_fields_` to bodies; they are not data. */
function stripClientNoise(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const { method: _method, _allow_extra_fields_: _extra, ...rest } = body as Record<string, unknown>;
  return rest;
}

/**
 * Who is calling: the worker (ClearML's X-ClearML-Worker header) and the user new tasks record. Where auth is on, the
 * user is the one the credentials proved; where it is off, the X-Tasklane-User header (URI-encoded) that Tasklane's
 * SDK and CLI send names them.
 */
function callerOf(request: FastifyRequest): ServiceContext['caller'] {
  const header = request.headers['x-clearml-worker'] ?? request.headers['x-trains-worker'];
  // An empty worker header names no worker: events then record none rather than "".
  const worker = typeof header === 'string' && header !== '' ? header : undefined;
  const identity = identityOf(request);
  const user = identity !== undefined ? identity.user.name : decodeUser(request.headers['x-tasklane-user']);
  if (worker === undefined && user === undefined) return undefined;
  return { ...(worker !== undefined ? { worker } : {}), ...(user !== undefined ? { user } : {}), ...(identity !== undefined ? { identity } : {}) };
}

function decodeUser(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const user = decodeURIComponent(value).trim();
    // A NUL could not be stored as the task's user (see refuseUnstorableText): ignored like a name too long.
    return user.length > 0 && user.length <= 128 && !user.includes('\u0000') ? user : undefined;
  } catch {
    return undefined; // not URI-encoded: ignored rather than refusing the call
  }
}

function notFound(path: string): TasklaneError {
  return new TasklaneError(
    'ENDPOINT_NOT_FOUND',
    `Nothing at ${JSON.stringify(path.length > 200 ? `${path.slice(0, 197)}...` : path)}: API endpoints look like /<service>.<action> (e.g. /tasks.get_all); see docs/api.md.`,
    { path: path.slice(0, 200) },
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
