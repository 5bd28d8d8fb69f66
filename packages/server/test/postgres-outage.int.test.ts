// A server on PostgreSQL whose database goes away while it runs (issue 15): requests answer 503 DATABASE_UNAVAILABLE
// with Retry-After within a few seconds, /ready says 503 quickly while /health stays 200, the process lives on, the
// log says it once, and the next requests after the database is back succeed with the data intact.
//
// The database goes away through a TCP proxy between the server and the run's shared cluster (support/tcp-cut-proxy.ts)
// rather than by stopping a cluster of this file's own: the proxy cuts the connections and refuses new ones (a
// database down), or takes them and never answers (a dead host), or cuts right after COMMIT went through (the outcome
// the server cannot know), and the database is back on the same address at once. A real shutdown's 57P01 comes from
// pg_terminate_backend on the server's connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRecord } from '../src/storage/store.js';
import { postgresSkipReason, testPostgres, queryPostgres } from '../../../test/support/postgres.js';
import { startTcpCutProxy, type TcpCutProxy } from './support/tcp-cut-proxy.js';
import { onPostgres, rawCall, startTestServer, type TestServer } from './support/test-server.js';

const postgres = testPostgres();
const skipReason = !postgres ? postgresSkipReason() : onPostgres ? 'runs once, in the integration project' : undefined;
if (!postgres) process.stdout.write(`postgres-outage.int.test.ts: skipped: ${skipReason}\n`);

const query = queryPostgres;

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

describe.skipIf(skipReason !== undefined)(`PostgreSQL lost while the server runs${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dbUrl: string;
  let proxy: TcpCutProxy;
  let server: TestServer;
  const logText: string[] = [];
  const log = (): LogLine[] => logText.join('').split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LogLine);
  const password = () => new URL(dbUrl).password;
  let taskId: string;

  beforeAll(async () => {
    dbUrl = await postgres!.newDatabase();
    const direct = new URL(dbUrl);
    proxy = await startTcpCutProxy({ host: direct.hostname, port: Number(direct.port) });
    const viaProxy = new URL(dbUrl);
    viaProxy.port = String(proxy.port);
    server = await startTestServer({ dbUrl: viaProxy.toString(), logLevel: 'info' }, undefined, { logStream: { write: (line: string) => logText.push(line) } });
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    if (dbUrl) await postgres!.dropDatabase(dbUrl);
  });

  const call = (path: string, body: unknown) => rawCall(server.url, path, { body: JSON.stringify(body) });
  const getAll = () => call('/tasks.get_all', { project: undefined, name: '^outage ', only_fields: ['id', 'name'], order_by: ['name'] });
  const addBatch = (lines: unknown[]) =>
    rawCall(server.url, '/events.add_batch', {
      body: lines.map((line) => JSON.stringify(line)).join('\n'),
      headers: { 'content-type': 'application/json-lines' },
    });
  const consoleLine = (n: number) => ({ type: 'log', task: taskId, id: `line-${n}`, timestamp: 1_700_000_000_000 + n, msg: `line ${n}` });
  const create = (name: string) => call('/tasks.create', { name, project_name: 'outage' });
  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = performance.now();
    const value = await work();
    return { value, ms: performance.now() - started };
  };
  const probe = (path: '/ready' | '/health') => timed(() => fetch(`${server.url}${path}`).then((r) => r.status));

  it('serves requests while the database is there', async () => {
    const created = await create('outage before');
    expect(created.status).toBe(200);
    taskId = created.json.data.id;
    expect((await addBatch([consoleLine(1), consoleLine(2)])).status).toBe(200);
    expect((await getAll()).json.data.tasks.map((t: { name: string }) => t.name)).toEqual(['outage before']);
    expect((await probe('/ready')).value).toBe(200);
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while the database is down; /ready 503 at once, /health 200', async () => {
    await proxy.cut('refuse');
    const replies = {
      'tasks.get_all': await timed(getAll),
      'events.add_batch': await timed(() => addBatch([consoleLine(3)])),
      'tasks.create': await timed(() => create('outage during')),
    };
    for (const [endpoint, { value: reply, ms }] of Object.entries(replies)) {
      expect({ endpoint, status: reply.status, retryAfter: reply.headers.get('retry-after') }).toEqual({ endpoint, status: 503, retryAfter: '5' });
      expect(reply.json.meta).toMatchObject({ result_code: 503, result_subcode: 0 });
      expect(reply.json.meta.error_data).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'connection_refused', retry_after_sec: 5 });
      expect(ms, endpoint).toBeLessThan(3_000);
      // The reply never names the database.
      expect(JSON.stringify(reply.json)).not.toContain(String(new URL(dbUrl).port));
      expect(JSON.stringify(reply.json)).not.toContain(password());
    }
    expect(replies['tasks.create'].value.json.meta.result_msg).toMatchInlineSnapshot(
      `"The server's database is unavailable (connection refused (ECONNREFUSED)). Nothing of this request was applied. Try again in 5 s; the server log says more."`,
    );
    expect(replies['tasks.create'].value.json.meta.error_data.write_outcome).toBe('not_applied');
    expect(replies['events.add_batch'].value.json.meta.error_data.write_outcome).toBe('not_applied');

    const ready = await probe('/ready');
    expect(ready.value).toBe(503);
    expect(ready.ms).toBeLessThan(2_500);
    expect((await probe('/health')).value).toBe(200);

    // One warning for the outage, naming the URL with its password hidden; no error lines, no stack per request.
    const lines = log();
    const warnings = lines.filter((line) => line.msg.includes('the database is unavailable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, reason: 'connection_refused', cause: 'connection refused (ECONNREFUSED)' });
    expect(warnings[0]!.db).toBe(`postgres://tasklane:***@127.0.0.1:${proxy.port}${new URL(dbUrl).pathname}`);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(logText.join('')).not.toContain(password());
  });

  it('serves again once the database is back, without a restart, with what was written before intact', async () => {
    await proxy.restore();
    const names = (await getAll()).json.data.tasks.map((t: { name: string }) => t.name);
    expect(names).toEqual(['outage before']);
    expect((await addBatch([consoleLine(3)])).status).toBe(200);
    expect((await create('outage after')).status).toBe(200);
    const logReply = await call('/events.get_task_log', { task: taskId, batch_size: 10, navigate_earlier: false });
    expect(logReply.json.data.events.map((e: { msg: string }) => e.msg)).toEqual(['line 1', 'line 2', 'line 3']);
    expect((await probe('/ready')).value).toBe(200);
    const back = log().filter((line) => line.msg.includes('reachable again'));
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ level: 30, db: expect.stringContaining(':***@') });
  });

  it('answers 503 within the pool wait when the database takes connections but never answers, and /ready 503 in its bound', async () => {
    await proxy.cut('silent');
    const [reply, ready] = await Promise.all([timed(getAll), probe('/ready')]);
    expect(reply.value.status).toBe(503);
    expect(reply.value.json.meta.error_data).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(reply.ms).toBeLessThan(8_000); // the pool's acquire timeout is 5 s
    expect(reply.value.json.meta.error_data.reason).toBe('no_answer');
    expect(ready.value).toBe(503);
    expect(ready.ms).toBeLessThan(2_500);
    await proxy.restore();
    expect((await getAll()).status).toBe(200);
  });

  it('answers 503 write_outcome "unknown" when the connection breaks during COMMIT (and the change may well be there)', async () => {
    // The simple-query COMMIT that Kysely sends: 'Q', its length, "commit\0".
    const cut = proxy.cutAfter((chunk) => chunk[0] === 0x51 && chunk.includes(Buffer.from('commit\0')));
    const reply = await create('outage committed');
    await cut;
    expect(reply.status).toBe(503);
    expect(reply.json.meta.error_data).toMatchObject({ code: 'DATABASE_UNAVAILABLE', write_outcome: 'unknown' });
    expect(reply.json.meta.result_msg).toContain('it may or may not have been applied; read the data again before sending it once more');
    await proxy.restore();
    // PostgreSQL had the COMMIT whole: the task is there, which is why the client must look before creating it again.
    const names = (await getAll()).json.data.tasks.map((t: { name: string }) => t.name);
    expect(names).toEqual(['outage after', 'outage before', 'outage committed']);
  });

  it('a unit of work whose connection is killed midway (57P01) is not half-applied, and the process lives on', async () => {
    const store = server.server.store;
    let firstWritten!: () => void;
    const written = new Promise<void>((resolve) => (firstWritten = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const unit = store.transaction(async (repos) => {
      await repos.users.create(makeUser('half-applied'));
      firstWritten();
      await held;
      await repos.users.create(makeUser('second'));
    });
    const outcome = unit.then(
      () => undefined,
      (error: unknown) => error,
    );
    await written;
    // A shutdown's FATAL 57P01 on every connection of the server, the one lent to the unit of work included: that
    // connection emits 'error' while no query of it runs, which ended the process when nothing listened.
    const killed = await query<{ pid: number }>(
      dbUrl,
      'SELECT pg_terminate_backend(pid), pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    expect(killed.length).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    expect(await outcome).toMatchObject({ code: 'DATABASE_UNAVAILABLE', details: { write_outcome: 'not_applied' } });
    // Nothing of it was applied, and the next requests succeed on fresh connections.
    expect(await query(dbUrl, "SELECT name FROM users WHERE name IN ('half-applied', 'second')")).toEqual([]);
    expect((await getAll()).status).toBe(200);
    expect((await probe('/health')).value).toBe(200);
  });
});

function makeUser(name: string): UserRecord {
  return { id: `u-${name}-${Math.random().toString(16).slice(2, 8)}`, name, display_name: name, role: 'user', password_hash: null, created: '2026-03-01T10:00:00.000Z' };
}
