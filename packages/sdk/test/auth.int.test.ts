// The SDK against a server with authentication on, with key pairs made as `tasklane credentials create` makes them:
// a run logs in once and reports everything (scalars, debug samples, artifacts up and down) under its user; tokens
// are renewed before they end and once more after a refusal; a bad key fails at once, naming what to fix; the secret
// is in no task field, console line or server log line. Also: auth off works as before, offline never logs in.
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, createCredentials, loadServerConfig, revokeCredentials, startServer, type RunningServer } from '@tasklane/server';
import { StorageManager, loadKeyPair, loadSdkConfig } from 'tasklane';
import { ApiClient, TasklaneError, TokenManager, type KeyPair } from 'tasklane/client';
import { newTestDatabase, type TestDatabase } from '../../server/test/support/test-server.js';
import { SDK_DIR, buildSdk } from './support/build-sdk.js';
import { runScript, type ScriptRun } from './support/run-script.js';

const FIXTURES = join(SDK_DIR, 'test/auth-fixtures');
/** The header of every token the server signs (base64url of {"alg":"HS256","typ":"JWT"}): no log line may hold one. */
const TOKEN_HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';

interface Credentials {
  access_key: string;
  secret_key: string;
}

/** Makes users and key pairs in a server's database, through the functions the CLI uses. */
async function makeUsers(database: TestDatabase, names: string[]): Promise<Record<string, Credentials>> {
  const store = await database.openStore();
  try {
    const made: Record<string, Credentials> = {};
    for (const name of names) {
      await addUser(store, { name, role: name === 'alice' ? 'admin' : 'user' });
      made[name] = await createCredentials(store, { name });
    }
    return made;
  } finally {
    await store.close();
  }
}

function startAuthServer(dataDir: string, database: TestDatabase, log: string[], extra: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = loadServerConfig({}, { port: 0, dataDir, dbUrl: database.dbUrl, logLevel: 'debug', auth: 'on', tokenLifetimeSec: 60, ...extra });
  return startServer(config, { logStream: { write: (line: string) => log.push(line) } });
}

/** The server's log records from line `from` on. */
function records(log: string[], from = 0): Record<string, unknown>[] {
  return log.slice(from).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

const logins = (log: string[], from = 0) => records(log, from).filter((r) => r.msg === 'logged in');

function keyPairOf(credentials: Credentials, source = 'TASKLANE_API'): KeyPair {
  return {
    accessKey: credentials.access_key,
    secretKey: credentials.secret_key,
    accessKeySource: `${source}_ACCESS_KEY`,
    secretKeySource: `${source}_SECRET_KEY`,
  };
}

/** A client as the SDK makes one, with its own token manager (and clock, when given). */
function clientWith(url: string, keyPair: KeyPair | undefined, now?: () => number): { api: ApiClient; auth: TokenManager } {
  const auth = new TokenManager({ baseUrl: url, keyPair, ...(now ? { now } : {}) });
  return { api: new ApiClient({ baseUrl: url, auth, validateResponses: true }), auth };
}

async function refusal(promise: Promise<unknown>): Promise<TasklaneError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof TasklaneError)) throw new Error(`expected a TasklaneError, got ${String(error)}`);
  return error;
}

describe('the SDK with authentication on', () => {
  let dir: string;
  let database: TestDatabase;
  let work: string;
  let server: RunningServer;
  const log: string[] = [];
  let users: Record<string, Credentials>;
  /** The message with the parts that change between runs replaced. */
  let tidy: (text: string) => string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-sdk-auth-'));
    work = join(dir, 'work');
    await mkdir(join(work, 'node_modules'), { recursive: true });
    await symlink(SDK_DIR, join(work, 'node_modules/tasklane'), 'dir');
    for (const name of await readdir(FIXTURES)) await copyFile(join(FIXTURES, name), join(work, name));
    database = await newTestDatabase(join(dir, 'data'));
    users = await makeUsers(database, ['alice', 'bob']);
    [server] = await Promise.all([startAuthServer(join(dir, 'data'), database, log), buildSdk()]);
    tidy = (text) =>
      Object.values(users)
        .reduce((t, c) => t.replaceAll(c.access_key, '<access key>'), text.replaceAll(server.url, '<server>'))
        .replaceAll(join(dir, 'work'), '<work>');
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function sdkEnv(extra: Record<string, string>): Record<string, string> {
    return {
      TASKLANE_API_HOST: server.url,
      TASKLANE_STATE_DIR: join(work, 'state'),
      TASKLANE_FLUSH_INTERVAL_MS: '200',
      XDG_CONFIG_HOME: join(work, 'config-home'),
      ...extra,
    };
  }

  const run = (fixture: string, env: Record<string, string>): Promise<ScriptRun> =>
    runScript(fixture, [], { cwd: work, env: sdkEnv(env), timeoutMs: 30_000 });

  it('a run with its key pair in the environment logs in once and reports everything under its user', async () => {
    const alice = users.alice!;
    const from = log.length;
    const result = await run('run-under-auth.mjs', { TASKLANE_API_ACCESS_KEY: alice.access_key, TASKLANE_API_SECRET_KEY: alice.secret_key });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('@@fetched {"accuracy":0.9,"secretFree":true}');
    const taskId = /@@task ([0-9a-f]{32})/.exec(result.stdout)![1]!;
    // One auth.login for the whole run: the API calls, the uploads and the download share the token.
    expect(logins(log, from).map((r) => ({ user: r.user, via: r.via }))).toEqual([{ user: 'alice', via: 'basic' }]);

    const { api } = clientWith(server.url, keyPairOf(alice));
    const { task } = await api.call('tasks.get_by_id', { task: taskId });
    expect({ status: task.status, user: task.user }).toEqual({ status: 'completed', user: 'alice' });
    const scalars = (await api.call('events.scalar_metrics_iter_histogram', { task: taskId })) as Record<string, Record<string, { y: number[] }>>;
    expect(scalars.loss?.train?.y).toEqual([1, 0.5, 1 / 3]);
    // The debug image and the artifact are on the file server, which wants the credentials too.
    const { events } = await api.call('events.get_task_events', { task: taskId, event_type: 'training_debug_image' });
    const imageUrl = (events[0] as { url?: string } | undefined)?.url;
    expect(imageUrl).toMatch(new RegExp(`^${server.url}/files/`));
    expect((await fetch(imageUrl!)).status).toBe(401);
    const image = await fetch(imageUrl!, { headers: { authorization: (await clientWith(server.url, keyPairOf(alice)).auth.authorization())! } });
    expect(await image.text()).toBe('not really a png, but bytes');
    const artifact = task.execution.artifacts?.find((a) => a.key === 'summary');
    expect(artifact?.uri).toMatch(new RegExp(`^${server.url}/files/`));
  });

  it('delivers the last reports of a run that calls process.exit() with the same credentials', async () => {
    const alice = users.alice!;
    const from = log.length;
    const result = await run('exit-at-once.mjs', { TASKLANE_API_ACCESS_KEY: alice.access_key, TASKLANE_API_SECRET_KEY: alice.secret_key });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const taskId = /@@task ([0-9a-f]{32})/.exec(result.stdout)![1]!;
    const { api } = clientWith(server.url, keyPairOf(alice));
    expect((await api.call('tasks.get_by_id', { task: taskId })).task.status).toBe('completed');
    const scalars = (await api.call('events.scalar_metrics_iter_histogram', { task: taskId })) as Record<string, Record<string, { x: number[]; y: number[] }>>;
    expect(scalars.last?.words).toMatchObject({ x: [7], y: [42] });
    expect(logins(log, from)).toHaveLength(2); // the run's, and this test's own client
  });

  it('keeps the secret key out of the task, its console and the server log', async () => {
    const bob = users.bob!;
    const from = log.length;
    const result = await run('run-under-auth.mjs', { TASKLANE_API_ACCESS_KEY: bob.access_key, TASKLANE_API_SECRET_KEY: bob.secret_key });
    expect(result.code).toBe(0);
    const taskId = /@@task ([0-9a-f]{32})/.exec(result.stdout)![1]!;
    const { api } = clientWith(server.url, keyPairOf(bob));
    const { task } = await api.call('tasks.get_by_id', { task: taskId });
    expect(task.user).toBe('bob');
    const { events: console } = await api.call('events.get_task_log', { task: taskId, batch_size: 1000, navigate_earlier: false, order: 'asc' });
    const lines = console.map((e) => e.msg);
    expect(lines).toContain('the secret is [redacted]');
    expect(lines).toContain('reported text holding [redacted]');
    const { events: all } = await api.call('events.get_task_events', { task: taskId });
    const stored = JSON.stringify({ task, console, all });
    expect(stored).not.toContain(bob.secret_key);
    // The log is at debug level (every request line); it names the access key and the user, never a secret or token.
    const serverLog = log.slice(from).join('\n');
    expect(serverLog).toContain(bob.access_key);
    expect(serverLog).not.toContain(bob.secret_key);
    expect(serverLog).not.toContain(TOKEN_HEADER);
  });

  it('fails a run with a wrong secret at once, naming TASKLANE_API_SECRET_KEY, after one attempt', async () => {
    const alice = users.alice!;
    const from = log.length;
    const startedAt = performance.now();
    const result = await run('init-only.mjs', { TASKLANE_API_ACCESS_KEY: alice.access_key, TASKLANE_API_SECRET_KEY: 'not-the-secret-at-all' });
    expect(performance.now() - startedAt).toBeLessThan(10_000);
    expect(result.code).not.toBe(0);
    expect(result.stdout).not.toContain('@@task');
    expect(tidy(result.stderr)).toContain(
      'TasklaneError: The Tasklane server at <server> refused the key pair (wrong_secret): The secret key does not match access key ' +
        '<access key>: check the secret key you configured (it was shown once, when the key pair was made; make a new pair if ' +
        'it is lost). Fix TASKLANE_API_SECRET_KEY.',
    );
    expect(result.stderr).not.toContain('not-the-secret-at-all');
    expect(records(log, from).filter((r) => r.msg === 'sign-in failed').map((r) => r.reason)).toEqual(['wrong_secret']);
  });

  it('says how to configure a key pair when none is set', async () => {
    const result = await run('init-only.mjs', {});
    expect(result.code).not.toBe(0);
    expect(tidy(result.stderr)).toContain(
      'TasklaneError: The Tasklane server at <server> requires credentials, and none are configured. Create a key pair with ' +
        "`tasklane credentials create --user NAME` (or on the web UI's profile page), then set TASKLANE_API_ACCESS_KEY and " +
        'TASKLANE_API_SECRET_KEY in the environment (CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY work too), or accessKey ' +
        'and secretKey in <work>/config-home/tasklane/config.json.',
    );
  });

  it('names the variable or config key each half of the pair came from', async () => {
    const alice = users.alice!;
    const clearml = loadKeyPair({ CLEARML_API_ACCESS_KEY: 'NOSUCHKEY000000000000000000000', CLEARML_API_SECRET_KEY: alice.secret_key, XDG_CONFIG_HOME: work });
    expect(tidy((await refusal(clientWith(server.url, clearml).api.call('tasks.get_all', {}))).message)).toMatchInlineSnapshot(
      `"The Tasklane server at <server> refused the key pair (unknown_key): Unknown access key "NOSUCHKEY000000000000000000000": check the access key you configured, or create a key pair with \`tasklane credentials create --user NAME\` or on the web UI's profile page. Fix CLEARML_API_ACCESS_KEY."`,
    );
    const file = join(work, 'sdk-config.json');
    await writeFile(file, JSON.stringify({ accessKey: alice.access_key, secretKey: 'wrong-secret-in-the-file' }));
    const fromFile = loadKeyPair({ TASKLANE_CONFIG_FILE: file });
    const error = await refusal(clientWith(server.url, fromFile).api.call('tasks.get_all', {}));
    expect(error.code).toBe('UNAUTHORIZED');
    expect(tidy(error.message)).toMatch(/\(wrong_secret\): .* Fix secretKey in <work>\/sdk-config\.json\.$/);
    // Tasklane's variables win over ClearML's, which win over the file.
    expect(loadKeyPair({ TASKLANE_CONFIG_FILE: file, CLEARML_API_SECRET_KEY: 's2', TASKLANE_API_ACCESS_KEY: 'a1' })).toEqual({
      accessKey: 'a1',
      secretKey: 's2',
      accessKeySource: 'TASKLANE_API_ACCESS_KEY',
      secretKeySource: 'CLEARML_API_SECRET_KEY',
    });
    const half = await refusal((async () => loadSdkConfig({ TASKLANE_API_ACCESS_KEY: 'a1', XDG_CONFIG_HOME: work }))());
    expect(tidy(half.message)).toMatchInlineSnapshot(`"Half a key pair: TASKLANE_API_ACCESS_KEY is set, but no secret key is. Set TASKLANE_API_SECRET_KEY too (or secretKey in <work>/tasklane/config.json); \`tasklane credentials create --user NAME\` makes a pair."`);
  });

  it('never logs in offline, even with a key pair and a server configured', async () => {
    const alice = users.alice!;
    const from = log.length;
    const result = await run('init-only.mjs', {
      TASKLANE_OFFLINE_MODE: '1',
      TASKLANE_OFFLINE_DIR: join(work, 'offline'),
      TASKLANE_API_ACCESS_KEY: alice.access_key,
      TASKLANE_API_SECRET_KEY: alice.secret_key,
    });
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(records(log, from).filter((r) => r.msg === 'logged in' || r.msg === 'sign-in failed')).toEqual([]);
  });

  it('renews the token before it ends (a tenth of its life left), with the token itself', async () => {
    let skewMs = 0;
    const { api, auth } = clientWith(server.url, keyPairOf(users.alice!), () => Date.now() + skewMs);
    const from = log.length;
    for (let i = 0; i < 5; i += 1) await api.call('tasks.get_all', { page_size: 1 });
    expect(auth.loginCount).toBe(1);
    skewMs = 50_000; // 10 s of the 60 s left: still used as it is
    await api.call('tasks.get_all', { page_size: 1 });
    expect(auth.loginCount).toBe(1);
    skewMs = 55_000; // 5 s left, less than a tenth: renewed first
    await api.call('tasks.get_all', { page_size: 1 });
    await api.call('tasks.get_all', { page_size: 1 });
    expect(auth.loginCount).toBe(2);
    expect(logins(log, from).map((r) => r.via)).toEqual(['basic', 'bearer']);
    // Past its end by this machine's clock (asleep for a while): a login with the key pair, not a refresh.
    skewMs = 200_000;
    await api.call('tasks.get_all', { page_size: 1 });
    expect(logins(log, from).map((r) => r.via)).toEqual(['basic', 'bearer', 'basic']);
  });

  it('logs in once more after a refused token, and stops there when the key itself is refused', async () => {
    const { api: aliceApi } = clientWith(server.url, keyPairOf(users.alice!));
    const { credentials } = await aliceApi.call('auth.create_credentials', { label: 'revoked in this test' });
    const { api, auth } = clientWith(server.url, keyPairOf(credentials));
    await api.call('tasks.get_all', { page_size: 1 });
    await api.call('auth.revoke_credentials', { access_key: credentials.access_key });
    const error = await refusal(api.call('tasks.create', { name: 'after revocation', type: 'training' }));
    // The token was refused (revoked_key), the login with the key too: two logins in all, no loop.
    expect(auth.loginCount).toBe(2);
    expect(error.code).toBe('UNAUTHORIZED');
    const shown = tidy(error.message).replaceAll(credentials.access_key, '<access key>').replace(/\(\d{4}-\d\d-\d\dT[^)]*\)/, '(<time>)');
    // Refused once, refused for good: the next call fails the same way without asking the server again.
    expect((await refusal(api.call('tasks.get_all', {}))).message).toBe(error.message);
    expect(auth.loginCount).toBe(2);
    expect(shown).toMatchInlineSnapshot(`"The Tasklane server at <server> refused the key pair (revoked_key): Access key <access key> was revoked (<time>); create a key pair with \`tasklane credentials create --user NAME\` or on the web UI's profile page. Put a new key pair in TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY."`);
  });
});

describe('a server restarted with a new token secret', () => {
  let dir: string;
  let database: TestDatabase;
  let server: RunningServer;
  const log: string[] = [];
  let alice: Credentials;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-sdk-auth-restart-'));
    database = await newTestDatabase(join(dir, 'data'));
    alice = (await makeUsers(database, ['alice'])).alice!;
    server = await startAuthServer(join(dir, 'data'), database, log);
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Same data and port, another signing secret: every token issued before is refused (invalid_token). */
  async function restartWithNewSecret(secret: string): Promise<void> {
    const port = Number(new URL(server.url).port);
    await server.close();
    server = await startAuthServer(join(dir, 'data'), database, log, { port, authSecret: secret });
    // Lets this process's HTTP client see that the old server closed its kept-alive connections: a request sent on
    // one of them fails as "unreachable" (what any client sees across a restart, not what this test is about).
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  it('the API client and the file server log in again once, and the calls succeed', async () => {
    const env = {
      TASKLANE_API_HOST: server.url,
      TASKLANE_API_ACCESS_KEY: alice.access_key,
      TASKLANE_API_SECRET_KEY: alice.secret_key,
      XDG_CONFIG_HOME: join(dir, 'config-home'),
      TASKLANE_STATE_DIR: join(dir, 'state'),
    };
    const config = loadSdkConfig(env);
    const local = join(dir, 'weights.bin');
    await writeFile(local, 'weights, version 1');
    const uploaded = await StorageManager.uploadFile(local, `${config.filesHost}/auth/weights.bin`, { config });
    const { api, auth } = clientWith(server.url, loadKeyPair(env));
    await api.call('tasks.get_all', { page_size: 1 });

    await restartWithNewSecret('a-new-signing-secret-of-forty-characters!');
    const from = log.length;
    const { tasks } = await api.call('tasks.get_all', { page_size: 1 });
    expect(tasks).toBeDefined();
    expect(auth.loginCount).toBe(2);
    // The storage layer holds its own token (the SDK's, shared by the process): refused once, renewed once.
    const copy = await StorageManager.downloadFile(uploaded.uri, join(dir, 'copy.bin'), { config });
    expect(copy.sha256).toBe(uploaded.sha256);
    // One login for the API client, one for the storage layer's token; nothing else logged in again.
    expect(logins(log, from).map((r) => r.via)).toEqual(['basic', 'basic']);
  });
});

describe('the SDK where auth is off, and offline', () => {
  let dir: string;
  let database: TestDatabase;
  let server: RunningServer;
  const log: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-sdk-auth-off-'));
    database = await newTestDatabase(join(dir, 'data'));
    const config = loadServerConfig({}, { port: 0, dataDir: join(dir, 'data'), dbUrl: database.dbUrl, logLevel: 'info', auth: 'off' });
    server = await startServer(config, { logStream: { write: (line: string) => log.push(line) } });
  });
  afterAll(async () => {
    await server?.close();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('works with a key pair configured (the token is sent and ignored) and without one (no login at all)', async () => {
    const withKey = clientWith(server.url, { accessKey: 'ANYKEY', secretKey: 'any-secret-at-all' });
    const headers = { 'X-Tasklane-User': 'dora' };
    const api = new ApiClient({ baseUrl: server.url, headers, auth: withKey.auth });
    const { id } = await api.call('tasks.create', { name: 'auth off, key set', type: 'training' });
    expect((await api.call('tasks.get_by_id', { task: id })).task.user).toBe('dora');
    expect(withKey.auth.loginCount).toBe(1);
    const without = clientWith(server.url, undefined);
    await without.api.call('tasks.get_all', { page_size: 1 });
    expect(without.auth.loginCount).toBe(0);
  });
});
