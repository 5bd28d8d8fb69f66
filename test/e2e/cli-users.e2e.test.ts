// `tasklane users ...` and `tasklane credentials ...` as an admin runs them: on the data dir of a server that is
// running with auth on, each change holding from the server's next request.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli, runNode, CLI_BIN, startCliServer, type CliServer } from '../support/cli.js';

function basic(accessKey: string, secretKey: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
}

async function api(url: string, path: string, headers: Record<string, string>, body: unknown = {}) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as any, cookie: response.headers.get('set-cookie') };
}

describe('tasklane users / credentials', () => {
  let base: string;
  let dataDir: string;
  let server: CliServer | undefined;
  beforeAll(async () => {
    assertCliBuilt();
    base = await mkdtemp(join(tmpdir(), 'tasklane-users-'));
    dataDir = join(base, 'data');
  });
  afterAll(async () => {
    await server?.stop();
    await rm(base, { recursive: true, force: true });
  });

  const cli = (args: string[], input?: string) => runNode(CLI_BIN, [...args, '--data-dir', dataDir], input === undefined ? {} : { input });

  it('refuses to serve the network with no user, saying how to make the first admin', async () => {
    const refused = await runCli(['server', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/no user yet.*tasklane users add admin --admin --password-stdin/);
  });

  it('adds the first admin with a password from stdin, and a user; lists them', async () => {
    const admin = await cli(['users', 'add', 'admin', '--admin', '--password-stdin'], 'admin-password-1\n');
    expect(admin).toMatchObject({ code: 0, stdout: expect.stringContaining('Added admin admin.') });
    expect(admin.stdout + admin.stderr).not.toContain('admin-password-1');
    const user = await cli(['users', 'add', 'alice', '--display-name', 'Alice A.']);
    expect(user.code).toBe(0);
    expect(user.stdout).toContain('No password: set one with `tasklane users set-password alice`');

    const twice = await cli(['users', 'add', 'ALICE']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('A user named "ALICE" already exists.');
    const badName = await cli(['users', 'add', '../x']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/Invalid user name "..\/x"/);
    const shortPassword = await cli(['users', 'add', 'bob', '--password-stdin'], 'short\n');
    expect(shortPassword.stderr).toContain('The password is too short: use at least 8 characters.');

    const listed = JSON.parse((await cli(['users', 'list', '--json'])).stdout) as { name: string; role: string; display_name: string }[];
    expect(listed.map(({ name, role, display_name }) => ({ name, role, display_name }))).toEqual([
      { name: 'admin', role: 'admin', display_name: 'admin' },
      { name: 'alice', role: 'user', display_name: 'Alice A.' },
    ]);
    expect((await cli(['users', 'list'])).stdout).toMatch(/^NAME\s+DISPLAY NAME\s+ROLE\s+CREATED\nadmin\s+admin\s+admin\s/);
  });

  it('creates a key pair that works on the running server, lists it without its secret, and revokes it within a second', async () => {
    server = await startCliServer(['--data-dir', dataDir]);
    // the summary lines follow the "listening on" line the helper waits for
    for (let i = 0; i < 100 && !server.output().includes('auth:'); i += 1) await new Promise((done) => setTimeout(done, 20));
    expect(server.output()).toContain('  auth: on (key pairs: tasklane credentials create --user NAME');
    const created = await cli(['credentials', 'create', '--user', 'alice', '--label', 'laptop', '--json']);
    expect(created.code).toBe(0);
    const keys = JSON.parse(created.stdout) as { access_key: string; secret_key: string; user: string; label: string };
    expect(keys).toMatchObject({ user: 'alice', label: 'laptop', access_key: expect.stringMatching(/^[A-Z0-9]{30}$/) });
    const human = await cli(['credentials', 'create', '--user', 'alice']);
    expect(human.stdout).toMatch(/shown only now[\s\S]*access key: [A-Z0-9]{30}\n {2}secret key: \S{64}\n[\s\S]*export TASKLANE_API_ACCESS_KEY=[\s\S]*api \{ credentials \{ access_key: /);
    const withServer = await cli(['credentials', 'create', '--user', 'alice', '--server', 'http://tasklane.internal:8008/']);
    expect(withServer.stdout).toContain('  export TASKLANE_API_HOST=http://tasklane.internal:8008\n');
    expect(withServer.stdout).toMatch(/ {4}api_server: http:\/\/tasklane.internal:8008\n {4}files_server: http:\/\/tasklane.internal:8008\/files\n/);

    const auth = { authorization: basic(keys.access_key, keys.secret_key) };
    const created1 = await api(server.url, '/tasks.create', auth, { name: 'from alice', type: 'training' });
    expect(created1.status).toBe(200);

    const listed = await cli(['credentials', 'list', '--user', 'alice']);
    expect(listed.stdout).toMatch(/^ACCESS KEY\s+USER\s+LABEL\s+CREATED\s+LAST USED\n/);
    expect(listed.stdout).toContain(keys.access_key);
    expect(listed.stdout).not.toContain(keys.secret_key);
    const listedJson = JSON.parse((await cli(['credentials', 'list', '--json'])).stdout) as { access_key: string; last_used: string | null }[];
    expect(listedJson.find((c) => c.access_key === keys.access_key)?.last_used).toEqual(expect.any(String));

    const revoked = await cli(['credentials', 'revoke', keys.access_key]);
    expect(revoked).toMatchObject({ code: 0, stdout: `Revoked ${keys.access_key}.\n` });
    // The CLI's change holds on the running server within a second.
    const started = Date.now();
    let after = await api(server.url, '/tasks.get_all', auth);
    while (after.status === 200 && Date.now() - started < 2000) after = await api(server.url, '/tasks.get_all', auth);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(after.status).toBe(401);
    expect(after.json.meta.error_data.reason).toBe('revoked_key');
    expect((await cli(['credentials', 'revoke', keys.access_key])).stderr).toContain('No working key pair');
  });

  it('sets a password for web sign-in, and removing the user ends their keys', async () => {
    expect((await cli(['users', 'set-password', 'alice'], 'alice-password-1\n')).code).toBe(0);
    const signedIn = await api(server!.url, '/auth.sign_in', {}, { name: 'alice', password: 'alice-password-1' });
    expect(signedIn.status).toBe(200);
    expect(signedIn.cookie).toMatch(/HttpOnly; SameSite=Strict/);

    const keys = JSON.parse((await cli(['credentials', 'create', '--user', 'alice', '--json'])).stdout) as { access_key: string; secret_key: string };
    const auth = { authorization: basic(keys.access_key, keys.secret_key) };
    expect((await api(server!.url, '/tasks.get_all', auth)).status).toBe(200);
    expect((await cli(['users', 'remove', 'alice'])).stdout).toBe('Removed alice; their key pairs no longer work.\n');
    const started = Date.now();
    let after = await api(server!.url, '/tasks.get_all', auth);
    while (after.status === 200 && Date.now() - started < 2000) after = await api(server!.url, '/tasks.get_all', auth);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(after.json.meta.error_data.reason).toBe('removed_user');
    expect((await cli(['users', 'remove', 'alice'])).stderr).toContain('No user named "alice"');
    expect(server!.output()).not.toContain(keys.secret_key);
  });

  it('documents every command in --help', async () => {
    const help = await runCli(['credentials', 'create', '--help']);
    expect(help.stdout).toContain('--user <name>');
    expect(help.stdout).toContain('--data-dir <dir>');
    const serverHelp = await runCli(['server', '--help']);
    expect(serverHelp.stdout).toContain('--auth <mode>');
    expect(serverHelp.stdout).toContain('TASKLANE_AUTH_SECRET');
  });
});
