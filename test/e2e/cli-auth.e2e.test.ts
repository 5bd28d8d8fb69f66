// The built `tasklane` CLI against a server with authentication on: task, queue and worker commands log in with the
// key pair of the environment (or of the SDK config file) and act as its user; a wrong or missing key fails with a
// message that says what to set.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, createCredentials, loadServerConfig, openSqliteStore, startServer, type RunningServer } from '@tasklane/server';
import { ApiClient, TokenManager } from 'tasklane/client';
import { CLI_BIN, runNode, type CliResult } from '../support/cli.js';
import { buildWorkspace } from '../support/workspace-build.js';

describe('tasklane CLI where the server has auth on', () => {
  let dir: string;
  let server: RunningServer;
  const log: string[] = [];
  let alice: { access_key: string; secret_key: string };
  let taskId: string;
  /** This process's environment without Tasklane's or ClearML's settings (a developer's must not leak in). */
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(TASKLANE|CLEARML)_/.test(key)));

  const cli = (args: string[], env: Record<string, string>): Promise<CliResult> =>
    runNode(CLI_BIN, [...args, '--server', server.url], { baseEnv, env: { XDG_CONFIG_HOME: join(dir, 'config-home'), ...env } });
  const withKey = (secret = alice.secret_key) => ({ TASKLANE_API_ACCESS_KEY: alice.access_key, TASKLANE_API_SECRET_KEY: secret });
  const logins = (from: number) => log.slice(from).filter((line) => line.includes('"msg":"logged in"')).length;

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-cli-auth-'));
    const store = openSqliteStore(join(dir, 'data', 'tasklane.sqlite'));
    await addUser(store, { name: 'alice', role: 'user' });
    alice = await createCredentials(store, { name: 'alice' });
    await store.close();
    const config = loadServerConfig({}, { port: 0, dataDir: join(dir, 'data'), logLevel: 'info', auth: 'on' });
    server = await startServer(config, { logStream: { write: (line: string) => log.push(line) } });
    const auth = new TokenManager({ baseUrl: server.url, keyPair: { accessKey: alice.access_key, secretKey: alice.secret_key } });
    taskId = (await new ApiClient({ baseUrl: server.url, auth }).call('tasks.create', { name: 'made by alice', project_name: 'e2e/cli-auth', type: 'training' })).id;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists, clones and reads tasks, queues and workers with the key pair from the environment, logging in once a command', async () => {
    const from = log.length;
    const list = await cli(['task', 'list'], withKey());
    expect({ code: list.code, stderr: list.stderr }).toEqual({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(/made by alice\s+e2e\/cli-auth\s+training\s+Draft/);
    expect(logins(from)).toBe(1);

    // With auth on, the task is the key's user's: TASKLANE_USER (the X-Tasklane-User header) counts for nothing.
    const clone = await cli(['task', 'clone', taskId.slice(0, 8), '--name', 'cloned by alice', '--json'], { ...withKey(), TASKLANE_USER: 'mallory' });
    expect(clone.code).toBe(0);
    const cloneId = (JSON.parse(clone.stdout) as { id: string }).id;
    const shown = await cli(['task', 'show', cloneId, '--json'], withKey());
    expect((JSON.parse(shown.stdout) as { user: string }).user).toBe('alice');

    for (const args of [['queue', 'list'], ['worker', 'list']]) {
      const result = await cli(args, withKey());
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('takes the key pair from the SDK config file too', async () => {
    const file = join(dir, 'sdk-config.json');
    await writeFile(file, JSON.stringify({ accessKey: alice.access_key, secretKey: alice.secret_key }));
    const list = await cli(['task', 'list', '--json'], { TASKLANE_CONFIG_FILE: file });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((t) => t.id)).toContain(taskId);
  });

  it('fails with a wrong secret, naming TASKLANE_API_SECRET_KEY, and without one, saying how to set a key pair', async () => {
    const wrong = await cli(['task', 'list'], withKey('definitely-not-the-secret'));
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe('');
    expect(wrong.stderr.replaceAll(server.url, '<server>').replaceAll(alice.access_key, '<access key>')).toMatchInlineSnapshot(`
      "error (UNAUTHORIZED): The Tasklane server at <server> refused the key pair (wrong_secret): The secret key does not match access key <access key>: check the secret key you configured (it was shown once, when the key pair was made; make a new pair if it is lost). Fix TASKLANE_API_SECRET_KEY.
      "
    `);
    expect(wrong.stderr).not.toContain('definitely-not-the-secret');

    const none = await cli(['queue', 'list'], {});
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error (UNAUTHORIZED): The Tasklane server at');
    expect(none.stderr).toContain('requires credentials, and none are configured. Create a key pair with `tasklane credentials create --user NAME`');
    expect(none.stderr).toContain('TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY');
  });

  it('lists the credential variables in --help', async () => {
    for (const args of [['task', 'list', '--help'], ['queue', 'list', '--help'], ['agent', 'daemon', '--help'], ['run', '--help']]) {
      const help = await runNode(CLI_BIN, args, { baseEnv });
      expect({ args, code: help.code }).toEqual({ args, code: 0 });
      expect(help.stdout).toContain('TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY');
    }
  });
});
