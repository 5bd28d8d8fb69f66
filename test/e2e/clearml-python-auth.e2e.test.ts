// ClearML's own Python SDK (2.1.7) and agent (clearml-agent 3.0.3), unmodified, against a Tasklane server with auth
// on (issue 14): an admin makes a user and her key pair with the CLI, the SDK records a run with that key pair
// (fixtures/clearml-auth-flow.py: hyperparameters, scalars, console, an artifact and a model uploaded to Tasklane's
// /files), a second process downloads them back, a wrong secret fails at once with our message, and clearml-agent
// runs a queued clone with the same key pair. The SDK sends its session's Bearer token to the file server only for
// URLs under its configured files host (clearml/storage/helper.py, _HttpDriver._Container._should_attach_auth_header),
// so CLEARML_FILES_HOST is `<server>/files`, spelled exactly as the artifact and model URLs begin.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Task } from '@tasklane/protocol';
import { ApiClient } from 'tasklane/client';
import { consoleLines, waitFor, waitForStatus } from '../support/agent-e2e.js';
import { CLI_BIN, runNode, startCliServer, type CliResult, type CliServer } from '../support/cli.js';
import {
  describeWithClearmlCompat,
  locateClearmlCompat,
  prepareClearmlRun,
  runSystemPython,
  setupClearmlCompat,
  startClearmlAgentDaemon,
  unexpectedClearmlRefusals,
  type ClearmlAgentDaemon,
  type ClearmlCredentials,
  type ClearmlPythonPaths,
  type ProcessResult,
} from '../support/clearml-compat.js';
import { parseRequestLog, type LoggedRequest } from '../support/request-log.js';
import { buildWorkspace } from '../support/workspace-build.js';

const FLOW_SCRIPT = fileURLToPath(new URL('./fixtures/clearml-auth-flow.py', import.meta.url));
const TITLE = "ClearML's Python SDK and clearml-agent against Tasklane with auth on";
const USER = 'ada';
/** What the script writes as its model's weights: bytes 0..255, four times. */
const WEIGHTS = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
const NOTES = 'notes recorded with a key pair\n';

/** `RECORD_RESULT <json>`. */
interface RecordResult {
  id: string;
  model_id: string;
  model_url: string;
}

/** `FETCH_RESULT <json>`: what the second process read back and downloaded. */
interface FetchResult {
  id: string;
  status: string;
  parameters: Record<string, Record<string, unknown>>;
  scalars: Record<string, Record<string, number[]>>;
  console_has_run_line: boolean;
  notes: string;
  model: { name: string; url: string; size: number; matches: boolean };
}

/** The JSON after `PREFIX ` on a line of a run's stdout. */
function resultLine<T>(run: ProcessResult, prefix: string): T | undefined {
  const line = run.stdout.split('\n').find((l) => l.startsWith(`${prefix} `));
  return line ? (JSON.parse(line.slice(prefix.length + 1)) as T) : undefined;
}

/** A run's exit code and the ends of its output, for a failure message that shows what happened. */
function summary(run: ProcessResult) {
  return { code: run.code, stdout: run.stdout.slice(-3000), stderr: run.stderr.slice(-3000) };
}

function basicAuth(keys: ClearmlCredentials): string {
  return `Basic ${Buffer.from(`${keys.access_key}:${keys.secret_key}`).toString('base64')}`;
}

describeWithClearmlCompat(TITLE, { timeout: 180_000 }, () => {
  let dir: string;
  let dataDir: string;
  let server: CliServer;
  let paths: ClearmlPythonPaths;
  let keys: ClearmlCredentials;
  /** Tasklane's API client with the key pair (HTTP Basic on every call, as `curl -u` would). */
  let api: ApiClient;
  let admin: { added: CliResult; user: CliResult; credentials: CliResult };
  let recordRun: ProcessResult;
  let recorded: RecordResult | undefined;
  let recordRequests: LoggedRequest[];
  let fetchRun: ProcessResult;
  let fetched: FetchResult | undefined;
  let fetchRequests: LoggedRequest[];
  let task: Task;
  let agentTaskId: string | undefined;
  let daemon: ClearmlAgentDaemon | undefined;
  const wrongSecret = 'not-the-secret-of-this-key-pair-0123456789';

  const cli = (args: string[], input?: string) => runNode(CLI_BIN, [...args, '--data-dir', dataDir], input === undefined ? {} : { input });
  const requestsSoFar = () => parseRequestLog(server.output());
  const withKeys = () => ({ authorization: basicAuth(keys) });
  /** A file of the file server with the key pair, or (`anonymous`) with no credentials. */
  async function bytesAt(url: string, anonymous = false): Promise<{ status: number; bytes: Buffer }> {
    const response = await fetch(url, { headers: anonymous ? {} : withKeys() });
    return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
  }
  /** Runs the flow script in a fresh folder (HOME, TMPDIR) `name`, logged in with `credentials`. */
  async function runFlow(
    name: string,
    args: string[],
    credentials: ClearmlCredentials,
  ): Promise<{ run: ProcessResult; requests: LoggedRequest[]; requestsBefore: number; ms: number }> {
    const { cwd, env } = await prepareClearmlRun(dir, name, { serverUrl: server.url, pythonPath: paths.sdk, credentials });
    await copyFile(FLOW_SCRIPT, join(cwd, 'clearml-auth-flow.py'));
    const requestsBefore = requestsSoFar().length;
    const started = Date.now();
    const run = await runSystemPython(['clearml-auth-flow.py', ...args], { cwd, env, timeoutMs: 90_000 });
    return { run, requests: requestsSoFar().slice(requestsBefore), requestsBefore, ms: Date.now() - started };
  }

  beforeAll(async () => {
    const [compatPaths] = await Promise.all([setupClearmlCompat(locateClearmlCompat()), buildWorkspace()]);
    paths = compatPaths;
    dir = await mkdtemp(join(tmpdir(), 'tasklane-clearml-auth-e2e-'));
    dataDir = join(dir, 'data');
    // As an admin sets a server up: the first admin, a user, and a key pair for her SDK and agent.
    admin = {
      added: await cli(['users', 'add', 'admin', '--admin', '--password-stdin'], 'admin-password-1\n'),
      user: await cli(['users', 'add', USER]),
      credentials: await cli(['credentials', 'create', '--user', USER, '--label', 'clearml-e2e', '--json']),
    };
    keys = JSON.parse(admin.credentials.stdout) as ClearmlCredentials;
    // Debug level: the server logs each request with its status, which the tests read to see what was refused.
    server = await startCliServer(['--data-dir', dataDir, '--auth', 'on', '--log-level', 'debug']);
    api = new ApiClient({ baseUrl: server.url, headers: withKeys() });

    ({ run: recordRun, requests: recordRequests } = await runFlow('record', ['record'], keys));
    recorded = resultLine<RecordResult>(recordRun, 'RECORD_RESULT');
    if (recorded) {
      task = (await api.call('tasks.get_by_id', { task: recorded.id })).task;
      ({ run: fetchRun, requests: fetchRequests } = await runFlow('fetch', ['fetch', recorded.id], keys));
      fetched = resultLine<FetchResult>(fetchRun, 'FETCH_RESULT');
    }
  }, 240_000);

  afterAll(async () => {
    await daemon?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the CLI made the admin, the user and her key pair; the server has auth on and refuses a call without credentials', async () => {
    expect(admin.added).toMatchObject({ code: 0, stdout: expect.stringContaining('Added admin admin.') });
    expect(admin.user).toMatchObject({ code: 0, stdout: expect.stringContaining(`Added user ${USER}.`) });
    expect(admin.credentials.code).toBe(0);
    expect(keys).toMatchObject({ user: USER, label: 'clearml-e2e', access_key: expect.stringMatching(/^[A-Z0-9]{30}$/), secret_key: expect.any(String) });
    expect(server.output()).toContain('auth: on');
    const anonymous = await fetch(`${server.url}/tasks.get_all`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { meta: { error_data: { reason: string } } }).meta.error_data.reason).toBe('no_credentials');
  });

  it('the SDK logs in with the key pair and records the run, nothing refused but the accepted calls', () => {
    expect({ ...summary(recordRun), hasResult: recorded !== undefined }).toMatchObject({ code: 0, hasResult: true });
    expect(recordRequests[0]).toEqual({ method: 'GET', endpoint: 'auth.login', status: 200 });
    const endpoints = new Set(recordRequests.map((r) => r.endpoint));
    for (const endpoint of ['tasks.create', 'tasks.edit', 'events.add_batch', '/files', 'tasks.add_or_update_artifacts', 'models.create', 'tasks.completed']) {
      expect(endpoints).toContain(endpoint);
    }
    // Every call after auth.login carried the session's token: none was refused for its credentials.
    expect(recordRequests.filter((r) => r.status === 401 || r.status === 429)).toEqual([]);
    expect(unexpectedClearmlRefusals(recordRequests)).toEqual([]);
  });

  it("stores the task as the key's user, with its hyperparameters, scalars and console", async () => {
    expect(task).toMatchObject({ name: 'auth flow', status: 'completed', user: USER });
    expect(task.hyperparams.General).toMatchObject({
      lr: { value: '0.125', type: 'float' },
      epochs: { value: '3', type: 'int' },
      optimizer: { value: 'adam' },
    });
    const series = await api.call('events.scalar_metrics_iter_histogram', { task: task.id });
    expect(series).toMatchObject({ loss: { train: { x: [0, 1, 2], y: [1, 0.5, 0.333333] } } });
    const lines = (await consoleLines(api, task.id)).flatMap((event) => event.msg.split('\n'));
    expect(lines.filter((l) => l.startsWith('AUTH RUN '))).toEqual(['AUTH RUN lr=0.125 epochs=3']);
    expect(lines).toContain('auth flow trained for 3 epochs');
    const { user } = await api.call('users.get_current_user', {});
    expect(user.name).toBe(USER);
  });

  it("uploads the artifact and the model to Tasklane's /files with its token; the files need credentials", async () => {
    const files = `${server.url}/files/compat/clearml-auth`;
    const notes = (task.execution.artifacts ?? []).find((a) => a.key === 'notes');
    expect(notes).toMatchObject({ type: 'custom', mode: 'output', uri: `${files}/auth%20flow.${task.id}/artifacts/notes/notes.txt` });
    expect(task.models.output.map((m) => m.model)).toEqual([recorded!.model_id]);
    const { model } = await api.call('models.get_by_id', { model: recorded!.model_id });
    expect(model).toMatchObject({ name: 'auth model', task: task.id, uri: `${files}/auth flow.${task.id}/models/weights.bin` });

    const notesBytes = await bytesAt(notes!.uri!);
    expect({ status: notesBytes.status, text: notesBytes.bytes.toString('utf8') }).toEqual({ status: 200, text: NOTES });
    const weights = await bytesAt(model.uri);
    expect({ status: weights.status, matches: weights.bytes.equals(WEIGHTS) }).toEqual({ status: 200, matches: true });
    // Without credentials the file server refuses both: the SDK's uploads got through because it sent its token.
    expect((await bytesAt(notes!.uri!, true)).status).toBe(401);
    expect((await bytesAt(model.uri, true)).status).toBe(401);
    expect(recordRequests.filter((r) => r.endpoint === '/files')).toEqual([
      { method: 'POST', endpoint: '/files', status: 200 },
      { method: 'POST', endpoint: '/files', status: 200 },
    ]);
  });

  it('a second process reads the task back and downloads the artifact and the model from /files', () => {
    expect({ ...summary(fetchRun), hasResult: fetched !== undefined }).toMatchObject({ code: 0, hasResult: true });
    expect(fetched).toEqual({
      id: task.id,
      status: 'completed',
      parameters: { General: { lr: 0.125, epochs: 3, optimizer: 'adam' } },
      scalars: { loss: { train: [1, 0.5, 0.333333] } },
      console_has_run_line: true,
      notes: NOTES,
      model: { name: 'auth model', url: recorded!.model_url, size: WEIGHTS.length, matches: true },
    });
    const downloads = fetchRequests.filter((r) => r.endpoint === '/files');
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((r) => r.method === 'GET' && r.status === 200)).toBe(true);
    expect(unexpectedClearmlRefusals(fetchRequests)).toEqual([]);
  });

  it('with a wrong secret key Task.init fails at once, after a single auth.login, with our message', async () => {
    const { tasks: before } = await api.call('tasks.get_all', {});
    const { run, requestsBefore, ms } = await runFlow('wrong-secret', ['record'], { access_key: keys.access_key, secret_key: wrongSecret });
    expect(run.code).not.toBe(0);
    expect(ms).toBeLessThan(20_000);
    const error = run.stderr.split('\n').find((l) => l.includes('LoginError: '));
    expect(error?.replaceAll(server.url, '<server>').replaceAll(keys.access_key, '<access key>')).toMatchInlineSnapshot(
      `"clearml.backend_api.session.session.LoginError: Failed getting token (error 401 from <server>): The secret key does not match access key <access key>: check the secret key you configured (it was shown once, when the key pair was made; make a new pair if it is lost)."`,
    );
    // The server's log line of the refusal may follow the process's end by a moment.
    const requests = await waitFor('the refused auth.login in the server log', async () => {
      const since = requestsSoFar().slice(requestsBefore);
      return since.length > 0 ? since : undefined;
    }, 5_000, 50);
    // One attempt, no retries (ten failures would block the key for 15 minutes).
    expect(requests).toEqual([{ method: 'GET', endpoint: 'auth.login', status: 401 }]);
    const { tasks: after } = await api.call('tasks.get_all', {});
    expect(after.length).toBe(before.length);
  });

  it('clearml-agent, with the same key pair, runs a queued clone whose General/lr was edited through the API', async () => {
    const queueName = 'clearml-auth-e2e';
    const { id: taskId } = await api.call('tasks.clone', { task: task.id, new_task_name: 'auth flow (agent)' });
    agentTaskId = taskId;
    await api.call('tasks.edit_hyper_params', { task: taskId, hyperparams: [{ section: 'General', name: 'lr', value: '0.25', type: 'float' }] });
    await api.call('tasks.enqueue', { task: taskId, queue_name: queueName });
    const requestsBefore = requestsSoFar().length;

    const { cwd, env } = await prepareClearmlRun(dir, 'agent', { serverUrl: server.url, pythonPath: paths.agent, credentials: keys });
    daemon = startClearmlAgentDaemon({ queue: queueName, workerId: 'clearml-auth-e2e', cwd, env });
    let done: Task;
    try {
      done = await waitForStatus(api, taskId, ['completed', 'failed', 'stopped'], 90_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}\nclearml-agent output:\n${daemon.output().slice(-5000)}`, { cause: error });
    }
    // The daemon sends the run's console as it tails it; its last lines may follow the final status.
    const lines = await waitFor("the agent to send the run's console", async () => {
      const text = (await consoleLines(api, taskId)).flatMap((event) => event.msg.split('\n'));
      return text.some((l) => l.startsWith('RECORD_RESULT ')) ? text : undefined;
    }, 30_000, 250);
    await daemon.stop();
    daemon = undefined;

    expect({ status: done.status, reason: done.status_reason }).toMatchObject({ status: 'completed' });
    expect(done).toMatchObject({ parent: task.id, user: USER });
    expect(lines.filter((l) => l.startsWith('AUTH RUN '))).toEqual(['AUTH RUN lr=0.25 epochs=3']);
    const notes = (done.execution.artifacts ?? []).find((a) => a.key === 'notes');
    expect(notes?.uri).toContain(`${server.url}/files/`);
    expect((await bytesAt(notes!.uri!)).bytes.toString('utf8')).toBe(NOTES);
    const modelId = done.models.output.at(-1)?.model;
    expect(modelId).toBeDefined();
    expect(modelId).not.toBe(recorded!.model_id);
    const { model } = await api.call('models.get_by_id', { model: modelId! });
    expect((await bytesAt(model.uri)).bytes.equals(WEIGHTS)).toBe(true);

    const agentRequests = requestsSoFar().slice(requestsBefore);
    const endpoints = new Set(agentRequests.map((r) => r.endpoint));
    for (const endpoint of ['auth.login', 'workers.register', 'queues.get_next_task', 'tasks.started', '/files', 'tasks.completed']) {
      expect(endpoints).toContain(endpoint);
    }
    expect(agentRequests.filter((r) => r.status === 401 || r.status === 429)).toEqual([]);
    expect(unexpectedClearmlRefusals(agentRequests)).toEqual([]);
  });

  it('the secret key is in no server log line, and in no field of the tasks and models, nor in their consoles', async () => {
    const log = server.output();
    expect(log).toContain('"msg":"logged in"');
    for (const secret of [keys.secret_key, wrongSecret, basicAuth(keys).slice('Basic '.length)]) {
      expect(log).not.toContain(secret);
    }
    // Nor any token auth.login handed out (a JWT: three base64url parts, the first two JSON objects).
    expect(log).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/);

    const taskIds = [task.id, ...(agentTaskId ? [agentTaskId] : [])];
    for (const id of taskIds) {
      const { task: stored } = await api.call('tasks.get_by_id', { task: id });
      expect(JSON.stringify(stored)).not.toContain(keys.secret_key);
      expect(JSON.stringify(await consoleLines(api, id))).not.toContain(keys.secret_key);
    }
    const { tasks } = await api.call('tasks.get_all', {});
    expect(tasks.length).toBeGreaterThanOrEqual(taskIds.length);
    expect(JSON.stringify(tasks)).not.toContain(keys.secret_key);
    const { models } = await api.call('models.get_all', {});
    expect(models.length).toBeGreaterThan(0);
    expect(JSON.stringify(models)).not.toContain(keys.secret_key);
  });
});
