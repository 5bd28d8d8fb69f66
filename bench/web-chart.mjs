#!/usr/bin/env node
// Time to a drawn scalar chart in the web UI: a 1,000,000-point series against a 1,000-point baseline, same run.
//
//   npm run build -w @tasklane/web && node bench/web-chart.mjs [--points 1000000] [--baseline 1000] [--repeat 9]
//
// Method: a Tasklane server runs in a child process (a new data dir) serving the built web UI
// (packages/web/dist). This process reports one series of --points points (metric "loss", with the spikes of
// events-support's valueAt) to one task and --baseline points to another, over HTTP (events.add_batch, batches of
// 20,000 lines). Then headless Chromium (/usr/bin/chromium, playwright-core) opens
// `#/tasks/<id>/scalars` --repeat times per task, interleaved, each time in a new browser context (no cache: the app
// bundle is loaded every time) after one discarded warm-up each. A run's time is the page's performance.now() — ms
// since the navigation started — at the first animation frame where the chart's canvas has been drawn (uPlot's draw
// hook sets data-draws on the chart). It includes loading the app, the API call (the server downsamples to the
// `samples` the UI asks for, keeping each bucket's min and max) and drawing. Also timed from this process: the API
// call alone. Prints medians, the ratio big/baseline, and a final JSON line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { REPO_ROOT, call, createRunningTask, median, printTable, round, startServerProcess, timestampAt, valueAt } from './events-support.mjs';

const { values: options } = parseArgs({
  options: {
    points: { type: 'string', default: '1000000' },
    baseline: { type: 'string', default: '1000' },
    repeat: { type: 'string', default: '9' },
  },
});
const points = Number(options.points);
const baseline = Number(options.baseline);
const repeat = Number(options.repeat);
for (const [name, value] of Object.entries({ points, baseline, repeat })) {
  if (!Number.isInteger(value) || value < 1) {
    console.error(`Bad option ${name}: ${value}. Usage: node bench/web-chart.mjs [--points N] [--baseline N] [--repeat N]`);
    process.exit(2);
  }
}
const CHROMIUM = '/usr/bin/chromium';
const WEB_DIR = join(REPO_ROOT, 'packages/web/dist');
if (!existsSync(CHROMIUM)) {
  console.error(`No Chromium at ${CHROMIUM} (Debian: apt-get install chromium).`);
  process.exit(2);
}
if (!existsSync(join(WEB_DIR, 'index.html'))) {
  console.error('No web UI build: run npm run build -w @tasklane/web first.');
  process.exit(2);
}
const BATCH = 20_000;
/** What the scalars tab asks for (packages/web/src/pages/task-tabs/scalars-tab.tsx). */
const UI_SAMPLES = 2000;

async function report(url, task, n) {
  for (let from = 0; from < n; from += BATCH) {
    const lines = [];
    for (let i = from; i < Math.min(n, from + BATCH); i += 1) {
      lines.push(
        `{"type":"training_stats_scalar","task":"${task}","timestamp":${timestampAt(i)},"iter":${i},"metric":"loss","variant":"train","value":${valueAt(0, i)}}`,
      );
    }
    await call(url, 'events.add_batch', lines.join('\n'), 'application/json-lines');
  }
}

/** Opens the scalars tab in a new context; answers ms from navigation start to the first frame with the chart drawn. */
async function timeChart(browser, url, task) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${url}/#/tasks/${task}/scalars`, { waitUntil: 'commit' });
    const handle = await page.waitForFunction(
      () => {
        const chart = document.querySelector('.chart[data-metric="loss"]');
        return chart && Number(chart.getAttribute('data-draws')) >= 1 && chart.querySelector('canvas') ? performance.now() : false;
      },
      undefined,
      { polling: 'raf', timeout: 60_000 },
    );
    const ms = await handle.jsonValue();
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    return ms;
  } finally {
    await context.close();
  }
}

async function timeApi(url, task) {
  const started = performance.now();
  const data = await call(url, 'events.scalar_metrics_iter_histogram', { task, samples: UI_SAMPLES, key: 'iter' });
  return { ms: performance.now() - started, series: data.loss?.train };
}

process.env.TASKLANE_WEB_DIR = WEB_DIR;
const server = await startServerProcess();
let browser;
let result;
try {
  const big = await createRunningTask(server.url, 'chart-bench-big');
  const small = await createRunningTask(server.url, 'chart-bench-baseline');
  process.stderr.write(`reporting ${points.toLocaleString('en')} + ${baseline.toLocaleString('en')} points...\n`);
  const reportStarted = performance.now();
  await report(server.url, big, points);
  await report(server.url, small, baseline);
  const reportSeconds = (performance.now() - reportStarted) / 1000;

  // What the chart gets: at most UI_SAMPLES points, the spike kept.
  const { series } = await timeApi(server.url, big);
  if (!series || series.x.length > UI_SAMPLES) throw new Error(`the reply has ${series?.x.length} points, more than ${UI_SAMPLES}`);
  if (points > 77_777 && !series.x.includes(77_777)) throw new Error('the spike at iteration 77,777 is missing from the reply');

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  await timeChart(browser, server.url, big);
  await timeChart(browser, server.url, small);
  const runs = { big: [], baseline: [], apiBig: [], apiBaseline: [] };
  for (let i = 0; i < repeat; i += 1) {
    const order = i % 2 === 0 ? ['big', 'baseline'] : ['baseline', 'big'];
    for (const name of order) runs[name].push(await timeChart(browser, server.url, name === 'big' ? big : small));
    runs.apiBig.push((await timeApi(server.url, big)).ms);
    runs.apiBaseline.push((await timeApi(server.url, small)).ms);
  }
  result = {
    points,
    baseline,
    repeat,
    samples: UI_SAMPLES,
    drawnPoints: series.x.length,
    reportSeconds: round(reportSeconds),
    chartMs: round(median(runs.big)),
    baselineChartMs: round(median(runs.baseline)),
    ratio: round(median(runs.big) / median(runs.baseline), 2),
    apiMs: round(median(runs.apiBig)),
    baselineApiMs: round(median(runs.apiBaseline)),
    runs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((ms) => round(ms))])),
  };
} finally {
  await browser?.close();
  await server.stop();
}

console.log(`\nWeb UI: navigation to a drawn scalar chart (median of ${repeat} runs each, headless Chromium, new context per run)`);
console.log(`stored ${points.toLocaleString('en')} + ${baseline.toLocaleString('en')} points in ${result.reportSeconds} s (events.add_batch)\n`);
printTable([
  ['series', 'points stored', 'points drawn', 'navigation → drawn (ms)', 'API call alone (ms)'],
  ['big', points.toLocaleString('en'), result.drawnPoints.toLocaleString('en'), result.chartMs, result.apiMs],
  ['baseline', baseline.toLocaleString('en'), Math.min(baseline, UI_SAMPLES).toLocaleString('en'), result.baselineChartMs, result.baselineApiMs],
]);
console.log(`\nratio big / baseline: ${result.ratio}×`);
console.log(JSON.stringify(result));
