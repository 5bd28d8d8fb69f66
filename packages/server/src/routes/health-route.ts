import type { FastifyInstance } from 'fastify';
import type { Store } from '../storage/store.js';

/** How long /ready waits for the store before it says the server is not ready. */
const READY_TIMEOUT_MS = 2_000;

/**
 * Probes for a load balancer or an orchestrator, public also where auth is on (they hold no data):
 * - `GET /health`: the process answers (liveness);
 * - `GET /ready`: the store answers a query within 2 s (readiness; migrations ran before the server listened); 503
 *   otherwise. A server whose database went away stays alive — it recovers when the database returns — but is not
 *   ready. The cause goes to the log, not to the (public) reply.
 */
export function registerHealthRoutes(app: FastifyInstance, store: Store): void {
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
      request.log.warn({ err: error }, 'readiness check failed');
      return reply.code(503).send({ status: 'not ready', reason: 'the database does not answer (the server log says why)' });
    } finally {
      clearTimeout(timer);
    }
  });
}
