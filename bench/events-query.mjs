#!/usr/bin/env node
// Chart query speed: one scalar series of 1,000,000 points downsampled to 2,000 points, against a plain SQL scan of the
// same rows into JS arrays, measured in the same run.
//
//   node bench/events-query.mjs [--points 1000000] [--samples 2000] [--repeat 20]
//
// Method: a Tasklane server runs in a child process (a new data dir); this process reports one series of --points
// points to it over HTTP (events.add_batch, batches of 5,000), plus a 100,000-point series for context. Then, --repeat
// times each, interleaved:
// - tasklane: POST /events.scalar_metrics_iter_histogram {task, samples, metrics: [the series]}, timed from send to
//   parsed reply (HTTP and JSON included); the reply is checked (at most --samples points, all stored ones, the spikes
//   present);
// - scan: the same rows read by this process straight from the server's SQLite file with better-sqlite3
//   (`SELECT iter, value FROM scalar_events WHERE series = ? ORDER BY iter`, into two JS arrays) — what any
//   server-side downsampling that reads the points would pay before doing anything else.
// Also timed, for context: key=timestamp (x as epoch ms), and the 100,000-point series. Prints medians, the ratio
// scan/tasklane, and a final JSON line.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import {
  call,
  createRunningTask,
  median,
  printTable,
  round,
  startServerProcess,
  timestampAt,
  valueAt,
} from './events-support.mjs';

const { values: options } = parseArgs({
  options: {
    points: { type: 'string', default: '1000000' },
    samples: { type: 'string', default: '2000' },
    repeat: { type: 'string', default: '20' },
  },
});
const points = Number(options.points);
const samples = Number(options.samples);
const repeat = Number(options.repeat);
for (const [name, value] of Object.entries({ points, samples, repeat })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Bad option ${name}: ${value}. Usage: node bench/events-query.mjs [--points N] [--samples N] [--repeat N]`);
    process.exit(2);
  }
}
const BATCH = 5000;
const SMALL_POINTS = 100_000;

/** Reports one series (metric "loss", the given variant) of n points, with spikes (see valueAt). */
async function report(url, task, variant, n) {
  for (let from = 0; from < n; from += BATCH) {
    const lines = [];
    for (let i = from; i < Math.min(n, from + BATCH); i += 1) {
      lines.push(
        `{"type":"training_stats_scalar","task":"${task}","timestamp":${timestampAt(i)},"iter":${i},"metric":"loss","variant":"${variant}","value":${valueAt(0, i)}}`,
      );
    }
    await call(url, 'events.add_batch', lines.join('\n'), 'application/json-lines');
  }
}

async function timeQuery(url, task, variant, key) {
  const started = performance.now();
  const data = await call(url, 'events.scalar_metrics_iter_histogram', {
    task,
    samples,
    key,
    metrics: [{ metric: 'loss', variants: [variant] }],
  });
  return { ms: performance.now() - started, series: data.loss?.[variant] };
}

function check(series, n) {
  if (!series || series.x.length !== series.y.length) throw new Error('no series in the reply');
  if (series.x.length > samples) throw new Error(`${series.x.length} points, more than samples=${samples}`);
  if (n > 77_777 && !series.x.includes(77_777)) throw new Error('the spike at iteration 77,777 is missing');
  for (let j = 0; j < series.x.length; j += 25) {
    if (series.y[j] !== valueAt(0, series.x[j])) throw new Error(`point ${j} (iteration ${series.x[j]}) is not a stored one`);
  }
}

const server = await startServerProcess();
let result;
try {
  const task = await createRunningTask(server.url, 'query-bench');
  process.stderr.write(`reporting ${points.toLocaleString('en')} points...\n`);
  await report(server.url, task, 'big', points);
  await report(server.url, task, 'small', SMALL_POINTS);

  // This process reads the server's file (WAL: a consistent snapshot, no lock on the server).
  const reader = new Database(join(server.dataDir, 'tasklane.sqlite'), { readonly: true });
  const seriesId = reader.prepare("SELECT id FROM event_series WHERE task = ? AND metric = 'loss' AND variant = 'big'").pluck().get(task);
  const scanStmt = reader.prepare('SELECT iter, value FROM scalar_events WHERE series = ? ORDER BY iter').raw();
  const scan = () => {
    const started = performance.now();
    const xs = [];
    const ys = [];
    for (const [iter, value] of scanStmt.iterate(seriesId)) {
      xs.push(iter);
      ys.push(value);
    }
    const ms = performance.now() - started;
    if (xs.length !== points) throw new Error(`scan read ${xs.length} rows, expected ${points}`);
    return ms;
  };

  // Warm-up (discarded): page cache, JIT on both sides.
  check((await timeQuery(server.url, task, 'big', 'iter')).series, points);
  scan();
  const runs = { tasklane: [], scan: [], timestampKey: [], small: [] };
  for (let i = 0; i < repeat; i += 1) {
    const order = i % 2 === 0 ? ['tasklane', 'scan'] : ['scan', 'tasklane'];
    for (const name of order) {
      if (name === 'scan') {
        runs.scan.push(scan());
      } else {
        const { ms, series } = await timeQuery(server.url, task, 'big', 'iter');
        check(series, points);
        runs.tasklane.push(ms);
      }
    }
    const byTime = await timeQuery(server.url, task, 'big', 'timestamp');
    if (byTime.series.x.some((x, j) => j > 0 && x < byTime.series.x[j - 1])) throw new Error('timestamps out of order');
    runs.timestampKey.push(byTime.ms);
    const small = await timeQuery(server.url, task, 'small', 'iter');
    check(small.series, SMALL_POINTS);
    runs.small.push(small.ms);
  }
  const last = await timeQuery(server.url, task, 'big', 'iter');
  reader.close();

  const tasklane = median(runs.tasklane);
  const scanMs = median(runs.scan);
  result = {
    bench: 'events-query',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    points,
    samples,
    repeat,
    answeredPoints: last.series.x.length,
    tasklaneMedianMs: round(tasklane, 2),
    tasklaneMinMs: round(Math.min(...runs.tasklane), 2),
    tasklaneMaxMs: round(Math.max(...runs.tasklane), 2),
    scanMedianMs: round(scanMs, 1),
    scanMinMs: round(Math.min(...runs.scan), 1),
    scanMaxMs: round(Math.max(...runs.scan), 1),
    ratioScanOverTasklane: round(scanMs / tasklane, 1),
    timestampKeyMedianMs: round(median(runs.timestampKey), 2),
    smallSeriesMedianMs: round(median(runs.small), 2),
    targets: { under50ms: tasklane < 50 },
  };
} catch (error) {
  console.error(`events-query bench failed: ${error.message}\nserver stderr: ${server.stderr()}`);
  await server.stop();
  process.exit(1);
}
await server.stop();

console.log(
  `Chart query: one series of ${points.toLocaleString('en')} points → ${samples} samples (${result.answeredPoints} answered), ` +
    `median of ${repeat}, node ${process.version}, ${cpus().length} CPUs`,
);
printTable([
  ['path', 'median ms', 'min–max ms'],
  ['tasklane: scalar_metrics_iter_histogram over HTTP', result.tasklaneMedianMs, `${result.tasklaneMinMs}–${result.tasklaneMaxMs}`],
  ['baseline: plain SQL scan of the rows into JS arrays', result.scanMedianMs, `${result.scanMinMs}–${result.scanMaxMs}`],
  ['tasklane, key=timestamp (x as epoch ms)', result.timestampKeyMedianMs, ''],
  [`tasklane, a ${SMALL_POINTS.toLocaleString('en')}-point series`, result.smallSeriesMedianMs, ''],
]);
console.log(`scan / tasklane: ${result.ratioScanOverTasklane}×; target < 50 ms: ${result.targets.under50ms ? 'met' : 'NOT met'}`);
console.log(JSON.stringify(result));
