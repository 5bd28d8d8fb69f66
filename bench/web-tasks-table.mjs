#!/usr/bin/env node
// Tasks table speed in a real browser: one project of 100,000 tasks against a project of 100, measured in the same run.
//
//   node bench/web-tasks-table.mjs [--tasks 100000] [--baseline 100] [--repeat 5]
//
// Needs the built workspace (npm install; npm run build -w @tasklane/web after web changes) and /usr/bin/chromium.
//
// Method: a new data dir is filled straight through the server's own store (openSqliteStore from @tasklane/server,
// 5,000 tasks per transaction; the documents of bench/tasks-fixture.mjs look like real ones: script, 5
// hyperparameters, 2 metrics in last_metrics, a tag on every 10th, every 7th archived). Then a Tasklane server runs on it in a child process
// (bench/events-support.mjs) and headless Chromium (playwright-core), --repeat times per project, interleaved:
// - load: from a fresh page load of `#/projects/<id>/tasks?hp=Args/lr&metric=loss/val` until the first page (50
//   rows) is rendered and the table is no longer loading — what a user waits for before the table is usable;
// - sort by name: from the click on the Name header until the re-sorted first page is rendered;
// - sort by hyperparameter: the same for the Args/lr column (ordered inside the JSON documents, no index).
// Prints medians, the ratio big/baseline, and a final JSON line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { openSqliteStore } from '@tasklane/server';
import { REPO_ROOT, median, printTable, round, startServerProcess, tempDir } from './events-support.mjs';
import { fillTaskProjects } from './tasks-fixture.mjs';

const { values: options } = parseArgs({
  options: {
    tasks: { type: 'string', default: '100000' },
    baseline: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '5' },
  },
});
const bigCount = Number(options.tasks);
const smallCount = Number(options.baseline);
const repeat = Number(options.repeat);
for (const [name, value] of Object.entries({ tasks: bigCount, baseline: smallCount, repeat })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Bad option ${name}: ${value}. Usage: node bench/web-tasks-table.mjs [--tasks N] [--baseline N] [--repeat N]`);
    process.exit(2);
  }
}
const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error(`No Chromium at ${CHROMIUM}: install the chromium package.`);
  process.exit(1);
}
if (!existsSync(join(REPO_ROOT, 'packages/web/dist/index.html'))) {
  console.error('No web build: run npm run build -w @tasklane/web first.');
  process.exit(1);
}

/** Fills a new data dir with the two projects; answers their ids. */
async function fill(dataDir) {
  const store = openSqliteStore(join(dataDir, 'tasklane.sqlite'));
  try {
    return await fillTaskProjects(store, bigCount, smallCount);
  } finally {
    await store.close();
  }
}

/** Runs in the page: whether the table shows `rows` rows, settled (and re-sorted by `sorted`, first row changed). */
function rowsReady(want) {
  const rows = document.querySelectorAll('tr[data-task]');
  return (
    rows.length === want.rows &&
    !document.querySelector('table[aria-busy="true"]') &&
    (!want.sorted || document.querySelector(`th[data-column="${want.sorted}"]`)?.getAttribute('aria-sort') === 'ascending') &&
    (!want.firstNot || rows[0].getAttribute('data-task') !== want.firstNot)
  );
}

async function measure(page, url, projectId, rows) {
  await page.goto('about:blank');
  const address = `${url}/#/projects/${projectId}/tasks?hp=Args%2Flr&metric=loss%2Fval`;
  let t = performance.now();
  await page.goto(address);
  await page.waitForFunction(rowsReady, { rows }, { timeout: 60_000, polling: 'raf' });
  const loadMs = performance.now() - t;

  const sortBy = async (column) => {
    const first = await page.locator('tr[data-task]').first().getAttribute('data-task');
    const start = performance.now();
    await page.locator(`th[data-column="${column}"] button`).click();
    await page.waitForFunction(rowsReady, { rows, sorted: column, firstNot: first }, { timeout: 60_000, polling: 'raf' });
    return performance.now() - start;
  };
  const sortNameMs = await sortBy('name');
  const sortParamMs = await sortBy('hp:Args/lr');
  return { loadMs, sortNameMs, sortParamMs };
}

const data = tempDir('tasklane-bench-web-');
let t = performance.now();
const projects = await fill(data.dir);
console.log(`filled ${bigCount.toLocaleString('en')} + ${smallCount} tasks in ${round((performance.now() - t) / 1000)} s`);
// The server process reads its config from the environment it inherits; the CLI would point it at the web build.
process.env.TASKLANE_WEB_DIR = join(REPO_ROOT, 'packages/web/dist');
const server = await startServerProcess(data.dir);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const rows = Math.min(50, smallCount - Math.ceil(smallCount / 7));
  // One warm-up each (first SQLite page reads, browser cache of the app), not counted.
  await measure(page, server.url, projects.small, rows);
  await measure(page, server.url, projects.big, 50);
  const results = { big: [], small: [] };
  for (let k = 0; k < repeat; k += 1) {
    results.small.push(await measure(page, server.url, projects.small, rows));
    results.big.push(await measure(page, server.url, projects.big, 50));
  }
  const med = (which, key) => median(results[which].map((r) => r[key]));
  const table = [['measure (median ms)', `${smallCount} tasks`, `${bigCount.toLocaleString('en')} tasks`, 'ratio']];
  const summary = {};
  for (const [key, label] of [
    ['loadMs', 'page load → first 50 rows'],
    ['sortNameMs', 're-sort by name'],
    ['sortParamMs', 're-sort by Args/lr'],
  ]) {
    const small = med('small', key);
    const big = med('big', key);
    table.push([label, round(small), round(big), `${round(big / small, 2)}x`]);
    summary[key] = { small: round(small), big: round(big), ratio: round(big / small, 2) };
  }
  printTable(table);
  console.log(JSON.stringify({ bench: 'web-tasks-table', tasks: bigCount, baseline: smallCount, repeat, ...summary }));
} finally {
  await browser.close();
  await server.stop();
  data.remove();
}
