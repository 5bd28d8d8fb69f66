import { mkdirSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { ServerConfig } from './config.js';
import { registerApiRoute } from './routes/api-route.js';
import { registerFilesRoutes } from './routes/files-route.js';
import { createWebUiHandler } from './routes/web-ui-route.js';
import { newTokenSecret } from './services/auth.js';
import type { ServiceContext } from './services/context.js';
import { ensureDefaultQueue } from './services/queues.js';
import { openSqliteStore } from './storage/sqlite.js';
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
  config: ServerConfig;
  /** Runs one watchdog round now (the timer runs them every `watchdogIntervalSec`). */
  runWatchdog(): Promise<string[]>;
}

/** Builds the server (store, API, watchdog) without listening. `app.close()` stops the watchdog and closes the store. */
export async function buildApp(config: ServerConfig, deps: AppDependencies = {}): Promise<TasklaneApp> {
  const clock = deps.now ?? (() => new Date());
  mkdirSync(config.filesDir, { recursive: true });
  const store = openSqliteStore(config.dbFile);
  const context: Omit<ServiceContext, 'repos'> = {
    now: () => clock().toISOString(),
    settings: {
      workerTimeoutSec: config.workerTimeoutSec,
      tokenSecret: newTokenSecret(),
      debugSampleHistory: config.debugSampleHistory,
      filesDir: config.filesDir,
    },
  };
  await store.transaction((repos) => ensureDefaultQueue({ ...context, repos }));

  const app = Fastify({
    logger: { level: config.logLevel, stream: deps.logStream ?? process.stderr },
    bodyLimit: config.maxRequestBytes,
    // Per-request lines only when debugging; lifecycle and errors are logged either way.
    logController: new LogController({ disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace' }),
    genReqId: () => Math.random().toString(16).slice(2, 10),
  });
  await registerFilesRoutes(app, { filesDir: config.filesDir, maxFileBytes: config.maxFileBytes });
  registerApiRoute(app, {
    store,
    context,
    maxRequestBytes: config.maxRequestBytes,
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
    await store.close();
  });
  return { app, store, config, runWatchdog };
}
