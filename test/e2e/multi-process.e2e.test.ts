// Several `tasklane server` processes on one PostgreSQL database and one S3 bucket behave as one server (issue 15):
// they start together on an empty database, hand each queued task to exactly one agent, abort a silent task once,
// make one project and one default queue of concurrent creates, and serve each other's files. Real server and agent
// processes through the built CLI, a real PostgreSQL (the run's throwaway cluster) and s3rver.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { startAgent, waitFor, type AgentProcess } from '../support/agent-e2e.js';
import { postgresSkipReason, testPostgres } from '../support/postgres.js';
import { logLines, startServerCluster, type ClusterServer, type ServerCluster } from '../support/multi-process.js';
import { buildWorkspace } from '../support/workspace-build.js';

const postgres = testPostgres();
const describeOnPostgres = postgres ? describe : describe.skip;
if (!postgres) console.log(`multi-process e2e skipped: ${postgresSkipReason()}`);

let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  await buildWorkspace();
  dir = await mkdtemp(join(tmpdir(), 'tasklane-multi-process-e2e-'));
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Runs `work` on every item, at most `limit` at a time; answers the results in order. */
async function mapLimit<TItem, TResult>(items: readonly TItem[], limit: number, work: (item: TItem, index: number) => Promise<TResult>): Promise<TResult[]> {
  const results: TResult[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!, index);
      }
    }),
  );
  return results;
}

/** One API call as a client sends it, answering the HTTP status and the envelope (no client-side error handling). */
async function rawCall(url: string, endpoint: string, body: unknown): Promise<{ status: number; data: Record<string, unknown>; msg: string }> {
  const response = await fetch(`${url}/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const envelope = (await response.json()) as { meta: { result_msg: string }; data: Record<string, unknown> };
  return { status: response.status, data: envelope.data, msg: envelope.meta.result_msg };
}

/** The lines of a server's log that are about a watchdog round (aborts or failures). */
function watchdogLines(server: ClusterServer): Record<string, unknown>[] {
  return logLines(server.output()).filter((line) => typeof line.msg === 'string' && line.msg.startsWith('watchdog'));
}

describeOnPostgres('two server processes on one database and one bucket', { timeout: 60_000 }, () => {
  let cluster: ServerCluster;
  let a: ClusterServer;
  let b: ClusterServer;

  beforeAll(async () => {
    // Both started at the same moment on an empty database: they migrate it together.
    cluster = await startServerCluster({ count: 2 });
    cleanups.push(() => cluster.stop());
    [a, b] = cluster.servers as [ClusterServer, ClusterServer];
  }, 60_000);

  it('both come up on an empty database, which is migrated once, with one default queue', async () => {
    const client = new pg.Client({ connectionString: cluster.dbUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: number; n: string }>('SELECT version, count(*) AS n FROM schema_migrations GROUP BY version ORDER BY version');
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => Number(row.n) === 1)).toBe(true);
      const queues = await client.query<{ name: string }>('SELECT name FROM queues');
      expect(queues.rows.map((row) => row.name)).toEqual(['default']);
    } finally {
      await client.end();
    }
    const [fromA, fromB] = await Promise.all([rawCall(a.url, 'queues.get_default', {}), rawCall(b.url, 'queues.get_default', {})]);
    expect(fromA).toMatchObject({ status: 200, data: { name: 'default' } });
    expect(fromB.data.id).toBe(fromA.data.id);
    for (const server of [a, b]) {
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);
    }
    expect([...a.errors(), ...b.errors()]).toEqual([]);
  });

  it('make one project of parallel creates of the same name through both, with no 500', async () => {
    for (let round = 1; round <= 10; round += 1) {
      const name = `e2e/race ${round}/leaf`;
      // Half the callers create the project itself, half a task in it by name (ensureProject creates the project and
      // its parents); get_default in between, as agents starting at that moment would call it.
      const calls = Array.from({ length: 12 }, (_, n) => {
        const server = n % 2 === 0 ? a : b;
        if (n % 3 === 0) return rawCall(server.url, 'projects.create', { name, description: 'raced' });
        if (n % 3 === 1) return rawCall(server.url, 'tasks.create', { name: `task ${n}`, project_name: name, type: 'training' });
        return rawCall(server.url, 'queues.get_default', {});
      });
      const replies = await Promise.all(calls);
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status >= 500), JSON.stringify(replies.filter((r) => r.status >= 500))).toEqual([]);
      // projects.create refuses a name that exists (409) unless it made it; everything else succeeds.
      const creates = replies.filter((_, n) => n % 3 === 0);
      expect(creates.filter((reply) => reply.status === 200).length).toBeLessThanOrEqual(1);
      for (const reply of creates.filter((r) => r.status !== 200)) {
        expect(reply).toMatchObject({ status: 409, msg: `Project "${name}" already exists; pick another name or use the existing one.` });
      }
      expect(replies.filter((_, n) => n % 3 !== 0).map((reply) => reply.status)).toEqual(Array(8).fill(200));

      const { data } = await rawCall(a.url, 'projects.get_all', { name: `^e2e/race ${round}(/|$)` });
      const projects = data.projects as { id: string; name: string }[];
      expect(projects.map((p) => p.name).sort()).toEqual([`e2e/race ${round}`, `e2e/race ${round}/leaf`]);
      const leaf = projects.find((p) => p.name === name)!;
      const tasks = (await rawCall(b.url, 'tasks.get_all', { project: [leaf.id], only_fields: ['id'] })).data.tasks as unknown[];
      expect(tasks).toHaveLength(4);
    }
    const defaults = (await rawCall(b.url, 'queues.get_all', { name: '^default$' })).data.queues as unknown[];
    expect(defaults).toHaveLength(1);
    expect([...a.errors(), ...b.errors()]).toEqual([]);
  });

  it('give tasks made through both processes at once ids that never collide', async () => {
    const ids = await mapLimit(Array.from({ length: 300 }, (_, n) => n), 16, async (n) => {
      const reply = await rawCall(n % 2 === 0 ? a.url : b.url, 'tasks.create', { name: `id ${n}`, project_name: 'e2e/ids', type: 'training' });
      expect(reply.status).toBe(200);
      return reply.data.id as string;
    });
    expect(new Set(ids).size).toBe(300);
    const project = ((await rawCall(a.url, 'projects.get_all', { name: '^e2e/ids$' })).data.projects as { id: string }[])[0]!;
    const listed = (await rawCall(b.url, 'tasks.get_all', { project: [project.id], only_fields: ['id'] })).data.tasks as { id: string }[];
    expect(listed.map((t) => t.id).sort()).toEqual([...ids].sort());
  });

  it('serve through one process a file uploaded through the other', async () => {
    const bytes = Buffer.from(`uploaded through ${a.url} at ${Date.now()}\n`);
    const form = new FormData();
    form.append('e2e/multi-process/hello.txt', new Blob([bytes]), 'hello.txt');
    const upload = await fetch(`${a.url}/files`, { method: 'POST', body: form });
    expect(upload.status).toBe(200);
    const served = await fetch(`${b.url}/files/e2e/multi-process/hello.txt`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
    expect(await cluster.s3.keys('tasklane-cluster', `${cluster.prefix}/e2e/multi-process/`)).toEqual([`${cluster.prefix}/e2e/multi-process/hello.txt`]);
  });
});

/** Appends "<task id> <worker>" to the file given as --out (one line per run) and prints the run's marker. */
const RUN_SCRIPT = `import { appendFileSync } from 'node:fs';
const out = process.argv[process.argv.indexOf('--out') + 1];
appendFileSync(out, \`\${process.env.TASKLANE_TASK_ID} \${process.env.TASKLANE_WORKER_ID}\\n\`);
console.log(\`ran \${process.env.TASKLANE_TASK_ID}\`);
`;

/** Issue 15's figure; TASKLANE_E2E_DRAIN_TASKS runs another (e.g. fewer on a machine too busy for 200 runs). */
const TASKS = Number(process.env.TASKLANE_E2E_DRAIN_TASKS ?? 200);
const AGENTS = 8;
const DRAIN_TIMEOUT_MS = 240_000;

describeOnPostgres('eight agents on two server processes', { timeout: DRAIN_TIMEOUT_MS + 60_000 }, () => {
  it(`drain ${TASKS} queued tasks, each run exactly once`, async () => {
    const started = Date.now();
    const cluster = await startServerCluster({ count: 2 });
    onTestFinished(() => cluster.stop());
    const servers = cluster.servers;
    const apis = servers.map((server) => new ApiClient({ baseUrl: server.url }));
    const runsFile = join(dir, 'runs.txt');

    // Made and enqueued through both processes, before any agent polls, so that the agents start on a full queue.
    const ids = await mapLimit(Array.from({ length: TASKS }, (_, n) => n), 16, async (n) => {
      const api = apis[n % 2]!;
      const { id } = await api.call('tasks.create', {
        name: `drain ${n}`,
        project_name: 'e2e/multi-process',
        type: 'training',
        script: { repository: '', entry_point: 'job.mjs', working_dir: '.', binary: 'node', diff: RUN_SCRIPT },
        hyperparams: { Args: { out: { section: 'Args', name: 'out', value: runsFile, type: 'str' } } },
      });
      await apis[(n + 1) % 2]!.call('tasks.enqueue', { task: id, queue_name: 'drain' });
      return id;
    });
    expect((await apis[0]!.call('queues.get_all', { name: '^drain$' })).queues[0]?.entries).toHaveLength(TASKS);
    const enqueuedAt = Date.now();

    const agents: AgentProcess[] = await Promise.all(
      Array.from({ length: AGENTS }, (_, n) =>
        startAgent({
          serverUrl: servers[n % 2]!.url,
          queues: ['drain'],
          workdir: join(dir, `drain-work-${n + 1}`),
          name: `drain-${n + 1}`,
          pollIntervalSec: 0.1,
          // Eight agents starting at once on two busy cores may take longer than startAgent's 20 s to serve.
          waitUntilReady: false,
        }),
      ),
    );
    // Stopped before the cluster (registered later, run first), even when the test fails midway.
    onTestFinished(() => Promise.all(agents.map((agent) => agent.stop())));
    for (const agent of agents) {
      await waitFor(`agent ${agent.name} to serve`, async () => {
        if (agent.child.exitCode !== null) throw new Error(`agent ${agent.name} exited with ${agent.child.exitCode}:\n${agent.output()}`);
        return agent.output().includes(' serving ');
      }, 60_000);
    }

    let lastReport = Date.now();
    const finished = await waitFor(
      `all ${TASKS} tasks to finish`,
      async () => {
        const { tasks } = await apis[0]!.call('tasks.get_all', { id: ids, only_fields: ['id', 'status', 'last_worker'], search_hidden: true });
        const done = tasks.filter((t) => ['completed', 'failed', 'stopped'].includes(t.status as string)).length;
        if (Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          console.log(`drain: ${done} of ${TASKS} finished after ${((Date.now() - enqueuedAt) / 1000).toFixed(0)} s`);
        }
        return done === TASKS ? tasks : undefined;
      },
      DRAIN_TIMEOUT_MS,
      500,
    );
    const drainedAt = Date.now();
    expect(finished.filter((t) => t.status !== 'completed')).toEqual([]);

    // Each task ran once: one line in the runs file, by the worker the server recorded.
    const runs = (await readFile(runsFile, 'utf8')).trim().split('\n').map((line) => line.split(' ') as [string, string]);
    expect(runs.map(([id]) => id).sort()).toEqual([...ids].sort());
    const workerOf = new Map(finished.map((t) => [t.id as string, t.last_worker as string]));
    for (const [id, worker] of runs) expect(worker).toBe(workerOf.get(id));

    // Each agent's log says what it took; together they took every task once, and none was refused as taken already.
    const taken = agents.flatMap((agent) =>
      agent
        .output()
        .split('\n')
        .filter((line) => line.includes('took a task from the queue'))
        .map((line) => /task=(\w+)/.exec(line)?.[1]),
    );
    expect(taken.sort()).toEqual(ids.map((id) => id.slice(0, 8)).sort());
    for (const agent of agents) {
      expect(agent.output()).not.toContain('skipping a task taken from the queue');
      // A poll the server failed (a 500: its unit of work re-run until it gave up) would show here.
      expect(agent.output()).not.toContain('could not poll the queues');
    }

    // One run's marker in each task's console.
    await mapLimit(ids, 8, async (id, n) => {
      const { events } = await apis[n % 2]!.call('events.get_task_log', { task: id, batch_size: 1000, navigate_earlier: false, order: 'asc' });
      expect(events.filter((e) => e.msg === `ran ${id}`)).toHaveLength(1);
    });

    // The queue is empty, seen from both processes.
    for (const api of apis) expect(await api.call('queues.get_num_entries', { queue: (await api.call('queues.get_all', { name: '^drain$' })).queues[0]!.id! })).toEqual({ num: 0 });

    const perAgent = Object.fromEntries(agents.map((agent) => [agent.name, runs.filter(([, worker]) => worker === agent.name).length]));
    console.log(
      `${TASKS} tasks: made and enqueued in ${((enqueuedAt - started) / 1000).toFixed(1)} s (with the servers' start), ` +
        `drained by ${AGENTS} agents in ${((drainedAt - enqueuedAt) / 1000).toFixed(1)} s (with their start); runs per agent: ${JSON.stringify(perAgent)}`,
    );
    const codes = await Promise.all(agents.map((agent) => agent.stop('SIGINT')));
    expect(codes).toEqual(Array(AGENTS).fill(0));
    expect(servers.flatMap((server) => server.errors())).toEqual([]);
  });
});

describeOnPostgres('the watchdog of two server processes', { timeout: 120_000 }, () => {
  it('aborts each silent task once, and neither process logs an error', async () => {
    // Rounds every 0.2 s in both processes, so that they meet; a task is silent after 1 s.
    const startedAt = Date.now();
    const cluster = await startServerCluster({ count: 2, extraArgs: ['--watchdog-timeout', '1', '--watchdog-interval', '0.2'] });
    console.log(`watchdog cluster up in ${Date.now() - startedAt} ms`);
    onTestFinished(() => cluster.stop());
    const [a, b] = cluster.servers as [ClusterServer, ClusterServer];
    const apis = [a, b].map((server) => new ApiClient({ baseUrl: server.url }));

    const ids = await mapLimit(Array.from({ length: 30 }, (_, n) => n), 8, async (n) => {
      const api = apis[n % 2]!;
      const { id } = await api.call('tasks.create', { name: `silent ${n}`, project_name: 'e2e/watchdog', type: 'training' });
      await api.call('tasks.started', { task: id });
      return id;
    });
    const stopped = await waitFor(
      'the watchdog to abort every silent task',
      async () => {
        const { tasks } = await apis[1]!.call('tasks.get_all', { id: ids, only_fields: ['id', 'status', 'status_reason', 'status_changed'] });
        return tasks.every((t) => t.status === 'stopped') ? tasks : undefined;
      },
      20_000,
      200,
    );
    // More rounds in both processes: none may touch a task again.
    await sleep(1500);
    const { tasks: later } = await apis[0]!.call('tasks.get_all', { id: ids, only_fields: ['id', 'status', 'status_reason', 'status_changed'] });
    expect(later.map((t) => [t.id, t.status_changed]).sort()).toEqual(stopped.map((t) => [t.id, t.status_changed]).sort());
    for (const task of later) {
      expect(task.status).toBe('stopped');
      expect(task.status_reason).toMatch(/^Forced stop \(non-responsive\): no ping, progress or event since .+, longer than the watchdog timeout of 1 s$/);
    }

    // One abort per task, over both processes' logs, and no round failed in either.
    const lines = [a, b].flatMap(watchdogLines);
    expect(lines.filter((line) => line.msg !== 'watchdog aborted non-responsive tasks')).toEqual([]);
    const aborted = lines.flatMap((line) => line.tasks as string[]);
    expect(aborted.sort()).toEqual([...ids].sort());
    expect([...a.errors(), ...b.errors()]).toEqual([]);
    console.log(`watchdog aborts by process: A ${watchdogLines(a).flatMap((l) => l.tasks as string[]).length}, B ${watchdogLines(b).flatMap((l) => l.tasks as string[]).length}`);
  });
});
