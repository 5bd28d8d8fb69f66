// An agent daemon (the built CLI) serving a queue of a server with authentication on: it logs in with its own key
// pair, runs a task that a user enqueued with theirs, and hands its key pair to the task's process, whose SDK
// reports under auth. The secret key shows up nowhere: not in the task, its console (a script that prints its
// environment), the agent's output or the server's log. A wrong key stops the agent at once, saying what to fix.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addUser, createCredentials, loadServerConfig, openSqliteStore, startServer, type RunningServer } from '@tasklane/server';
import { ApiClient, TokenManager } from 'tasklane/client';
import { agentFinished, startAgent, waitFor, waitForStatus, type AgentProcess } from '../support/agent-e2e.js';
import { runCli } from '../support/cli.js';
import { buildWorkspace } from '../support/workspace-build.js';

const QUEUE = 'e2e-agent-auth';
/** The header of every token the server signs: no output or log line may hold a token. */
const TOKEN_HEADER = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9';

const NODE_SCRIPT = `import { Task } from 'tasklane';
const task = await Task.init({ projectName: 'e2e/agent-auth', taskName: 'node under auth' });
task.getLogger().reportScalar('auth', 'ok', 1, 0);
await task.uploadArtifact('result', { ok: true }, { waitOnUpload: true });
console.log(\`secret in env: \${process.env.TASKLANE_API_SECRET_KEY}\`);
console.log(\`environment: \${JSON.stringify(process.env)}\`);
console.log(\`clearml secret: \${process.env.CLEARML_API_SECRET_KEY ?? 'not set'}\`);
`;

const BASH_SCRIPT = 'echo "clearml key: ${CLEARML_API_ACCESS_KEY:-none}"\necho "clearml secret: ${CLEARML_API_SECRET_KEY:-none}"\nenv | grep -c SECRET_KEY\n';

interface Credentials {
  access_key: string;
  secret_key: string;
}

describe('tasklane agent where the server has auth on', { timeout: 120_000 }, () => {
  let dir: string;
  let server: RunningServer;
  const log: string[] = [];
  let alice: Credentials;
  let robot: Credentials;
  let api: ApiClient;
  let agent: AgentProcess | undefined;
  /** Keeps the SDK's state and config away from the user's, and a developer's own credentials out. */
  let sdkEnv: Record<string, string>;

  const asAlice = () => ({ ...sdkEnv, TASKLANE_API_ACCESS_KEY: alice.access_key, TASKLANE_API_SECRET_KEY: alice.secret_key });
  const cli = (...args: string[]) => runCli([...args, '--server', server.url], asAlice());

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-agent-auth-'));
    sdkEnv = {
      XDG_CONFIG_HOME: join(dir, 'config'),
      TASKLANE_STATE_DIR: join(dir, 'state'),
      TASKLANE_TASK_NO_REUSE: '1',
      CLEARML_API_ACCESS_KEY: '',
      CLEARML_API_SECRET_KEY: '',
    };
    const store = openSqliteStore(join(dir, 'data', 'tasklane.sqlite'));
    await addUser(store, { name: 'alice', role: 'user' });
    await addUser(store, { name: 'robot', role: 'user' });
    alice = await createCredentials(store, { name: 'alice' });
    robot = await createCredentials(store, { name: 'robot' });
    await store.close();
    const config = loadServerConfig({}, { port: 0, dataDir: join(dir, 'data'), logLevel: 'debug', auth: 'on' });
    server = await startServer(config, { logStream: { write: (line: string) => log.push(line) } });
    api = new ApiClient({ baseUrl: server.url, auth: new TokenManager({ baseUrl: server.url, keyPair: { accessKey: alice.access_key, secretKey: alice.secret_key } }) });
    agent = await startAgent({
      serverUrl: server.url,
      queues: [QUEUE],
      workdir: join(dir, 'agent'),
      name: 'e2e-agent-auth',
      env: { ...sdkEnv, TASKLANE_API_ACCESS_KEY: robot.access_key, TASKLANE_API_SECRET_KEY: robot.secret_key },
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function enqueueScript(fileName: string, content: string, extra: string[] = []): Promise<string> {
    const file = join(dir, fileName);
    await writeFile(file, content);
    const created = await cli('task', 'create', '--project', 'e2e/agent-auth', '--name', fileName, '--script', file, '--queue', QUEUE, '--json', ...extra);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: '' });
    return (JSON.parse(created.stdout) as { id: string }).id;
  }

  it('runs a queued task whose SDK reports under auth with the key pair handed over, never showing the secret', async () => {
    const id = await enqueueScript('node-under-auth.mjs', NODE_SCRIPT);
    const done = await waitForStatus(api, id, ['completed', 'failed', 'stopped'], 90_000);
    const lines = await agentFinished(api, id);
    expect({ status: done.status, reason: done.status_reason }).toEqual({ status: 'completed', reason: 'completed' });
    // Alice's task, run by the robot's agent; the SDK inside reported with the robot's key.
    expect({ user: done.user, worker: done.last_worker }).toEqual({ user: 'alice', worker: 'e2e-agent-auth' });
    const scalars = (await api.call('events.scalar_metrics_iter_histogram', { task: id })) as Record<string, Record<string, { y: number[] }>>;
    expect(scalars.auth?.ok?.y).toEqual([1]);
    expect(done.execution.artifacts?.map((a) => a.key)).toEqual(['result']);
    // Logins with the robot's key: the agent once as it started, the task's SDK once for its whole run.
    const robotLogins = log.filter((line) => line.includes('"msg":"logged in"') && line.includes(`"access_key":"${robot.access_key}"`));
    expect(robotLogins).toHaveLength(2);

    expect(lines).toContain('secret in env: [redacted]');
    expect(lines).toContain('clearml secret: not set'); // a node task gets Tasklane's names only
    const environment = lines.find((line) => line.startsWith('environment: '))!;
    expect(JSON.parse(environment.slice('environment: '.length))).toMatchObject({
      TASKLANE_API_ACCESS_KEY: robot.access_key,
      TASKLANE_API_SECRET_KEY: '[redacted]',
    });

    const everything = JSON.stringify({ done, lines, agent: agent!.output(), log });
    for (const secret of [robot.secret_key, alice.secret_key]) expect(everything).not.toContain(secret);
    expect(JSON.stringify({ lines, agent: agent!.output(), log })).not.toContain(TOKEN_HEADER);
  });

  it('gives a task not run by node the key pair under ClearML\'s names too', async () => {
    const id = await enqueueScript('bash-under-auth.sh', BASH_SCRIPT, ['--interpreter', 'bash']);
    const done = await waitForStatus(api, id, ['completed', 'failed', 'stopped'], 60_000);
    const lines = await agentFinished(api, id);
    expect(done.status).toBe('completed');
    expect(lines).toContain(`clearml key: ${robot.access_key}`);
    expect(lines).toContain('clearml secret: [redacted]');
    // TASKLANE_API_SECRET_KEY and CLEARML_API_SECRET_KEY, nothing else of the agent's environment.
    expect(lines).toContain('2');
    expect(JSON.stringify(lines)).not.toContain(robot.secret_key);
  });

  it('stops at once with a wrong secret, naming TASKLANE_API_SECRET_KEY', async () => {
    const wrong = await startAgent({
      serverUrl: server.url,
      queues: [QUEUE],
      workdir: join(dir, 'agent-wrong'),
      name: 'e2e-agent-wrong-key',
      env: { ...sdkEnv, TASKLANE_API_ACCESS_KEY: robot.access_key, TASKLANE_API_SECRET_KEY: 'not-the-robots-secret' },
      waitUntilReady: false,
    });
    const code = await waitFor('the agent with a wrong key to exit', async () => wrong.child.exitCode ?? undefined, 15_000);
    expect(code).toBe(1);
    const output = wrong.output().replaceAll(server.url, '<server>').replaceAll(robot.access_key, '<access key>');
    expect(output).toContain('error (UNAUTHORIZED): The Tasklane server at <server> refused the key pair (wrong_secret)');
    expect(output).toContain('Fix TASKLANE_API_SECRET_KEY.');
    expect(output).not.toContain('not-the-robots-secret');
  });

  it('stops when its key pair is revoked while it waits for tasks, instead of retrying forever', async () => {
    const { credentials } = await api.call('auth.create_credentials', { label: 'agent key, revoked in this test' });
    const revoked = await startAgent({
      serverUrl: server.url,
      queues: [QUEUE],
      workdir: join(dir, 'agent-revoked'),
      name: 'e2e-agent-revoked',
      env: { ...sdkEnv, TASKLANE_API_ACCESS_KEY: credentials.access_key, TASKLANE_API_SECRET_KEY: credentials.secret_key },
    });
    await api.call('auth.revoke_credentials', { access_key: credentials.access_key });
    const code = await waitFor('the agent with a revoked key to exit', async () => revoked.child.exitCode ?? undefined, 15_000);
    expect(code).toBe(1);
    expect(revoked.output()).toContain('the server refused the agent\'s credentials; stopping');
    expect(revoked.output()).toContain('(revoked_key)');
    expect(revoked.output()).toContain('Put a new key pair in TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY.');
    expect(revoked.output()).not.toContain(credentials.secret_key);
  });
});
