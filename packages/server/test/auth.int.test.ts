// Authentication where it is on: every way a request can fail to prove who it is gets its own 401 (or 403, 429),
// each with a ClearML-style envelope that says which; key pairs, tokens and sessions work; revocation and removal
// hold from the next request; what --auth resolves to, and what the server refuses to start with.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addUser,
  createCredentials,
  loadServerConfig,
  removeUser,
  revokeCredentials,
  setUserPassword,
  startServer,
  type RunningServer,
} from '@tasklane/server';
import { httpRequest, type HttpReply } from './support/http-request.js';
import { newTestDatabase, type TestDatabase } from './support/test-server.js';

const JSON_TYPE = { 'content-type': 'application/json' };

function basic(accessKey: string, secretKey: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
}

/** A server with auth on and its users made through the same functions `tasklane users/credentials` use. */
async function startAuthServer(dir: string, database: TestDatabase, logLines: string[], extra: Record<string, unknown> = {}) {
  const config = loadServerConfig({}, { port: 0, dataDir: dir, dbUrl: database.dbUrl, logLevel: 'info', auth: 'on', ...extra });
  return startServer(config, { logStream: { write: (line: string) => logLines.push(line) } });
}

function expectRefused(reply: HttpReply, status: number, reason?: string): void {
  expect({ status: reply.status, code: reply.json?.meta?.result_code, reason: reply.json?.meta?.error_data?.reason }).toEqual({
    status,
    code: status,
    reason,
  });
}

describe('authentication on', () => {
  let dir: string;
  let database: TestDatabase;
  let server: RunningServer;
  const log: string[] = [];
  let alice: { access_key: string; secret_key: string };
  let bob: { access_key: string; secret_key: string };

  const call = (path: string, headers: Record<string, string>, body: unknown = {}) =>
    httpRequest(server.url, path, { body: JSON.stringify(body), headers: { ...JSON_TYPE, ...headers } });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-auth-'));
    database = await newTestDatabase(dir);
    const store = await database.openStore();
    await addUser(store, { name: 'alice', role: 'admin', password: 'alice-password' });
    await addUser(store, { name: 'bob', role: 'user', password: 'bob-password' });
    alice = await createCredentials(store, { name: 'alice' });
    bob = await createCredentials(store, { name: 'bob' });
    await store.close();
    server = await startAuthServer(dir, database, log);
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a request without credentials with 401 no_credentials, and serves the UI page publicly', async () => {
    const reply = await call('/tasks.get_all', {});
    expectRefused(reply, 401, 'no_credentials');
    expect(reply.json.meta.result_subcode).toBe(20);
    expect(reply.json.meta.result_msg).toMatch(/tasklane credentials create/);
    expect((await httpRequest(server.url, '/', { method: 'GET' })).status).toBe(200);
    expect((await httpRequest(server.url, '/files/x/y.txt', { method: 'GET' })).status).toBe(401);
  });

  it('takes the key pair as HTTP Basic on any endpoint, and records tasks and models under its user', async () => {
    const created = await call('/tasks.create', { authorization: basic(bob.access_key, bob.secret_key), 'x-tasklane-user': 'mallory' }, { name: 'by bob', type: 'training' });
    expect(created.status).toBe(200);
    const got = await call('/tasks.get_by_id', { authorization: basic(bob.access_key, bob.secret_key) }, { task: created.json.data.id });
    expect(got.json.data.task.user).toBe('bob');
    const model = await call('/models.create', { authorization: basic(bob.access_key, bob.secret_key), 'x-tasklane-user': 'mallory' }, { name: 'by bob', uri: 'file:///m.bin' });
    const gotModel = await call('/models.get_by_id', { authorization: basic(bob.access_key, bob.secret_key) }, { model: model.json.data.id });
    expect(gotModel.json.data.model.user).toBe('bob');
    const mine = await call('/models.get_all', { authorization: basic(bob.access_key, bob.secret_key) }, { user: ['bob'] });
    expect(mine.json.data.models.map((m: { id: string }) => m.id)).toEqual([model.json.data.id]);
  });

  it('exchanges a key pair for a token at auth.login (as ClearML’s SDK does: GET, no body) and takes it as Bearer', async () => {
    const login = await httpRequest(server.url, '/auth.login', { method: 'GET', headers: { authorization: basic(alice.access_key, alice.secret_key) } });
    expect(login.status).toBe(200);
    const token: string = login.json.data.token;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ identity: { user_name: 'alice', role: 'admin', company: 'tasklane' }, feature_set: 'basic', api_version: expect.any(String) });
    expect(claims.exp - claims.iat).toBe(24 * 3600);
    const me = await call('/users.get_current_user', { authorization: `Bearer ${token}` });
    expect(me.json.data).toMatchObject({ user: { name: 'alice', role: 'admin' }, auth: true });
    // a token refreshes itself
    const again = await httpRequest(server.url, '/auth.login', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
  });

  it('tells an unknown key, a wrong secret and another scheme apart', async () => {
    expectRefused(await call('/tasks.get_all', { authorization: basic('NOSUCHKEY0000000000000000000000', bob.secret_key) }), 401, 'unknown_key');
    expectRefused(await call('/tasks.get_all', { authorization: basic(bob.access_key, 'wrong') }), 401, 'wrong_secret');
    expectRefused(await call('/tasks.get_all', { authorization: 'Digest abc' }), 401, 'bad_auth_type');
    expectRefused(await call('/tasks.get_all', { authorization: 'Basic bm9jb2xvbg==' }), 401, 'bad_auth_type');
  });

  it('refuses tampered, foreign, unsigned and expired tokens', async () => {
    const login = await httpRequest(server.url, '/auth.login', { method: 'GET', headers: { authorization: basic(bob.access_key, bob.secret_key) } });
    const [header, payload, signature] = (login.json.data.token as string).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, identity: { ...claims.identity, role: 'admin' } })).toString('base64url');
    expectRefused(await call('/users.get_all', { authorization: `Bearer ${header}.${forged}.${signature}` }), 401, 'invalid_token');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    expectRefused(await call('/users.get_all', { authorization: `Bearer ${none}.${forged}.` }), 401, 'invalid_token');
    expectRefused(await call('/tasks.get_all', { authorization: 'Bearer not-a-token' }), 401, 'invalid_token');

    const short = await httpRequest(server.url, '/auth.login', {
      body: JSON.stringify({ expiration_sec: 1 }),
      headers: { ...JSON_TYPE, authorization: basic(bob.access_key, bob.secret_key) },
    });
    await new Promise((done) => setTimeout(done, 2100));
    const expired = await call('/tasks.get_all', { authorization: `Bearer ${short.json.data.token}` });
    expectRefused(expired, 401, 'expired_token');
    expect(expired.json.meta.result_msg).toMatch(/log in again/);
  });

  it('answers 403 to a user calling an admin endpoint, and lets an admin', async () => {
    const refused = await call('/users.get_all', { authorization: basic(bob.access_key, bob.secret_key) });
    expectRefused(refused, 403, 'role_not_allowed');
    const listed = await call('/users.get_all', { authorization: basic(alice.access_key, alice.secret_key) });
    expect(listed.json.data.users.map((user: { name: string }) => user.name)).toEqual(['alice', 'bob']);
    expect(JSON.stringify(listed.json)).not.toMatch(/scrypt|password/);
  });

  it('lets a user make, list and revoke their own key pairs; a revoked key and its tokens fail at once', async () => {
    const auth = { authorization: basic(bob.access_key, bob.secret_key) };
    const made = await call('/auth.create_credentials', auth, { label: 'laptop' });
    expect(made.json.data.credentials).toMatchObject({ access_key: expect.stringMatching(/^[A-Z0-9]{30}$/), label: 'laptop' });
    const fresh = made.json.data.credentials as { access_key: string; secret_key: string };
    const listed = await call('/auth.get_credentials', auth);
    expect(listed.json.data.credentials.map((c: { access_key: string }) => c.access_key)).toContain(fresh.access_key);
    expect(JSON.stringify(listed.json)).not.toContain(fresh.secret_key);

    const login = await httpRequest(server.url, '/auth.login', { method: 'GET', headers: { authorization: basic(fresh.access_key, fresh.secret_key) } });
    const token = login.json.data.token as string;
    expect((await call('/tasks.get_all', { authorization: `Bearer ${token}` })).status).toBe(200);

    // bob cannot revoke alice's key; he can revoke his own
    expect((await call('/auth.revoke_credentials', auth, { access_key: alice.access_key })).status).toBe(400);
    expect((await call('/auth.revoke_credentials', auth, { access_key: fresh.access_key })).json.data).toEqual({ revoked: 1 });
    expectRefused(await call('/tasks.get_all', { authorization: basic(fresh.access_key, fresh.secret_key) }), 401, 'revoked_key');
    expectRefused(await call('/tasks.get_all', { authorization: `Bearer ${token}` }), 401, 'revoked_key');
  });

  /** Polls until the request is refused; answers the reply and how long it took (another process's change holds within a second). */
  async function refusedWithin(path: string, headers: Record<string, string>): Promise<{ reply: HttpReply; ms: number }> {
    const started = Date.now();
    for (;;) {
      const reply = await call(path, headers);
      if (reply.status !== 200 || Date.now() - started > 2000) return { reply, ms: Date.now() - started };
      await new Promise((done) => setTimeout(done, 25));
    }
  }

  it('applies a revocation and a removal made from another process (the CLI’s store) within a second', async () => {
    const store = await database.openStore();
    try {
      const carol = await addUser(store, { name: 'carol', role: 'user' });
      const keys = await createCredentials(store, { id: carol.id });
      const spare = await createCredentials(store, { id: carol.id });
      const auth = { authorization: basic(keys.access_key, keys.secret_key) };
      expect((await call('/tasks.get_all', auth)).status).toBe(200);
      const token = (await httpRequest(server.url, '/auth.login', { method: 'GET', headers: auth })).json.data.token as string;

      await revokeCredentials(store, keys.access_key);
      const revoked = await refusedWithin('/tasks.get_all', auth);
      expectRefused(revoked.reply, 401, 'revoked_key');
      expect(revoked.ms).toBeLessThan(1000);
      expectRefused((await refusedWithin('/tasks.get_all', { authorization: `Bearer ${token}` })).reply, 401, 'revoked_key');

      const spareAuth = { authorization: basic(spare.access_key, spare.secret_key) };
      const spareToken = (await httpRequest(server.url, '/auth.login', { method: 'GET', headers: spareAuth })).json.data.token as string;
      expect((await call('/tasks.get_all', spareAuth)).status).toBe(200);
      await removeUser(store, 'carol');
      const removed = await refusedWithin('/tasks.get_all', spareAuth);
      expectRefused(removed.reply, 401, 'removed_user');
      expect(removed.ms).toBeLessThan(1000);
      expectRefused((await refusedWithin('/tasks.get_all', { authorization: `Bearer ${spareToken}` })).reply, 401, 'removed_user');
    } finally {
      await store.close();
    }
  });

  it('signs the web UI in with a password into an HttpOnly SameSite=Strict cookie, renews it and signs out', async () => {
    const wrong = await call('/auth.sign_in', {}, { name: 'alice', password: 'nope-nope' });
    expectRefused(wrong, 401, 'wrong_password');
    const unknown = await call('/auth.sign_in', {}, { name: 'nobody', password: 'nope-nope' });
    expect(unknown.json.meta.result_msg).toBe(wrong.json.meta.result_msg);

    const signedIn = await call('/auth.sign_in', {}, { name: 'Alice', password: 'alice-password' });
    expect(signedIn.status).toBe(200);
    const setCookie = String(signedIn.headers['set-cookie']);
    expect(setCookie).toMatch(/^tasklane_session=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    const sameOrigin = { cookie, 'sec-fetch-site': 'same-origin' };
    expect((await call('/users.get_current_user', sameOrigin)).json.data.user.name).toBe('alice');
    expect((await httpRequest(server.url, '/tasks.get_all', { method: 'GET', headers: sameOrigin })).status).toBe(200);
    // a page on another port of this host is same-site: its requests carry the cookie, which does not count
    expectRefused(await call('/tasks.get_all', { cookie, 'sec-fetch-site': 'same-site' }), 401, 'no_credentials');
    expectRefused(await call('/tasks.get_all', { cookie, 'sec-fetch-site': 'cross-site' }), 401, 'no_credentials');
    // auth.login is for key pairs and tokens, not the cookie
    expectRefused(await httpRequest(server.url, '/auth.login', { method: 'GET', headers: sameOrigin }), 401, 'no_credentials');

    const renewed = await call('/auth.refresh_session', sameOrigin);
    expect(renewed.status).toBe(200);
    expect(String(renewed.headers['set-cookie'])).toMatch(/^tasklane_session=[^;]+;/);
    const renewedCookie = String(renewed.headers['set-cookie']).split(';')[0]!;
    const out = await call('/auth.sign_out', sameOrigin);
    expect(String(out.headers['set-cookie'])).toMatch(/^tasklane_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict$/);
    // Signing out ends the session on the server: a copy of either token of it no longer works.
    expectRefused(await call('/tasks.get_all', sameOrigin), 401, 'ended_session');
    expectRefused(await call('/tasks.get_all', { cookie: renewedCookie, 'sec-fetch-site': 'same-origin' }), 401, 'ended_session');
    expectRefused(await call('/tasks.get_all', { authorization: `Bearer ${cookie.split('=')[1]}` }), 401, 'ended_session');
    // sign-in needs the JSON content type like every write (no login CSRF from a form)
    const form = await httpRequest(server.url, '/auth.sign_in', { body: 'name=alice&password=alice-password', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
  });

  it('ends every web session of a user whose password is changed', async () => {
    const signedIn = await call('/auth.sign_in', {}, { name: 'bob', password: 'bob-password' });
    const cookie = { cookie: String(signedIn.headers['set-cookie']).split(';')[0]!, 'sec-fetch-site': 'same-origin' };
    expect((await call('/tasks.get_all', cookie)).status).toBe(200);
    const store = await database.openStore();
    await setUserPassword(store, 'bob', 'bob-password');
    await store.close();
    expectRefused((await refusedWithin('/tasks.get_all', cookie)).reply, 401, 'ended_session');
    // bob's key pair is not a session: it still works
    expect((await call('/tasks.get_all', { authorization: basic(bob.access_key, bob.secret_key) })).status).toBe(200);
  });

  it('rate-limits failed sign-ins per key with 429 and Retry-After, even for the right secret', async () => {
    const store = await database.openStore();
    const dave = await addUser(store, { name: 'dave', role: 'user' });
    const keys = await createCredentials(store, { id: dave.id });
    await store.close();
    for (let i = 0; i < 10; i += 1) {
      expectRefused(await call('/tasks.get_all', { authorization: basic(keys.access_key, `guess-${i}`) }), 401, 'wrong_secret');
    }
    const limited = await call('/tasks.get_all', { authorization: basic(keys.access_key, keys.secret_key) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(800);
    expect(limited.json.meta.result_msg).toMatch(/Too many failed sign-ins/);
    // others are not affected
    expect((await call('/tasks.get_all', { authorization: basic(bob.access_key, bob.secret_key) })).status).toBe(200);
  });

  it('answers hostile Authorization and Cookie headers with a short 401, never a 5xx', async () => {
    const junk = [
      'Bearer',
      'Bearer ',
      `Bearer ${'a'.repeat(12_000)}`,
      `Bearer ${'a.'.repeat(5_000)}`,
      'Bearer ..',
      `Bearer ${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${'e30'}.`,
      'Basic',
      'Basic !!!!',
      `Basic ${Buffer.from(':').toString('base64')}`,
      `Basic ${Buffer.from(`${'K'.repeat(10_000)}:x`).toString('base64')}`,
      `Basic ${Buffer.from('ключ:секрет').toString('base64')}`,
      'basic Og==',
      'Negotiate abc',
    ];
    for (const authorization of junk) {
      const reply = await call('/tasks.get_all', { authorization });
      expect({ authorization: authorization.slice(0, 40), status: reply.status }).toEqual({ authorization: authorization.slice(0, 40), status: 401 });
      expect(reply.json.meta.result_msg.length).toBeLessThan(1000);
    }
    for (const cookie of [`tasklane_session=${'x'.repeat(8000)}`, 'tasklane_session=', 'tasklane_session', ';;;=;', 'a=1; tasklane_session=a.b.c; tasklane_session=d']) {
      const reply = await call('/tasks.get_all', { cookie, 'sec-fetch-site': 'same-origin' });
      expect({ cookie: cookie.slice(0, 40), status: reply.status }).toEqual({ cookie: cookie.slice(0, 40), status: 401 });
    }
  });

  it('never writes a secret or a password to the log, and logs who signed in and who failed', async () => {
    const text = log.join('');
    for (const secret of [alice.secret_key, bob.secret_key, 'alice-password', 'bob-password']) expect(text).not.toContain(secret);
    expect(text).toMatch(/"user":"alice".*"logged in"|"logged in".*"user":"alice"/);
    expect(text).toContain('sign-in failed');
    expect(text).toContain('signed in to the web UI');
  });

  it('keeps the token-signing secret in the database, not in the data dir', async () => {
    await expect(readFile(join(dir, 'auth-secret'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    const store = await database.openStore();
    // The stored one is answered, not the value offered.
    const secret = await store.transaction((repos) => repos.users.serverSecret('token-signing', 'offered'.repeat(8), new Date().toISOString()));
    await store.close();
    expect(secret.length).toBeGreaterThanOrEqual(64);
    expect(secret).not.toBe('offered'.repeat(8));
  });
});

describe('--auth', () => {
  let dir: string;
  const databases: TestDatabase[] = [];
  /** The data dir `name` of this block and its database on this run's store. */
  async function dataDirAndDb(name: string): Promise<{ dataDir: string; dbUrl: string; database: TestDatabase }> {
    const dataDir = join(dir, name);
    const database = await newTestDatabase(dataDir);
    databases.push(database);
    return { dataDir, dbUrl: database.dbUrl, database };
  }
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-auth-mode-'));
  });
  afterAll(async () => {
    for (const database of databases) await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('auto is off on loopback with no users', async () => {
    const { dataDir, dbUrl } = await dataDirAndDb('a');
    const server = await startServer(loadServerConfig({}, { port: 0, dataDir, dbUrl, logLevel: 'silent' }));
    try {
      expect(server.authEnabled).toBe(false);
      expect((await httpRequest(server.url, '/tasks.get_all', { method: 'GET' })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('refuses a non-loopback address with auth off, and auth on with no user, saying how to make the first admin', async () => {
    const { dataDir, dbUrl } = await dataDirAndDb('b');
    await expect(startServer(loadServerConfig({}, { host: '0.0.0.0', port: 0, dataDir, dbUrl, logLevel: 'silent', auth: 'off' }))).rejects.toThrow(
      /Refusing to listen on 0\.0\.0\.0 with authentication off.*tasklane users add admin --admin/,
    );
    await expect(startServer(loadServerConfig({}, { host: '0.0.0.0', port: 0, dataDir, dbUrl, logLevel: 'silent' }))).rejects.toThrow(
      /Authentication is on \(the server listens on 0\.0\.0\.0, not loopback only\), but there is no user yet.*tasklane users add admin --admin/,
    );
    await expect(startServer(loadServerConfig({}, { port: 0, dataDir, dbUrl, logLevel: 'silent', auth: 'on' }))).rejects.toThrow(/no user yet/);
  });

  it('auto turns on once a user exists, and shares TASKLANE_AUTH_SECRET between processes', async () => {
    const { dataDir, dbUrl, database } = await dataDirAndDb('c');
    const store = await database.openStore();
    await addUser(store, { name: 'erin', role: 'admin' });
    const keys = await createCredentials(store, { name: 'erin' });
    await store.close();
    const env = { TASKLANE_AUTH_SECRET: 'x'.repeat(40) };
    const first = await startServer(loadServerConfig(env, { port: 0, dataDir, dbUrl, logLevel: 'silent' }));
    const second = await startServer(loadServerConfig(env, { port: 0, dataDir, dbUrl, logLevel: 'silent' }));
    try {
      expect(first.authEnabled).toBe(true);
      const login = await httpRequest(first.url, '/auth.login', { method: 'GET', headers: { authorization: basic(keys.access_key, keys.secret_key) } });
      const onSecond = await httpRequest(second.url, '/tasks.get_all', { method: 'GET', headers: { authorization: `Bearer ${login.json.data.token}` } });
      expect(onSecond.status).toBe(200);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('never echoes a bad auth secret in the configuration error', () => {
    expect(() => loadServerConfig({ TASKLANE_AUTH_SECRET: 'short-secret-value' })).toThrow(/TASKLANE_AUTH_SECRET \(authSecret\): use at least 32 characters.*got 18 characters/);
    expect(() => loadServerConfig({ TASKLANE_AUTH_SECRET: 'short-secret-value' })).not.toThrow(/short-secret-value/);
  });
});
