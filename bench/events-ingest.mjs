#!/usr/bin/env node
// Scalar ingest, end to end over HTTP, against the SQLite ceiling measured in the same run.
//
//   node bench/events-ingest.mjs [--series 10] [--iterations 100000] [--batch 5000] [--in-flight 2] [--rounds 2]
//                                [--skip-store] [--skip-http]
//
// Data: 10 series × 100,000 iterations = 1,000,000 scalar points, reported iteration by iteration (all series of an
// iteration, then the next), as a training loop does.
//
// - ceiling: the same rows inserted straight into SQLite with better-sqlite3 — the scalar table of the server's
//   schema (series, iter, value, timestamp; WITHOUT ROWID), WAL, synchronous=NORMAL, one prepared single-row INSERT,
//   one transaction per batch — in this process, rows taken from memory. Measured twice: with SQLite's default WAL
//   checkpoints (every 1,000 pages: the ceiling the targets refer to), and with the server's setting (every 10,000
//   pages), so that what that setting gains is not counted as the server's own.
// - store: the same batches written through the server's own storage layer (openSqliteStore, one transaction per
//   batch, one events.appendScalars call per batch with every series, as the service makes it: points, chart
//   summaries and each series' new stats, the stats known before passed in), to show the store's share without HTTP.
// - http: a Tasklane server in a child process (a new data dir); this process sends the batches as ClearML's SDK
//   does (POST /events.add_batch, Content-Type application/json-lines, one event per line), --in-flight requests at
//   a time. The bodies are encoded before the clock starts (as the ceiling takes its rows from memory: both measure
//   the storing side); the clock stops when the last batch is acknowledged. Then every point is checked stored
//   (last_metrics counts), and the server's VmRSS/VmHWM and CPU time (utime + stime) are read from /proc: CPU time
//   per point is the figure least disturbed by other work on a shared machine.
// - sdk: issue 4's benchmark 1 — one SDK process (a child running `tasklane`: Task.init, then reportScalar for every
//   point in loop order, then task.flush()) against a new server; the clock runs from the first report to the end
//   of flush(), when the server has acknowledged everything. Every point is then checked stored, as for http.
//
// Rounds alternate the order of ceiling and http. Prints a table and a final JSON line.
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import Database from 'better-sqlite3';
import { openSqliteStore } from '@tasklane/server';
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
    'skip-store': { type: 'boolean', default: false },
    'skip-http': { type: 'boolean', default: false },
  },
});
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

/** The server's storage layer, without HTTP: one transaction and one appendScalars per batch. */
async function runStore() {
  const temp = tempDir('tasklane-store-');
  const store = openSqliteStore(join(temp.dir, 'store.sqlite'));
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
  await store.close();
  temp.remove();
  return { seconds, pointsPerSec: points / seconds };
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
async function runHttp() {
  const server = await startServerProcess();
  try {
    const task = await createRunningTask(server.url, 'ingest-bench');
    const idle = readMemoryMiB(server.pid);
    const bodies = [];
    for (let from = 0; from < points; from += batchSize) bodies.push({ from, to: Math.min(points, from + batchSize) });
    for (const body of bodies) body.text = encodeBatch(task, body.from, body.to);
    let next = 0;
    const cpuBefore = readCpuMs(server.pid);
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
      rssIdleMiB: idle.rss,
      rssAfterMiB: afterIngest.rss,
      rssSettledMiB: settled.rss,
      peakMiB: settled.peak,
    };
  } catch (error) {
    throw new Error(`${error.message}\nserver stderr: ${server.stderr()}`, { cause: error });
  } finally {
    await server.stop();
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
async function runSdk() {
  const server = await startServerProcess();
  const state = tempDir('tasklane-sdk-state-');
  try {
    const idle = readMemoryMiB(server.pid);
    const cpuBefore = readCpuMs(server.pid);
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
    const afterIngest = readMemoryMiB(server.pid);
    const { task: saved } = await call(server.url, 'tasks.get_by_id', { task });
    const entries = Object.values(saved.last_metrics).flatMap((variants) => Object.values(variants));
    const stored = entries.reduce((n, e) => n + e.count, 0);
    if (entries.length !== seriesCount || stored !== points || saved.last_iteration !== iterations - 1) {
      throw new Error(`SDK run stored ${stored} points in ${entries.length} series (last_iteration ${saved.last_iteration}), expected ${points}`);
    }
    return { seconds, reportSeconds, pointsPerSec: points / seconds, cpuMicrosPerPoint, rssIdleMiB: idle.rss, rssAfterMiB: afterIngest.rss };
  } catch (error) {
    throw new Error(`${error.message}\nserver stderr: ${server.stderr()}`, { cause: error });
  } finally {
    state.remove();
    await server.stop();
  }
}

const results = { ceiling: [], ceilingServerWal: [], http: [], sdk: [], storeSummaries: [] };
try {
  for (let round_ = 0; round_ < rounds; round_ += 1) {
    const order = round_ % 2 === 0 ? ['ceiling', 'http', 'sdk', 'ceilingServerWal'] : ['ceilingServerWal', 'sdk', 'http', 'ceiling'];
    for (const name of order) {
      if (name === 'http') {
        if (!options['skip-http']) results.http.push(await runHttp());
      } else if (name === 'sdk') results.sdk.push(await runSdk());
      else results[name].push(runCeiling(name === 'ceilingServerWal'));
    }
    if (!options['skip-store']) results.storeSummaries.push(await runStore());
    process.stderr.write(`round ${round_ + 1}/${rounds} done\n`);
  }
} catch (error) {
  console.error(`events-ingest bench failed: ${error.message}`);
  process.exit(1);
}

const med = (list, key) => median(list.map((r) => r[key]));
const ceiling = med(results.ceiling, 'pointsPerSec');
const http = results.http.length ? med(results.http, 'pointsPerSec') : NaN;
const ratio = http / ceiling;
const sdk = med(results.sdk, 'pointsPerSec');
const sdkRatio = sdk / ceiling;
const rss = results.http.length ? med(results.http, 'rssAfterMiB') : med(results.sdk, 'rssAfterMiB');
const summary = {
  bench: 'events-ingest',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  points,
  series: seriesCount,
  batch: batchSize,
  inFlight,
  rounds,
  ceilingPointsPerSec: Math.round(ceiling),
  ceilingServerWalPointsPerSec: Math.round(med(results.ceilingServerWal, 'pointsPerSec')),
  ratioToCeilingServerWal: round(http / med(results.ceilingServerWal, 'pointsPerSec'), 3),
  httpPointsPerSec: Math.round(http),
  ratio: round(ratio, 3),
  storeSummariesPointsPerSec: results.storeSummaries.length ? Math.round(med(results.storeSummaries, 'pointsPerSec')) : undefined,
  serverCpuMicrosPerPoint: results.http.length ? round(med(results.http, 'cpuMicrosPerPoint'), 2) : undefined,
  sdkPointsPerSec: Math.round(sdk),
  sdkRatio: round(sdkRatio, 3),
  sdkServerCpuMicrosPerPoint: round(med(results.sdk, 'cpuMicrosPerPoint'), 2),
  sdkReportSeconds: round(med(results.sdk, 'reportSeconds'), 2),
  ceilingMicrosPerPoint: round(1e6 / ceiling, 2),
  serverRssIdleMiB: results.http.length ? round(med(results.http, 'rssIdleMiB')) : undefined,
  serverRssAfterIngestMiB: round(rss),
  serverRssSettledMiB: results.http.length ? round(med(results.http, 'rssSettledMiB')) : undefined,
  serverPeakRssMiB: results.http.length ? round(med(results.http, 'peakMiB')) : undefined,
  runs: results,
  targets: {
    atLeastHalfOfCeiling: ratio >= 0.5,
    over200kPerSec: http > 200_000,
    sdkAtLeastHalfOfCeiling: sdkRatio >= 0.5,
    sdkOver200kPerSec: sdk > 200_000,
    rssUnder200MiB: rss < 200,
  },
};
console.log(`Scalar ingest: ${points.toLocaleString('en')} points (${seriesCount} series), batches of ${batchSize}, ` +
  `${rounds} round(s), node ${process.version}, ${cpus().length} CPUs`);
const fmt = (list) => list.map((r) => Math.round(r.pointsPerSec).toLocaleString('en')).join(', ');
printTable([
  ['path', 'points/s (median)', 'each round', 'vs ceiling'],
  ['ceiling: better-sqlite3 straight', Math.round(ceiling).toLocaleString('en'), fmt(results.ceiling), '1.00'],
  [
    "ceiling, the server's WAL setting",
    summary.ceilingServerWalPointsPerSec.toLocaleString('en'),
    fmt(results.ceilingServerWal),
    round(summary.ceilingServerWalPointsPerSec / ceiling, 2),
  ],
  ...(results.storeSummaries.length
    ? [['store layer (appendScalars, with summaries)', summary.storeSummariesPointsPerSec.toLocaleString('en'), fmt(results.storeSummaries), round(summary.storeSummariesPointsPerSec / ceiling, 2)]]
    : []),
  ...(results.http.length ? [['HTTP end to end (server process)', Math.round(http).toLocaleString('en'), fmt(results.http), round(ratio, 2)]] : []),
  ['SDK process end to end (Task.init, reportScalar, flush)', Math.round(sdk).toLocaleString('en'), fmt(results.sdk), round(sdkRatio, 2)],
]);
console.log(
  `server CPU time per point: ${summary.serverCpuMicrosPerPoint ?? '-'} µs over HTTP, ${summary.sdkServerCpuMicrosPerPoint} µs from the SDK ` +
    `(the ceiling spends ${summary.ceilingMicrosPerPoint} µs of wall time per row); the SDK's report loop took ${summary.sdkReportSeconds} s`,
);
if (results.http.length) console.log(
  `server RSS: idle ${summary.serverRssIdleMiB} MiB, right after ingest ${summary.serverRssAfterIngestMiB} MiB, ` +
    `2 s later ${summary.serverRssSettledMiB} MiB, peak ${summary.serverPeakRssMiB} MiB`,
);
console.log(`HTTP end to end / ceiling with the server's WAL setting: ${round(summary.ratioToCeilingServerWal, 2)}`);
const met = (ok) => (ok ? 'met' : 'NOT met');
console.log(
  `targets (SDK process): ≥ 50% of ceiling ${met(summary.targets.sdkAtLeastHalfOfCeiling)}; > 200,000 points/s ` +
    `${met(summary.targets.sdkOver200kPerSec)}; (raw HTTP: ${met(summary.targets.atLeastHalfOfCeiling)}, ` +
    `${met(summary.targets.over200kPerSec)}); server RSS < 200 MiB ${met(summary.targets.rssUnder200MiB)}`,
);
console.log(JSON.stringify({ ...summary, runs: undefined }));
