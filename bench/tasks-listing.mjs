#!/usr/bin/env node
// The tasks table's listing on the server, on SQLite and on PostgreSQL in the same run: the first page of a project
// of 100,000 tasks, sorted and filtered as the web UI asks, against the same request on a project of 100 tasks of
// the same store.
//
//   node bench/tasks-listing.mjs [--tasks 100000] [--baseline 100] [--repeat 15] [--store sqlite|postgres|both] [--explain]
//
// Each store gets the two projects of bench/tasks-fixture.mjs, filled straight through the server's store
// (openSqliteStore / openStore on a new database of a durable throwaway PostgreSQL cluster, bench/postgres-support.mjs,
// or of TASKLANE_BENCH_PG_URL), then a server child process on it (bench/events-support.mjs). Every request is the
// web UI's own (packages/web/src/tasks-table/table-query.ts, tasksRequest): tasks.get_all, page 0 of 50, archived
// left out, the table's fields plus the columns Args/lr and loss/val, and:
// - default order (-last_update);
// - sorted by name, by a hyperparameter (Args/lr) and by a metric's last value (loss/val), each then -last_update;
// - filtered by the tag "best" (every 10th task) and by the status "failed" (every 50th), default order.
// Each case is timed from send to parsed reply (HTTP and JSON included), --repeat times per project, the stores,
// projects and cases interleaved (one warm-up round discarded). Every answer is checked: a full page (or the small
// project's matching tasks), in the order asked for, matching the filter. Prints medians, the ratio of the large
// project to the small one per store, the ratio PostgreSQL/SQLite, and a final JSON line. --explain prints the plans
// PostgreSQL logged for the server's statements that took over 50 ms (auto_explain with ANALYZE).
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openSqliteStore, openStore } from '@tasklane/server';
import { call, median, printTable, round, startServerProcess, tempDir } from './events-support.mjs';
import { benchPostgres, isPostgresAvailable } from './postgres-support.mjs';
import { fillTaskProjects, md5 } from './tasks-fixture.mjs';

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    baseline: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '15' },
    store: { type: 'string', default: isPostgresAvailable() ? 'both' : 'sqlite' },
    explain: { type: 'boolean', default: false },
  },
});
const bigCount = Number(options.tasks);
const smallCount = Number(options.baseline);
const repeat = Number(options.repeat);
if (![bigCount, smallCount, repeat].every((n) => Number.isInteger(n) && n > 0) || !['sqlite', 'postgres', 'both'].includes(options.store)) {
  console.error('Usage: node bench/tasks-listing.mjs [--tasks N] [--baseline N] [--repeat N] [--store sqlite|postgres|both]');
  process.exit(2);
}
if (options.store !== 'sqlite' && !isPostgresAvailable()) {
  console.error('No PostgreSQL (TASKLANE_BENCH_PG_URL is not set and the postgresql package is not installed): run with --store sqlite.');
  process.exit(1);
}

const PAGE_SIZE = 50;
const LOSS = `last_metrics.${md5('loss')}.${md5('val')}`;
const BASE_FIELDS = ['id', 'name', 'type', 'status', 'status_message', 'tags', 'system_tags', 'parent', 'user', 'created', 'started',
  'completed', 'last_update', 'last_iteration', 'active_duration', 'runtime', 'project'];
const lr = (t) => Number(t.hyperparams.Args.lr.value);
const loss = (t) => t.last_metrics[md5('loss')][md5('val')].value;
const byKey = (key) => (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
const CASES = [
  { key: 'default', label: 'first page, -last_update', body: {}, order: (a, b) => b.last_update.localeCompare(a.last_update) },
  { key: 'name', label: 'sorted by name', body: { order_by: ['name', '-last_update'] }, order: byKey((t) => t.name) },
  { key: 'hyperparameter', label: 'sorted by Args/lr', body: { order_by: ['hyperparams.Args.lr.value', '-last_update'] }, order: byKey(lr) },
  { key: 'metric', label: 'sorted by loss/val (last)', body: { order_by: [`${LOSS}.value`, '-last_update'] }, order: byKey(loss) },
  { key: 'tag', label: 'tag "best"', body: { tags: ['best'] }, keep: (t) => t.tags.includes('best'), order: (a, b) => b.last_update.localeCompare(a.last_update) },
  { key: 'status', label: 'status "failed"', body: { status: ['failed'] }, keep: (t) => t.status === 'failed', order: (a, b) => b.last_update.localeCompare(a.last_update) },
];

/** The web UI's request for one case. */
function requestOf(project, testCase) {
  return {
    project: [project],
    order_by: ['-last_update'],
    page: 0,
    page_size: PAGE_SIZE,
    system_tags: ['-archived'],
    only_fields: [...BASE_FIELDS, 'hyperparams.Args.lr', LOSS],
    ...testCase.body,
  };
}

/** How many tasks of a project of `count` (tasks-fixture.mjs) a case lists: archived every 7th, tag every 10th, failed every 50th. */
function expectedRows(count, testCase) {
  let n = 0;
  for (let i = 0; i < count; i += 1) {
    if (i % 7 === 0) continue;
    if (testCase.key === 'tag' && i % 10 !== 0) continue;
    if (testCase.key === 'status' && i % 50 !== 0) continue;
    n += 1;
  }
  return Math.min(PAGE_SIZE, n);
}

function check(tasks, count, testCase, where) {
  const want = expectedRows(count, testCase);
  if (tasks.length !== want) throw new Error(`${where}, ${testCase.label}: ${tasks.length} rows, expected ${want}`);
  for (let i = 1; i < tasks.length; i += 1) {
    if (testCase.order(tasks[i - 1], tasks[i]) > 0) throw new Error(`${where}, ${testCase.label}: rows ${i - 1} and ${i} out of order`);
  }
  for (const t of tasks) {
    if (t.system_tags?.includes('archived')) throw new Error(`${where}, ${testCase.label}: an archived task listed`);
    if (testCase.keep && !testCase.keep(t)) throw new Error(`${where}, ${testCase.label}: task ${t.name} does not match the filter`);
  }
}

const STORES = [
  ...(options.store !== 'postgres' ? [{ key: 'sqlite', label: 'SQLite' }] : []),
  ...(options.store !== 'sqlite' ? [{ key: 'postgres', label: 'PostgreSQL' }] : []),
];
const postgres = STORES.some((s) => s.key === 'postgres') ? await benchPostgres() : undefined;
const live = [];
try {
  for (const kind of STORES) {
    const temp = tempDir('tasklane-bench-listing-');
    // --explain: the server's sessions log the plan of every statement over 50 ms (auto_explain), printed at the end.
    const explain = { session_preload_libraries: 'auto_explain', 'auto_explain.log_min_duration': 50, 'auto_explain.log_analyze': 'on' };
    const database = kind.key === 'postgres' ? await postgres.newDatabase(options.explain ? explain : {}) : undefined;
    const store = database ? await openStore(database) : openSqliteStore(join(temp.dir, 'tasklane.sqlite'));
    const t = performance.now();
    const projects = await fillTaskProjects(store, bigCount, smallCount);
    await store.close();
    kind.fillSeconds = round((performance.now() - t) / 1000);
    console.error(`${kind.label}: filled ${bigCount.toLocaleString('en')} + ${smallCount} tasks in ${kind.fillSeconds} s`);
    const server = await startServerProcess(temp.dir, { env: database ? { TASKLANE_DB_URL: database } : {} });
    live.push({ kind, temp, database, server, projects });
    kind.times = Object.fromEntries(CASES.map((c) => [c.key, { big: [], small: [] }]));
  }
  for (let r = 0; r <= repeat; r += 1) {
    const stores = r % 2 === 0 ? live : [...live].reverse();
    for (const { kind, server, projects } of stores) {
      for (const testCase of r % 2 === 0 ? CASES : [...CASES].reverse()) {
        for (const which of r % 2 === 0 ? ['small', 'big'] : ['big', 'small']) {
          const started = performance.now();
          const { tasks } = await call(server.url, 'tasks.get_all', requestOf(projects[which], testCase));
          const ms = performance.now() - started;
          check(tasks, which === 'big' ? bigCount : smallCount, testCase, `${kind.label}, ${which} project`);
          if (r > 0) kind.times[testCase.key][which].push(ms);
        }
      }
    }
  }
} catch (error) {
  console.error(`tasks-listing bench failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  for (const { server, temp, database } of live) {
    await server.stop();
    temp.remove();
    if (database) await postgres.dropDatabase(database);
  }
  if (options.explain && postgres) console.log(`PostgreSQL's plans of statements over 50 ms (auto_explain):\n${postgres.logText()}`);
  await postgres?.stop();
}
if (process.exitCode) process.exit();

const figures = Object.fromEntries(STORES.map((kind) => [kind.key, Object.fromEntries(CASES.map((c) => {
  const small = median(kind.times[c.key].small);
  const big = median(kind.times[c.key].big);
  return [c.key, { small: round(small, 2), big: round(big, 2), ratio: round(big / small, 2) }];
}))]));
console.log(`Tasks listing (tasks.get_all, the web UI's first page of ${PAGE_SIZE}): ${bigCount.toLocaleString('en')} vs ${smallCount} tasks, ` +
  `${repeat} rounds, node ${process.version}, ${cpus().length} CPUs` +
  (postgres ? `; PostgreSQL ${postgres.version}, ${postgres.source}` : ''));
const header = ['case (median ms)'];
for (const kind of STORES) header.push(`${kind.label} ${smallCount}`, `${kind.label} ${bigCount.toLocaleString('en')}`, `${kind.label} ratio`);
if (STORES.length === 2) header.push(`PostgreSQL/SQLite at ${bigCount.toLocaleString('en')}`);
const rows = [header];
for (const c of CASES) {
  const row = [c.label];
  for (const kind of STORES) {
    const f = figures[kind.key][c.key];
    row.push(f.small, f.big, `${f.ratio}x`);
  }
  if (STORES.length === 2) row.push(`${round(figures.postgres[c.key].big / figures.sqlite[c.key].big, 2)}x`);
  rows.push(row);
}
printTable(rows);
console.log(`fill through the store: ${STORES.map((k) => `${k.label} ${k.fillSeconds} s`).join(', ')}`);
console.log(JSON.stringify({
  bench: 'tasks-listing',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  postgres: postgres && { version: postgres.version, source: postgres.source, settings: postgres.settings },
  tasks: bigCount,
  baseline: smallCount,
  repeat,
  fillSeconds: Object.fromEntries(STORES.map((k) => [k.key, k.fillSeconds])),
  figures,
}));
