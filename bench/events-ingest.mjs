#!/usr/bin/env node
// Scalar ingest, end to end over HTTP, against the SQLite ceiling measured in the same run, on SQLite and on
// PostgreSQL in the same run.
//
//   node bench/events-ingest.mjs [--series 10] [--iterations 100000] [--batch 5000] [--in-flight 2] [--rounds 2]
//                                [--store sqlite|postgres|both] [--pg-async] [--pg-statements]
//                                [--skip-store] [--skip-http] [--skip-sdk]
//
// Data: 10 series × 100,000 iterations = 1,000,000 scalar points, reported iteration by iteration (all series of an
// iteration, then the next), as a training loop does.
//
// - ceiling: the same rows inserted straight into SQLite with better-sqlite3 — the scalar table of the server's
//   schema (series, iter, value, timestamp; WITHOUT ROWID), WAL, synchronous=NORMAL, one prepared single-row INSERT,
//   one transaction per batch — in this process, rows taken from memory. Measured twice: with SQLite's default WAL
//   checkpoints (every 1,000 pages: the ceiling the targets refer to), and with the server's setting (every 10,000
//   pages), so that what that setting gains is not counted as the server's own.
// - store: the same batches written through the server's own storage layer (openSqliteStore, or openStore on a new
//   PostgreSQL database; one transaction per batch, one events.appendScalars call per batch with every series, as
//   the service makes it: points, chart summaries and each series' new stats, the stats known before passed in), to
//   show the store's share without HTTP.
// - http: a Tasklane server in a child process (a new data dir; on PostgreSQL a new database, TASKLANE_DB_URL); this
//   process sends the batches as ClearML's SDK does (POST /events.add_batch, Content-Type application/json-lines,
//   one event per line), --in-flight requests at a time. The bodies are encoded before the clock starts (as the
//   ceiling takes its rows from memory: both measure the storing side); the clock stops when the last batch is
//   acknowledged. Then every point is checked stored (last_metrics counts), and the server's VmRSS/VmHWM and CPU
//   time (utime + stime) are read from /proc: CPU time per point is the figure least disturbed by other work on a
//   shared machine. On a throwaway cluster the cluster's CPU time is read too.
// - sdk: issue 4's benchmark 1 — one SDK process (a child running `tasklane`: Task.init, then reportScalar for every
//   point in loop order, then task.flush()) against a new server; the clock runs from the first report to the end
//   of flush(), when the server has acknowledged everything. Every point is then checked stored, as for http.
//
// --store: which stores (default both where PostgreSQL is available: TASKLANE_BENCH_PG_URL, or the postgresql
// package's binaries for a throwaway cluster with fsync and synchronous_commit on, bench/postgres-support.mjs).
// --pg-async adds PostgreSQL with synchronous_commit=off (a labelled extra: a crash may lose the last commits).
// --pg-statements prints, for the PostgreSQL HTTP runs, where the database's time went (pg_stat_statements) and the
// statements per request.
//
// Rounds alternate the order of the runs (ceiling, each store's http and sdk) and of the stores. Prints a table, the
// ratio PostgreSQL/SQLite of each path, and a final JSON line.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore, openStore } from '@tasklane/server';
import { benchPostgres, isPostgresAvailable, query } from './postgres-support.mjs';
import {
  REPO_ROOT,
  call,
  createRunningTask,
  median,
  printTable,
  readCpuMs,
  readMemoryMiB,
  round,
  seriesName,
  startServerProcess,
  tempDir,
  timestampAt,
  valueAt,
} from './events-support.mjs';

const execFileAsync = promisify(execFile);

const { values: options } = parseArgs({
  options: {
    series: { type: 'string', default: '10' },
    iterations: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '5000' },
    'in-flight': { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    store: { type: 'string', default: isPostgresAvailable() ? 'both' : 'sqlite' },
    'pg-async': { type: 'boolean', default: false },
    'pg-statements': { type: 'boolean', default: false },
    'skip-store': { type: 'boolean', default: false },
    'skip-http': { type: 'boolean', default: false },
    'skip-sdk': { type: 'boolean', default: false },
  },
});
if (!['sqlite', 'postgres', 'both'].includes(options.store)) {
  console.error(`Bad option --store ${options.store}: expected sqlite, postgres or both.`);
  process.exit(2);
}
if (options.store !== 'sqlite' && !isPostgresAvailable()) {
  console.error('No PostgreSQL (TASKLANE_BENCH_PG_URL is not set and the postgresql package is not installed): run with --store sqlite.');
  process.exit(1);
}
/** The stores of this run: SQLite, PostgreSQL (durable), and the labelled extra. */
const STORES = [
  ...(options.store !== 'postgres' ? [{ key: 'sqlite', label: 'SQLite' }] : []),
  ...(options.store !== 'sqlite' ? [{ key: 'postgres', label: 'PostgreSQL', settings: {} }] : []),
  ...(options.store !== 'sqlite' && options['pg-async']
    ? [{ key: 'postgresAsync', label: 'PostgreSQL, synchronous_commit=off', settings: { synchronous_commit: 'off' } }]
    : []),
];
const postgres = STORES.some((s) => s.settings) ? await benchPostgres() : undefined;
if (postgres && options['pg-statements']) await query(postgres.url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
const seriesCount = Number(options.series);
const iterations = Number(options.iterations);
const batchSize = Number(options.batch);
const inFlight = Number(options['in-flight']);
const rounds = Number(options.rounds);
for (const [name, value] of Object.entries({ seriesCount, iterations, batchSize, inFlight, rounds })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Bad option ${name}: ${value}. Usage: node bench/events-ingest.mjs [--series N] [--iterations N] [--batch N] [--in-flight N] [--rounds N]`);
    process.exit(2);
  }
}
const points = seriesCount * iterations;

// The data, in report order: point p is series p % seriesCount at iteration floor(p / seriesCount).
const names = Array.from({ length: seriesCount }, (_, k) => seriesName(k));
const values = new Float64Array(points);
for (let p = 0; p < points; p += 1) values[p] = valueAt(p % seriesCount, Math.floor(p / seriesCount));

/**
 * Ceiling: better-sqlite3 straight, the server's scalar table, one transaction per batch. With `serverWal`, the WAL
 * is checkpointed every 10,000 pages as the server does, instead of SQLite's default 1,000.
 */
function runCeiling(serverWal = false) {
  const temp = tempDir('tasklane-ceiling-');
  const db = new Database(join(temp.dir, 'ceiling.sqlite'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (serverWal) db.pragma('wal_autocheckpoint = 10000');
  db.exec(`CREATE TABLE scalar_events (series INTEGER NOT NULL, iter INTEGER NOT NULL, value REAL NOT NULL,
    timestamp INTEGER NOT NULL, PRIMARY KEY (series, iter)) WITHOUT ROWID`);
  const insert = db.prepare('INSERT INTO scalar_events (series, iter, value, timestamp) VALUES (?, ?, ?, ?)');
  const writeBatch = db.transaction((from, to) => {
    for (let p = from; p < to; p += 1) {
      const iter = Math.floor(p / seriesCount);
      insert.run((p % seriesCount) + 1, iter, values[p], timestampAt(iter));
    }
  });
  const started = performance.now();
  for (let from = 0; from < points; from += batchSize) writeBatch(from, Math.min(points, from + batchSize));
  const seconds = (performance.now() - started) / 1000;
  const stored = db.prepare('SELECT COUNT(*) FROM scalar_events').pluck().get();
  db.close();
  temp.remove();
  if (stored !== points) throw new Error(`ceiling stored ${stored} rows, expected ${points}`);
  return { seconds, pointsPerSec: points / seconds };
}

/** A new, empty database of a store kind: `{ store, remove() }` (a SQLite file in a temp dir, or a database). */
async function newStore(kind) {
  if (!kind.settings) {
    const temp = tempDir('tasklane-store-');
    const store = openSqliteStore(join(temp.dir, 'store.sqlite'));
    return { store, remove: async () => { await store.close(); temp.remove(); } };
  }
  const url = await postgres.newDatabase(kind.settings);
  const store = await openStore(url);
  return { store, remove: async () => { await store.close(); await postgres.dropDatabase(url); } };
}

/** The server's storage layer, without HTTP: one transaction and one appendScalars per batch. */
async function runStore(kind) {
  const { store, remove } = await newStore(kind);
  const known = names.map(() => undefined);
  const perSeries = Math.ceil(batchSize / seriesCount);
  const columns = names.map(() => ({ iter: new Array(perSeries), value: new Array(perSeries), timestamp: new Array(perSeries), length: 0 }));
  const started = performance.now();
  for (let from = 0; from < points; from += batchSize) {
    const to = Math.min(points, from + batchSize);
    for (const c of columns) c.length = 0;
    for (let p = from; p < to; p += 1) {
      const c = columns[p % seriesCount];
      const iter = Math.floor(p / seriesCount);
      c.iter[c.length] = iter;
      c.value[c.length] = values[p];
      c.timestamp[c.length] = timestampAt(iter);
      c.length += 1;
    }
    const slices = columns.map((c, k) => ({ ...names[k], points: c, from: 0, to: c.length, known: known[k] }));
    const stats = await store.transaction((repos) => repos.events.appendScalars('bench-task', slices));
    stats.forEach((s, k) => {
      known[k] = s;
    });
  }
  const seconds = (performance.now() - started) / 1000;
  await remove();
  return { seconds, pointsPerSec: points / seconds };
}

/** A server child process on a new database of a store kind: `{ server, database, stop() }`. */
async function startServerOn(kind) {
  const database = kind.settings ? await postgres.newDatabase(kind.settings) : undefined;
  const server = await startServerProcess(undefined, { env: database ? { TASKLANE_DB_URL: database } : {} });
  return {
    server,
    database,
    stop: async () => {
      await server.stop();
      if (database) await postgres.dropDatabase(database);
    },
  };
}

/** The statements of a database so far, from pg_stat_statements, busiest first. */
async function statementsOf(database) {
  return query(
    postgres.url,
    `SELECT regexp_replace(left(s.query, 90), '\\s+', ' ', 'g') AS statement, s.calls::int AS calls,
       round(s.total_exec_time::numeric, 1)::float AS total_ms, round(s.mean_exec_time::numeric, 3)::float AS mean_ms, s.rows::int AS rows
     FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
     WHERE d.datname = '${new URL(database).pathname.slice(1)}' ORDER BY s.total_exec_time DESC`,
  );
}

async function resetStatements(database) {
  await query(postgres.url, `SELECT pg_stat_statements_reset(0, d.oid, 0) FROM pg_database d WHERE d.datname = '${new URL(database).pathname.slice(1)}'`);
}

/** One batch as JSON lines. */
function encodeBatch(task, from, to) {
  const lines = new Array(to - from);
  for (let p = from; p < to; p += 1) {
    const k = p % seriesCount;
    const iter = Math.floor(p / seriesCount);
    lines[p - from] =
      `{"type":"training_stats_scalar","task":"${task}","timestamp":${timestampAt(iter)},"iter":${iter},` +
      `"metric":"${names[k].metric}","variant":"${names[k].variant}","value":${values[p]}}`;
  }
  return lines.join('\n');
}

/** End to end: a server child process, batches over HTTP. */
async function runHttp(kind) {
  const { server, database, stop } = await startServerOn(kind);
  try {
    const task = await createRunningTask(server.url, 'ingest-bench');
    const idle = readMemoryMiB(server.pid);
    const bodies = [];
    for (let from = 0; from < points; from += batchSize) bodies.push({ from, to: Math.min(points, from + batchSize) });
    for (const body of bodies) body.text = encodeBatch(task, body.from, body.to);
    let next = 0;
    const withStatements = database && options['pg-statements'];
    if (withStatements) await resetStatements(database);
    const cpuBefore = readCpuMs(server.pid);
    const dbCpuBefore = database ? postgres.cpuMs() : undefined;
    const started = performance.now();
    const sender = async () => {
      while (next < bodies.length) {
        const { from, to, text } = bodies[next];
        next += 1;
        const reply = await call(server.url, 'events.add_batch', text, 'application/json-lines');
        if (reply.added !== to - from) throw new Error(`batch at ${from}: added ${reply.added} of ${to - from}`);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, sender));
    const seconds = (performance.now() - started) / 1000;
    const cpuMicrosPerPoint = ((readCpuMs(server.pid) - cpuBefore) * 1000) / points;
    const dbCpuMicrosPerPoint = dbCpuBefore === undefined ? undefined : ((postgres.cpuMs() - dbCpuBefore) * 1000) / points;
    const statements = withStatements ? await statementsOf(database) : undefined;
    const afterIngest = readMemoryMiB(server.pid);
    await sleep(2000);
    const settled = readMemoryMiB(server.pid);

    const { task: saved } = await call(server.url, 'tasks.get_by_id', { task });
    const entries = Object.values(saved.last_metrics).flatMap((variants) => Object.values(variants));
    const stored = entries.reduce((n, e) => n + e.count, 0);
    if (entries.length !== seriesCount || stored !== points || saved.last_iteration !== iterations - 1) {
      throw new Error(`stored ${stored} points in ${entries.length} series (last_iteration ${saved.last_iteration}), expected ${points}`);
    }
    return {
      seconds,
      pointsPerSec: points / seconds,
      cpuMicrosPerPoint,
      dbCpuMicrosPerPoint,
      requests: bodies.length,
      statements,
      rssIdleMiB: idle.rss,
      rssAfterMiB: afterIngest.rss,
      rssSettledMiB: settled.rss,
      peakMiB: settled.peak,
    };
  } catch (error) {
    throw new Error(`${error.message}\nserver stderr: ${server.stderr()}`, { cause: error });
  } finally {
    await stop();
  }
}

// The SDK process: reports every point as a training loop does, then waits for delivery. Prints its seconds.
const SDK_SOURCE = `
import { performance } from 'node:perf_hooks';
import { Task } from 'tasklane';
const [seriesCount, iterations] = JSON.parse(process.env.BENCH_SHAPE);
const names = JSON.parse(process.env.BENCH_NAMES);
const task = await Task.init({ projectName: 'bench', taskName: 'sdk ingest', reuseLastTaskId: false,
  autoConnectStreams: false, autoResourceMonitoring: false });
const logger = task.getLogger();
const started = performance.now();
for (let i = 0; i < iterations; i += 1) {
  for (let k = 0; k < seriesCount; k += 1) logger.reportScalar(names[k].metric, names[k].variant, Math.sin(i * 0.001 + k) + k, i);
}
const reported = performance.now();
await task.flush();
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ task: task.id, seconds, reportSeconds: (reported - started) / 1000 }));
await task.close();
`;

/** Issue 4's benchmark 1: one SDK process reporting every point to a server child process. */
async function runSdk(kind) {
  const { server, database, stop } = await startServerOn(kind);
  const state = tempDir('tasklane-sdk-state-');
  try {
    const idle = readMemoryMiB(server.pid);
    const cpuBefore = readCpuMs(server.pid);
    const dbCpuBefore = database ? postgres.cpuMs() : undefined;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', SDK_SOURCE], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        TASKLANE_API_HOST: server.url,
        TASKLANE_STATE_DIR: state.dir,
        BENCH_SHAPE: JSON.stringify([seriesCount, iterations]),
        BENCH_NAMES: JSON.stringify(names),
      },
      maxBuffer: 1 << 20,
    });
    const { task, seconds, reportSeconds } = JSON.parse(stdout.trim().split('\n').at(-1));
    const cpuMicrosPerPoint = ((readCpuMs(server.pid) - cpuBefore) * 1000) / points;
    const dbCpuMicrosPerPoint = dbCpuBefore === undefined ? undefined : ((postgres.cpuMs() - dbCpuBefore) * 1000) / points;
    const afterIngest = readMemoryMiB(server.pid);
    const { task: saved } = await call(server.url, 'tasks.get_by_id', { task });
    const entries = Object.values(saved.last_metrics).flatMap((variants) => Object.values(variants));
    const stored = entries.reduce((n, e) => n + e.count, 0);
    if (entries.length !== seriesCount || stored !== points || saved.last_iteration !== iterations - 1) {
      throw new Error(`SDK run stored ${stored} points in ${entries.length} series (last_iteration ${saved.last_iteration}), expected ${points}`);
    }
    return { seconds, reportSeconds, pointsPerSec: points / seconds, cpuMicrosPerPoint, dbCpuMicrosPerPoint, rssIdleMiB: idle.rss, rssAfterMiB: afterIngest.rss };
  } catch (error) {
    throw new Error(`${error.message}\nserver stderr: ${server.stderr()}`, { cause: error });
  } finally {
    state.remove();
    await stop();
  }
}

// results.ceiling / ceilingServerWal: runs; results[store.key].http / sdk / store: runs.
const results = { ceiling: [], ceilingServerWal: [] };
for (const kind of STORES) results[kind.key] = { http: [], sdk: [], store: [] };
try {
  for (let round_ = 0; round_ < rounds; round_ += 1) {
    const stores = round_ % 2 === 0 ? STORES : [...STORES].reverse();
    const order = [
      'ceiling',
      ...(options['skip-http'] ? [] : stores.map((kind) => ['http', kind])),
      ...(options['skip-sdk'] ? [] : stores.map((kind) => ['sdk', kind])),
      'ceilingServerWal',
    ];
    if (round_ % 2 === 1) order.reverse();
    for (const step of order) {
      if (typeof step === 'string') results[step].push(runCeiling(step === 'ceilingServerWal'));
      else if (step[0] === 'http') results[step[1].key].http.push(await runHttp(step[1]));
      else results[step[1].key].sdk.push(await runSdk(step[1]));
    }
    if (!options['skip-store']) for (const kind of stores) results[kind.key].store.push(await runStore(kind));
    process.stderr.write(`round ${round_ + 1}/${rounds} done\n`);
  }
} catch (error) {
  console.error(`events-ingest bench failed: ${error.stack}`);
  await postgres?.stop();
  process.exit(1);
}
await postgres?.stop();

const med = (list, key) => (list.length ? median(list.map((r) => r[key]).filter((v) => v !== undefined)) : undefined);
const ceiling = med(results.ceiling, 'pointsPerSec');
const ceilingServerWal = med(results.ceilingServerWal, 'pointsPerSec');
/** Medians of one store's runs. */
function storeSummary(kind) {
  const r = results[kind.key];
  const http = med(r.http, 'pointsPerSec');
  const sdk = med(r.sdk, 'pointsPerSec');
  const store = med(r.store, 'pointsPerSec');
  const rounded = (value, digits) => (value === undefined || Number.isNaN(value) ? undefined : round(value, digits));
  return {
    label: kind.label,
    httpPointsPerSec: rounded(http, 0),
    httpRatioToCeiling: rounded(http / ceiling, 3),
    httpServerCpuMicrosPerPoint: rounded(med(r.http, 'cpuMicrosPerPoint'), 2),
    httpDbCpuMicrosPerPoint: rounded(med(r.http, 'dbCpuMicrosPerPoint'), 2),
    sdkPointsPerSec: rounded(sdk, 0),
    sdkRatioToCeiling: rounded(sdk / ceiling, 3),
    sdkServerCpuMicrosPerPoint: rounded(med(r.sdk, 'cpuMicrosPerPoint'), 2),
    sdkDbCpuMicrosPerPoint: rounded(med(r.sdk, 'dbCpuMicrosPerPoint'), 2),
    sdkReportSeconds: rounded(med(r.sdk, 'reportSeconds'), 2),
    storePointsPerSec: rounded(store, 0),
    storeRatioToCeiling: rounded(store / ceiling, 3),
    serverRssIdleMiB: rounded(med(r.http, 'rssIdleMiB'), 1),
    serverRssAfterIngestMiB: rounded(med(r.http.length ? r.http : r.sdk, 'rssAfterMiB'), 1),
    serverRssSettledMiB: rounded(med(r.http, 'rssSettledMiB'), 1),
    serverPeakRssMiB: rounded(med(r.http, 'peakMiB'), 1),
  };
}
const perStore = Object.fromEntries(STORES.map((kind) => [kind.key, storeSummary(kind)]));
const sqlite = perStore.sqlite;
const ratioOf = (key, field) => {
  const a = perStore[key]?.[field];
  const b = sqlite?.[field];
  return a && b ? round(a / b, 3) : undefined;
};
const vsSqlite = Object.fromEntries(
  STORES.filter((kind) => kind.key !== 'sqlite').map((kind) => [
    kind.key,
    { http: ratioOf(kind.key, 'httpPointsPerSec'), sdk: ratioOf(kind.key, 'sdkPointsPerSec'), store: ratioOf(kind.key, 'storePointsPerSec') },
  ]),
);
const summary = {
  bench: 'events-ingest',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  postgres: postgres ? { version: postgres.version, source: postgres.source, settings: postgres.settings } : undefined,
  points,
  series: seriesCount,
  batch: batchSize,
  inFlight,
  rounds,
  ceilingPointsPerSec: Math.round(ceiling),
  ceilingServerWalPointsPerSec: Math.round(ceilingServerWal),
  ceilingMicrosPerPoint: round(1e6 / ceiling, 2),
  stores: perStore,
  vsSqlite,
  targets: sqlite && {
    atLeastHalfOfCeiling: sqlite.httpRatioToCeiling >= 0.5,
    over200kPerSec: sqlite.httpPointsPerSec > 200_000,
    sdkAtLeastHalfOfCeiling: sqlite.sdkRatioToCeiling >= 0.5,
    sdkOver200kPerSec: sqlite.sdkPointsPerSec > 200_000,
    rssUnder200MiB: sqlite.serverRssAfterIngestMiB < 200,
  },
};
console.log(`Scalar ingest: ${points.toLocaleString('en')} points (${seriesCount} series), batches of ${batchSize}, ` +
  `${rounds} round(s), node ${process.version}, ${cpus().length} CPUs` +
  (postgres ? `; PostgreSQL ${postgres.version}, ${postgres.source}, ${Object.entries(postgres.settings).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''));
const fmt = (list) => list.map((r) => Math.round(r.pointsPerSec).toLocaleString('en')).join(', ');
const number = (value) => (value === undefined ? '-' : value.toLocaleString('en'));
const rows = [
  ['path', 'points/s (median)', 'each round', 'vs ceiling', 'vs SQLite', 'server CPU µs/pt', 'database CPU µs/pt'],
  ['ceiling: better-sqlite3 straight', number(Math.round(ceiling)), fmt(results.ceiling), '1.00', '', '', ''],
  ["ceiling, the server's WAL setting", number(Math.round(ceilingServerWal)), fmt(results.ceilingServerWal), round(ceilingServerWal / ceiling, 2), '', '', ''],
];
for (const [path, label, field, cpuField, dbField] of [
  ['store', 'store layer (appendScalars, with summaries)', 'storePointsPerSec', undefined, undefined],
  ['http', 'HTTP end to end (server process)', 'httpPointsPerSec', 'httpServerCpuMicrosPerPoint', 'httpDbCpuMicrosPerPoint'],
  ['sdk', 'SDK process end to end (Task.init, reportScalar, flush)', 'sdkPointsPerSec', 'sdkServerCpuMicrosPerPoint', 'sdkDbCpuMicrosPerPoint'],
]) {
  for (const kind of STORES) {
    const runs = results[kind.key][path];
    if (runs.length === 0) continue;
    const s = perStore[kind.key];
    rows.push([
      `${label}, ${kind.label}`,
      number(s[field]),
      fmt(runs),
      round(s[field] / ceiling, 2),
      kind.key === 'sqlite' ? '1.00' : number(vsSqlite[kind.key][path]),
      cpuField ? number(s[cpuField]) : '',
      dbField ? number(s[dbField]) : '',
    ]);
  }
}
printTable(rows);
for (const kind of STORES) {
  const s = perStore[kind.key];
  if (s.serverRssAfterIngestMiB !== undefined) {
    console.log(`server RSS on ${kind.label}: idle ${s.serverRssIdleMiB ?? '-'} MiB, right after ingest ${s.serverRssAfterIngestMiB} MiB, ` +
      `2 s later ${s.serverRssSettledMiB ?? '-'} MiB, peak ${s.serverPeakRssMiB ?? '-'} MiB; the SDK's report loop took ${s.sdkReportSeconds ?? '-'} s`);
  }
}
if (options['pg-statements']) {
  for (const kind of STORES.filter((k) => k.settings)) {
    const run = results[kind.key].http.at(-1);
    if (!run?.statements) continue;
    const calls = run.statements.reduce((n, st) => n + st.calls, 0);
    const execMs = run.statements.reduce((n, st) => n + st.total_ms, 0);
    console.log(`\n${kind.label}, last HTTP run: ${calls} statements for ${run.requests} requests (${round(calls / run.requests, 1)} per request), ` +
      `${round(execMs)} ms executing of ${round(run.seconds * 1000)} ms wall time`);
    printTable([
      ['statement', 'calls', 'total ms', 'mean ms', 'rows'],
      ...run.statements.slice(0, 15).map((st) => [st.statement, st.calls, st.total_ms, st.mean_ms, st.rows]),
    ]);
  }
}
if (sqlite?.httpPointsPerSec) {
  const met = (ok) => (ok ? 'met' : 'NOT met');
  console.log(
    `targets on SQLite (SDK process): ≥ 50% of ceiling ${met(summary.targets.sdkAtLeastHalfOfCeiling)}; > 200,000 points/s ` +
      `${met(summary.targets.sdkOver200kPerSec)}; (raw HTTP: ${met(summary.targets.atLeastHalfOfCeiling)}, ` +
      `${met(summary.targets.over200kPerSec)}); server RSS < 200 MiB ${met(summary.targets.rssUnder200MiB)}`,
  );
}
console.log(JSON.stringify(summary));
