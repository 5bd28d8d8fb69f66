import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';

const XSS = '<img src=x onerror=alert(1)><script>alert(2)</script>';

const DIFF = `diff --git a/train.py b/train.py
index 3b18e51..a9c4f2d 100644
--- a/train.py
+++ b/train.py
@@ -1,6 +1,7 @@
 import argparse
-LR = 0.1
+LR = 0.01  # smaller steps
+MOMENTUM = 0.9
 
 def main():
     banner = "${XSS}"
     print(banner)
`;

describe.skipIf(!hasChromium)('web UI task details in Chromium', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  let page: Page;
  let projectId: string;
  let otherProjectId: string;
  let queueId: string;
  let runningId: string;
  let finishedId: string;
  let dialogs: string[];
  let pageErrors: string[];

  const log = (task: string, msg: string, timestamp: number, level = 'info') => ({ type: 'log', task, timestamp, level, msg });
  const statusOnPage = () => page.locator('h1 [data-status]').getAttribute('data-status');

  beforeAll(async () => {
    ui = await startWebUi({ page: { acceptDownloads: true } });
    ({ server, api, page, dialogs, pageErrors } = ui);
    projectId = (await api.call('projects.create', { name: 'details/demo' })).id;
    otherProjectId = (await api.call('projects.create', { name: 'details/tuning' })).id;
    queueId = (await api.call('queues.create', { name: 'gpu-e2e' })).id;

    runningId = (await api.call('tasks.create', { name: 'live training run', project: projectId, type: 'training' })).id;
    await api.call('tasks.edit', {
      task: runningId,
      script: {
        repository: 'https://example.com/ml/vision.git',
        branch: 'main',
        version_num: '3b18e51c0ffee',
        entry_point: 'train.py',
        working_dir: '.',
        binary: 'python3',
        requirements: { pip: 'torch==2.3.0\nnumpy' },
        diff: DIFF,
      },
    });
    await api.call('tasks.started', { task: runningId });
    const t0 = Date.now() - 60_000;
    const lines = [log(runningId, 'starting epoch 1', t0), log(runningId, `banner: ${XSS}`, t0 + 1)];
    for (let i = 0; i < 40; i++) lines.push(log(runningId, `step ${i} loss=${(1 / (i + 1)).toFixed(3)}`, t0 + 10 + i));
    lines.push(log(runningId, 'LOSS plateau detected', t0 + 100, 'warning'));
    await api.callJsonLines('events.add_batch', lines);

    finishedId = (await api.call('tasks.create', { name: 'baseline resnet', project: projectId, type: 'training' })).id;
    await api.call('tasks.edit_hyper_params', {
      task: finishedId,
      hyperparams: [
        { section: 'Args', name: 'lr', value: '0.01', type: 'float' },
        { section: 'Args', name: 'epochs', value: '10', type: 'int' },
        { section: 'Args', name: 'banner', value: XSS },
        { section: 'properties', name: 'owner', value: 'vision-team' },
      ],
    });
    await api.call('tasks.edit_configuration', {
      task: finishedId,
      configuration: [{ name: 'model.yaml', type: 'yaml', value: 'layers: 50\nwidth: 64\n' }],
    });
    await api.call('tasks.started', { task: finishedId });
    await api.call('tasks.completed', { task: finishedId });
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('streams a new console line of a running task without a reload, searches the log and downloads it', async () => {
    await page.goto(`${server.url}/#/tasks/${runningId}/console`);
    const consoleBox = page.locator('pre.console');
    await consoleBox.locator('text=step 39 loss=0.025').waitFor();
    // The HTML in a console line is text.
    expect(await consoleBox.textContent()).toContain(`banner: ${XSS}`);
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

    await api.callJsonLines('events.add_batch', [log(runningId, 'epoch 2 started while you watched', Date.now())]);
    await consoleBox.locator('text=epoch 2 started while you watched').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    // Following keeps the newest line in view.
    const atBottom = await consoleBox.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 30);
    expect(atBottom).toBe(true);
    await saveScreenshot(page, 'task-console');

    // Server-side search, in the address, matches highlighted.
    await page.fill('input[aria-label="Search the console"]', 'loss');
    await page.press('input[aria-label="Search the console"]', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('pre.console .log-line').length === 41);
    expect(page.url()).toContain('search=loss');
    expect(await page.locator('.console-summary').textContent()).toContain('41 lines match');
    const marks = await consoleBox.locator('mark').allTextContents();
    expect(marks.length).toBe(41);
    expect(marks.filter((m) => m === 'LOSS')).toHaveLength(1);
    await page.locator('button', { hasText: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('pre.console .log-line').length === 44);

    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button', { hasText: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('live_training_run.log');
    const text = await readFile((await download.path())!, 'utf8');
    expect(text).toContain('starting epoch 1');
    expect(text).toContain('epoch 2 started while you watched');
  });

  it('shows the execution with the diff coloured by line kind, HTML in the diff as text', async () => {
    await page.goto(`${server.url}/#/tasks/${runningId}/execution`);
    const file = page.locator('.diff-file[data-file="train.py"]');
    await file.waitFor();
    expect(await file.locator('tr.diff-add').count()).toBe(2);
    expect(await file.locator('tr.diff-del').count()).toBe(1);
    expect(await file.locator('tr.diff-hunk').textContent()).toBe('@@ -1,6 +1,7 @@');
    expect(await file.locator('tr.diff-del .code-cell').textContent()).toBe('-LR = 0.1');
    // Line numbers: the added lines are 2 and 3 of the new file.
    expect(await file.locator('tr.diff-add td.ln').allTextContents()).toEqual(['', '2', '', '3']);
    expect(await file.locator('tr.diff-add .tok-comment').textContent()).toBe('# smaller steps');
    expect(await file.locator('tr.diff-context', { hasText: 'banner =' }).textContent()).toContain(XSS);
    expect(await page.locator('text=3b18e51c0ffee').count()).toBe(1);
    expect(await page.locator('[data-requirements="pip"] pre').textContent()).toContain('torch==2.3.0');
    await saveScreenshot(page, 'task-execution');
  });

  it('edits a draft\'s requirements in place on the execution tab; a running task\'s are read-only', async () => {
    await page.goto(`${server.url}/#/tasks/${runningId}/execution`);
    await page.locator('[data-requirements="pip"] pre').waitFor();
    expect(await page.locator('[data-requirements] button', { hasText: 'Edit' }).count()).toBe(0);

    const { id } = await api.call('tasks.create', {
      name: 'requirements draft',
      project_name: 'details',
      script: { entry_point: 'train.py', requirements: { pip: 'numpy\npsutil\n', org_pip: 'numpy\n' } },
    });
    await page.goto(`${server.url}/#/tasks/${id}/execution`);
    const pip = page.locator('[data-requirements="pip"]');
    await pip.locator('button[aria-label="Edit pip requirements"]').click();
    await pip.locator('textarea').fill('numpy==1.26.4\npsutil==5.9.8\n');
    await pip.locator('button', { hasText: 'Save' }).click();
    await pip.locator('pre', { hasText: 'numpy==1.26.4' }).waitFor();
    const saved = (await api.call('tasks.get_by_id', { task: id })).task;
    expect(saved.script.requirements).toEqual({ pip: 'numpy==1.26.4\npsutil==5.9.8\n', org_pip: 'numpy\n' });
  });

  it('aborts and resets a running task after confirmations, offering only what the lifecycle allows', async () => {
    await page.goto(`${server.url}/#/tasks/${runningId}/info`);
    await page.locator('h1 .task-name', { hasText: 'live training run' }).waitFor();
    const button = (label: string) => page.locator('.actions button', { hasText: new RegExp(`^${label}$`) });
    expect(await button('Delete').isDisabled()).toBe(true);
    expect(await button('Publish').isDisabled()).toBe(true);
    expect(await button('Enqueue').isDisabled()).toBe(true);
    await button('Abort').click();
    await page.locator('dialog[open] button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('h1 [data-status]')?.getAttribute('data-status') === 'stopped');
    expect((await api.call('tasks.get_by_id', { task: runningId })).task.status).toBe('stopped');
    expect(await button('Publish').isEnabled()).toBe(true);
    expect(await button('Abort').isDisabled()).toBe(true);

    await button('Reset').click();
    expect(await page.locator('dialog[open] .confirm-message').textContent()).toContain('deletes the outputs');
    await page.locator('dialog[open] button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('h1 [data-status]')?.getAttribute('data-status') === 'created');
    expect((await api.call('events.get_task_log', { task: runningId })).total).toBe(0);
    expect(await button('Reset').isDisabled()).toBe(true);
  });

  it('clones through the dialog, edits a hyperparameter in place and enqueues through the queue picker', async () => {
    await page.goto(`${server.url}/#/tasks/${finishedId}/configuration`);
    await page.locator('h1 .task-name', { hasText: 'baseline resnet' }).waitFor();
    // A finished task is read-only here, with the way out.
    await page.locator('.hint.read-only', { hasText: 'clone it' }).waitFor();
    expect(await page.locator('[data-section="Args"] button', { hasText: 'Edit' }).count()).toBe(0);
    expect(await page.locator('[data-section="Args"] tr[data-param="banner"] td').first().textContent()).toBe(XSS);
    expect(await page.locator('[data-section="properties"] tr[data-param="owner"] td').first().textContent()).toBe('vision-team');
    expect(await page.locator('button', { hasText: 'Enqueue' }).isDisabled()).toBe(true);

    await page.locator('.actions button', { hasText: 'Clone' }).click();
    const cloneDialog = page.locator('dialog[open]');
    expect(await cloneDialog.locator('input[name="name"]').inputValue()).toBe('Clone of baseline resnet');
    await cloneDialog.locator('input[name="name"]').fill('baseline resnet, lr sweep');
    await cloneDialog.locator('select[name="project"] option', { hasText: 'details/tuning' }).waitFor({ state: 'attached' });
    await cloneDialog.locator('select[name="project"]').selectOption(otherProjectId);
    await cloneDialog.locator('button[type="submit"]').click();
    await page.locator('h1 .task-name', { hasText: 'baseline resnet, lr sweep' }).waitFor();
    expect(await statusOnPage()).toBe('created');
    const cloneId = /#\/tasks\/([^/]+)\/configuration/.exec(page.url())![1]!;
    expect(cloneId).not.toBe(finishedId);
    expect((await api.call('tasks.get_by_id', { task: cloneId })).task.project).toBe(otherProjectId);

    // Edit in place: change lr, delete epochs, add momentum; Save.
    const args = page.locator('[data-section="Args"]');
    await args.locator('button', { hasText: 'Edit' }).click();
    await args.locator('input[aria-label="Value of lr"]').fill('0.05');
    await args.locator('button[aria-label="Delete epochs"]').click();
    await args.locator('input[aria-label="New parameter name in Args"]').fill('momentum');
    await args.locator('input[aria-label="New parameter value in Args"]').fill('0.9');
    await args.locator('input[aria-label="New parameter value in Args"]').press('Enter');
    await args.locator('tr[data-param="momentum"]').waitFor();
    await saveScreenshot(page, 'task-configuration');
    await args.locator('button', { hasText: 'Save' }).click();
    await args.locator('tr[data-param="lr"] td', { hasText: '0.05' }).waitFor();
    expect(await args.locator('tr[data-param="epochs"]').count()).toBe(0);
    // Cancel leaves the values as they were.
    await args.locator('button', { hasText: 'Edit' }).click();
    await args.locator('input[aria-label="Value of lr"]').fill('99');
    await args.locator('button', { hasText: 'Cancel' }).click();
    await args.locator('tr[data-param="lr"] td', { hasText: '0.05' }).waitFor();

    // A configuration object's text, edited in place.
    const config = page.locator('[data-config="model.yaml"]');
    await config.locator('button', { hasText: 'Edit' }).click();
    await config.locator('textarea').fill('layers: 101\nwidth: 64\n');
    await config.locator('button', { hasText: 'Save' }).click();
    await config.locator('pre', { hasText: 'layers: 101' }).waitFor();

    let saved = (await api.call('tasks.get_by_id', { task: cloneId })).task;
    expect(saved.hyperparams.Args?.lr).toMatchObject({ value: '0.05', type: 'float' });
    expect(saved.hyperparams.Args?.momentum?.value).toBe('0.9');
    expect(saved.hyperparams.Args?.epochs).toBeUndefined();
    expect(saved.configuration['model.yaml']?.value).toBe('layers: 101\nwidth: 64\n');

    // Enqueue through the queue picker.
    await page.locator('.actions button', { hasText: 'Enqueue' }).click();
    const enqueueDialog = page.locator('dialog[open]');
    await enqueueDialog.locator('select[aria-label="Queue"] option', { hasText: 'gpu-e2e' }).waitFor({ state: 'attached' });
    await enqueueDialog.locator('select[aria-label="Queue"]').selectOption(queueId);
    await enqueueDialog.locator('button[type="submit"]').click();
    await page.waitForFunction(() => document.querySelector('h1 [data-status]')?.getAttribute('data-status') === 'queued');
    expect(await page.locator('dialog[open]').count()).toBe(0);
    saved = (await api.call('tasks.get_by_id', { task: cloneId })).task;
    expect(saved.status).toBe('queued');
    expect(saved.execution.queue).toBe(queueId);
    expect(saved.hyperparams.Args?.lr?.value).toBe('0.05');
    // Queued: read-only now, dequeue offered.
    await page.locator('.hint.read-only').waitFor();
    expect(await page.locator('button', { hasText: 'Dequeue' }).isEnabled()).toBe(true);
    await page.locator('button', { hasText: 'Dequeue' }).click();
    await page.waitForFunction(() => document.querySelector('h1 [data-status]')?.getAttribute('data-status') === 'created');
    expect((await api.call('tasks.get_by_id', { task: cloneId })).task.status).toBe('created');

    // Info links the parent it was cloned from, by name.
    await page.locator('[role=tab]', { hasText: 'Info' }).click();
    const parentLink = page.locator(`.info a[href="#/tasks/${finishedId}/info"]`);
    await parentLink.locator('text=baseline resnet').waitFor();
    expect(await page.locator('.info dd', { hasText: 'dequeued' }).count()).toBe(1);
    await parentLink.click();
    await page.locator('h1 .task-name', { hasText: /^baseline resnet$/ }).waitFor();
  });

  it('shows a server refusal as a readable message', async () => {
    const id = (await api.call('tasks.create', { name: 'started elsewhere', project: projectId })).id;
    await page.goto(`${server.url}/#/tasks/${id}/info`);
    await page.locator('h1 .task-name', { hasText: 'started elsewhere' }).waitFor();
    // The task moves on behind the page's back; the page still offers Enqueue, and the server says no.
    await api.call('tasks.started', { task: id });
    await api.call('tasks.completed', { task: id });
    await page.locator('.actions button', { hasText: 'Enqueue' }).click();
    await page.locator('dialog[open] select[aria-label="Queue"] option', { hasText: 'gpu-e2e' }).waitFor({ state: 'attached' });
    await page.locator('dialog[open] select[aria-label="Queue"]').selectOption(queueId);
    await page.locator('dialog[open] button[type="submit"]').click();
    const alert = page.locator('dialog[open] [role=alert]');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^Cannot enqueue task \w+: its status is "completed"/);
    await page.locator('dialog[open] button', { hasText: 'Cancel' }).click();
  });

  it('adds and removes tags, archives and restores', async () => {
    await page.goto(`${server.url}/#/tasks/${finishedId}/info`);
    await page.locator('h1 .task-name', { hasText: 'baseline resnet' }).waitFor();
    for (const tag of ['baseline', XSS]) {
      await page.locator('button', { hasText: '+ Add tag' }).click();
      await page.fill('input[aria-label="New tag"]', tag);
      await page.press('input[aria-label="New tag"]', 'Enter');
      await page.locator('.tag', { hasText: tag }).waitFor();
    }
    expect((await api.call('tasks.get_by_id', { task: finishedId })).task.tags).toEqual([XSS, 'baseline'].sort());
    await page.locator('button[aria-label="Remove tag baseline"]').click();
    await page.waitForFunction(() => document.querySelectorAll('.task-tags .tag').length === 1);
    expect((await api.call('tasks.get_by_id', { task: finishedId })).task.tags).toEqual([XSS]);

    await page.locator('.actions button', { hasText: 'Archive' }).click();
    await page.locator('.archived-badge').waitFor();
    expect((await api.call('tasks.get_by_id', { task: finishedId })).task.system_tags).toContain('archived');
    await page.locator('.actions button', { hasText: 'Restore' }).click();
    await page.locator('.actions button', { hasText: 'Archive' }).waitFor();
    expect((await api.call('tasks.get_by_id', { task: finishedId })).task.system_tags).not.toContain('archived');
  });

  it('deletes a task after confirmation and goes back to its project', async () => {
    const id = (await api.call('tasks.create', { name: 'scratch run', project: projectId })).id;
    await page.goto(`${server.url}/#/tasks/${id}/info`);
    await page.locator('h1 .task-name', { hasText: 'scratch run' }).waitFor();
    // Cancel first: nothing happens.
    await page.locator('.actions button', { hasText: 'Delete' }).click();
    await page.locator('dialog[open] button', { hasText: 'Cancel' }).click();
    expect((await api.call('tasks.get_by_id', { task: id })).task.name).toBe('scratch run');

    await page.locator('.actions button', { hasText: 'Delete' }).click();
    expect(await page.locator('dialog[open] .confirm-message').textContent()).toContain('cannot be undone');
    await page.locator('dialog[open] button[type="submit"]').click();
    await page.waitForURL((url) => url.hash === `#/projects/${projectId}/tasks`);
    await expect(api.call('tasks.get_by_id', { task: id })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
  });

  it('ran no script from user data and raised no page errors', async () => {
    expect(await page.locator('main img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
