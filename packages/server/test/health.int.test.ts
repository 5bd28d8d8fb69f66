// /health and /ready, the probes of a load balancer: public where auth is on too, and /ready says 503 once the
// database no longer answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, type RunningServer } from '@tasklane/server';
import { httpRequest } from './support/http-request.js';
import { startTestServer, TEST_STORE, type TestServer } from './support/test-server.js';

describe('/health and /ready', () => {
  let running: TestServer;
  let server: RunningServer;
  const log: string[] = [];
  beforeAll(async () => {
    running = await startTestServer(
      { logLevel: 'warn', auth: 'on' },
      async (store) => void (await addUser(store, { name: 'admin', role: 'admin' })),
      { logStream: { write: (line: string) => log.push(line) } },
    );
    server = running.server;
  });
  afterAll(async () => {
    await running?.close();
  });

  it('answer without credentials where auth is on, and never from a cache', async () => {
    const health = await httpRequest(server.url, '/health', { method: 'GET' });
    expect({ status: health.status, body: health.json, cache: health.headers['cache-control'] }).toEqual({ status: 200, body: { status: 'ok' }, cache: 'no-store' });
    const ready = await httpRequest(server.url, '/ready', { method: 'GET' });
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready', store: TEST_STORE, schema_version: expect.any(Number) });
    expect(ready.json.schema_version).toBeGreaterThanOrEqual(9);
    // everything with data still needs credentials
    expect((await httpRequest(server.url, '/tasks.get_all', { method: 'GET' })).status).toBe(401);
  });

  it('/ready answers 503 once the database does not answer, while /health stays up; the cause is only in the log', async () => {
    await server.store.close();
    const ready = await httpRequest(server.url, '/ready', { method: 'GET' });
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'not ready', reason: 'the database does not answer (the server log says why)' });
    expect((await httpRequest(server.url, '/health', { method: 'GET' })).status).toBe(200);
    expect(log.join('')).toContain('readiness check failed');
  });
});
