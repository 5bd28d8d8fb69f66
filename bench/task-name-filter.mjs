#!/usr/bin/env node
// tasks.get_all with a name filter (a regular expression, as ClearML's) on a project of 100,000 tasks, against the
// same listing filtered by search_text (SQLite's own LIKE over the same rows, no JS per row) in the same run.
//
//   node bench/task-name-filter.mjs [--tasks 100000] [--repeat 15]
//
// Needs the built workspace (npm install, or npx tsc -b after server changes).
//
// Method: a new data dir is filled straight through the server's own store (openSqliteStore from @tasklane/server,
// 5,000 tasks per transaction, names like "train/resnet-27 run 4711"). Then a Tasklane server runs on it in a child
// process (bench/events-support.mjs) and each case below is sent --repeat times, interleaved (the order rotates each
// round), as `POST /tasks.get_all {project, name, only_fields: [id, name], order_by: [-last_update], page_size: 50}`,
// timed from send to parsed reply. Every reply is checked against the expected names. One warm-up round is discarded.
// Then, in this process, the engines alone over the same 100,000 names (ns per name, median of 7 rounds): JavaScript's
// RegExp (the old engine; safe here only because these patterns are benign), re2js's `test` as it comes, and the
// server's compilePattern (re2js plus its shortcuts; read from packages/server/dist, it is not a public export).
// Prints medians (min–max), the ratio to the baseline, and a final JSON line.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RE2JS } from 're2js';
import { openSqliteStore } from '@tasklane/server';
import { REPO_ROOT, call, median, printTable, round, startServerProcess, tempDir } from './events-support.mjs';

// Not there in trees from before issue 13 (the bench then times RegExp and re2js alone).
const PATTERNS_MODULE = join(REPO_ROOT, 'packages/server/dist/storage/patterns.js');
const compilePattern = existsSync(PATTERNS_MODULE) ? (await import(PATTERNS_MODULE)).compilePattern : undefined;

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '15' },
  },
});
const taskCount = Number(options.tasks);
const repeat = Number(options.repeat);
for (const [name, value] of Object.entries({ tasks: taskCount, repeat })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Bad option ${name}: ${value}. Usage: node bench/task-name-filter.mjs [--tasks N] [--repeat N]`);
    process.exit(2);
  }
}

const BATCH = 5000;
const T0 = Date.UTC(2025, 0, 1);
const newId = () => randomBytes(16).toString('hex');
const nameOf = (i) => `train/resnet-${i % 50} run ${i}`;

function makeTask(projectId, i) {
  const at = new Date(T0 + i * 1000).toISOString();
  return {
    id: newId(),
    name: nameOf(i),
    project: projectId,
    parent: null,
    type: 'training',
    status: 'completed',
    status_reason: '',
    status_message: '',
    status_changed: at,
    comment: '',
    tags: [],
    system_tags: [],
    created: at,
    started: at,
    completed: at,
    published: null,
    last_update: at,
    last_change: at,
    active_duration: 600,
    script: { repository: 'https://github.com/example/train.git', branch: 'main', entry_point: 'train.py' },
    execution: { artifacts: [] },
    hyperparams: { Args: { seed: { section: 'Args', name: 'seed', value: String(i), type: 'int' } } },
    configuration: {},
    runtime: {},
    models: { input: [], output: [] },
    container: {},
    output: { destination: null },
    last_iteration: 100,
    last_metrics: {},
    last_worker: null,
    last_worker_report: null,
    enqueue_status: null,
  };
}

const last = taskCount - 1;
const target = Math.floor(taskCount * 0.77);
const names = Array.from({ length: taskCount }, (_, i) => nameOf(i));
const newestFirst = (filter) => names.filter(filter).reverse().slice(0, 50);
// Each case: the request's filter and the names it must answer (newest first, one page). Each matches fewer than 50
// names, so every case reads all the project's rows (a page of 50 matches would end the scan early).
const CASES = [
  { key: 'baseline', label: 'baseline: search_text (SQLite LIKE)', body: { search_text: ` run ${target}` }, want: newestFirst((n) => n.includes(` run ${target}`)) },
  {
    key: 'exact',
    label: 'exact match, escaped (ClearML SDK lookup)',
    body: { name: `^${nameOf(target).replace(/[-/ ]/g, (c) => (c === '/' ? c : `\\${c}`))}$` },
    want: [nameOf(target)],
  },
  { key: 'substring', label: 'plain text', body: { name: `run ${target}` }, want: newestFirst((n) => n.includes(`run ${target}`)) },
  { key: 'prefix', label: 'prefix ^…', body: { name: `^TRAIN/resnet-${target % 50} run ${String(target).slice(0, -1)}` }, want: newestFirst((n) => n.startsWith(`train/resnet-${target % 50} run ${String(target).slice(0, -1)}`)) },
  { key: 'classes', label: 'character classes', body: { name: `^train/resnet-[0-9]+ run ${String(target).slice(0, -1)}[0-9]$` }, want: newestFirst((n) => new RegExp(`^train/resnet-[0-9]+ run ${String(target).slice(0, -1)}[0-9]$`).test(n)) },
  { key: 'alternation', label: 'alternation', body: { name: 'resnet-(7|8) run (7|8)$' }, want: newestFirst((n) => /resnet-(7|8) run (7|8)$/.test(n)) },
];

/** Fills a new data dir with one project; answers its id. */
async function fill(dataDir) {
  const store = openSqliteStore(join(dataDir, 'tasklane.sqlite'));
  const now = new Date().toISOString();
  const project = { id: newId(), name: 'bench-names', basename: 'bench-names', parent: null, description: '', tags: [], system_tags: [], default_output_destination: null, created: now, last_update: now };
  await store.transaction(async (repos) => repos.projects.insert(project));
  for (let from = 0; from < taskCount; from += BATCH) {
    await store.transaction(async (repos) => {
      for (let i = from; i < Math.min(taskCount, from + BATCH); i += 1) await repos.tasks.insert(makeTask(project.id, i));
    });
  }
  await store.close();
  return project.id;
}

async function measure(url, projectId, c) {
  const t = performance.now();
  const { tasks } = await call(url, 'tasks.get_all', { project: [projectId], ...c.body, only_fields: ['id', 'name'], order_by: ['-last_update'], page_size: 50 });
  const ms = performance.now() - t;
  const got = tasks.map((task) => task.name);
  if (JSON.stringify(got) !== JSON.stringify(c.want)) {
    throw new Error(`${c.key}: answered ${got.length} names (${JSON.stringify(got.slice(0, 3))}…), expected ${c.want.length} (${JSON.stringify(c.want.slice(0, 3))}…)`);
  }
  return ms;
}

const data = tempDir('tasklane-bench-names-');
let t = performance.now();
const projectId = await fill(data.dir);
console.log(`filled ${taskCount.toLocaleString('en')} tasks in ${round((performance.now() - t) / 1000)} s`);
const server = await startServerProcess(data.dir);
try {
  for (const c of CASES) await measure(server.url, projectId, c);
  const results = Object.fromEntries(CASES.map((c) => [c.key, []]));
  for (let k = 0; k < repeat; k += 1) {
    for (let j = 0; j < CASES.length; j += 1) {
      const c = CASES[(j + k) % CASES.length];
      results[c.key].push(await measure(server.url, projectId, c));
    }
  }
  const base = median(results.baseline);
  const table = [['case', 'pattern', 'median ms (min–max)', 'ratio to baseline']];
  const summary = {};
  for (const c of CASES) {
    const values = results[c.key];
    const med = median(values);
    table.push([c.label, c.body.name ?? JSON.stringify(c.body.search_text), `${round(med)} (${round(Math.min(...values))}–${round(Math.max(...values))})`, `${round(med / base, 2)}x`]);
    summary[c.key] = { medianMs: round(med), ratio: round(med / base, 2) };
  }
  printTable(table);

  const engines = [['case', 'RegExp ns/name', 're2js test ns/name', 'compilePattern ns/name']];
  for (const c of CASES.filter((x) => x.body.name !== undefined)) {
    const matchers = [new RegExp(c.body.name, 'i'), RE2JS.compile(c.body.name, RE2JS.CASE_INSENSITIVE), compilePattern?.(c.body.name)];
    const perName = matchers.map((m) => {
      if (!m) return '-';
      const rounds = [];
      for (let k = 0; k < 8; k += 1) {
        const start = performance.now();
        let found = 0;
        for (const name of names) if (m.test(name)) found += 1;
        if (k > 0) rounds.push(((performance.now() - start) * 1e6) / names.length);
        if (found > 1000) throw new Error(`${c.key}: ${found} names matched`);
      }
      return round(median(rounds));
    });
    engines.push([c.label, ...perName]);
    summary[c.key].engineNsPerName = { regexp: perName[0], re2js: perName[1], compilePattern: perName[2] };
  }
  console.log('');
  printTable(engines);
  console.log(JSON.stringify({ bench: 'task-name-filter', tasks: taskCount, repeat, ...summary }));
} finally {
  await server.stop();
  data.remove();
}
