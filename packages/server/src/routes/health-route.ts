import type { FastifyInstance } from 'fastify';
import { TasklaneError } from '@tasklane/protocol';
import { watchDatabaseAvailability } from '../storage/postgres/postgres-store.js';
import type { Store } from '../storage/store.js';

/** How long /ready waits for the store before it says the server is not ready. */
const READY_TIMEOUT_MS = 2_000;

/**
 * Probes for a load balancer or an orchestrator, public also where auth is on (they hold no data):
 * - `GET /health`: the process answers (liveness);
 * - `GET /ready`: the store answers a query within 2 s (readiness; migrations ran before the server listened); 503
 *   otherwise. A server whose database went away stays alive — it recovers when the database returns — but is not
 *   ready. The cause goes to the log, not to the (public) reply.
 *
 * Also logs the database going away (one warning, naming its URL with the password hidden, and the cause) and coming
 * back (one info line), whatever noticed it first: a request, a probe, the watchdog.
 */
export function registerHealthRoutes(app: FastifyInstance, store: Store): void {
  watchDatabaseAvailability(store, (change) => {
    if (change.isAvailable) {
      app.log.info({ db: change.url, unavailable_ms: change.unavailableMs }, 'the database is reachable again: requests are served');
    } else {
      app.log.warn(
        { db: change.url, reason: change.reason, cause: change.cause },
        'the database is unavailable: requests that need it answer 503 DATABASE_UNAVAILABLE until it is back',
      );
    }
  });
  app.get('/health', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));
  app.get('/ready', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    let timer: NodeJS.Timeout | undefined;
    try {
      const version = await Promise.race([
        store.schemaVersion(),
        new Promise<never>((_, fail) => {
          timer = setTimeout(() => fail(new Error(`the database did not answer within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
        }),
      ]);
      return reply.send({ status: 'ready', store: store.kind, schema_version: version });
    } catch (error) {
      // A balancer asks every few seconds: the store's one warning about an outage says it; other causes each time.
      if (error instanceof TasklaneError && error.code === 'DATABASE_UNAVAILABLE') request.log.debug({ reason: error.details?.reason }, 'not ready: the database is unavailable');
      else request.log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'not ready', reason: 'the database does not answer (the server log says why)' });
    } finally {
      clearTimeout(timer);
    }
  });
}
