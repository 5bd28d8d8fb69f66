// Several agents on one queue (each task runs exactly once), an agent that outlives a server restart, and an
// agent stopped while it runs a task. Real server and agent processes through the built CLI.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { consoleLines, isRunning, startAgent, startServerAt, waitFor, waitForStatus, type AgentProcess } from '../support/agent-e2e.js';
import { buildWorkspace } from '../support/workspace-build.js';

/** Appends "<task id> <worker>" to the file given as --out: one line per run. */
const COUNT_SCRIPT = `import { appendFileSync } from 'node:fs';
const out = process.argv[process.argv.indexOf('--out') + 1];
appendFileSync(out, \`\${process.env.TASKLANE_TASK_ID} \${process.env.TASKLANE_WORKER_ID}\\n\`);
await new Promise((resolve) => setTimeout(resolve, 200));
console.log('counted');
`;

const SDK_LONG_SCRIPT = `import { Task } from 'tasklane';
await Task.init({ projectName: 'e2e/agent-fleet', taskName: 'long with sdk' });
console.log('PID ' + process.pid);
setInterval(() => console.log('still working'), 200);
`;

const LONG_SCRIPT = `console.log('working');
setInterval(() => console.log('still working'), 200);
`;

let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await buildWorkspace();
  dir = await mkdtemp(join(tmpdir(), 'tasklane-agent-fleet-e2e-'));
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function createScriptTask(api: ApiClient, name: string, script: string, args: Record<string, string> = {}): Promise<string> {
  const { id } = await api.call('tasks.create', {
    name,
    project_name: 'e2e/agent-fleet',
    script: { repository: '', entry_point: 'job.mjs', working_dir: '.', binary: 'node', diff: script },
    hyperparams: { Args: Object.fromEntries(Object.entries(args).map(([key, value]) => [key, { section: 'Args', name: key, value, type: 'str' }])) },
  });
  return id;
}

describe('three agents on one queue', { timeout: 120_000 }, () => {
  it('run ten tasks, each exactly once', async () => {
    const server = await startServerAt(join(dir, 'fleet-data'));
    cleanups.push(() => server.stop());
    const api = new ApiClient({ baseUrl: server.url });
    const agents = await Promise.all(
      [1, 2, 3].map((n) => startAgent({ serverUrl: server.url, queues: ['fleet'], workdir: join(dir, 'fleet-work'), name: `fleet-${n}`, pollIntervalSec: 0.1 })),
    );
    cleanups.push(...agents.map((agent) => () => agent.stop()));
    const { workers } = await api.call('workers.get_all', {});
    expect(workers.map((w) => w.id).sort()).toEqual(['fleet-1', 'fleet-2', 'fleet-3']);

    const runsFile = join(dir, 'runs.txt');
    const ids: string[] = [];
    for (let n = 1; n <= 10; n += 1) ids.push(await createScriptTask(api, `count ${n}`, COUNT_SCRIPT, { out: runsFile }));
    await Promise.all(ids.map((id) => api.call('tasks.enqueue', { task: id, queue_name: 'fleet' })));

    const finished = await Promise.all(ids.map((id) => waitForStatus(api, id, ['completed', 'failed', 'stopped'], 60_000)));
    expect(finished.map((t) => t.status)).toEqual(Array(10).fill('completed'));
    const runs = (await readFile(runsFile, 'utf8')).trim().split('\n').map((line) => line.split(' '));
    expect(runs.map(([id]) => id).sort()).toEqual([...ids].sort());
    for (const [id, worker] of runs) {
      expect(['fleet-1', 'fleet-2', 'fleet-3']).toContain(worker);
      expect(finished.find((t) => t.id === id)?.last_worker).toBe(worker);
    }
    const perWorker = Object.fromEntries(['fleet-1', 'fleet-2', 'fleet-3'].map((w) => [w, runs.filter(([, worker]) => worker === w).length]));
    console.log(`runs per agent: ${JSON.stringify(perWorker)}`);

    const codes = await Promise.all(agents.map((agent) => agent.stop('SIGINT')));
    expect(codes).toEqual([0, 0, 0]);
    expect((await api.call('workers.get_all', {})).workers).toEqual([]);
  });
});

describe('an agent and a server restart', { timeout: 120_000 }, () => {
  it('waits for the server to come back, then runs what is queued', async () => {
    const dataDir = join(dir, 'restart-data');
    let server = await startServerAt(dataDir);
    const { port, url } = server;
    const agent = await startAgent({ serverUrl: url, queues: ['restart'], workdir: join(dir, 'restart-work'), name: 'survivor' });
    cleanups.push(() => agent.stop());

    await server.stop();
    await sleep(1500);
    expect(agent.child.exitCode).toBeNull();
    server = await startServerAt(dataDir, port);
    cleanups.push(() => server.stop());
    const api = new ApiClient({ baseUrl: url });
    const id = await createScriptTask(api, 'after restart', `console.log('ran after the restart');\n`);
    await api.call('tasks.enqueue', { task: id, queue_name: 'restart' });

    const done = await waitForStatus(api, id, ['completed', 'failed', 'stopped'], 30_000);
    expect(done).toMatchObject({ status: 'completed', last_worker: 'survivor' });
    expect((await consoleLines(api, id)).map((e) => e.msg)).toContain('ran after the restart');
    expect(agent.output()).toContain('could not poll the queues; retrying with back-off');
    expect(agent.output()).toContain('server reachable again');
  });
});

describe('stopping an agent that runs a task', { timeout: 120_000 }, () => {
  let server: Awaited<ReturnType<typeof startServerAt>>;
  let api: ApiClient;
  let agent: AgentProcess;

  beforeAll(async () => {
    server = await startServerAt(join(dir, 'stop-data'));
    cleanups.push(() => server.stop());
    api = new ApiClient({ baseUrl: server.url });
    agent = await startAgent({ serverUrl: server.url, queues: ['stop'], workdir: join(dir, 'stop-work'), name: 'leaving' });
    cleanups.push(() => agent.stop());
  });

  it('ends the process when its task is reset while running, and leaves the task a draft', async () => {
    const id = await createScriptTask(api, 'reset me', SDK_LONG_SCRIPT);
    await api.call('tasks.enqueue', { task: id, queue_name: 'stop' });
    const pid = Number(
      (await waitFor('the job to run', async () => (await consoleLines(api, id)).map((e) => e.msg).find((msg) => msg.startsWith('PID ')))).slice(4),
    );
    await api.call('tasks.reset', { task: id, force: true });
    await waitFor('the process to end', async () => !(await isRunning(pid)), 10_000);
    // The SDK inside reports "aborted" as SIGTERM ends it; the agent turns the task back into the draft it was made.
    await waitFor('the agent to be idle again', async () => {
      const { workers } = await api.call('workers.get_all', {});
      return workers.find((w) => w.id === 'leaving' && !w.task);
    }, 10_000);
    const { task } = await api.call('tasks.get_by_id', { task: id });
    expect(task.status).toBe('created');
  });

  it('aborts the task (marked aborted, with the reason), unregisters, and exits 0', async () => {
    const id = await createScriptTask(api, 'long job', LONG_SCRIPT);
    await api.call('tasks.enqueue', { task: id, queue_name: 'stop' });
    await waitFor('the job to run', async () => (await consoleLines(api, id)).some((e) => e.msg === 'working'));
    const { workers } = await api.call('workers.get_all', {});
    expect(workers.find((w) => w.id === 'leaving')?.task?.id).toBe(id);

    expect(await agent.stop('SIGTERM')).toBe(0);
    const { task } = await api.call('tasks.get_by_id', { task: id });
    expect({ status: task.status, reason: task.status_reason }).toEqual({ status: 'stopped', reason: 'aborted: agent leaving was shut down' });
    expect((await api.call('workers.get_all', {})).workers).toEqual([]);
    expect(agent.output()).toContain(`task ${id.slice(0, 8)} stopped after`);
  });
});
