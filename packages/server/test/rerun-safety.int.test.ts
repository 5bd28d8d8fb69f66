// On PostgreSQL a write unit of work runs SERIALIZABLE, and one that PostgreSQL aborts (40001) runs again from the
// start (issue 15). What the first run left for after its commit must not happen: only the committed run's work counts
// (files removed after a reset, the session cookie of the reply). Each test forces the re-run for certain: the test
// holds, in a transaction of its own, row locks the request's unit of work needs; once the request waits on them, the
// test commits a change to those rows, and PostgreSQL aborts the request's first run. Runs in integration-postgres.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser } from '@tasklane/server';
import { httpRequest } from './support/http-request.js';
import { onPostgres, startTestServer, type TestServer } from './support/test-server.js';

/**
 * A transaction of the test's own on the server's database: runs `lock` (statements taking row locks), then, once a
 * session of the server waits on a lock, commits.
 */
async function commitOnceTheServerWaits(dbUrl: string, lock: (client: pg.Client) => Promise<void>, request: () => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    await lock(client);
    const pending = request();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await client.query<{ waiting: number }>(
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
      );
      if ((rows[0]?.waiting ?? 0) > 0) break;
      if (Date.now() > deadline) throw new Error('the request never waited on the test\'s row locks');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await client.query('COMMIT');
    await pending;
  } finally {
    await client.end();
  }
}

const JSON_TYPE = { 'content-type': 'application/json' };

describe.skipIf(!onPostgres)(`a unit of work re-run after a serialization failure${onPostgres ? '' : ' (skipped: PostgreSQL only; runs in integration-postgres)'}`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ auth: 'on' }, async (store) => void (await addUser(store, { name: 'alice', role: 'user', password: 'alice-password' })));
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs only the committed run\'s after-commit work: a reset whose first run saw a debug sample leaves its files', async () => {
    const login = await httpRequest(server.url, '/auth.sign_in', { body: JSON.stringify({ name: 'alice', password: 'alice-password' }), headers: JSON_TYPE });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const headers = { cookie, 'sec-fetch-site': 'same-origin' };
    const call = (path: string, body: unknown) => httpRequest(server.url, path, { body: JSON.stringify(body), headers: { ...headers, ...JSON_TYPE } });
    const id = (await call('/tasks.create', { name: 'rerun sample', project_name: 'rerun' })).json.data.id as string;
    await call('/tasks.started', { task: id });
    const key = `rerun/rerun sample.${id}/metrics/images/input/images_input_00000000.png`;
    const form = new FormData();
    form.append(key, new Blob([Buffer.from('not really a png')]), 'x.png');
    expect((await fetch(`${server.url}/files`, { method: 'POST', body: form, headers })).status).toBe(200);
    const event = { type: 'training_debug_image', task: id, iter: 0, metric: 'images', variant: 'input', key, url: `${server.url}/files/${key}` };
    expect((await call('/events.add', event)).status).toBe(200);
    await call('/tasks.stopped', { task: id });

    // The test deletes the sample's event itself (uncommitted): the reset's first run still sees it, schedules its
    // files' removal, and waits to delete the same row; after the test's commit that run fails to serialize, and the
    // run that commits finds no sample: nothing of it is to be removed.
    let reset: Awaited<ReturnType<typeof call>> | undefined;
    await commitOnceTheServerWaits(
      server.dbUrl,
      async (client) => void (await client.query('DELETE FROM other_events WHERE task = $1', [id])),
      async () => (reset = await call('/tasks.reset', { task: id })),
    );
    expect(reset?.status).toBe(200);
    expect(reset?.json.data.events).toBe(0); // the committed run is the second: the event was gone
    const file = await fetch(`${server.url}/files/${key}`, { headers });
    expect(file.status).toBe(200);
    expect(await file.text()).toBe('not really a png');
  });

  // Today's endpoints set the cookie after their only write, so a run aborted at that write never set it; this keeps
  // the reply to one cookie should an endpoint set it first (the route collects it per run: api-route.ts).
  it('sets the session cookie once, from the run that committed', async () => {
    const login = await httpRequest(server.url, '/auth.sign_in', { body: JSON.stringify({ name: 'alice', password: 'alice-password' }), headers: JSON_TYPE });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    let renewed: Response | undefined;
    await commitOnceTheServerWaits(
      server.dbUrl,
      // Every session row of alice, this sign-in's among them.
      async (client) => void (await client.query("UPDATE sessions SET expires = expires WHERE user_id = (SELECT id FROM users WHERE name = 'alice')")),
      async () =>
        (renewed = await fetch(`${server.url}/auth.refresh_session`, {
          method: 'POST',
          headers: { cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
          body: '{}',
        })),
    );
    expect(renewed?.status).toBe(200);
    const cookies = renewed!.headers.getSetCookie();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatch(/^tasklane_session=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/);
  });

  it('answers 503 DATABASE_UNAVAILABLE "contention" with Retry-After, nothing applied, when every re-run is aborted too', async () => {
    const login = await httpRequest(server.url, '/auth.sign_in', { body: JSON.stringify({ name: 'alice', password: 'alice-password' }), headers: JSON_TYPE });
    const headers = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'sec-fetch-site': 'same-origin', ...JSON_TYPE };
    const id = (await httpRequest(server.url, '/tasks.create', { body: JSON.stringify({ name: 'always conflicting', project_name: 'rerun' }), headers })).json.data.id as string;
    // Conflicts that never end, as PostgreSQL reports them: every update of this task fails with 40001.
    const client = new pg.Client({ connectionString: server.dbUrl });
    await client.connect();
    try {
      await client.query(`
        CREATE FUNCTION test_always_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END $$;
        CREATE TRIGGER test_always_conflict BEFORE UPDATE ON tasks FOR EACH ROW
          WHEN (OLD.id = '${id}') EXECUTE FUNCTION test_always_conflict();`);
      const reply = await httpRequest(server.url, '/tasks.edit', { body: JSON.stringify({ task: id, comment: 'never stored' }), headers });
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toBe('1');
      expect(reply.json.meta.error_data).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'contention', write_outcome: 'not_applied' });
      expect(reply.json.meta.result_msg).toMatch(/^The database could not apply this request alongside other changes to the same data \(8 tries\); nothing of it was applied\. Send it again\.$/);
    } finally {
      await client.query('DROP TRIGGER IF EXISTS test_always_conflict ON tasks; DROP FUNCTION IF EXISTS test_always_conflict()');
      await client.end();
    }
    const task = await httpRequest(server.url, '/tasks.get_by_id', { body: JSON.stringify({ task: id }), headers });
    expect(task.json.data.task.comment ?? '').not.toBe('never stored');
  });
});
