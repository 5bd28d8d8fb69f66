#!/usr/bin/env node
// Task.init wall time to ready, against a same-run baseline of plain fetch round trips.
//
//   node bench/task-init.mjs [--runs 10] [--cli packages/cli/dist/bin.js]
//
// Starts one server with the real CLI (`node <cli> server --port 0 --data-dir <temp dir>`) and makes a small
// project in a temp dir, as a user's would be: a git repository with one commit and an uncommitted change,
// package.json + package-lock.json, node_modules/ links to the built SDK and the workspace's commander and yargs.
// Each run spawns a script there that times `await Task.init(...)` with performance.now() (so Node's start-up and the
// import of the SDK are not in the figure; the import is reported apart), counts the HTTP requests the SDK sent
// before Task.init returned, then closes the task. Two cases:
//   new    reuseLastTaskId: false: always a new task;
//   reuse  the default: every run reuses (resets) the task of the run before.
// The baseline of each case is a script that only makes, with plain fetch, as many sequential round trips to the same
// server as Task.init made in that case (POST /queues.get_all {}), timed the same way. One warm-up run of each is
// discarded (two for Task.init); then `--runs` of each, alternating the order. Prints median/min/max, the ratio of the medians, then one
// JSON line. Machines here are shared and noisy: read the ratio, not the absolute figures.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const URL_PATTERN = /http:\/\/[\d.]+:\d+/;
const START_TIMEOUT_MS = 30_000;
const RUN_TIMEOUT_MS = 30_000;

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    cli: { type: 'string', default: 'packages/cli/dist/bin.js' },
  },
});
const runs = Number(options.runs);
const cliPath = resolve(REPO_ROOT, options.cli);
if (!Number.isInteger(runs) || runs < 1) {
  console.error('Usage: node bench/task-init.mjs [--runs N ≥ 1] [--cli path/to/bin.js]');
  process.exit(2);
}
for (const built of [cliPath, join(REPO_ROOT, 'packages/sdk/dist/index.js')]) {
  if (!existsSync(built)) {
    console.error(`${built} not found: build first (npm run build, or npx tsc -b at the repo root).`);
    process.exit(1);
  }
}

// The timed script. It wraps fetch before Task.init builds its API client, so it sees every request the SDK sends.
const INIT_SCRIPT = `
import { performance } from 'node:perf_hooks';
const mode = process.argv[2];
const realFetch = globalThis.fetch;
const requests = [];
globalThis.fetch = (input, init) => {
  const request = { endpoint: String(input).replace(/^https?:\\/\\/[^/]+\\//, ''), ms: 0 };
  requests.push(request);
  const start = performance.now();
  return realFetch(input, init).then(async (response) => {
    // Read the body here, as the SDK will: the round trip ends when the reply is in.
    const body = await response.arrayBuffer();
    request.ms = performance.now() - start;
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  });
};
const importStart = performance.now();
const { Task } = await import('tasklane');
const initStart = performance.now();
const task = await Task.init({ projectName: 'bench/task-init', taskName: 'init timing ' + mode, reuseLastTaskId: mode === 'reuse' });
const initMs = performance.now() - initStart;
const started = requests.map((r) => r.endpoint);
// Task.init's last awaited request reads the task back (tasks.get_by_id); what starts after it (the save of the code
// and environment, tasks.edit) runs in the background and is not part of the time to ready.
const awaited = requests.slice(0, started.lastIndexOf('tasks.get_by_id') + 1);
const beforeReady = awaited.map((r) => r.endpoint);
const roundTripsMs = awaited.reduce((sum, r) => sum + r.ms, 0);
await task.close();
process.stdout.write('@@timing ' + JSON.stringify({ ms: initMs, importMs: initStart - importStart, roundTripsMs, taskId: task.id, beforeReady, started }) + '\\n');
`;

// The baseline: the same number of sequential round trips, with nothing else.
const BASELINE_SCRIPT = `
import { performance } from 'node:perf_hooks';
const [url, count] = [process.argv[2], Number(process.argv[3])];
const start = performance.now();
for (let i = 0; i < count; i += 1) {
  const response = await fetch(url + '/queues.get_all', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  if (!response.ok) throw new Error('HTTP ' + response.status);
  await response.text();
}
process.stdout.write('@@timing ' + JSON.stringify({ ms: performance.now() - start }) + '\\n');
`;

const workDir = mkdtempSync(join(tmpdir(), 'tasklane-bench-init-'));
let server;
function cleanUp() {
  server?.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_DIR: undefined, GIT_WORK_TREE: undefined } }).trim();
}

/** The user's project: what Task.init looks at (git, package.json, lock file, installed packages). */
function makeProject() {
  const root = join(workDir, 'project');
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'packages/sdk'), join(root, 'node_modules/tasklane'), 'dir');
  for (const name of ['commander', 'yargs']) symlinkSync(join(REPO_ROOT, 'node_modules', name), join(root, 'node_modules', name), 'dir');
  const dependencies = { commander: '^14.0.0', yargs: '^18.0.0' };
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'bench-project', private: true, type: 'module', dependencies }, null, 2));
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify({ name: 'bench-project', lockfileVersion: 3, packages: {} }, null, 2));
  writeFileSync(join(root, '.gitignore'), 'node_modules/\n');
  writeFileSync(join(root, 'init-timer.mjs'), INIT_SCRIPT);
  writeFileSync(join(root, 'fetch-baseline.mjs'), BASELINE_SCRIPT);
  writeFileSync(join(root, 'train.mjs'), '// the training code\nexport const lr = 0.01;\n');
  git(root, 'init', '--quiet', '--initial-branch', 'main');
  git(root, 'config', 'user.name', 'Bench');
  git(root, 'config', 'user.email', 'bench@example.com');
  git(root, 'config', 'commit.gpgsign', 'false');
  git(root, 'remote', 'add', 'origin', 'https://example.com/team/bench-project.git');
  git(root, 'add', '--all');
  git(root, 'commit', '--quiet', '--message', 'initial');
  writeFileSync(join(root, 'train.mjs'), '// the training code\nexport const lr = 0.02; // uncommitted\n');
  return root;
}

function startServer() {
  const dataDir = join(workDir, 'server-data');
  server = spawn(process.execPath, [cliPath, 'server', '--port', '0', '--data-dir', dataDir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server printed no URL within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      const match = URL_PATTERN.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[0]);
      }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (code ${code}, signal ${signal}):\n${output}`));
    });
  });
}

/** Runs one script to its end; answers its @@timing object. */
function runTimed(cwd, args, env) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('@@timing '));
      if (code !== 0 || !line) return reject(new Error(`${args.join(' ')} failed (code ${code}, signal ${signal}):\n${stdout}\n${stderr}`));
      resolveRun(JSON.parse(line.slice('@@timing '.length)));
    });
  });
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

function loadAverage() {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

const CASES = ['new', 'reuse'];
const samples = Object.fromEntries(
  CASES.map((name) => [name, { init: [], importMs: [], roundTripsMs: [], baseline: [], requests: undefined, taskIds: [] }]),
);
const loadBefore = loadAverage();
let url;
try {
  const [projectRoot, serverUrl] = await Promise.all([makeProject(), startServer()]);
  url = serverUrl;
  const env = {
    TASKLANE_API_HOST: url,
    TASKLANE_STATE_DIR: join(workDir, 'state'),
    XDG_CONFIG_HOME: join(workDir, 'config-home'),
    TASKLANE_TASK_NO_REUSE: '',
  };
  const init = (name) => runTimed(projectRoot, ['init-timer.mjs', name], env);
  const baseline = (count) => runTimed(projectRoot, ['fetch-baseline.mjs', url, String(count)], env);

  for (const name of CASES) {
    // Warm-up (discarded): the file-system cache; for "reuse", the first run creates the task the others reuse.
    await init(name);
    const warm = await init(name);
    samples[name].requests = warm.beforeReady;
    await baseline(warm.beforeReady.length);
  }
  for (let i = 0; i < runs; i += 1) {
    for (const name of CASES) {
      const { requests } = samples[name];
      const steps = i % 2 === 0 ? ['init', 'baseline'] : ['baseline', 'init'];
      for (const step of steps) {
        if (step === 'baseline') {
          samples[name].baseline.push((await baseline(requests.length)).ms);
          continue;
        }
        const run = await init(name);
        if (run.beforeReady.join(',') !== requests.join(',')) {
          throw new Error(`case ${name}: Task.init sent ${run.beforeReady.join(', ')}, the warm-up sent ${requests.join(', ')}`);
        }
        samples[name].init.push(run.ms);
        samples[name].importMs.push(run.importMs);
        samples[name].roundTripsMs.push(run.roundTripsMs);
        samples[name].taskIds.push(run.taskId);
      }
    }
    process.stderr.write(`run ${i + 1}/${runs} done\n`);
  }
} catch (error) {
  console.error(`task-init bench failed: ${error.message}`);
  process.exit(1);
}
if (new Set(samples.new.taskIds).size !== runs || new Set(samples.reuse.taskIds).size !== 1) {
  console.error('task-init bench failed: "new" must make a new task in every run, and "reuse" reuse one task in all');
  process.exit(1);
}

const result = {};
for (const name of CASES) {
  const init = summarize(samples[name].init);
  const baseline = summarize(samples[name].baseline);
  result[name] = {
    requests: samples[name].requests,
    init,
    baseline,
    ratio: Math.round((init.median / baseline.median) * 100) / 100,
    importMs: summarize(samples[name].importMs),
    roundTripsMs: summarize(samples[name].roundTripsMs),
  };
}

const rows = [
  ['case', 'round trips before ready', 'Task.init median (min–max) ms', 'of which in its round trips', 'baseline median (min–max) ms', 'ratio of medians'],
];
const cell = ({ median, min, max }) => `${median} (${min}–${max})`;
for (const name of CASES) {
  const r = result[name];
  rows.push([name, `${r.requests.length}: ${r.requests.join(', ')}`, cell(r.init), cell(r.roundTripsMs), cell(r.baseline), `${r.ratio}×`]);
}
const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
console.log(`Task.init time to ready: ${runs} runs each, node ${process.version}, ${cpus().length} CPUs, load ${loadBefore} → ${loadAverage()}`);
for (const [index, row] of rows.entries()) {
  console.log(row.map((c, column) => c.padEnd(widths[column])).join('  '));
  if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
}
const importMs = summarize([...samples.new.importMs, ...samples.reuse.importMs]);
console.log(`import of 'tasklane' (not in the figures above): median ${importMs.median} ms (${importMs.min}–${importMs.max})`);
console.log(
  JSON.stringify({
    bench: 'task-init',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    runs,
    command: `node ${options.cli} server --port 0 --data-dir <temp dir>; node init-timer.mjs <new|reuse>`,
    result,
  }),
);
// The server child keeps the event loop alive: stop it, then leave (the 'exit' hook removes the temp dir).
const stopped = new Promise((resolveStop) => server.once('exit', resolveStop));
server.kill('SIGTERM');
await Promise.race([stopped, new Promise((resolveWait) => setTimeout(resolveWait, 5000))]);
process.exit(0);
