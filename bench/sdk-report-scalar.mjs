// The SDK's hot path: the cost of one logger.reportScalar call, against a real server and Task.init, compared with
// a bare array append of the same event object in the same run (the floor any in-memory queue pays).
// Run: node bench/sdk-report-scalar.mjs [--calls 1000000] [--batch 10000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, startServerProcess } from './events-support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const CALLS = option('calls', 1_000_000);
const BATCH = option('batch', 10_000);



/** Nanoseconds per call of `fn(i)`, per batch of BATCH calls. */
function timeBatches(fn) {
  const perCall = [];
  for (let start = 0; start < CALLS; start += BATCH) {
    const t0 = performance.now();
    for (let i = start; i < start + BATCH; i++) fn(i);
    perCall.push(((performance.now() - t0) * 1e6) / BATCH);
  }
  return perCall;
}

const dir = await mkdtemp(join(tmpdir(), 'tasklane-bench-'));
const server = await startServerProcess(join(dir, 'data'));
try {
  process.env.TASKLANE_API_HOST = server.url;
  process.env.TASKLANE_STATE_DIR = join(dir, 'state');
  const { Task } = await import('tasklane');
  const task = await Task.init({ projectName: 'bench/sdk', taskName: 'report scalar', reuseLastTaskId: false, autoConnectStreams: false, autoResourceMonitoring: false });
  const logger = task.getLogger();

  // Warm up both paths so the JIT has compiled them.
  const sink = [];
  for (let i = 0; i < 50_000; i++) sink.push({ type: 'training_stats_scalar', task: task.id, timestamp: Date.now(), iter: i, metric: 'warm', variant: 'up', value: i });
  sink.length = 0;
  for (let i = 0; i < 50_000; i++) logger.reportScalar('warm', 'up', i, i);

  const baseline = timeBatches((i) => {
    sink.push({ type: 'training_stats_scalar', task: task.id, timestamp: Date.now(), iter: i, metric: 'loss', variant: 'train', value: i * 0.5 });
    if (sink.length >= BATCH) sink.length = 0;
  });
  const report = timeBatches((i) => logger.reportScalar('loss', 'train', i * 0.5, i));

  const t0 = performance.now();
  await task.flush();
  const deliverSec = (performance.now() - t0) / 1000;
  await task.close();

  const b = median(baseline);
  const r = median(report);
  console.log(`reportScalar, ${CALLS.toLocaleString()} calls in batches of ${BATCH.toLocaleString()} (ns per call, median of batches):`);
  console.log(`  logger.reportScalar   ${r.toFixed(0).padStart(6)} ns   (min ${Math.min(...report).toFixed(0)}, max ${Math.max(...report).toFixed(0)})`);
  console.log(`  bare array push       ${b.toFixed(0).padStart(6)} ns   (min ${Math.min(...baseline).toFixed(0)}, max ${Math.max(...baseline).toFixed(0)})`);
  console.log(`  ratio                 ${(r / b).toFixed(2)}x;  target < 1000 ns: ${r < 1000 ? 'met' : 'NOT met'}`);
  console.log(`  delivering the remaining queue after the loop took ${deliverSec.toFixed(2)} s`);
  console.log(JSON.stringify({ calls: CALLS, reportScalarNs: r, baselineNs: b, ratio: r / b, deliverSec }));
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
