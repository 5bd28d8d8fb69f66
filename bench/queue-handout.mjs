#!/usr/bin/env node
// Queue hand-out throughput: N queued tasks drained by 8 clients polling queues.get_next_task, on two `tasklane
// server` processes sharing one PostgreSQL database, against one process on SQLite with 8 clients in the same run.
//
//   node bench/queue-handout.mjs [--tasks 2000] [--clients 8] [--rounds 3] [--sequence pop|agent] [--pool-size 10]
//                                [--cli packages/cli/dist/bin.js]
//
// Each round, in alternating order, three set-ups, each on a new database (PostgreSQL: a new database of a durable
// throwaway cluster, bench/postgres-support.mjs, or of TASKLANE_BENCH_PG_URL) and new server processes started with
// the real CLI (`tasklane server --port 0 --data-dir <temp> [--db-url postgres://...] [--db-pool-size N]`):
// - SQLite, one process, all clients on it (the baseline);
// - PostgreSQL, one process, all clients on it;
// - PostgreSQL, two processes, half of the clients on each.
// The bench makes a queue and --tasks draft tasks and enqueues them (not timed), then starts the clients together;
// each is a worker (workers.register, its own keep-alive connection, the X-ClearML-Worker header, as an agent) and
// loops until the queue answers empty:
// - `pop`: queues.get_next_task only — the hand-out itself;
// - `agent`: what the agent daemon does with each task before the task's process starts (packages/agent:
//   run-agent-daemon.ts, execute-task.ts): queues.get_next_task, tasks.get_all (status check), tasks.get_by_id,
//   tasks.started, workers.status_report naming the task, tasks.edit (runtime.worker). As the agent, a failed status
//   report or tasks.edit is passed over, and any other failed call abandons the task (taken, never started); both
//   are counted and printed, and the tasks the clients started must be exactly the ones in_progress.
// The clock runs from the clients' start to the last client's empty answer. Checked: every task was handed out
// exactly once over all clients and processes, none twice, none left in the queue. Prints tasks handed out per second (median of the rounds), the ratio to the SQLite baseline, the
// get_next_task latency (median, p99), and on PostgreSQL how many transactions the database rolled back (units of
// work the store ran again after a serialization failure, from pg_stat_statements). Then a final JSON line.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { REPO_ROOT, call as callApi, median, printTable, round, tempDir } from './events-support.mjs';
import { benchPostgres, isPostgresAvailable, query } from './postgres-support.mjs';

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '2000' },
    clients: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    sequence: { type: 'string', default: 'pop' },
    'pool-size': { type: 'string', default: '10' },
    cli: { type: 'string', default: 'packages/cli/dist/bin.js' },
  },
});
const taskCount = Number(options.tasks);
const clientCount = Number(options.clients);
const rounds = Number(options.rounds);
const poolSize = Number(options['pool-size']);
const sequence = options.sequence;
const cliPath = resolve(REPO_ROOT, options.cli);
if (![taskCount, clientCount, rounds, poolSize].every((n) => Number.isInteger(n) && n > 0) || clientCount % 2 !== 0 || !['pop', 'agent'].includes(sequence)) {
  console.error('Usage: node bench/queue-handout.mjs [--tasks N] [--clients EVEN N] [--rounds N] [--sequence pop|agent] [--pool-size N] [--cli path/to/bin.js]');
  process.exit(2);
}
if (!existsSync(cliPath)) {
  console.error(`${cliPath} not found: build first (npx tsc -b at the repository root).`);
  process.exit(1);
}
if (!isPostgresAvailable()) {
  console.error('No PostgreSQL: install the postgresql package (a throwaway cluster is started) or set TASKLANE_BENCH_PG_URL.');
  process.exit(1);
}

const SETUPS = [
  { key: 'sqlite1', label: 'SQLite, 1 process', store: 'sqlite', processes: 1 },
  { key: 'postgres1', label: 'PostgreSQL, 1 process', store: 'postgres', processes: 1 },
  { key: 'postgres2', label: 'PostgreSQL, 2 processes', store: 'postgres', processes: 2 },
];

/** `tasklane server` through the CLI; answers its url and stop(). */
async function startCliServer(dataDir, extraArgs) {
  const child = spawn(process.execPath, [cliPath, 'server', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    cwd: REPO_ROOT,
    env: { ...process.env, TASKLANE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((r) => child.once('exit', r));
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A client with its own keep-alive connection, named as a worker: call(endpoint, body) answers `data`. */
function apiClient(url, worker) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const headers = worker ? { 'x-clearml-worker': worker } : {};
  const call = (endpoint, body) => callApi(url, endpoint, body, 'application/json', false, { agent, headers });
  return { call, close: () => agent.destroy() };
}

/** Runs `work` on `items` with `parallel` at a time. */
async function inParallel(items, parallel, work) {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < items.length) {
      const item = items[next];
      next += 1;
      await work(item);
    }
  }));
}

/** The queue, and --tasks drafts enqueued in it (8 at a time), through one of the servers. Answers the queue id and task ids. */
async function fillQueue(url) {
  const admin = apiClient(url);
  const { id: queue } = await admin.call('queues.create', { name: 'bench-handout' });
  const ids = new Array(taskCount);
  const clients = Array.from({ length: 8 }, () => apiClient(url));
  let k = 0;
  await inParallel(Array.from({ length: taskCount }, (_, i) => i), 8, async (i) => {
    const client = clients[k++ % clients.length];
    ids[i] = (await client.call('tasks.create', { name: `handout ${i}`, type: 'training' })).id;
    await client.call('tasks.enqueue', { task: ids[i], queue });
  });
  for (const c of [admin, ...clients]) c.close();
  return { queue, ids };
}

/** One client: drains the queue; answers the task ids it was handed and its get_next_task latencies. */
async function drain(url, queue, worker) {
  const api = apiClient(url, worker);
  const taken = [];
  const latencies = [];
  const failures = [];
  const started = [];
  try {
    await api.call('workers.register', { worker, queues: [queue], timeout: 600 });
    await ready;
    for (;;) {
      const t = performance.now();
      const { entry } = await api.call('queues.get_next_task', { queue });
      latencies.push(performance.now() - t);
      if (!entry?.task) break;
      const task = entry.task;
      taken.push(task);
      if (sequence === 'agent') {
        // As the agent: a failed status report or tasks.edit is logged and passed over (worker-presence.ts,
        // execute-task.ts); any other failed call abandons the task, which stays taken but never starts.
        let step = 'tasks.get_all';
        try {
          const { tasks } = await api.call('tasks.get_all', { id: [task], only_fields: ['status', 'name'], search_hidden: true });
          if (tasks[0]?.status !== 'queued') throw new Error(`task ${task} taken from the queue is "${tasks[0]?.status}", not queued`);
          step = 'tasks.get_by_id';
          const { task: full } = await api.call('tasks.get_by_id', { task });
          step = 'tasks.started';
          await api.call('tasks.started', { task, force: true, status_message: `running on ${worker}` });
          started.push(task);
          for (const [endpoint, body] of [
            ['workers.status_report', { worker, timestamp: Date.now(), task, queues: [queue] }],
            ['tasks.edit', { task, force: true, runtime: { ...full.runtime, worker, worker_hostname: 'bench' } }],
          ]) {
            await api.call(endpoint, body).catch((error) => failures.push({ endpoint, message: error.message, tolerated: true }));
          }
        } catch (error) {
          failures.push({ endpoint: step, message: error.message, tolerated: false });
        }
      }
    }
    return { taken, latencies, failures, started };
  } finally {
    api.close();
  }
}

/** Failed calls by endpoint: `{ 'tasks.edit': 3 }`. */
function countFailures(failures) {
  const counts = {};
  for (const f of failures) counts[f.endpoint] = (counts[f.endpoint] ?? 0) + 1;
  return counts;
}

let release;
let ready;

/** One set-up: servers on a new database, a full queue, the clients draining it. */
async function runSetup(setup, postgres) {
  const dirs = Array.from({ length: setup.processes }, () => tempDir('tasklane-bench-handout-'));
  const database = setup.store === 'postgres' ? await postgres.newDatabase() : undefined;
  const extra = database ? ['--db-url', database, '--db-pool-size', String(poolSize)] : [];
  const servers = [];
  try {
    // Two processes start together on one database: migrations run once, under the advisory lock.
    servers.push(...(await Promise.all(dirs.map((d) => startCliServer(join(d.dir, 'data'), extra)))));
    const { queue, ids } = await fillQueue(servers[0].url);
    if (database) await query(postgres.url, `SELECT pg_stat_statements_reset(0, d.oid, 0) FROM pg_database d WHERE d.datname = '${new URL(database).pathname.slice(1)}'`);
    ready = new Promise((r) => (release = r));
    const clients = Array.from({ length: clientCount }, (_, c) => drain(servers[c % servers.length].url, queue, `bench-worker-${c}`));
    // Let every client register before the clock starts.
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    release();
    const outcomes = await Promise.all(clients);
    const seconds = (performance.now() - started) / 1000;

    // Exactly once: every enqueued task handed out to one client, none twice, none left.
    const handed = new Map();
    for (const { taken } of outcomes) for (const task of taken) handed.set(task, (handed.get(task) ?? 0) + 1);
    const twice = [...handed].filter(([, n]) => n > 1);
    const missing = ids.filter((id) => !handed.has(id));
    const strangers = [...handed.keys()].filter((id) => !ids.includes(id));
    if (twice.length || missing.length || strangers.length || handed.size !== taskCount) {
      throw new Error(`${setup.label}: ${handed.size} tasks handed out of ${taskCount}; ${twice.length} handed out more than once ` +
        `(${twice.slice(0, 3).map(([id, n]) => `${id} ×${n}`).join(', ')}), ${missing.length} never, ${strangers.length} unknown`);
    }
    const check = apiClient(servers[servers.length - 1].url);
    const { entries } = (await check.call('queues.get_by_id', { queue })).queue;
    if (entries.length !== 0) throw new Error(`${setup.label}: ${entries.length} entries left in the queue`);
    let notStarted = 0;
    if (sequence === 'agent') {
      // The tasks the clients started are in_progress; the ones they abandoned after a failed call are not.
      const { tasks } = await check.call('tasks.get_all', { id: ids, only_fields: ['status'], page_size: taskCount });
      const running = tasks.filter((t) => t.status === 'in_progress').length;
      const startedCount = outcomes.reduce((n, o) => n + o.started.length, 0);
      if (tasks.length !== taskCount || running !== startedCount) {
        throw new Error(`${setup.label}: ${running} of ${tasks.length} tasks in_progress, but the clients started ${startedCount}`);
      }
      notStarted = taskCount - running;
    }
    check.close();
    let rollbacks;
    let statements;
    if (database) {
      const rows = await query(postgres.url, `SELECT coalesce(sum(s.calls), 0)::int AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = '${new URL(database).pathname.slice(1)}' AND s.query ILIKE 'rollback%'`);
      rollbacks = rows[0].n;
      statements = await query(postgres.url, `SELECT regexp_replace(left(s.query, 70), '\\s+', ' ', 'g') AS statement, s.calls::int AS calls,
          round(s.mean_exec_time::numeric, 3)::float AS mean_ms, round(s.total_exec_time::numeric, 1)::float AS total_ms
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = '${new URL(database).pathname.slice(1)}' ORDER BY s.total_exec_time DESC LIMIT 6`);
    }
    const latencies = outcomes.flatMap((o) => o.latencies).sort((a, b) => a - b);
    const perClient = outcomes.map((o) => o.taken.length);
    return {
      seconds,
      tasksPerSec: taskCount / seconds,
      nextTaskMedianMs: median(latencies),
      nextTaskP99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
      perClient,
      rollbacks,
      statements,
      notStarted,
      failures: countFailures(outcomes.flatMap((o) => o.failures)),
      failureSample: outcomes.flatMap((o) => o.failures)[0]?.message,
    };
  } catch (error) {
    throw new Error(`${error.message}\n${servers.map((s) => s.output()).join('\n').slice(-3000)}`, { cause: error });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) d.remove();
    if (database) await postgres.dropDatabase(database);
  }
}

const postgres = await benchPostgres();
const results = Object.fromEntries(SETUPS.map((s) => [s.key, []]));
try {
  await query(postgres.url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  for (let r = 0; r < rounds; r += 1) {
    const order = r % 2 === 0 ? SETUPS : [...SETUPS].reverse();
    for (const setup of order) results[setup.key].push(await runSetup(setup, postgres));
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} catch (error) {
  console.error(`queue-handout bench failed: ${error.message}`);
  await postgres.stop();
  process.exit(1);
}
await postgres.stop();

const med = (key, field) => median(results[key].map((r) => r[field]));
const baseline = med('sqlite1', 'tasksPerSec');
const summary = {
  bench: 'queue-handout',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  postgres: { version: postgres.version, source: postgres.source, settings: postgres.settings },
  tasks: taskCount,
  clients: clientCount,
  rounds,
  sequence,
  poolSize,
  setups: Object.fromEntries(SETUPS.map((s) => [s.key, {
    label: s.label,
    tasksPerSec: round(med(s.key, 'tasksPerSec'), 1),
    ratioToSqlite: round(med(s.key, 'tasksPerSec') / baseline, 3),
    nextTaskMedianMs: round(med(s.key, 'nextTaskMedianMs'), 2),
    nextTaskP99Ms: round(med(s.key, 'nextTaskP99Ms'), 2),
    rollbacks: s.store === 'postgres' ? med(s.key, 'rollbacks') : undefined,
    notStarted: results[s.key].map((r) => r.notStarted),
    failedCalls: results[s.key].map((r) => r.failures),
    eachRound: results[s.key].map((r) => round(r.tasksPerSec, 1)),
  }])),
};
console.log(`Queue hand-out: ${taskCount} tasks, ${clientCount} clients (${sequence === 'pop' ? 'queues.get_next_task only' : "the agent's calls per task"}), ` +
  `${rounds} round(s), node ${process.version}, ${cpus().length} CPUs; PostgreSQL ${postgres.version}, ${postgres.source}, pool ${poolSize} per process, ` +
  Object.entries(postgres.settings).map(([k, v]) => `${k}=${v}`).join(' '));
printTable([
  ['set-up', 'tasks/s (median)', 'each round', 'vs SQLite', 'get_next_task median ms', 'p99 ms', 'rolled back (median)'],
  ...SETUPS.map((s) => {
    const x = summary.setups[s.key];
    return [`${s.label}, ${clientCount} clients`, x.tasksPerSec, x.eachRound.join(', '), x.ratioToSqlite, x.nextTaskMedianMs, x.nextTaskP99Ms, x.rollbacks ?? '-'];
  }),
]);
console.log('every task handed out exactly once in every round (checked)');
if (sequence === 'agent') {
  for (const s of SETUPS) {
    const x = summary.setups[s.key];
    const sample = results[s.key].find((r) => r.failureSample)?.failureSample;
    console.log(`${s.label}: tasks taken but not started per round ${x.notStarted.join(', ')}; failed calls per round ` +
      `${x.failedCalls.map((c) => JSON.stringify(c)).join(', ')}${sample ? `\n  e.g. ${sample.slice(0, 200)}` : ''}`);
  }
}
for (const s of SETUPS.filter((x) => x.store === 'postgres')) {
  const last = results[s.key].at(-1);
  console.log(`\n${s.label}, last round: the database's busiest statements (pg_stat_statements)`);
  printTable([['statement', 'calls', 'mean ms', 'total ms'], ...last.statements.map((st) => [st.statement, st.calls, st.mean_ms, st.total_ms])]);
}
console.log(JSON.stringify(summary));
