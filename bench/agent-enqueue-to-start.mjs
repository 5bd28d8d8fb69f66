#!/usr/bin/env node
// Time from tasks.enqueue to the task's process starting under an agent, against a same-run baseline of starting
// the same script directly.
//
//   node bench/agent-enqueue-to-start.mjs [--runs 10] [--poll-interval 2] [--cli packages/cli/dist/bin.js]
//
// Starts a server and one agent daemon with the real CLI (`tasklane agent daemon --poll-interval <s>`), and makes a
// small project in a temp dir as a user's would be: a git repository with a package.json and package-lock.json
// (commander) and a script whose first line prints `START <Date.now()>` before it imports anything. A draft of that
// script (repository, commit, entry point) is made once; each run clones it, takes Date.now() right before
// tasks.enqueue, waits until the task is completed and reads the START line from its console: enqueue → start. The
// agent's own console lines split it into waiting in the queue (until the agent's first line), setup (clone,
// checkout, npm ci from the warm cache, SDK link: until the "running:" line) and process start (until START).
// The baseline is the same script started directly (`node bench.mjs` in a prepared copy with node_modules), from
// spawn to its START line. One warm-up run of each is discarded (it also fills the agent's npm cache); then --runs of
// each, alternating which goes first. Prints median/min/max, the ratio of the medians, then one JSON line.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIMEOUT_MS = 60_000;

const { values: options } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    'poll-interval': { type: 'string', default: '2' },
    cli: { type: 'string', default: 'packages/cli/dist/bin.js' },
  },
});
const runs = Number(options.runs);
const pollSec = Number(options['poll-interval']);
const cliPath = resolve(REPO_ROOT, options.cli);
if (!Number.isInteger(runs) || runs < 1 || !(pollSec > 0)) {
  console.error('Usage: node bench/agent-enqueue-to-start.mjs [--runs N ≥ 1] [--poll-interval SEC > 0] [--cli path/to/bin.js]');
  process.exit(2);
}
for (const built of [cliPath, join(REPO_ROOT, 'packages/sdk/dist/index.js'), join(REPO_ROOT, 'packages/agent/dist/index.js')]) {
  if (!existsSync(built)) {
    console.error(`${built} not found: build first (npm run build, or npx tsc -b at the repo root).`);
    process.exit(1);
  }
}

const SCRIPT = `console.log('START ' + Date.now());
const { Command } = await import('commander');
const { Task } = await import('tasklane');
const task = await Task.init({ projectName: 'bench/agent', taskName: 'enqueue to start' });
const options = new Command().option('--lr <n>', 'learning rate', parseFloat, 0.1).parse().opts();
task.getLogger().reportScalar('used', 'lr', options.lr, 0);
`;

const dir = mkdtempSync(join(tmpdir(), 'tasklane-bench-agent-'));
const children = [];
function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', cleanup);

function startProcess(args, readyPattern, env = {}) {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let out = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} did not start:\n${out}`)), 30_000);
    const onData = (data) => {
      out += data;
      const match = readyPattern.exec(out);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, match });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}:\n${out}`)));
  });
}

async function call(url, endpoint, body) {
  const response = await fetch(`${url}/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const envelope = await response.json();
  if (envelope.meta.result_code !== 200) throw new Error(`${endpoint}: ${envelope.meta.result_msg}`);
  return envelope.data;
}

function git(cwd, ...args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

// The project: a git repository with a lock file (so the agent runs npm ci) and the timed script.
const repo = join(dir, 'repo');
mkdirSync(repo);
const rootLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8'));
const commander = rootLock.packages['node_modules/commander'];
const dependencies = { commander: `^${commander.version}` };
writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'bench-project', version: '1.0.0', private: true, type: 'module', dependencies }, null, 2));
writeFileSync(
  join(repo, 'package-lock.json'),
  JSON.stringify({ name: 'bench-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'bench-project', version: '1.0.0', dependencies }, 'node_modules/commander': commander } }, null, 2),
);
writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
writeFileSync(join(repo, 'bench.mjs'), SCRIPT);
git(repo, 'init', '--quiet', '--initial-branch', 'main');
git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'add', '--all');
git(repo, '-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-c', 'commit.gpgsign=false', 'commit', '--quiet', '-m', 'bench');
const head = git(repo, 'rev-parse', 'HEAD');

// The baseline's copy: the same files, with node_modules in place (what the agent's setup produces).
const direct = join(dir, 'direct');
cpSync(repo, direct, { recursive: true, filter: (source) => !source.includes(`${repo}/.git`) });
mkdirSync(join(direct, 'node_modules'));
symlinkSync(join(REPO_ROOT, 'node_modules/commander'), join(direct, 'node_modules/commander'), 'dir');
symlinkSync(join(REPO_ROOT, 'packages/sdk'), join(direct, 'node_modules/tasklane'), 'dir');

const sdkEnv = { XDG_CONFIG_HOME: join(dir, 'config'), TASKLANE_STATE_DIR: join(dir, 'state') };
const { match } = await startProcess(['server', '--port', '0', '--data-dir', join(dir, 'data'), '--log-level', 'warn'], /listening on (http:\/\/[\d.]+:\d+)/);
const url = match[1];
await startProcess(
  ['agent', 'daemon', '--queue', 'bench', '--create-queue', '--server', url, '--workdir', join(dir, 'agent'), '--name', 'bench-agent', '--poll-interval', String(pollSec), '--log-level', 'warn'],
  / serving /,
  sdkEnv,
);
const { id: draft } = await call(url, 'tasks.create', {
  name: 'enqueue to start',
  project_name: 'bench/agent',
  script: { repository: repo, version_num: head, entry_point: 'bench.mjs', working_dir: '.', binary: 'node', diff: '' },
  hyperparams: { Args: { lr: { section: 'Args', name: 'lr', value: '0.05', type: 'float' } } },
});

async function agentRun() {
  const { id } = await call(url, 'tasks.clone', { task: draft });
  const enqueuedAt = Date.now();
  await call(url, 'tasks.enqueue', { task: id, queue_name: 'bench' });
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const { task } = await call(url, 'tasks.get_by_id', { task: id });
    if (task.status === 'completed') break;
    if (task.status === 'failed' || task.status === 'stopped' || Date.now() > deadline) {
      throw new Error(`task ${id} ended ${task.status}: ${task.status_reason}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const { events } = await call(url, 'events.get_task_log', { task: id, batch_size: 1000, navigate_earlier: false });
  const startLine = events.find((e) => e.msg.startsWith('START '));
  if (!startLine) throw new Error(`no START line in the console of ${id}`);
  const startedAt = Number(startLine.msg.slice(6));
  const firstAgentLine = events.find((e) => e.msg.startsWith('tasklane-agent: task '));
  const runningLine = events.find((e) => e.msg.startsWith('tasklane-agent: running: '));
  return {
    ms: startedAt - enqueuedAt,
    queueMs: firstAgentLine.timestamp - enqueuedAt,
    setupMs: runningLine.timestamp - firstAgentLine.timestamp,
    processMs: startedAt - runningLine.timestamp,
  };
}

function directRun() {
  return new Promise((resolvePromise, reject) => {
    const spawnedAt = Date.now();
    const child = spawn(process.execPath, ['bench.mjs'], { cwd: direct, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...sdkEnv, TASKLANE_API_HOST: url, TASKLANE_TASK_NO_REUSE: '1' } });
    let out = '';
    child.stdout.on('data', (data) => (out += data));
    child.once('exit', (code) => {
      const line = /START (\d+)/.exec(out);
      if (code !== 0 || !line) reject(new Error(`direct run exited ${code}:\n${out}`));
      else resolvePromise({ ms: Number(line[1]) - spawnedAt });
    });
  });
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median: Math.round(median), min: Math.round(sorted[0]), max: Math.round(sorted.at(-1)) };
};

await agentRun(); // warm-up: fills the agent's npm cache
await directRun();
const agent = [];
const baseline = [];
for (let i = 0; i < runs; i += 1) {
  if (i % 2 === 0) {
    agent.push(await agentRun());
    baseline.push(await directRun());
  } else {
    baseline.push(await directRun());
    agent.push(await agentRun());
  }
}
cleanup();
rmSync(dir, { recursive: true, force: true });

const result = {
  runs,
  pollIntervalSec: pollSec,
  enqueueToStartMs: stats(agent.map((r) => r.ms)),
  queueWaitMs: stats(agent.map((r) => r.queueMs)),
  setupMs: stats(agent.map((r) => r.setupMs)),
  processStartMs: stats(agent.map((r) => r.processMs)),
  directStartMs: stats(baseline.map((r) => r.ms)),
};
const fmt = (s) => `${s.median} ms (${s.min}–${s.max})`;
console.log(`agent enqueue → process start, poll interval ${pollSec} s, ${runs} runs, ${cpus().length} CPUs, Node.js ${process.version}`);
console.log(`  enqueue → START line         ${fmt(result.enqueueToStartMs)}`);
console.log(`    waiting in the queue       ${fmt(result.queueWaitMs)}`);
console.log(`    setup (clone, npm ci, link) ${fmt(result.setupMs)}`);
console.log(`    process start              ${fmt(result.processStartMs)}`);
console.log(`  baseline: spawn → START line ${fmt(result.directStartMs)}`);
console.log(`  ratio of medians             ${(result.enqueueToStartMs.median / result.directStartMs.median).toFixed(2)}×`);
console.log(JSON.stringify(result));
process.exit(0);
