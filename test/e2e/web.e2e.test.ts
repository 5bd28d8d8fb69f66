import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { assertCliBuilt, startCliServer, type CliServer } from '../support/cli.js';
import { WORKSPACE_ROOT, buildWorkspace } from '../support/workspace-build.js';

const CHROMIUM = '/usr/bin/chromium';
const WEB_INDEX = fileURLToPath(new URL('../../packages/web/dist/index.html', import.meta.url));
const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));
const XSS_NAME = '<img src=x onerror=alert(1)>';

describe.skipIf(!existsSync(CHROMIUM))('web UI in Chromium', () => {
  let server: CliServer;
  let browser: Browser;
  let page: Page;
  let projectId: string;
  let trainId: string;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    await buildWorkspace();
    assertCliBuilt();
    // npm install builds the web app; build it here when a test run comes first.
    if (!existsSync(WEB_INDEX)) {
      await promisify(execFile)('npm', ['run', 'build', '-w', '@tasklane/web'], { cwd: WORKSPACE_ROOT });
    }
    server = await startCliServer();
    const api = new ApiClient({ baseUrl: server.url });
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

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the app at / and paths of the app, keeps the API and refuses paths out of the build', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('<div id="root">');
    expect((await fetch(`${server.url}/projects/x/tasks`)).headers.get('content-type')).toContain('text/html');
    expect((await fetch(`${server.url}/queues.get_all`, { method: 'POST', body: '{}' })).status).toBe(200);
    expect((await fetch(`${server.url}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${server.url}/..%2f..%2fpackage.json`)).status).toBe(404);
  });

  it('goes projects → tasks table → task details tabs', async () => {
    await page.goto(`${server.url}/#/projects`);
    const row = page.locator('tr[data-project="vision/resnet"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    expect(await page.locator('tr[data-project="vision"] td').nth(2).textContent()).toBe('2');
    await page.screenshot({ path: `${SCREENSHOTS}projects.png` });

    await row.locator('a').click();
    await page.locator('tr[data-task] a.task-name', { hasText: 'train resnet50' }).waitFor();
    // The HTML string in a name is text, not markup.
    expect(await page.locator('a.task-name', { hasText: XSS_NAME }).count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
    await page.screenshot({ path: `${SCREENSHOTS}tasks.png` });

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
    await page.screenshot({ path: `${SCREENSHOTS}task-scalars.png` });
    expect(page.url()).toContain(`#/tasks/${trainId}/scalars`);
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
