#!/usr/bin/env node
// How long a second client waits while the largest event requests the server takes are ingested (issue 13).
//
//   node bench/events-event-loop.mjs [--rounds 3] [--probe-gap-ms 2] [--only <substring of a scenario name>]
//
// Method: a Tasklane server in a child process (a new data dir, as `tasklane server` runs it) and a running task per
// scenario. Each scenario is one large request, its body encoded before the clock starts: the largest batches the caps of
// @tasklane/protocol allow (events.add_batch at MAX_EVENTS_PER_BATCH, as JSON lines in the shape ClearML's SDK writes
// them and as a JSON array; MAX_OTHER_EVENTS_PER_BATCH console lines; MAX_SERIES_PER_BATCH series; plots filling
// the SDK's 8 MB body and one of 15 MiB; events.add_scalars at MAX_SCALAR_POINTS_PER_REQUEST points and
// MAX_SERIES_PER_SCALARS_REQUEST series) and four that go over them (a million empty events, as JSON lines and as an
// array; 100,000 series; three million points). While it runs, two other clients send requests one after the
// other, --probe-gap-ms apart, each on a new connection:
// - loop: `POST /bench.probe`, an unknown endpoint, answered before any storage work: its latency is the delay of the
//   server's event loop (plus a loopback round trip);
// - store: `POST /queues.get_default {}`, a real endpoint: it also waits for the store, which runs one transaction at
//   a time, so it shows what any other client's request waits while a batch is written.
// Only probe requests sent while the large request was in flight count. The script prints, per scenario: the large
// request's time and reply (status, bytes), and the max and p99 latency of each probe over all rounds, next to the
// probes' latency on an idle server; then a final JSON line.
import { cpus } from 'node:os';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  MAX_EVENTS_PER_BATCH,
  MAX_OTHER_EVENTS_PER_BATCH,
  MAX_SCALAR_POINTS_PER_REQUEST,
  MAX_SERIES_PER_BATCH,
  MAX_SERIES_PER_SCALARS_REQUEST,
} from '@tasklane/protocol';
import { loadServerConfig } from '@tasklane/server';
import { createRunningTask, median, printTable, round, startServerProcess } from './events-support.mjs';

const { values: options } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'probe-gap-ms': { type: 'string', default: '2' },
    only: { type: 'string' },
  },
});
const rounds = Number(options.rounds);
const probeGapMs = Number(options['probe-gap-ms']);
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isFinite(probeGapMs) || probeGapMs < 0) {
  console.error('Usage: node bench/events-event-loop.mjs [--rounds N] [--probe-gap-ms MS] [--only TEXT]');
  process.exit(2);
}

/** Sends one request on `agent`; answers its status, reply size and time. */
function send(url, path, body, contentType, agent) {
  return new Promise((resolveReply, reject) => {
    const started = performance.now();
    const req = request(
      `${url}${path}`,
      { method: 'POST', agent, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let bytes = 0;
        const chunks = [];
        res.on('data', (chunk) => {
          bytes += chunk.length;
          if (chunks.length < 4) chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolveReply({ status: res.statusCode, bytes, ms: performance.now() - started, started, head: Buffer.concat(chunks).toString('utf8', 0, 400) }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends probe requests one after the other until `stop()`, each on a new connection (a keep-alive socket could be
 * reset by the server after a long stall, and the sample lost); answers the samples ({started, ms}). A probe that
 * fails still counts, with the time it waited.
 */
function probeLoop(url, path, body) {
  const samples = [];
  let failures = 0;
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const reply = await send(url, path, body, 'application/json', false);
        samples.push({ started: reply.started, ms: reply.ms });
      } catch {
        failures += 1;
        samples.push({ started, ms: performance.now() - started });
      }
      if (probeGapMs > 0) await sleep(probeGapMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return { samples, failures };
    },
  };
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// ---------------------------------------------------------------------------------------------------------------
// The scenarios: each makes the body of one request (called once per round, before the clock starts).

const T0 = 1_700_000_000_000;
const SERIES = 10;
let nextIter = 0;
/** Iterations not used yet by any scalar scenario, so each round appends, as a training loop does. */
function takeIters(count) {
  const first = nextIter;
  nextIter += count;
  return first;
}

/** A scalar event line as ClearML's SDK writes it (json.dumps spacing, its `method` key). */
function clearmlScalarLine(task, iter, k, value) {
  return (
    `{"timestamp": ${T0 + iter}, "type": "training_stats_scalar", "task": "${task}", "iter": ${iter}, ` +
    `"metric": "loss", "variant": "series-${k}", "value": ${value}, "method": "get"}`
  );
}

function scalarEvents(task, count) {
  const first = takeIters(Math.ceil(count / SERIES));
  return Array.from({ length: count }, (_, i) => {
    const iter = first + Math.floor(i / SERIES);
    return { type: 'training_stats_scalar', task, timestamp: T0 + iter, iter, metric: 'loss', variant: `series-${i % SERIES}`, value: Math.sin(i) };
  });
}

const PLOT_BYTES = 1024 * 1024;
/** The server's request size limit (its default maxRequestBytes). */
const MAX_BODY_BYTES = loadServerConfig({}, {}).maxRequestBytes;
/** ClearML's SDK cuts add_batch bodies at this size (its api.http.max_req_size). */
const CLEARML_MAX_BODY_BYTES = 15 * 1024 * 1024;
/** A Plotly figure of about `bytes` characters (a scatter of many points). */
function plotFigure(bytes, seed) {
  const x = [];
  const y = [];
  let length = 40;
  for (let i = 0; length < bytes; i += 1) {
    const xs = String(i);
    const ys = String(Math.round(Math.sin(i + seed) * 1e6) / 1e6);
    x.push(xs);
    y.push(ys);
    length += xs.length + ys.length + 2;
  }
  return `{"data":[{"type":"scatter","x":[${x.join(',')}],"y":[${y.join(',')}]}],"layout":{}}`;
}

/**
 * JSON lines made by `line(i)` for i = 0, 1, ... while there are fewer than `count` and the body stays within
 * `maxBytes`: the largest batch both the event cap and the request size limit let through.
 */
function linesUpTo(count, maxBytes, line) {
  const lines = [];
  let bytes = 0;
  for (let i = 0; i < count; i += 1) {
    const text = line(i);
    if (bytes + text.length + 1 > maxBytes) break;
    lines.push(text);
    bytes += text.length + 1;
  }
  return lines;
}

const SCENARIOS = [
  {
    // ClearML's SDK sends one batch per flush, whatever its length, cut into bodies of at most 15 MiB.
    name: "add_batch: scalar events in a 15 MiB body, JSON lines as ClearML's SDK writes them",
    make: (task) => {
      const first = takeIters(Math.ceil(MAX_EVENTS_PER_BATCH / SERIES));
      const lines = linesUpTo(MAX_EVENTS_PER_BATCH, CLEARML_MAX_BODY_BYTES, (i) =>
        clearmlScalarLine(task, first + Math.floor(i / SERIES), i % SERIES, Math.sin(i)),
      );
      return ['events.add_batch', lines.join('\n'), 'application/json-lines'];
    },
  },
  {
    name: 'add_batch: scalar events up to the cap or the request limit, JSON array',
    make: (task) => {
      const first = takeIters(Math.ceil(MAX_EVENTS_PER_BATCH / SERIES));
      const lines = linesUpTo(MAX_EVENTS_PER_BATCH, MAX_BODY_BYTES - 2, (i) => {
        const iter = first + Math.floor(i / SERIES);
        return JSON.stringify({ type: 'training_stats_scalar', task, timestamp: T0 + iter, iter, metric: 'loss', variant: `series-${i % SERIES}`, value: Math.sin(i) });
      });
      return ['events.add_batch', `[${lines.join(',')}]`, 'application/json'];
    },
  },
  {
    name: `add_batch: ${MAX_OTHER_EVENTS_PER_BATCH.toLocaleString('en')} console lines, JSON lines`,
    make: (task) => {
      const lines = linesUpTo(MAX_OTHER_EVENTS_PER_BATCH, MAX_BODY_BYTES, (i) =>
        JSON.stringify({ type: 'log', task, timestamp: T0 + i, level: 'info', worker: 'bench-host', msg: `epoch 3 step ${i} loss=0.1234 lr=0.0001` }),
      );
      return ['events.add_batch', lines.join('\n'), 'application/json-lines'];
    },
  },
  {
    name: `add_batch: ${MAX_SERIES_PER_BATCH.toLocaleString('en')} scalar series of one point each`,
    make: (task) => {
      const iter = takeIters(1);
      const lines = Array.from({ length: MAX_SERIES_PER_BATCH }, (_, i) =>
        JSON.stringify({ type: 'training_stats_scalar', task, timestamp: T0 + iter, iter, metric: `per-class-${i % 10}`, variant: `class-${i}`, value: i }),
      );
      return ['events.add_batch', lines.join('\n'), 'application/json-lines'];
    },
  },
  {
    name: 'add_batch: 8 plots of 1 MB (the SDK cuts bodies at 8 MB)',
    make: (task) => {
      const iter = takeIters(1);
      const lines = Array.from({ length: 8 }, (_, k) =>
        JSON.stringify({ type: 'plot', task, timestamp: T0 + iter, iter, metric: 'curves', variant: `plot-${k}`, plot_str: plotFigure(PLOT_BYTES, iter + k) }),
      );
      return ['events.add_batch', lines.join('\n'), 'application/json-lines'];
    },
  },
  {
    name: 'add_batch: one plot of 15 MiB',
    make: (task) => {
      const iter = takeIters(1);
      const line = JSON.stringify({ type: 'plot', task, timestamp: T0 + iter, iter, metric: 'curves', variant: 'huge', plot_str: plotFigure(CLEARML_MAX_BODY_BYTES - 300, iter) });
      return ['events.add_batch', line, 'application/json-lines'];
    },
  },
  {
    name: `add_scalars: ${MAX_SCALAR_POINTS_PER_REQUEST.toLocaleString('en')} points in ${SERIES} series`,
    make: (task) => {
      const perSeries = MAX_SCALAR_POINTS_PER_REQUEST / SERIES;
      const first = takeIters(perSeries);
      const series = Array.from({ length: SERIES }, (_, k) => ({
        metric: 'loss',
        variant: `series-${k}`,
        iter: Array.from({ length: perSeries }, (_, i) => first + i),
        value: Array.from({ length: perSeries }, (_, i) => Math.sin(i + k)),
        timestamp: Array.from({ length: perSeries }, (_, i) => T0 + first + i),
      }));
      return ['events.add_scalars', JSON.stringify({ task, series }), 'application/json'];
    },
  },
  {
    name: `add_scalars: ${MAX_SCALAR_POINTS_PER_REQUEST.toLocaleString('en')} points in ${MAX_SERIES_PER_SCALARS_REQUEST.toLocaleString('en')} series`,
    make: (task) => {
      const perSeries = MAX_SCALAR_POINTS_PER_REQUEST / MAX_SERIES_PER_SCALARS_REQUEST;
      const first = takeIters(perSeries);
      const series = Array.from({ length: MAX_SERIES_PER_SCALARS_REQUEST }, (_, k) => ({
        metric: `metric-${k % 10}`,
        variant: `class-${k}`,
        iter: Array.from({ length: perSeries }, (_, i) => first + i),
        value: Array.from({ length: perSeries }, (_, i) => Math.sin(i + k)),
        timestamp: Array.from({ length: perSeries }, (_, i) => T0 + first + i),
      }));
      return ['events.add_scalars', JSON.stringify({ task, series }), 'application/json'];
    },
  },
  {
    name: 'refused: add_batch of 1,000,000 empty events, JSON lines',
    make: () => ['events.add_batch', Array(1_000_000).fill('{}').join('\n'), 'application/json-lines'],
  },
  {
    name: 'refused: add_batch of 1,000,000 empty events, JSON array',
    make: () => ['events.add_batch', `[${Array(1_000_000).fill('{}').join(',')}]`, 'application/json'],
  },
  {
    name: 'refused: add_batch of 100,000 scalar series',
    make: (task) => {
      const lines = linesUpTo(100_000, MAX_BODY_BYTES, (i) => `{"type":"training_stats_scalar","task":"${task}","iter":0,"metric":"m${i % 100}","variant":"v${i}","value":0}`);
      return ['events.add_batch', lines.join('\n'), 'application/json-lines'];
    },
  },
  {
    name: 'refused: add_scalars of 3,000,000 points',
    make: (task) => {
      // Small numbers, so that the body stays under the request size limit and reaches the endpoint.
      const column = `[${Array(1_000_000).fill('0').join(',')}]`;
      const series = [0, 1, 2].map((k) => `{"metric":"big","variant":"s${k}","iter":${column},"value":${column}}`);
      return ['events.add_scalars', `{"task":"${task}","series":[${series.join(',')}]}`, 'application/json'];
    },
  },
].filter((s) => options.only === undefined || s.name.includes(options.only));

// ---------------------------------------------------------------------------------------------------------------

const server = await startServerProcess();
const results = SCENARIOS.map((s) => ({ name: s.name, requests: [], loop: [], store: [], probeFailures: 0 }));
let idle;
try {
  // A task per scenario: what one stores (say, its series in last_metrics) must not slow down the next.
  const tasks = [];
  for (const scenario of SCENARIOS) tasks.push(await createRunningTask(server.url, `event-loop-bench ${tasks.length + 1}`));
  // Idle latency of the probes, after a warm-up.
  for (const pass of ['warm-up', 'idle']) {
    const loop = probeLoop(server.url, '/bench.probe', '{}');
    const store = probeLoop(server.url, '/queues.get_default', '{}');
    await sleep(1000);
    const samples = { loop: (await loop.stop()).samples, store: (await store.stop()).samples };
    if (pass === 'idle') idle = samples;
  }
  for (let r = 0; r < rounds; r += 1) {
    for (const [index, scenario] of SCENARIOS.entries()) {
      const [endpoint, body, contentType] = scenario.make(tasks[index]);
      const agent = new Agent({ keepAlive: false });
      const loop = probeLoop(server.url, '/bench.probe', '{}');
      const store = probeLoop(server.url, '/queues.get_default', '{}');
      await sleep(50);
      const started = performance.now();
      let reply;
      try {
        reply = await send(server.url, `/${endpoint}`, body, contentType, agent);
      } catch (error) {
        // The server may answer and close before the whole body is written (a body over its request limit).
        reply = { status: error.code ?? 'error', bytes: 0, ms: performance.now() - started, started, head: String(error.message) };
      }
      const end = reply.started + reply.ms;
      const during = (samples) => samples.filter((s) => s.started >= reply.started && s.started <= end).map((s) => s.ms);
      const result = results[index];
      const loopProbes = await loop.stop();
      const storeProbes = await store.stop();
      result.loop.push(...during(loopProbes.samples));
      result.store.push(...during(storeProbes.samples));
      result.probeFailures += loopProbes.failures + storeProbes.failures;
      result.requests.push({ ms: reply.ms, status: reply.status, bytes: reply.bytes, bodyBytes: Buffer.byteLength(body), head: reply.head });
      agent.destroy();
      // Let the server settle (garbage, WAL checkpoint) before the next scenario.
      await sleep(300);
    }
    process.stderr.write(`round ${r + 1}/${rounds} done\n`);
  }
} catch (error) {
  console.error(`events-event-loop bench failed: ${error.message}\nserver stderr: ${server.stderr()}`);
  await server.stop();
  process.exit(1);
}
await server.stop();

const ms = (value) => (Number.isFinite(value) ? round(value, 1) : '-');
const idleLoop = idle.loop.map((s) => s.ms);
const idleStore = idle.store.map((s) => s.ms);
const rows = [['scenario', 'body', 'request ms (median)', 'reply', 'loop probe max / p99 ms', 'store probe max / p99 ms', 'probes']];
rows.push(['(idle server)', '', '', '', `${ms(Math.max(...idleLoop))} / ${ms(percentile(idleLoop, 99))}`, `${ms(Math.max(...idleStore))} / ${ms(percentile(idleStore, 99))}`, idleLoop.length + idleStore.length]);
const summary = [];
for (const result of results) {
  const last = result.requests.at(-1);
  const statuses = [...new Set(result.requests.map((q) => q.status))].join(',');
  const entry = {
    scenario: result.name,
    bodyMiB: round(last.bodyBytes / 1024 ** 2, 2),
    requestMs: round(median(result.requests.map((q) => q.ms)), 1),
    requestMsEach: result.requests.map((q) => round(q.ms, 1)),
    status: statuses,
    replyBytes: last.bytes,
    loopMaxMs: round(Math.max(...result.loop), 1),
    loopP99Ms: round(percentile(result.loop, 99), 1),
    storeMaxMs: round(Math.max(...result.store), 1),
    storeP99Ms: round(percentile(result.store, 99), 1),
    probes: result.loop.length + result.store.length,
    probeFailures: result.probeFailures,
  };
  if (last.status !== 200) entry.replyHead = last.head.slice(0, 300);
  summary.push(entry);
  rows.push([
    result.name,
    `${entry.bodyMiB} MiB`,
    entry.requestMs,
    `${statuses}, ${last.bytes} B`,
    `${ms(entry.loopMaxMs)} / ${ms(entry.loopP99Ms)}`,
    `${ms(entry.storeMaxMs)} / ${ms(entry.storeP99Ms)}`,
    entry.probes,
  ]);
}
console.log(`Event-loop delay seen by a second client, ${rounds} rounds, probes every ${probeGapMs} ms:`);
printTable(rows);
console.log(
  JSON.stringify({
    bench: 'events-event-loop',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    rounds,
    probeGapMs,
    caps: { MAX_EVENTS_PER_BATCH, MAX_OTHER_EVENTS_PER_BATCH, MAX_SERIES_PER_BATCH, MAX_SCALAR_POINTS_PER_REQUEST, MAX_SERIES_PER_SCALARS_REQUEST },
    idle: { loopMaxMs: round(Math.max(...idleLoop), 1), loopP99Ms: round(percentile(idleLoop, 99), 1), storeMaxMs: round(Math.max(...idleStore), 1), storeP99Ms: round(percentile(idleStore, 99), 1) },
    scenarios: summary,
  }),
);
