import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';

const XSS_NAME = '<img src=x onerror=alert(1)> run';

describe.skipIf(!hasChromium)('compare page in Chromium', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  let page: Page;
  let fastId: string;
  let slowId: string;
  let thirdId: string;
  let dialogs: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    ui = await startWebUi();
    ({ server, api, page, dialogs, pageErrors } = ui);
    const project = (await api.call('projects.create', { name: 'compare/sweep' })).id;
    // Two runs differing in lr only, plus a third (with an HTML name) to add from the page.
    const makeRun = async (name: string, lr: string, scale: number) => {
      const { id } = await api.call('tasks.create', { name, project, type: 'training' });
      await api.call('tasks.edit_hyper_params', {
        task: id,
        hyperparams: [
          { section: 'Args', name: 'lr', value: lr },
          { section: 'Args', name: 'batch_size', value: '64' },
        ],
      });
      await api.call('tasks.edit_configuration', {
        task: id,
        configuration: [{ name: 'model', type: 'json', value: '{"layers": 4}' }],
      });
      await api.call('tasks.started', { task: id });
      const t0 = Date.now();
      const events: object[] = [];
      for (let i = 0; i < 20; i++) {
        events.push({ type: 'training_stats_scalar', task: id, timestamp: t0 + i, iter: i, metric: 'loss', variant: 'train', value: scale / (i + 1) });
        events.push({ type: 'training_stats_scalar', task: id, timestamp: t0 + i, iter: i, metric: 'loss', variant: 'val', value: (scale * 1.1) / (i + 1) });
      }
      events.push({
        type: 'plot',
        task: id,
        timestamp: t0 + 100,
        iter: 19,
        metric: 'confusion',
        variant: 'val',
        plot_str: JSON.stringify({ data: [{ type: 'heatmap', z: [[scale, 1], [2, 3]] }], layout: { title: { text: 'confusion' } } }),
      });
      await api.callJsonLines('events.add_batch', events);
      await api.call('tasks.completed', { task: id });
      return id;
    };
    fastId = await makeRun('sweep lr=0.1', '0.1', 2);
    slowId = await makeRun('sweep lr=0.01', '0.01', 4);
    thirdId = await makeRun(XSS_NAME, '0.05', 3);
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('highlights the differing hyperparameter, not the shared one, and can hide equal rows', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}`);
    const lr = page.locator('tr[data-row="Args/lr"]');
    await lr.waitFor();
    const isDiff = (row: typeof lr) => row.evaluate((el) => el.classList.contains('diff'));
    expect(await isDiff(lr)).toBe(true);
    expect(await lr.locator('td').allTextContents()).toEqual(['0.1', '0.01']);
    const batch = page.locator('tr[data-row="Args/batch_size"]');
    expect(await isDiff(batch)).toBe(false);
    expect(await batch.locator('td').allTextContents()).toEqual(['64', '64']);
    expect(await isDiff(page.locator('tr[data-row="Configuration objects/model"]'))).toBe(false);
    // Both tasks in the header, linked to their pages.
    expect(await page.locator('.compare-tasks a.task-name').allTextContents()).toEqual(['sweep lr=0.1', 'sweep lr=0.01']);
    await saveScreenshot(page, 'compare');

    await page.getByLabel('Only differences').check();
    await page.waitForFunction(() => document.querySelector('tr[data-row="Args/batch_size"]') === null);
    expect(await page.locator('tr[data-row="Args/lr"]').count()).toBe(1);
    expect(page.url()).toContain('diffs=1');
  });

  it('overlays scalars: one chart per metric, one series per task × variant', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}&view=scalars`);
    const chart = page.locator('.chart[data-metric="loss"]');
    await chart.locator('canvas').waitFor();
    expect(await chart.getAttribute('data-series-count')).toBe('4');
    const legend = await chart.locator('.u-legend .u-series').allTextContents();
    for (const label of ['sweep lr=0.1 · train', 'sweep lr=0.1 · val', 'sweep lr=0.01 · train', 'sweep lr=0.01 · val']) {
      expect(legend.some((text) => text.includes(label))).toBe(true);
    }
  });

  it('shows the last values of each metric per task', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}&view=metrics&values=last`);
    const train = page.locator('tr[data-metric="loss"][data-variant="train"]');
    await train.waitFor();
    // Last value: scale / 20.
    expect(await train.locator('td[data-kind="last"]').allTextContents()).toEqual(['0.1', '0.2']);
    await page.selectOption('select[aria-label="Metric values"]', 'all');
    await page.locator('tr[data-metric="loss"][data-variant="train"] td[data-kind="max"]').first().waitFor();
    expect(await train.locator('td[data-kind="max"]').allTextContents()).toEqual(['2', '4']);
    expect(page.url()).not.toContain('values=');
  });

  it('draws plots side by side and a scatter of a parameter against a metric', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}&view=plots`);
    const plots = page.locator('[data-plot="confusion/val"] .compare-plot');
    await plots.first().waitFor();
    expect(await plots.count()).toBe(2);
    await page.locator('[data-plot="confusion/val"] .plotly-figure .main-svg').first().waitFor({ timeout: 15_000 });

    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}&view=scatter`);
    const scatter = page.locator('svg.scatter');
    await scatter.waitFor();
    expect(await scatter.getAttribute('data-points')).toBe('2');
    // The default x is the parameter that differs.
    expect(await page.locator('select[aria-label="Hyperparameter (x)"]').inputValue()).toBe('Args/lr');
  });

  it('adds a task found by name; its HTML name stays text', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId},${slowId}`);
    await page.locator('tr[data-row="Args/lr"]').waitFor();
    await page.getByLabel('Add a task by id or name').fill('onerror');
    await page.locator('.compare-add button[type=submit]').click();
    await page.locator('.compare-found button', { hasText: 'Add' }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-row="Args/lr"] td').length === 3);
    expect(page.url()).toContain(thirdId);
    expect(await page.locator('.compare-tasks a.task-name', { hasText: XSS_NAME }).count()).toBe(1);
    expect(await page.locator('main img').count()).toBe(0);
  });

  it('refuses fewer than two tasks with a readable message', async () => {
    await page.goto(`${server.url}/#/compare?ids=${fastId}`);
    const refused = page.locator('.compare-refused');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('Compare needs at least 2 tasks');
    expect(await page.locator('[role=tab]').count()).toBe(0);
  });

  it('ran no script from user data', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
