import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';

const SCRIPT_TAG = '<script>window.__pwned = 1</script>';

/** The projects page and the tasks table: server-side counts, columns, sort, filters, bulk actions, compare. */
describe.skipIf(!hasChromium)('web UI: projects and tasks table in Chromium', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  let page: Page;
  let projectId: string;
  const ids: Record<string, string> = {};
  let dialogs: string[];
  let pageErrors: string[];

  async function makeTask(name: string, fields: { type?: 'training' | 'testing'; lr?: string; tags?: string[]; loss?: number; parent?: string }) {
    const { id } = await api.call('tasks.create', {
      name,
      project: projectId,
      type: fields.type ?? 'training',
      tags: fields.tags ?? [],
      ...(fields.parent ? { parent: fields.parent } : {}),
      ...(fields.lr ? { hyperparams: { Args: { lr: { section: 'Args', name: 'lr', value: fields.lr } } } } : {}),
    });
    if (fields.loss !== undefined) {
      await api.call('tasks.started', { task: id });
      const t0 = Date.now();
      await api.callJsonLines('events.add_batch', [
        { type: 'training_stats_scalar', task: id, timestamp: t0, iter: 0, metric: 'loss', variant: 'val', value: 9 },
        { type: 'training_stats_scalar', task: id, timestamp: t0 + 1, iter: 7, metric: 'loss', variant: 'val', value: fields.loss },
      ]);
      await api.call('tasks.completed', { task: id });
    }
    ids[name] = id;
  }

  /** Names in the table, top to bottom, once the table is settled with `count` rows. */
  async function names(count: number): Promise<string[]> {
    await page.waitForFunction(
      (n) => document.querySelectorAll('tr[data-task]').length === n && !document.querySelector('table[aria-busy="true"]'),
      count,
    );
    return page.locator('tr[data-task] a.task-name').allTextContents();
  }

  /** Waits until the table shows exactly these names in this order (a re-sort keeps the old rows until it lands). */
  async function expectNames(expected: string[]): Promise<void> {
    await page
      .waitForFunction(
        (want) =>
          !document.querySelector('table[aria-busy="true"]') &&
          JSON.stringify([...document.querySelectorAll('tr[data-task] a.task-name')].map((a) => a.textContent)) === want,
        JSON.stringify(expected),
        { timeout: 10_000 },
      )
      .catch(() => undefined);
    expect(await page.locator('tr[data-task] a.task-name').allTextContents()).toEqual(expected);
  }

  beforeAll(async () => {
    ui = await startWebUi();
    ({ server, api, page, dialogs, pageErrors } = ui);
    projectId = (await api.call('projects.create', { name: 'tables/alpha' })).id;
    await makeTask('alpha one', { lr: '0.1', tags: ['best'], loss: 0.5 });
    await makeTask('alpha two', { type: 'testing', lr: '0.02', tags: [SCRIPT_TAG], loss: 0.25 });
    await makeTask('alpha three', { parent: ids['alpha one'] });
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('shows server-side counts and creates and renames projects in dialogs, errors readable', async () => {
    await page.goto(`${server.url}/#/projects`);
    const tables = page.locator('tr[data-project="tables"]');
    await tables.waitFor();
    expect(await tables.locator('td').nth(1).textContent()).toBe('0');
    expect(await tables.locator('td').nth(2).textContent()).toBe('3');
    expect(await page.locator('tr[data-project="tables/alpha"] td').nth(1).textContent()).toBe('3');

    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('input').fill('ab');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.locator('.error', { hasText: 'at least 3 characters' }).waitFor();
    await dialog.locator('input').fill('tables/made in ui');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.locator('tr[data-project="tables/made in ui"]').waitFor();

    await page.getByRole('button', { name: 'Rename tables/made in ui' }).click();
    await page.locator('dialog[open] input').fill('tables/renamed in ui');
    await page.locator('dialog[open]').getByRole('button', { name: 'Rename' }).click();
    await page.locator('tr[data-project="tables/renamed in ui"]').waitFor();
    expect(await page.locator('tr[data-project="tables/made in ui"]').count()).toBe(0);
    const { projects } = await api.call('projects.get_all', { name: '^tables/renamed in ui$' });
    expect(projects).toHaveLength(1);
  });

  it('adds a hyperparameter and a metric column, sorts by them and filters by type and tag', async () => {
    await page.goto(`${server.url}/#/projects/${projectId}/tasks`);
    expect(await names(3)).toHaveLength(3);
    await page.getByRole('button', { name: 'Columns…' }).click();
    await page.locator('dialog[open] label', { hasText: 'Args/lr' }).locator('input').check();
    await page.locator('dialog[open] label', { hasText: 'loss/val (last)' }).locator('input').check();
    await page.locator('dialog[open]').getByRole('button', { name: 'Apply' }).click();
    await page.locator('th[data-column="hp:Args/lr"]').waitFor();
    expect(decodeURIComponent(page.url())).toContain('hp=Args/lr');
    expect(decodeURIComponent(page.url())).toContain('metric=loss/val');

    const row = (name: string) => page.locator(`tr[data-task="${ids[name]}"]`);
    await row('alpha one').locator('td[data-column="metric:loss/val"]', { hasText: /\d/ }).waitFor();
    expect(await row('alpha one').locator('td[data-column="hp:Args/lr"]').textContent()).toBe('0.1');
    expect(await row('alpha one').locator('td[data-column="metric:loss/val"]').textContent()).toBe('0.5');
    expect(await row('alpha two').locator('td[data-column="metric:loss/val"]').textContent()).toBe('0.25');
    expect(await row('alpha three').locator('td[data-column="parent"]').textContent()).toBe('alpha one');
    expect(await row('alpha one').locator('td[data-column="last_iteration"]').textContent()).toBe('7');
    // A tag holding markup is text: no script element, nothing ran.
    expect(await page.locator('.tag', { hasText: SCRIPT_TAG }).count()).toBe(1);
    expect(await page.evaluate(() => document.querySelectorAll('main script').length)).toBe(0);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();
    await saveScreenshot(page, 'tasks-table');

    await page.locator('th[data-column="hp:Args/lr"] button').click();
    await expectNames(['alpha two', 'alpha one', 'alpha three']);
    await page.locator('th[data-column="hp:Args/lr"] button').click();
    await expectNames(['alpha one', 'alpha two', 'alpha three']);
    await page.locator('th[data-column="metric:loss/val"] button').click();
    await expectNames(['alpha two', 'alpha one', 'alpha three']);
    expect(page.url()).toContain('order=last_metrics.');

    await page.selectOption('select[aria-label="Filter by type"]', 'testing');
    await expectNames(['alpha two']);
    await page.selectOption('select[aria-label="Filter by type"]', '');
    await names(3);
    await page.selectOption('select[aria-label="Filter by tag"]', 'best');
    await expectNames(['alpha one']);
    expect(page.url()).toContain('tag=best');
    // The columns stay through the filters (they live in the address).
    expect(await page.locator('th[data-column="metric:loss/val"]').count()).toBe(1);
  });

  it('selects tasks to compare, archives them out of the table and finds them in the archive', async () => {
    await page.goto(`${server.url}/#/projects/${projectId}/tasks`);
    await names(3);
    await page.getByRole('checkbox', { name: 'Select alpha one' }).check();
    await page.getByRole('checkbox', { name: 'Select alpha two' }).check();
    await page.getByRole('button', { name: 'Compare (2)' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/compare'));
    const compareIds = new URL(page.url().replace('#/', '')).searchParams.get('ids')?.split(',');
    expect(compareIds?.sort()).toEqual([ids['alpha one'], ids['alpha two']].sort());

    await page.goto(`${server.url}/#/projects/${projectId}/tasks`);
    await names(3);
    await page.getByRole('checkbox', { name: 'Select alpha two' }).check();
    // Lifecycle: a completed task can be reset but not aborted.
    expect(await page.getByRole('button', { name: 'Abort (0)' }).isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Reset (1)' }).isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Archive (1)' }).click();
    await page.locator('.bulk-outcome', { hasText: 'Archived 1 of 1 task(s).' }).waitFor();
    await expectNames(['alpha three', 'alpha one']);

    await page.getByRole('checkbox', { name: 'Show archived' }).check();
    await expectNames(['alpha two']);
    expect(page.url()).toContain('archived=1');
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
