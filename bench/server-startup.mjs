#!/usr/bin/env node
// Server start-up time and idle memory, against a same-run baseline.
//
//   node bench/server-startup.mjs [--runs 5] [--idle-ms 2000] [--cli packages/cli/dist/bin.js]
//
// For each run it spawns `node <cli> server --port 0 --data-dir <new temp dir>`, reads the URL the CLI prints on
// stdout, polls `POST /queues.get_all` with `{}` every few milliseconds until it answers 200 (start-up = spawn to that
// answer), waits idle, then reads VmRSS from /proc/<pid>/status. The baseline is a bare Node process whose
// http.createServer answers 200 JSON to everything, measured the same way in the same run; machines here are shared
// and noisy, so read the figures as ratios Tasklane/baseline. One warm-up run of each is made first and discarded.
// Prints a table, then one JSON line. Linux only (reads /proc).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const URL_PATTERN = /http:\/\/[\d.]+:\d+/;
const POLL_INTERVAL_MS = 5;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

const BASELINE_SOURCE = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"meta":{"result_code":200},"data":{}}');
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log('Baseline listening on http://127.0.0.1:' + server.address().port);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'idle-ms': { type: 'string', default: '2000' },
    cli: { type: 'string', default: 'packages/cli/dist/bin.js' },
  },
});
const runs = Number(options.runs);
const idleMs = Number(options['idle-ms']);
const cliPath = resolve(REPO_ROOT, options.cli);
if (!Number.isInteger(runs) || runs < 1 || !Number.isFinite(idleMs) || idleMs < 0) {
  console.error('Usage: node bench/server-startup.mjs [--runs N ≥ 1] [--idle-ms MS] [--cli path/to/bin.js]');
  process.exit(2);
}
if (!existsSync(cliPath)) {
  console.error(`${cliPath} not found: build first (npm run build, or npx tsc -b at the repo root).`);
  process.exit(1);
}

/** Children and temp dirs still alive, so that an error or Ctrl+C leaves nothing behind. */
const liveChildren = new Set();
const liveDirs = new Set();
function cleanUp() {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const TARGETS = {
  tasklane: () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tasklane-bench-'));
    liveDirs.add(dataDir);
    return {
      args: [cliPath, 'server', '--port', '0', '--data-dir', dataDir],
      dispose: () => {
        rmSync(dataDir, { recursive: true, force: true });
        liveDirs.delete(dataDir);
      },
    };
  },
  baseline: () => ({ args: ['-e', BASELINE_SOURCE], dispose: () => undefined }),
};

/** One start, first answer, idle, RSS, stop. */
async function measure(targetName) {
  const target = TARGETS[targetName]();
  const startedAt = performance.now();
  const child = spawn(process.execPath, target.args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  const exited = new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  try {
    const url = await new Promise((resolveUrl, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no URL on stdout within ${START_TIMEOUT_MS} ms`));
      }, START_TIMEOUT_MS);
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const match = URL_PATTERN.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[0]);
        }
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`exited (code ${code}, signal ${signal}) before printing its URL`));
      });
    });
    const listeningMs = performance.now() - startedAt;
    for (;;) {
      if ((await post(`${url}/queues.get_all`, '{}')) === 200) break;
      if (performance.now() - startedAt > START_TIMEOUT_MS) throw new Error(`no 200 within ${START_TIMEOUT_MS} ms`);
      await sleep(POLL_INTERVAL_MS);
    }
    const startupMs = performance.now() - startedAt;
    await sleep(idleMs);
    const idleRssMiB = readRssKiB(child.pid) / 1024;
    child.kill('SIGTERM');
    const stopTimer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(stopTimer);
    return { listeningMs, startupMs, idleRssMiB };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw new Error(`${targetName}: ${error.message}\nstdout: ${stdout}\nstderr: ${stderr}`, { cause: error });
  } finally {
    liveChildren.delete(child);
    target.dispose();
  }
}

/** Answers the HTTP status, or 0 when the connection failed. */
function post(url, body) {
  return new Promise((resolveStatus) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(res.statusCode ?? 0));
    });
    req.on('error', () => resolveStatus(0));
    req.end(body);
  });
}

function readRssKiB(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median: round(median), min: round(sorted[0]), max: round(sorted.at(-1)) };
}

function round(value) {
  return Math.round(value * 10) / 10;
}

const MEASURES = [
  ['startupMs', 'start-up to first answered request (ms)'],
  ['listeningMs', 'start-up to URL printed (ms)'],
  ['idleRssMiB', `idle RSS after ${idleMs} ms (MiB)`],
];

const samples = { tasklane: [], baseline: [] };
try {
  // Warm-up (discarded): file-system cache, and this process's own HTTP client.
  await measure('baseline');
  await measure('tasklane');
  for (let i = 0; i < runs; i += 1) {
    // Alternate the order so that drift on the machine falls on both alike.
    const order = i % 2 === 0 ? ['baseline', 'tasklane'] : ['tasklane', 'baseline'];
    for (const name of order) samples[name].push(await measure(name));
    process.stderr.write(`run ${i + 1}/${runs} done\n`);
  }
} catch (error) {
  console.error(`server-startup bench failed: ${error.message}`);
  process.exit(1);
}

const result = {};
for (const name of ['tasklane', 'baseline']) {
  result[name] = Object.fromEntries(MEASURES.map(([key]) => [key, summarize(samples[name].map((s) => s[key]))]));
}
const ratio = Object.fromEntries(
  MEASURES.map(([key]) => [key, Math.round((result.tasklane[key].median / result.baseline[key].median) * 100) / 100]),
);

const rows = [['measure', 'Tasklane median (min–max)', 'baseline median (min–max)', 'ratio of medians']];
for (const [key, label] of MEASURES) {
  const cell = ({ median, min, max }) => `${median} (${min}–${max})`;
  rows.push([label, cell(result.tasklane[key]), cell(result.baseline[key]), `${ratio[key]}×`]);
}
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
console.log(`Server start-up and idle memory: ${runs} runs each, node ${process.version}, ${cpus().length} CPUs`);
for (const [index, row] of rows.entries()) {
  console.log(row.map((cell, column) => cell.padEnd(widths[column])).join('  '));
  if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
}
console.log(
  JSON.stringify({
    bench: 'server-startup',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    runs,
    idleMs,
    command: `node ${options.cli} server --port 0 --data-dir <temp dir>`,
    tasklane: result.tasklane,
    baseline: result.baseline,
    ratio,
  }),
);
