import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';
import { WORKSPACE_ROOT } from '../support/workspace-build.js';

const SDK_ENTRY = pathToFileURL(join(WORKSPACE_ROOT, 'packages/sdk/dist/index.js')).href;

/**
 * A training script using the real SDK: scalars, plots, image samples at three iterations, artifacts (a table,
 * JSON, text, a file of known bytes) and input/output models. Prints the task id as `@@task <id>`.
 */
const SCRIPT = `
import { writeFileSync } from 'node:fs';
import { deflateSync, crc32 } from 'node:zlib';
import { Task, OutputModel, InputModel } from ${JSON.stringify(SDK_ENTRY)};

// A solid-colour PNG, so each iteration's sample differs.
function png(width, height, [r, g, b]) {
  const chunk = (type, data) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])) >>> 0, 0);
    return Buffer.concat([head, data, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([r, g, b], 1 + x * 3);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const task = await Task.init({ projectName: 'web/outputs', taskName: 'outputs run', autoResourceMonitoring: false });
console.log('@@task ' + task.id);
const log = task.getLogger();
for (let i = 0; i < 30; i++) {
  log.reportScalar('loss', 'train', 2 / (i + 1) + (i % 3) * 0.05, i);
  log.reportScalar('loss', 'val', 2.4 / (i + 1), i);
  log.reportScalar('accuracy', 'val', i / 30, i);
  // Points a few ms apart, for the wall-time and relative-time axes.
  await new Promise((resolve) => setTimeout(resolve, 4));
}
log.reportSingleValue('final accuracy', 0.93);
log.reportConfusionMatrix('confusion', 'val', [[8, 2], [1, 9]], 29, { xlabels: ['cat', 'dog'], ylabels: ['cat', 'dog'] });
log.reportHistogram('weights', 'layer1', [1, 3, 2], 2);
log.reportHistogram('weights', 'layer1', [2, 5, 1], 20);
const colours = { 0: [220, 40, 40], 5: [40, 160, 40], 10: [40, 80, 220] };
for (const [iter, colour] of Object.entries(colours)) {
  log.reportImage('samples', 'input', Number(iter), { buffer: png(64, 48, colour), fileExtension: 'png' });
  log.reportImage('samples', 'mask', Number(iter), { buffer: png(32, 32, colour.map((c) => 255 - c)), fileExtension: 'png' });
}
log.reportMedia('predictions', 'text', 10, { buffer: Buffer.from('cat 0.93'), fileExtension: 'txt' });
await task.uploadArtifact('metrics table', [{ epoch: 1, loss: 0.5, note: 'a, b' }, { epoch: 2, loss: 0.25, note: 'c' }]);
await task.uploadArtifact('config', { lr: 0.01, layers: [64, 32] });
await task.uploadArtifact('notes', 'trained on the small split');
const blob = process.env.BLOB_PATH;
writeFileSync(blob, Buffer.from(Array.from({ length: 1000 }, (_v, i) => (i * 7) % 256)));
await task.uploadArtifact('weights blob', blob);
const weights = process.env.WEIGHTS_PATH;
writeFileSync(weights, 'weights');
// Recorded on the task by the test: the server takes input models on drafts only (connect() on a running task warns).
const base = await InputModel.import({ url: 'https://example.com/models/base.onnx', name: 'base model', framework: 'onnx' });
console.log('@@base ' + base.id);
const out = new OutputModel(task, { name: 'classifier', framework: 'onnx' });
await out.updateWeights(weights, { iteration: 29 });
await task.close();
console.log('@@done');
`;

function runScript(dir: string, env: Record<string, string>): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKLANE_') && k !== 'NODE_OPTIONS'));
  return promisify(execFile)(process.execPath, [join(dir, 'run.mjs')], { cwd: dir, env: { ...clean, ...env }, timeout: 30_000 }).then(
    (r) => r.stdout,
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`the SDK script failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
    },
  );
}

describe.skipIf(!hasChromium)('task outputs in the web UI', () => {
  let ui: WebUi;
  let server: CliServer;
  let page: Page;
  let api: ApiClient;
  let taskId: string;
  let scriptDir: string;
  let dialogs: string[];
  let pageErrors: string[];
  const requested: string[] = [];

  beforeAll(async () => {
    ui = await startWebUi();
    ({ server, api, page, dialogs, pageErrors } = ui);
    // Outside any git repository, so the SDK records no working-tree diff.
    scriptDir = await mkdtemp(join(tmpdir(), 'tasklane-web-outputs-'));
    await writeFile(join(scriptDir, 'run.mjs'), SCRIPT);
    const stdout = await runScript(scriptDir, {
      TASKLANE_API_HOST: server.url,
      TASKLANE_STATE_DIR: join(scriptDir, 'state'),
      TASKLANE_TASK_NO_REUSE: '1',
      TASKLANE_FLUSH_INTERVAL_MS: '200',
      XDG_CONFIG_HOME: join(scriptDir, 'config-home'),
      BLOB_PATH: join(scriptDir, 'blob.bin'),
      WEIGHTS_PATH: join(scriptDir, 'model.onnx'),
    });
    expect(stdout).toContain('@@done');
    taskId = /@@task ([0-9a-f]+)/.exec(stdout)![1]!;
    const baseId = /@@base ([0-9a-f]+)/.exec(stdout)![1]!;
    await api.call('tasks.add_or_update_model', { task: taskId, name: 'pretrained', model: baseId, type: 'input', force: true });

    // Fail a step well within the test's time, naming what was awaited.
    page.setDefaultTimeout(8000);
    page.on('request', (request) => requested.push(request.url()));
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
    if (scriptDir) await rm(scriptDir, { recursive: true, force: true });
  });

  const draws = (metric: string) => page.locator(`.chart[data-metric="${metric}"]`).getAttribute('data-draws').then(Number);

  it('draws one chart per title with all its series, and keeps log scale, x axis, smoothing and hidden series in the address', async () => {
    await page.goto(`${server.url}/#/tasks/${taskId}/scalars`);
    const loss = page.locator('.chart[data-metric="loss"][data-series-count="2"]');
    await loss.locator('canvas').waitFor();
    expect(await loss.locator('.u-legend .u-series').count()).toBe(3);
    expect(await page.locator('.chart[data-metric="accuracy"][data-series-count="1"] canvas').count()).toBe(1);
    await page.locator('table[aria-label="Summary values"] td', { hasText: 'final accuracy' }).waitFor();

    // Log scale: in the address, and the chart is drawn again on a log y scale.
    let before = await draws('loss');
    await page.getByLabel('Log scale').check();
    await page.locator('.chart[data-metric="loss"][data-scale="log"]').waitFor();
    expect(page.url()).toContain('log=1');
    await page.waitForFunction((n) => Number(document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-draws')) > n, before);

    // X axis: wall time (epoch seconds on the scale), then relative time (seconds from the first point).
    before = await draws('loss');
    await page.selectOption('select[aria-label="X axis"]', 'time');
    await page.locator('.chart[data-metric="loss"][data-x-axis="time"]').waitFor();
    expect(page.url()).toContain('x=time');
    await page.waitForFunction(() => Number(document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-x-min')) > 1e9);
    await page.waitForFunction((n) => Number(document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-draws')) > n, before);
    await page.selectOption('select[aria-label="X axis"]', 'relative');
    await page.locator('.chart[data-metric="loss"][data-x-axis="relative"]').waitFor();
    expect(page.url()).toContain('x=relative');
    await page.waitForFunction(() => {
      const chart = document.querySelector('.chart[data-metric="loss"]');
      const [min, max] = [Number(chart?.getAttribute('data-x-min')), Number(chart?.getAttribute('data-x-max'))];
      return min === 0 && max > 0.05 && max < 60;
    });
    await page.selectOption('select[aria-label="X axis"]', 'iter');
    await page.locator('.chart[data-metric="loss"][data-x-axis="iter"]').waitFor();
    expect(await loss.getAttribute('data-x-max')).toBe('29');

    // Hide a series by its legend entry: greyed out, in the address, and still hidden after a reload.
    const valRow = loss.locator('.u-legend .u-series', { hasText: 'val' });
    await valRow.locator('th').click();
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('["loss","val"]'));
    expect(await valRow.getAttribute('class')).toContain('u-off');

    // Smoothing: the slider's value reaches the address once it rests.
    await page.locator('input[aria-label="Smoothing"]').fill('0.6');
    await page.waitForFunction(() => location.hash.includes('smooth=0.6'));
    await page.reload();
    await page.locator('.chart[data-metric="loss"][data-scale="log"][data-smoothing="0.6"] canvas').waitFor();
    expect(await page.locator('.chart[data-metric="loss"] .u-legend .u-series', { hasText: 'val' }).getAttribute('class')).toContain('u-off');
    expect(await page.getByLabel('Log scale').isChecked()).toBe(true);

    // Zoom by dragging across the plot; a double-click resets it.
    const over = loss.locator('.u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => {
      const chart = document.querySelector('.chart[data-metric="loss"]');
      return Number(chart?.getAttribute('data-x-min')) > 2 && Number(chart?.getAttribute('data-x-max')) < 20;
    });
    await over.dblclick();
    await page.waitForFunction(() => document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-x-max') === '29');
    // plotly.js (megabytes) is fetched only where a plot is shown.
    expect(requested.filter((u) => u.includes('plotly'))).toEqual([]);
  });

  it('shows Plotly figures by title, at the chosen iteration', async () => {
    await page.goto(`${server.url}/#/tasks/${taskId}/plots`);
    const confusion = page.locator('.plot-group[data-plot-title="confusion"] .plot-card[data-plot-series="val"]');
    await confusion.locator('.js-plotly-plot[data-ready="true"] svg.main-svg').first().waitFor();
    expect(requested.some((u) => u.includes('plotly'))).toBe(true);
    const weights = page.locator('.plot-card[data-plot-series="layer1"]');
    expect(await weights.getAttribute('data-iteration')).toBe('20');
    await weights.locator('.js-plotly-plot[data-ready="true"]').waitFor();
    await saveScreenshot(page, 'task-plots');

    await page.selectOption('select[aria-label="Iteration"]', '2');
    expect(page.url()).toContain('iter=2');
    await page.locator('.plot-card[data-plot-series="layer1"][data-iteration="2"]').waitFor();
    // The confusion matrix came at iteration 29 only: nothing of it by iteration 2.
    await confusion.locator('text=not reported by iteration 2').waitFor();
  });

  it('shows debug samples with an iteration slider and a full-size view', async () => {
    await page.goto(`${server.url}/#/tasks/${taskId}/debug-samples`);
    const sample = page.locator('.sample-group[data-sample-title="samples"] .sample[data-sample-series="input"]');
    await sample.locator('img').waitFor();
    expect(await sample.getAttribute('data-iteration')).toBe('10');
    await page.waitForFunction(() => (document.querySelector('.sample[data-sample-series="input"] img') as HTMLImageElement | null)?.naturalWidth === 64);
    const latestSrc = await sample.locator('img').getAttribute('src');
    expect(latestSrc).toMatch(new RegExp(`^${server.url}/files/`));
    expect(await page.locator('.sample[data-sample-series="mask"] img').count()).toBe(1);
    // Other files are links.
    const text = page.locator('.sample-group[data-sample-title="predictions"] .sample[data-sample-series="text"] a.sample-link');
    await text.waitFor();
    expect(await (await fetch((await text.getAttribute('href'))!)).text()).toBe('cat 0.93');
    await saveScreenshot(page, 'task-debug-samples');

    // The slider goes down to the first iteration: the sample of iteration 0, another image.
    const slider = sample.locator('input[type=range]');
    expect(await slider.getAttribute('min')).toBe('0');
    expect(await slider.getAttribute('max')).toBe('10');
    await slider.focus();
    await page.keyboard.press('Home');
    await page.locator('.sample[data-sample-series="input"][data-iteration="0"]').waitFor();
    expect(await sample.locator('img').getAttribute('src')).not.toBe(latestSrc);
    // A middle value answers the sample at or before it.
    await slider.fill('7');
    await page.locator('.sample[data-sample-series="input"][data-iteration="5"]').waitFor();

    // Full size: a modal view, in the address, closed with Escape.
    await sample.locator('button.sample-open').click();
    const viewer = page.locator('dialog.sample-viewer[open]');
    await viewer.locator('img.sample-full').waitFor();
    expect(decodeURIComponent(page.url())).toContain('view=["samples","input"]');
    expect(await viewer.locator('.sample').getAttribute('data-iteration')).toBe('5');
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'detached' });
    expect(page.url()).not.toContain('view=');
  });

  it('lists artifacts with previews (tables as tables, JSON pretty) and working download links', async () => {
    await page.goto(`${server.url}/#/tasks/${taskId}/artifacts`);
    await page.locator('tr[data-artifact="metrics table"]').waitFor();
    for (const key of ['config', 'notes', 'weights blob']) expect(await page.locator(`tr[data-artifact="${key}"]`).count()).toBe(1);

    await page.locator('tr[data-artifact="metrics table"] a', { hasText: 'metrics table' }).click();
    const table = page.locator('[data-artifact-detail="metrics table"] [data-preview="table"] table');
    await table.waitFor();
    expect(await table.locator('th').allInnerTexts()).toEqual(['epoch', 'loss', 'note']);
    expect(await table.locator('tbody tr').count()).toBe(2);
    // A quoted cell holding a comma stays one cell.
    expect(await table.locator('tbody tr').first().locator('td').allInnerTexts()).toEqual(['1', '0.5', 'a, b']);
    expect(page.url()).toContain('artifact=metrics+table');
    await saveScreenshot(page, 'task-artifacts');

    await page.locator('tr[data-artifact="config"] a', { hasText: 'config' }).click();
    const json = await page.locator('[data-artifact-detail="config"] pre[data-preview="json"]').innerText();
    expect(JSON.parse(json)).toEqual({ lr: 0.01, layers: [64, 32] });
    expect(json).toContain('\n  "lr": 0.01');

    // The download link serves the very bytes the script uploaded.
    const link = page.locator('tr[data-artifact="weights blob"] a.download');
    const url = (await link.getAttribute('href'))!;
    expect(await link.getAttribute('download')).toBe('blob.bin');
    const downloaded = Buffer.from(await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), url));
    expect(downloaded.equals(await readFile(join(scriptDir, 'blob.bin')))).toBe(true);
    expect(await page.locator('tr[data-artifact="weights blob"] td.num').innerText()).toBe('1000 B');
  });

  it('lists the input and output models with links to their pages', async () => {
    const { models } = await api.call('models.get_all', { name: '^classifier$' });
    const classifier = models[0]!;
    await page.goto(`${server.url}/#/tasks/${taskId}/models`);
    const output = page.locator(`[data-models="output"] tr[data-model="${classifier.id}"]`);
    await output.locator('a.model-link', { hasText: 'classifier' }).waitFor();
    expect(await output.locator('td').nth(2).innerText()).toBe('onnx');
    const input = page.locator('[data-models="input"] tr', { hasText: 'pretrained' });
    await input.locator('a.model-link', { hasText: 'base model' }).waitFor();
    await output.locator('a.model-link').click();
    await page.waitForFunction((id) => location.hash === `#/models/${id}`, classifier.id);
  });

  it('ran no script from user data and threw no page errors', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
