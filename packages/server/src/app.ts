import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import { registerApiRoute } from './routes/api-route.js';
import { registerAuthGuard } from './routes/auth-guard.js';
import { isApiPath } from './routes/api-reply.js';
import { registerFilesRoutes } from './routes/files-route.js';
import { registerHealthRoutes } from './routes/health-route.js';
import { registerRequestGuard } from './routes/request-guard.js';
import { createWebUiHandler } from './routes/web-ui-route.js';
import { newTokenSecret } from './services/auth.js';
import { Authenticator } from './services/authenticator.js';
import type { ServiceContext } from './services/context.js';
import { ensureDefaultQueue } from './services/queues.js';
import { openFileStore, type FileStore } from './storage/file-store.js';
import { openStore } from './storage/open-store.js';
import type { Store } from './storage/store.js';
import { abortNonResponsiveTasks } from './watchdog.js';

/** Seams: the clock (tests), and where log lines go (default: standard error, one JSON object per line). */
export interface AppDependencies {
  now?: () => Date;
  logStream?: { write(line: string): unknown };
}

export interface TasklaneApp {
  app: FastifyInstance;
  store: Store;
  /** Where the server's files are (a folder or a bucket). */
  files: FileStore;
  config: ServerConfig;
  /** Whether requests need credentials (the `auth` setting resolved at start). */
  authEnabled: boolean;
  /** Runs one watchdog round now (the timer runs them every `watchdogIntervalSec`). */
  runWatchdog(): Promise<string[]>;
}

/** Builds the server (store, API, watchdog) without listening. `app.close()` stops the watchdog and closes the store. */
export async function buildApp(config: ServerConfig, deps: AppDependencies = {}): Promise<TasklaneApp> {
  const clock = deps.now ?? (() => new Date());
  // First, so that a missing or unreachable bucket stops the start before the database is touched.
  const files = await openFileStore(config.files);
  let store: Store;
  try {
    store = await openStore(config.dbUrl, {
      maxConnections: config.dbPoolSize,
      // Before the logger exists: one log line, as the logger would write it, so a wait never looks like a hang.
      onMigrationWait: () =>
        (deps.logStream ?? process.stderr).write(
          `${JSON.stringify({
            level: 40,
            time: Date.now(),
            msg:
              'waiting for another Tasklane process to finish migrating the database (it holds the migration lock; ' +
              "if none is starting, find the holder: SELECT pid FROM pg_locks WHERE locktype = 'advisory')",
          })}\n`,
        ),
    });
  } catch (error) {
    await files.close();
    throw error;
  }
  const context: Omit<ServiceContext, 'repos'> = {
    now: () => clock().toISOString(),
    settings: {
      workerTimeoutSec: config.workerTimeoutSec,
      tokenSecret: newTokenSecret(),
      debugSampleHistory: config.debugSampleHistory,
      files,
    },
  };
  await store.transaction((repos) => ensureDefaultQueue({ ...context, repos }));
  let authEnabled: boolean;
  try {
    authEnabled = await resolveAuth(config, store);
  } catch (error) {
    await store.close();
    await files.close();
    throw error;
  }

  const app = Fastify({
    logger: {
      level: config.logLevel,
      stream: deps.logStream ?? process.stderr,
      // Request lines (debug level) show the path and at most 200 characters of the URL: a query string may carry a
      // pattern or a value of any length, which the log must not copy in full.
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({
          method: req.method,
          url: req.url.length > 200 ? `${req.url.slice(0, 200)}...(${req.url.length} characters)` : req.url,
          reqId: req.id,
        }),
      },
    },
    bodyLimit: config.maxRequestBytes,
    // Forwarding headers only from the proxies named (request.ip, request.protocol); none by default.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    // Per-request lines only when debugging; lifecycle and errors are logged either way.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
    genReqId: () => Math.random().toString(16).slice(2, 10),
    // Slow clients: headers must arrive within headersTimeoutSec, and a connection silent for idleTimeoutSec is
    // closed. There is no limit on a whole request (a 10 GiB upload may take long); API bodies have their own below.
    serverFactory: (handler) =>
      createServer(
        {
          headersTimeout: config.headersTimeoutSec * 1000,
          requestTimeout: 0,
          // How often Node checks those timeouts (its default, 30 s, would let a slow client stay much longer).
          connectionsCheckingInterval: Math.max(250, Math.min(5000, (config.headersTimeoutSec * 1000) / 4)),
        },
        handler,
      ),
    connectionTimeout: config.idleTimeoutSec * 1000,
  });
  registerRequestGuard(app, { bindHost: config.host, allowedHosts: config.allowedHosts, corsAllowedOrigins: config.corsAllowedOrigins });
  const auth = authEnabled
    ? new Authenticator({
        store,
        secret: config.authSecret ?? (await tokenSigningSecret(store, config.dataDir, context.now())),
        tokenLifetimeSec: config.tokenLifetimeSec,
        sessionLifetimeSec: config.sessionLifetimeSec,
        now: clock,
        log: app.log,
      })
    : undefined;
  if (auth !== undefined) registerAuthGuard(app, auth);
  app.log.info({ auth: authEnabled ? 'on' : 'off' }, authEnabled ? 'authentication is on' : 'authentication is off (loopback only, no users)');
  limitApiBodyTime(app, config.bodyTimeoutSec * 1000);
  registerHealthRoutes(app, store);
  app.log.info({ files: files.description }, 'file store ready');
  await registerFilesRoutes(app, { files, maxFileBytes: config.maxFileBytes });
  registerApiRoute(app, {
    store,
    context,
    maxRequestBytes: config.maxRequestBytes,
    ...(auth !== undefined ? { auth } : {}),
    serveUi: createWebUiHandler(config.webDir),
  });

  const runWatchdog = () => abortNonResponsiveTasks(store, context, config.watchdogTimeoutSec);
  const timer = setInterval(() => {
    runWatchdog()
      .then((ids) => {
        if (ids.length > 0) app.log.warn({ tasks: ids }, 'watchdog aborted non-responsive tasks');
      })
      .catch((err: unknown) => app.log.error({ err }, 'watchdog round failed'));
  }, config.watchdogIntervalSec * 1000);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await files.close();
    await store.close();
  });
  return { app, store, files, config, authEnabled, runWatchdog };
}

/** Whether an address is this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

/**
 * The `auth` setting resolved: `auto` is off only on loopback with no users. Refuses what would leave a reachable
 * server open, or an authenticated one that nobody can sign in to.
 */
async function resolveAuth(config: ServerConfig, store: Store): Promise<boolean> {
  const users = await store.transaction((repos) => repos.users.count(), { readOnly: true });
  const loopback = isLoopbackHost(config.host);
  const enabled = config.auth === 'on' || (config.auth === 'auto' && (!loopback || users > 0));
  const firstAdmin = 'Create the first admin with `tasklane users add admin --admin --password-stdin` (same --data-dir / --db-url), then start the server again';
  if (!enabled && !loopback) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Refusing to listen on ${config.host} with authentication off: anyone who reaches the port could read and change every ` +
        `task and run code on every agent. ${firstAdmin} with --auth on (or the default, auto).`,
    );
  }
  if (enabled && users === 0) {
    throw new TasklaneError('INVALID_INPUT', `Authentication is on${config.auth === 'auto' ? ` (the server listens on ${config.host}, not loopback only)` : ''}, but there is no user yet. ${firstAdmin}.`);
  }
  return enabled;
}

/**
 * The token-signing secret every server process on the database shares (server_secrets): made on first use, or taken
 * from the data dir's `auth-secret` file that servers before schema version 10 kept, so their tokens stay valid.
 */
async function tokenSigningSecret(store: Store, dataDir: string, now: string): Promise<string> {
  let fromFile: string | undefined;
  try {
    fromFile = readFileSync(join(dataDir, 'auth-secret'), 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const candidate = fromFile !== undefined && fromFile.length >= 32 ? fromFile : `${newTokenSecret()}${newTokenSecret()}`;
  return store.transaction((repos) => repos.users.serverSecret('token-signing', candidate, now));
}

/**
 * An API request's body must arrive within `timeoutMs` (they are small: 16 MiB at most); a client that trickles it
 * has its connection closed, so it cannot hold a request open for ever. File uploads are bounded by the idle timeout.
 */
function limitApiBodyTime(app: FastifyInstance, timeoutMs: number): void {
  const timers = new WeakMap<object, NodeJS.Timeout>();
  app.addHook('onRequest', async (request) => {
    if (!isApiPath(request.url)) return;
    const timer = setTimeout(() => {
      request.log.warn({ url: request.url.slice(0, 120), timeoutMs }, 'request body too slow: connection closed');
      request.raw.destroy();
    }, timeoutMs);
    timer.unref();
    timers.set(request, timer);
    request.raw.once('end', () => clearTimeout(timer));
  });
  app.addHook('preHandler', async (request) => {
    // The body is read by now, except a GET's, which the API route reads itself ('end' clears the timer then).
    if (request.method !== 'GET' && request.method !== 'HEAD') clearTimeout(timers.get(request));
  });
  app.addHook('onResponse', async (request) => clearTimeout(timers.get(request)));
}
