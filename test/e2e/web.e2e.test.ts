import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';

const XSS_NAME = '<img src=x onerror=alert(1)>';

describe.skipIf(!hasChromium)('web UI in Chromium', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  let page: Page;
  let projectId: string;
  let trainId: string;
  let dialogs: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    ui = await startWebUi();
    ({ server, api, page, dialogs, pageErrors } = ui);
    projectId = (await api.call('projects.create', { name: 'vision/resnet' })).id;
    trainId = (await api.call('tasks.create', { name: 'train resnet50', project: projectId, type: 'training' })).id;
    await api.call('tasks.edit_hyper_params', {
      task: trainId,
      hyperparams: [
        { section: 'Args', name: 'lr', value: '0.01' },
        { section: 'Args', name: 'batch_size', value: '64' },
      ],
    });
    await api.call('tasks.started', { task: trainId });
    const t0 = Date.now();
    const events: object[] = [];
    for (let i = 0; i < 3; i++) events.push({ type: 'log', task: trainId, timestamp: t0 + i, level: 'info', msg: `epoch ${i} done` });
    for (let i = 0; i < 50; i++) {
      events.push({ type: 'training_stats_scalar', task: trainId, timestamp: t0 + 10 + i, iter: i, metric: 'loss', variant: 'train', value: 2 / (i + 1) });
      events.push({ type: 'training_stats_scalar', task: trainId, timestamp: t0 + 10 + i, iter: i, metric: 'loss', variant: 'val', value: 2.2 / (i + 1) });
    }
    await api.callJsonLines('events.add_batch', events);
    await api.call('tasks.completed', { task: trainId });
    await api.call('tasks.create', { name: XSS_NAME, project: projectId, type: 'testing' });
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('serves the app at / and paths of the app, keeps the API and refuses paths out of the build', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<div id="root">');
    expect((await fetch(`${server.url}/projects/x/tasks`)).headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${server.url}/queues.get_all`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).status).toBe(200);
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('goes projects → tasks table → task details tabs', async () => {
    await page.goto(`${server.url}/#/projects`);
    const row = page.locator('tr[data-project="vision/resnet"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    expect(await page.locator('tr[data-project="vision"] td').nth(2).textContent()).toBe('2');
    await saveScreenshot(page, 'projects');

    await row.locator('a').click();
    await page.locator('tr[data-task] a.task-name', { hasText: 'train resnet50' }).waitFor();
    // The HTML string in a name is text, not markup.
    expect(await page.locator('a.task-name', { hasText: XSS_NAME }).count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
    await saveScreenshot(page, 'tasks');

    // Filter by status, shareable in the address.
    await page.selectOption('select[aria-label="Filter by status"]', 'completed');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-task]').length === 1);
    expect(page.url()).toContain('status=completed');

    await page.locator('a.task-name', { hasText: 'train resnet50' }).click();
    await page.locator('h1 .task-name', { hasText: 'train resnet50' }).waitFor();
    await page.locator('[role=tab]', { hasText: 'Configuration' }).click();
    await page.locator('[data-section="Args"] td', { hasText: '0.01' }).waitFor();
    await page.locator('[role=tab]', { hasText: 'Console' }).click();
    await page.locator('pre.console', { hasText: 'epoch 2 done' }).waitFor();
    await page.locator('[role=tab]', { hasText: 'Execution' }).click();
    await page.locator('text=Uncommitted changes').waitFor();
    await page.locator('[role=tab]', { hasText: 'Scalars' }).click();
    const chart = page.locator('.chart[data-metric="loss"]');
    await chart.locator('canvas').waitFor();
    expect(await chart.getAttribute('data-series-count')).toBe('2');
    // uPlot's legend: the x series plus one row per variant.
    expect(await chart.locator('.u-legend .u-series').count()).toBe(3);
    await saveScreenshot(page, 'task-scalars');
    expect(page.url()).toContain(`#/tasks/${trainId}/scalars`);
  });

  it('opens the page of a path link, as the SDK and the CLI print them (/tasks/<id>)', async () => {
    await page.goto(`${server.url}/tasks/${trainId}`);
    await page.locator('h1 .task-name', { hasText: 'train resnet50' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/tasks/${trainId}`);
  });

  it('clones a task from the UI into a draft, and only offers allowed actions', async () => {
    await page.goto(`${server.url}/#/tasks/${trainId}/info`);
    await page.locator('h1 .task-name', { hasText: 'train resnet50' }).waitFor();
    expect(await page.locator('button', { hasText: 'Abort' }).isDisabled()).toBe(true);
    expect(await page.locator('button', { hasText: 'Publish' }).isEnabled()).toBe(true);
    await page.locator('button', { hasText: 'Clone' }).click();
    await page.locator('dialog[open] button[type=submit]').click();
    await page.locator('h1 .task-name', { hasText: 'Clone of train resnet50' }).waitFor();
    expect(await page.locator('h1 [data-status]').getAttribute('data-status')).toBe('created');
    expect(await page.locator('button', { hasText: 'Enqueue' }).isEnabled()).toBe(true);
    expect(await page.locator('button', { hasText: 'Reset' }).isDisabled()).toBe(true);
  });

  it('ran no script from user data', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
