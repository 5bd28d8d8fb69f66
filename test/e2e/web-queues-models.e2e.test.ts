import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, saveScreenshot, startWebUi, type WebUi } from '../support/web-ui.js';

const XSS_MODEL = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const WORKER = 'gpu-box-01:0';

describe.skipIf(!hasChromium)('queues, workers and models pages in Chromium', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  let page: Page;
  let defaultQueue: string;
  let gpuQueue: string;
  let queued: string[];
  let runningId: string;
  let trainerId: string;
  let userId: string;
  let resnetModel: string;
  let dialogs: string[];
  let pageErrors: string[];

  beforeAll(async () => {
    ui = await startWebUi();
    ({ server, api, page, dialogs, pageErrors } = ui);
    defaultQueue = (await api.call('queues.get_default', {})).id;
    gpuQueue = (await api.call('queues.create', { name: 'gpu' })).id;
    const project = (await api.call('projects.create', { name: 'vision/detect' })).id;

    queued = [];
    for (const name of ['queued first', 'queued second', 'queued third']) {
      const { id } = await api.call('tasks.create', { name, project });
      await api.call('tasks.enqueue', { task: id });
      queued.push(id);
    }
    runningId = (await api.call('tasks.create', { name: 'running on the box', project })).id;
    await api.call('tasks.started', { task: runningId });
    await api.call('workers.register', { worker: WORKER, queues: [defaultQueue, gpuQueue] });
    // Machine stats as ClearML's agent reports them (per core and device in %, memory in MiB).
    await api.call('workers.status_report', {
      worker: WORKER,
      timestamp: Date.now(),
      task: runningId,
      queues: [defaultQueue, gpuQueue],
      machine_stats: { cpu_usage: [10, 20], memory_used: 3276.8, memory_free: 12697.6, gpu_usage: [87] },
    });

    trainerId = (await api.call('tasks.create', { name: 'train detector', project })).id;
    resnetModel = (
      await api.call('models.create', {
        name: 'detector resnet',
        uri: `${server.url}/files/models/detector.pt`,
        framework: 'PyTorch',
        project,
        task: trainerId,
        labels: { background: 0, car: 1 },
        design: { layers: 50 },
        metadata: [{ key: 'accuracy', type: 'float', value: '0.93' }],
        tags: ['best'],
      })
    ).id;
    await api.call('models.create', { name: 'detector onnx', uri: 's3://bucket/detector.onnx', framework: 'ONNX', project });
    await api.call('models.create', { name: XSS_MODEL, uri: 'file:///tmp/x.pt', framework: 'PyTorch', project });
    userId = (await api.call('tasks.create', { name: 'fine-tune detector', project })).id;
    await api.call('tasks.add_or_update_model', { task: userId, name: 'init', model: resnetModel, type: 'input' });
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  const entryNames = () => page.locator('.queue-entries tr[data-entry] a.task-name').allTextContents();
  const serverOrder = async (queue: string) => (await api.call('queues.get_by_id', { queue })).queue.entries.map((e) => e.task);

  it('lists the queued tasks in order and the worker with what it runs', async () => {
    await page.goto(`${server.url}/#/queues`);
    await page.locator('.queue-entries tr[data-entry]').first().waitFor();
    expect(await entryNames()).toEqual(['queued first', 'queued second', 'queued third']);
    expect(await page.locator('tr[data-queue="default"] td').nth(1).textContent()).toBe('3');

    const worker = page.locator(`tr[data-worker="${WORKER}"]`);
    await worker.waitFor();
    const link = worker.locator('a.task-name');
    expect(await link.textContent()).toBe('running on the box');
    expect(await link.getAttribute('href')).toBe(`#/tasks/${runningId}/console`);
    expect(await worker.locator('td').nth(2).textContent()).toBe('default, gpu');
    expect(await worker.locator('td').nth(3).textContent()).toBe('CPU 15% · memory 3.2 / 15.6 GiB · GPU 87%');
    expect(await worker.locator('td').nth(4).textContent()).toMatch(/ s ago$/);
    await saveScreenshot(page, 'queues');
  });

  it('moves a task to the front, and the server agrees', async () => {
    await page.getByRole('button', { name: 'Move queued third to the top' }).click();
    await page.waitForFunction(() => document.querySelector('.queue-entries tr[data-entry] a.task-name')?.textContent === 'queued third');
    expect(await entryNames()).toEqual(['queued third', 'queued first', 'queued second']);
    expect(await serverOrder(defaultQueue)).toEqual([queued[2], queued[0], queued[1]]);
    await page.getByRole('button', { name: 'Move queued third down' }).click();
    await page.waitForFunction(() => document.querySelector('.queue-entries tr[data-entry] a.task-name')?.textContent === 'queued first');
    expect(await serverOrder(defaultQueue)).toEqual([queued[0], queued[2], queued[1]]);
  });

  it('removes a task from the queue (dequeue: back to draft)', async () => {
    await page.getByRole('button', { name: 'Remove queued first from the queue' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.queue-entries tr[data-entry]').length === 2);
    expect(await serverOrder(defaultQueue)).toEqual([queued[2], queued[1]]);
    const { tasks } = await api.call('tasks.get_all', { id: [queued[0]!], only_fields: ['status'] });
    expect(tasks[0]?.status).toBe('created');
  });

  it('moves a task to another queue; it stays pending', async () => {
    await page.locator(`tr[data-entry="${queued[1]}"] button`, { hasText: 'Move to…' }).click();
    await page.selectOption('select[aria-label="Target queue"]', gpuQueue);
    await page.locator('dialog button[type=submit]').click();
    await page.waitForFunction(() => document.querySelectorAll('.queue-entries tr[data-entry]').length === 1);
    expect(await serverOrder(gpuQueue)).toEqual([queued[1]]);
    const { tasks } = await api.call('tasks.get_all', { id: [queued[1]!], only_fields: ['status'] });
    expect(tasks[0]?.status).toBe('queued');
  });

  it('filters the models table by framework, in the address; an HTML name is text', async () => {
    await page.goto(`${server.url}/#/models`);
    await page.locator('tr[data-model]').first().waitFor();
    expect(await page.locator('tr[data-model]').count()).toBe(3);
    expect(await page.locator('a.model-name', { hasText: XSS_MODEL }).count()).toBe(1);
    expect(await page.locator('main img, main script').count()).toBe(0);
    await saveScreenshot(page, 'models');

    await page.selectOption('select[aria-label="Filter by framework"]', 'ONNX');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-model]').length === 1);
    expect(await page.locator('a.model-name').allTextContents()).toEqual(['detector onnx']);
    expect(page.url()).toContain('framework=ONNX');

    await page.selectOption('select[aria-label="Filter by framework"]', 'PyTorch');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-model]').length === 2);
    await page.selectOption('select[aria-label="Filter by status"]', 'false');
    await page.getByLabel('Search models').fill('resnet');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-model]').length === 1);
    expect(await page.locator('a.model-name').allTextContents()).toEqual(['detector resnet']);
  });

  it('shows a model with a link to the task that made it and the tasks that use it', async () => {
    await page.locator('a.model-name', { hasText: 'detector resnet' }).click();
    await page.locator('h1 .model-name', { hasText: 'detector resnet' }).waitFor();
    expect(page.url()).toContain(`#/models/${resnetModel}`);
    const creator = page.locator('a.model-task');
    expect(await creator.textContent()).toBe('train detector');
    expect(await creator.getAttribute('href')).toBe(`#/tasks/${trainerId}/info`);
    expect(await page.locator('a.model-download').getAttribute('href')).toBe(`${server.url}/files/models/detector.pt`);
    expect(await page.locator('.model-labels td').allTextContents()).toEqual(['background', '0', 'car', '1']);
    expect(await page.locator('.model-metadata td').allTextContents()).toEqual(['accuracy', 'float', '0.93']);
    expect(await page.locator(`.model-users li[data-task="${userId}"] a`).textContent()).toBe('fine-tune detector');
    await creator.click();
    await page.waitForFunction((id) => window.location.hash.startsWith(`#/tasks/${id}`), trainerId);
  });

  it('ran no script from user data', () => {
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
