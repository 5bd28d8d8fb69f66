// The token-signing key is kept in the database (server_secrets), so every server process on one database takes the
// tokens any of them made — without a TASKLANE_AUTH_SECRET set alike on each — and a data dir's `auth-secret` file of
// an older server is taken over on first start, so the tokens it made stay valid.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { addUser, createCredentials } from '@tasklane/server';
import { httpRequest } from './support/http-request.js';
import { onPostgres, startTestServer, type TestServer } from './support/test-server.js';

const basic = (accessKey: string, secretKey: string) => `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;

async function tokenFrom(server: TestServer, keys: { access_key: string; secret_key: string }): Promise<string> {
  const login = await httpRequest(server.url, '/auth.login', { method: 'GET', headers: { authorization: basic(keys.access_key, keys.secret_key) } });
  expect(login.status).toBe(200);
  return login.json.data.token as string;
}

const listWith = (server: TestServer, token: string) =>
  httpRequest(server.url, '/tasks.get_all', { body: '{}', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });

describe('the token-signing key', () => {
  const closing: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closing.reverse()) await close();
  });

  // Two stores open on one SQLite file in one process would wait on each other's write lock: PostgreSQL only.
  it.skipIf(!onPostgres)('is one for every server process on the database, each with a data dir of its own', async () => {
    let keys = { access_key: '', secret_key: '' };
    const a = await startTestServer({ auth: 'on' }, async (store) => {
      const user = await addUser(store, { name: 'erin', role: 'user' });
      keys = await createCredentials(store, { id: user.id });
    });
    closing.push(() => a.close());
    const b = await startTestServer({ auth: 'on', dbUrl: a.dbUrl });
    closing.push(() => b.close());
    expect(b.dir).not.toBe(a.dir);
    const fromA = await tokenFrom(a, keys);
    const fromB = await tokenFrom(b, keys);
    expect((await listWith(b, fromA)).status).toBe(200);
    expect((await listWith(a, fromB)).status).toBe(200);
  });

  it("takes over the data dir's auth-secret file of an older server, so its tokens stay valid", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-token-secret-'));
    closing.push(() => rm(dir, { recursive: true, force: true }));
    const secret = 'f'.repeat(64);
    await writeFile(join(dir, 'auth-secret'), `${secret}\n`, { mode: 0o600 });
    let keys = { access_key: '', secret_key: '' };
    const first = await startTestServer({ auth: 'on', dataDir: dir }, async (store) => {
      const user = await addUser(store, { name: 'finn', role: 'user' });
      keys = await createCredentials(store, { id: user.id });
      // What the database holds before the first start: no key yet.
      expect(await store.transaction((repos) => repos.users.serverSecret('probe', 'x'.repeat(40), new Date().toISOString()))).toBe('x'.repeat(40));
    });
    const token = await tokenFrom(first, keys);
    // A server with the same key (from the file) takes the token; so does the database's key after the file is gone.
    await first.server.close();
    await rm(join(dir, 'auth-secret'));
    const second = await startTestServer({ auth: 'on', dataDir: dir, dbUrl: first.dbUrl });
    closing.push(() => second.close());
    expect((await listWith(second, token)).status).toBe(200);
    // And a token signed with some other key is refused: the check is real.
    const other = await startTestServer({ auth: 'on', authSecret: 'e'.repeat(64) }, async (store) => {
      const user = await addUser(store, { name: 'finn', role: 'user' });
      await createCredentials(store, { id: user.id });
    });
    closing.push(() => other.close());
    expect((await listWith(other, token)).status).toBe(401);
  });
});
