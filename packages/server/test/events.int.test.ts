import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeTask, tick, withoutId } from './support/factories.js';
import { httpRequest } from './support/http-request.js';
import { rawCall, startTestServer, type TestServer } from './support/test-server.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const T0 = 1_700_000_000_000;

describe('events over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  /** Sends events as ClearML's SDK does: one JSON object per line, Content-Type application/json-lines. */
  function addBatch(events: readonly unknown[], headers: Record<string, string> = {}) {
    return rawCall(server.url, '/events.add_batch', {
      body: events.map((e) => JSON.stringify(e)).join('\n'),
      headers: { 'content-type': 'application/json-lines', ...headers },
    });
  }

  async function addOk(events: readonly unknown[]) {
    const { status, json } = await addBatch(events);
    expect({ status, data: json.data }).toEqual({ status: 200, data: { added: events.length, errors: 0, errors_info: {} } });
  }

  const scalar = (task: string, iter: number, value: number, metric = 'loss', variant = 'train') => ({
    type: 'training_stats_scalar',
    task,
    timestamp: T0 + iter,
    iter,
    metric,
    variant,
    value,
  });

  const logTotal = async (task: string) => (await api.call('events.get_task_log', { task })).total;
  const eventTotal = async (task: string) => (await api.call('events.get_task_events', { task })).total;
  const histogram = (task: string) => api.call('events.scalar_metrics_iter_histogram', { task });
  const lastMetrics = async (task: string, metric = 'loss', variant = 'train') =>
    (await getTask(api, task)).last_metrics[md5(metric)]?.[md5(variant)];

  describe('add_batch', () => {
    it('stores the five event types sent as JSON lines, and reads each back in ClearML shapes', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const { status, json } = await addBatch(
        [
          { type: 'log', task, timestamp: T0, level: 'INFO', worker: 'box-1', msg: 'epoch 1', method: 'get' },
          { type: 'log', task, ts: T0 + 1, level: 'error', msg: 'oops', id: 'client-line-2', allow_locked: false, model_event: false },
          { ...scalar(task, 0, 1.5), timestamp: T0 + 2, method: 'get' },
          { ...scalar(task, 1, 0.5), timestamp: T0 + 3 },
          { ...scalar(task, 1, 0.75, 'loss', 'val'), timestamp: T0 + 4 },
          { type: 'training_stats_vector', task, timestamp: T0 + 5, iter: 1, metric: 'weights', variant: 'layer1', values: [1, 2, 3] },
          {
            type: 'training_debug_image',
            task,
            timestamp: T0 + 6,
            iter: 1,
            metric: 'samples',
            variant: 'input',
            key: 'k/img.png',
            url: 'http://files/k/img.png',
          },
          { type: 'plot', task, timestamp: T0 + 7, iter: 1, metric: 'roc', variant: 'class 1', plot_str: '{"data":[],"layout":{}}' },
        ],
        { 'X-ClearML-Worker': 'header-box' },
      );
      expect(status).toBe(200);
      expect(json.data).toEqual({ added: 8, errors: 0, errors_info: {} });

      expect(await api.call('events.get_task_log', { task, navigate_earlier: false })).toEqual({
        events: [
          { type: 'log', task, id: expect.stringMatching(/^[0-9a-f]{32}$/), timestamp: T0, level: 'info', worker: 'box-1', msg: 'epoch 1' },
          { type: 'log', task, id: 'client-line-2', timestamp: T0 + 1, level: 'error', worker: 'header-box', msg: 'oops' },
        ],
        returned: 2,
        total: 2,
      });

      const all = await api.call('events.get_task_events', { task });
      expect(all).toMatchObject({ returned: 8, total: 8, scroll_id: expect.any(String) });
      expect(all.events.slice(2)).toEqual([
        { type: 'training_stats_scalar', task, id: md5(`${task}-0-loss-train`), timestamp: T0 + 2, iter: 0, metric: 'loss', variant: 'train', value: 1.5 },
        { type: 'training_stats_scalar', task, id: md5(`${task}-1-loss-train`), timestamp: T0 + 3, iter: 1, metric: 'loss', variant: 'train', value: 0.5 },
        { type: 'training_stats_scalar', task, id: md5(`${task}-1-loss-val`), timestamp: T0 + 4, iter: 1, metric: 'loss', variant: 'val', value: 0.75 },
        {
          type: 'training_stats_vector',
          task,
          id: md5(`${task}-1-weights-layer1`),
          timestamp: T0 + 5,
          iter: 1,
          metric: 'weights',
          variant: 'layer1',
          value: [1, 2, 3],
          worker: 'header-box',
        },
        {
          type: 'training_debug_image',
          task,
          id: md5(`${task}-1-samples-input-k/img.png`),
          timestamp: T0 + 6,
          iter: 1,
          metric: 'samples',
          variant: 'input',
          key: 'k/img.png',
          url: 'http://files/k/img.png',
          worker: 'header-box',
        },
        {
          type: 'plot',
          task,
          id: md5(`${task}-1-roc-class 1`),
          timestamp: T0 + 7,
          iter: 1,
          metric: 'roc',
          variant: 'class 1',
          plot_str: '{"data":[],"layout":{}}',
          worker: 'header-box',
        },
      ]);
      expect(all.events.slice(0, 2).map((e) => e.msg)).toEqual(['epoch 1', 'oops']);

      expect(await api.call('events.get_scalar_metrics_and_variants', { task })).toEqual({ metrics: { loss: ['train', 'val'] } });
      expect(await histogram(task)).toEqual({
        loss: { train: { name: 'train', x: [0, 1], y: [1.5, 0.5] }, val: { name: 'val', x: [1], y: [0.75] } },
      });
      expect(await api.call('events.scalar_metrics_iter_histogram', { task, key: 'timestamp' })).toEqual({
        loss: { train: { name: 'train', x: [T0 + 2, T0 + 3], y: [1.5, 0.5] }, val: { name: 'val', x: [T0 + 4], y: [0.75] } },
      });
      const iso = await api.call('events.scalar_metrics_iter_histogram', { task, key: 'iso_time', metrics: [{ metric: 'loss', variants: ['val'] }] });
      expect(iso).toEqual({ loss: { val: { name: 'val', x: [new Date(T0 + 4).toISOString()], y: [0.75] } } });

      const saved = await getTask(api, task);
      expect(saved.last_iteration).toBe(1);
      expect(await api.call('events.get_task_latest_scalar_values', { task })).toEqual({
        metrics: [
          {
            name: 'loss',
            variants: [
              { name: 'train', last_value: 0.5, last_10_value: 1 },
              { name: 'val', last_value: 0.75, last_10_value: 0.75 },
            ],
          },
        ],
        last_iter: 1,
        name: saved.name,
        status: 'in_progress',
        last_timestamp: T0 + 4,
      });
    });

    it('takes the batch as ClearML\'s SDK sends it: GET /v2.23/events.add_batch with a JSON-lines body', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const body = [
        { timestamp: T0, type: 'log', task, level: 'info', worker: 'host', msg: 'hello', allow_locked: false, model_event: false, method: 'get' },
        { ...scalar(task, 3, 0.25), allow_locked: false, model_event: false, method: 'get' },
      ]
        .map((e) => JSON.stringify(e))
        .join('\n');
      const reply = await httpRequest(server.url, '/v2.23/events.add_batch', {
        method: 'GET',
        body,
        headers: { 'Content-Type': 'application/json-lines', 'X-ClearML-Worker': 'host' },
      });
      expect({ status: reply.status, data: reply.json.data }).toEqual({ status: 200, data: { added: 2, errors: 0, errors_info: {} } });
      expect((await api.call('events.get_task_log', { task })).events).toEqual([
        { type: 'log', task, id: expect.any(String), timestamp: T0, level: 'info', worker: 'host', msg: 'hello' },
      ]);
      expect(await lastMetrics(task)).toMatchObject({ value: 0.25, count: 1 });
      expect((await getTask(api, task)).last_iteration).toBe(3);
    });

    it('takes a JSON array body too (the typed client), and fills a missing timestamp with the time of arrival', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const before = Date.now();
      const reply = await api.call('events.add_batch', [
        { type: 'log', task, msg: 'no time given' },
        { type: 'training_stats_scalar', task, metric: 'acc', variant: 'val', value: 0.9 },
      ]);
      const after = Date.now();
      expect(reply).toEqual({ added: 2, errors: 0, errors_info: {} });
      const [line] = (await api.call('events.get_task_log', { task })).events;
      expect(line).toMatchObject({ msg: 'no time given', level: 'info', worker: null });
      expect(line!.timestamp).toBeGreaterThanOrEqual(before);
      expect(line!.timestamp).toBeLessThanOrEqual(after);
      // A scalar without an iteration is stored at iteration 0; it does not move last_iteration.
      expect(await histogram(task)).toEqual({ acc: { val: { name: 'val', x: [0], y: [0.9] } } });
      expect((await getTask(api, task)).last_iteration).toBe(0);
    });

    it('stores nothing twice when the same batch is sent again (scalars, plots, samples by identity; lines by id)', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const batch = [
        { type: 'log', task, timestamp: T0, msg: 'line a', id: 'sdk-1' },
        { type: 'log', task, timestamp: T0 + 1, msg: 'line b', id: 'sdk-2' },
        scalar(task, 0, 3),
        scalar(task, 1, 2),
        scalar(task, 2, 1),
        { type: 'plot', task, timestamp: T0, iter: 2, metric: 'cm', variant: 'v', plot_str: '{}' },
        { type: 'training_debug_image', task, timestamp: T0, iter: 2, metric: 'img', variant: 'v', key: 'a.png', url: 'u' },
      ];
      await addOk(batch);
      const task1 = await getTask(api, task);
      await addOk(batch);

      expect(await logTotal(task)).toBe(2);
      expect(await eventTotal(task)).toBe(7);
      expect(await histogram(task)).toEqual({ loss: { train: { name: 'train', x: [0, 1, 2], y: [3, 2, 1] } } });
      expect((await getTask(api, task)).last_metrics).toEqual(task1.last_metrics);
      expect(await lastMetrics(task)).toMatchObject({ count: 3, mean_value: 2 });

      // Lines without an id get a fresh one each time, as in ClearML: sent twice, stored twice.
      await addOk([{ type: 'log', task, timestamp: T0 + 2, msg: 'no id' }]);
      await addOk([{ type: 'log', task, timestamp: T0 + 2, msg: 'no id' }]);
      expect(await logTotal(task)).toBe(4);
    });

    it('keeps last_metrics (value, min, max, first, mean, count) and last_iteration current, through overwrites', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const before = (await getTask(api, task)).last_update;
      await tick();
      await addOk([5, 3, 8, 3, 6].map((v, i) => ({ ...scalar(task, i, v), x_axis_label: 'step' })));
      const afterFirst = await getTask(api, task);
      expect(afterFirst.last_update > before).toBe(true);
      expect(afterFirst.last_iteration).toBe(4);
      expect(await lastMetrics(task)).toEqual({
        metric: 'loss',
        variant: 'train',
        value: 6,
        min_value: 3,
        min_value_iteration: 1,
        max_value: 8,
        max_value_iteration: 2,
        first_value: 5,
        first_value_iteration: 0,
        mean_value: 5,
        count: 5,
        x_axis_label: 'step',
      });

      // Later iterations (a training loop) and the resource monitor, whose iterations are seconds.
      await addOk([scalar(task, 6, 9), scalar(task, 5, 2), scalar(task, 1000, 42, ':monitor:machine', 'cpu_usage')]);
      expect((await getTask(api, task)).last_iteration).toBe(6);
      expect(await lastMetrics(task)).toMatchObject({
        value: 9,
        min_value: 2,
        min_value_iteration: 5,
        max_value: 9,
        max_value_iteration: 6,
        first_value: 5,
        count: 7,
        x_axis_label: 'step',
      });
      expect((await lastMetrics(task))!.mean_value).toBeCloseTo(36 / 7, 12);
      expect(await lastMetrics(task, ':monitor:machine', 'cpu_usage')).toMatchObject({ value: 42, count: 1 });

      // Overwrites of stored iterations (6 and 2): counted once, min/max/last/mean follow the new values.
      await addOk([scalar(task, 6, 1), scalar(task, 2, 4)]);
      const values = [5, 3, 4, 3, 6, 2, 1];
      expect(await lastMetrics(task)).toMatchObject({
        value: 1,
        min_value: 1,
        min_value_iteration: 6,
        max_value: 6,
        max_value_iteration: 4,
        first_value: 5,
        first_value_iteration: 0,
        count: 7,
      });
      expect((await lastMetrics(task))!.mean_value).toBeCloseTo(values.reduce((a, b) => a + b) / 7, 12);

      // An iteration before the first one.
      await addOk([scalar(task, -1, 10)]);
      expect(await lastMetrics(task)).toMatchObject({
        value: 1,
        first_value: 10,
        first_value_iteration: -1,
        max_value: 10,
        max_value_iteration: -1,
        count: 8,
      });
      expect((await getTask(api, task)).last_iteration).toBe(6);
      expect(await histogram(task)).toMatchObject({
        loss: { train: { x: [-1, 0, 1, 2, 3, 4, 5, 6], y: [10, ...values] } },
      });
    });

    it('refuses a batch with a bad event, storing none of it, and names the line', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, task);
      const { status, json } = await addBatch([
        { type: 'log', task, msg: 'fine' },
        scalar(task, 1, 1),
        { ...scalar(task, 2, 1), value: 'abc' },
      ]);
      expect(status).toBe(400);
      expect(json.meta).toMatchObject({ result_code: 400, result_subcode: 12, error_data: { code: 'INVALID_INPUT', lines: [3] } });
      expect(json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 3: value: expected a number, got "abc". Fix these lines and send the batch again."`,
      );
      expect(await logTotal(task)).toBe(0);
      expect(await eventTotal(task)).toBe(0);
      expect(await histogram(task)).toEqual({});
      expect(await getTask(api, task)).toEqual(before);
    });

    it('names each bad line and what is wrong with it, the first five of them', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const first = await addBatch([
        { task, msg: 'no type' },
        { type: 'scalar', task },
        5,
        { type: 'log', msg: 'no task' },
        { type: 'training_stats_scalar', task, iter: 1.5, value: 1 },
        { type: 'log', task, msg: 'the only good line' },
      ]);
      expect(first.status).toBe(400);
      expect(first.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', lines: [1, 2, 3, 4, 5], invalid_events: 5 });
      expect(first.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 1: type: required field is missing; line 2: type: expected one of "training_stats_scalar", "training_stats_vector", "training_debug_image", "plot", "log", got "scalar"; line 3: expected an object, got 5; line 4: task: required field is missing; line 5: iter: expected an integer, got 1.5. Fix these lines and send the batch again."`,
      );
      const second = await addBatch([
        { type: 'log', task, msg: 'the only good line' },
        { type: 'log', task, level: 'loud', msg: 'x' },
        { type: 'log', task },
        { type: 'training_stats_scalar', task, value: 1, model_event: true },
        { type: 'training_stats_vector', task, values: [1, 'two'] },
      ]);
      expect(second.status).toBe(400);
      expect(second.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', lines: [2, 3, 4, 5], invalid_events: 4 });
      expect(second.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 2: level: expected one of "notset", "debug", "verbose", "info", "warn", "warning", "error", "fatal", "critical", got "loud"; line 3: msg: required field is missing; line 4: model_event: model events are not supported yet; report events of a task (model_event: false), got true; line 5: values: expected a list of at most 100,000 finite numbers, got [1,"two"]. Fix these lines and send the batch again."`,
      );
      // Past five, the others are counted.
      const many = await addBatch([...Array.from({ length: 7 }, () => ({ type: 'log', task })), { type: 'log', task, msg: 'good' }]);
      expect(many.status).toBe(400);
      expect(many.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', lines: [1, 2, 3, 4, 5], invalid_events: 7 });
      expect(many.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 1: msg: required field is missing; line 2: msg: required field is missing; line 3: msg: required field is missing; line 4: msg: required field is missing; line 5: msg: required field is missing; and 2 more bad lines (7 of 8 events are invalid). Fix these lines and send the batch again."`,
      );
      expect(await logTotal(task)).toBe(0);
    });

    it('refuses a body that is not JSON lines, and an empty batch', async () => {
      const task = await makeTask(api);
      const broken = await rawCall(server.url, '/events.add_batch', {
        body: `${JSON.stringify({ type: 'log', task, msg: 'ok' })}\n{"type": "log",`,
        headers: { 'content-type': 'application/json-lines' },
      });
      expect(broken.status).toBe(400);
      // The rest of the message is the JSON parser's own words, which vary with the Node.js version.
      expect(broken.json.meta.result_msg).toMatch(/^Invalid request: line 2 of the body is not valid JSON \(.+\)\.$/);
      const empty = await addBatch([]);
      expect(empty.status).toBe(400);
      expect(empty.json.meta.result_msg).toMatchInlineSnapshot(
        `"The batch has no events: send one JSON event per line (Content-Type: application/json-lines)."`,
      );
      const object = await rawCall(server.url, '/events.add_batch', { body: JSON.stringify({ events: [] }) });
      expect(object.status).toBe(400);
      expect(object.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid request: body: expected a list, got {"events":[]}"`,
      );
      expect(await logTotal(task)).toBe(0);
    });

    it('refuses events of an unknown task, storing nothing of the batch', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const unknown = 'f'.repeat(32);
      const { status, json } = await addBatch([
        { type: 'log', task, msg: 'fine' },
        { type: 'log', task: unknown, msg: 'lost' },
        scalar(unknown, 1, 1),
      ]);
      expect(status).toBe(404);
      expect(json.meta).toMatchObject({ result_subcode: 101, error_data: { code: 'TASK_NOT_FOUND', tasks: [unknown] } });
      expect(json.meta.result_msg).toMatchInlineSnapshot(
        `"No task has id "ffffffffffffffffffffffffffffffff" (lines 2, 3); nothing of this batch was stored. Report events to an existing task (tasklane task list)."`,
      );
      expect(await logTotal(task)).toBe(0);
    });

    it('refuses events for a published task unless allow_locked; a completed task still takes them', async () => {
      const published = await makeTask(api, { status: 'published' });
      const before = await getTask(api, published);
      const { status, json } = await addBatch([scalar(published, 1, 1), { type: 'log', task: published, msg: 'late' }]);
      expect(status).toBe(409);
      expect(json.meta.error_data).toMatchObject({ code: 'TASK_READ_ONLY', current_status: 'published', lines: [1, 2] });
      expect(withoutId(json.meta.result_msg, published)).toMatchInlineSnapshot(
        `"Cannot add events to task <id> (lines 1, 2): its status is "published" (Published) and a published task is read-only; nothing of this batch was stored. Clone it to run it again (tasklane task clone <id>), or send allow_locked: true on each event to add them anyway."`,
      );
      expect(await getTask(api, published)).toEqual(before);
      expect(await eventTotal(published)).toBe(0);

      await addOk([{ type: 'log', task: published, msg: 'late', allow_locked: true }]);
      expect(await logTotal(published)).toBe(1);

      // The agent reports its last lines after the task completed.
      const completed = await makeTask(api, { status: 'completed' });
      await addOk([{ type: 'log', task: completed, msg: 'Process completed successfully' }]);
      expect(await logTotal(completed)).toBe(1);
    });
  });

  describe('add_scalars (columns)', () => {
    const addScalars = (body: unknown) => rawCall(server.url, '/events.add_scalars', { body: JSON.stringify(body) });

    it('stores points column by column with the identity of add_batch scalars, and keeps last_metrics current', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const { status, json } = await addScalars({
        task,
        series: [
          { metric: 'loss', variant: 'train', iter: [0, 1, 2], value: [3, 1, 2], timestamp: [T0, T0 + 1, T0 + 2] },
          { metric: 'loss', variant: 'val', iter: [2], value: [5] },
        ],
      });
      expect({ status, data: json.data }).toEqual({ status: 200, data: { added: 4, errors: 0, errors_info: {} } });
      // The same point sent again as a JSON-lines event overwrites it: one identity for both forms.
      await addOk([scalar(task, 1, 0.5)]);
      const chart = await histogram(task);
      expect(chart.loss!.train).toMatchObject({ x: [0, 1, 2], y: [3, 0.5, 2] });
      expect(chart.loss!.val).toMatchObject({ x: [2], y: [5] });
      expect(await lastMetrics(task)).toMatchObject({ value: 2, min_value: 0.5, min_value_iteration: 1, max_value: 3, count: 3 });
      const stored = await getTask(api, task);
      expect(stored.last_iteration).toBe(2);
      const events = (await api.call('events.get_task_events', { task, event_type: 'training_stats_scalar', order: 'asc' })).events;
      expect(events.filter((e) => e.variant === 'train').map((e) => e.timestamp)).toEqual([T0, T0 + 1, T0 + 2]);
    });

    it('refuses bad columns, saying what is wrong and storing nothing', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, task);
      const mismatch = await addScalars({ task, series: [{ metric: 'm', variant: 'v', iter: [1, 2], value: [1] }] });
      expect(mismatch.status).toBe(400);
      expect(mismatch.json.meta.result_msg).toContain('iter, value and timestamp must have one entry per point, got 2, 1 entries');
      const notNumbers = await addScalars({ task, series: [{ metric: 'm', variant: 'v', iter: [1, 2.5], value: [1, 2] }] });
      expect(notNumbers.status).toBe(400);
      expect(notNumbers.json.meta.result_msg).toContain('series.0.iter: expected a list of integer iterations');
      const strings = await addScalars({ task, series: [{ metric: 'm', variant: 'v', iter: [1], value: ['1'] }] });
      expect(strings.json.meta.result_msg).toContain('series.0.value: expected a list of finite numbers');
      const unknown = await addScalars({ task: 'f'.repeat(32), series: [{ metric: 'm', variant: 'v', iter: [1], value: [1] }] });
      expect(unknown.status).toBe(404);
      expect(await getTask(api, task)).toEqual(before);
      expect(await histogram(task)).toEqual({});
    });

    it('refuses points for a published task unless allow_locked', async () => {
      const task = await makeTask(api, { status: 'published' });
      const series = [{ metric: 'm', variant: 'v', iter: [1], value: [1] }];
      expect((await addScalars({ task, series })).status).toBe(409);
      expect((await addScalars({ task, series, allow_locked: true })).status).toBe(200);
      expect((await histogram(task)).m?.v?.y).toEqual([1]);
    });
  });

  describe('get_task_log', () => {
    /** Ten lines; l3, l4 and l5 share a timestamp. */
    async function taskWithLines(): Promise<string> {
      const task = await makeTask(api, { status: 'in_progress' });
      const offsets = [0, 1, 2, 3, 3, 3, 4, 5, 6, 7];
      await addOk(offsets.map((offset, i) => ({ type: 'log', task, timestamp: T0 + offset, msg: `l${i}` })));
      return task;
    }
    const msgs = (reply: { events: { msg: string }[] }) => reply.events.map((e) => e.msg);

    it('answers the newest lines first by default, in the order asked, with the total', async () => {
      const task = await taskWithLines();
      const newest = await api.call('events.get_task_log', { task, batch_size: 3 });
      expect(msgs(newest)).toEqual(['l9', 'l8', 'l7']);
      expect(newest).toMatchObject({ returned: 3, total: 10 });
      expect(msgs(await api.call('events.get_task_log', { task, batch_size: 3, order: 'asc' }))).toEqual(['l7', 'l8', 'l9']);
      expect(msgs(await api.call('events.get_task_log', { task, batch_size: 3, navigate_earlier: false }))).toEqual(['l0', 'l1', 'l2']);
      expect(msgs(await api.call('events.get_task_log', { task, batch_size: 3, navigate_earlier: false, order: 'desc' }))).toEqual([
        'l2',
        'l1',
        'l0',
      ]);
      expect(msgs(await api.call('events.get_task_log', { task }))).toEqual(['l9', 'l8', 'l7', 'l6', 'l5', 'l4', 'l3', 'l2', 'l1', 'l0']);
    });

    it('pages on from_timestamp in both directions without losing or repeating lines that share a timestamp', async () => {
      const task = await taskWithLines();
      for (const navigateEarlier of [true, false]) {
        const pages: string[][] = [];
        let from: number | undefined;
        for (;;) {
          const page = await api.call('events.get_task_log', {
            task,
            batch_size: 2,
            navigate_earlier: navigateEarlier,
            ...(from !== undefined ? { from_timestamp: from } : {}),
          });
          expect(page.total).toBe(10);
          if (page.events.length === 0) break;
          pages.push(msgs(page));
          from = page.events.at(-1)!.timestamp;
        }
        if (navigateEarlier) {
          expect(pages).toEqual([['l9', 'l8'], ['l7', 'l6'], ['l5', 'l4', 'l3'], ['l2', 'l1'], ['l0']]);
        } else {
          expect(pages).toEqual([['l0', 'l1'], ['l2', 'l3', 'l4', 'l5'], ['l6', 'l7'], ['l8', 'l9']]);
        }
      }
      expect(msgs(await api.call('events.get_task_log', { task, from_timestamp: T0 + 3, navigate_earlier: false, order: 'asc' }))).toEqual([
        'l6',
        'l7',
        'l8',
        'l9',
      ]);
    });

    it('answers TASK_NOT_FOUND for an unknown task on every read endpoint', async () => {
      const task = 'e'.repeat(32);
      await expectError(api.call('events.get_task_log', { task }), 'TASK_NOT_FOUND');
      await expectError(api.call('events.get_task_events', { task }), 'TASK_NOT_FOUND');
      await expectError(api.call('events.get_scalar_metrics_and_variants', { task }), 'TASK_NOT_FOUND');
      await expectError(api.call('events.scalar_metrics_iter_histogram', { task }), 'TASK_NOT_FOUND');
      await expectError(api.call('events.get_task_latest_scalar_values', { task }), 'TASK_NOT_FOUND');
      await expectError(api.call('events.delete_for_task', { task }), 'TASK_NOT_FOUND');
    });
  });

  describe('get_task_events', () => {
    it('filters by type and metric, orders by timestamp, and pages with scroll_id', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([
        { type: 'log', task, timestamp: T0 + 10, msg: 'hello' },
        scalar(task, 0, 1),
        scalar(task, 1, 2),
        scalar(task, 2, 3, 'loss', 'val'),
        scalar(task, 3, 4, 'acc', 'val'),
        { type: 'plot', task, timestamp: T0 + 4, iter: 4, metric: 'loss', variant: 'val', plot_str: '{}' },
      ]);
      const brief = (reply: { events: { type: string; iter?: number; metric?: string; variant?: string }[] }) =>
        reply.events.map((e) => (e.type === 'log' ? 'log' : `${e.type}:${e.metric}/${e.variant}@${e.iter}`));

      expect(brief(await api.call('events.get_task_events', { task, order: 'desc' }))).toEqual([
        'log',
        'plot:loss/val@4',
        'training_stats_scalar:acc/val@3',
        'training_stats_scalar:loss/val@2',
        'training_stats_scalar:loss/train@1',
        'training_stats_scalar:loss/train@0',
      ]);
      const scalars = await api.call('events.get_task_events', { task, event_type: 'training_stats_scalar' });
      expect(scalars).toMatchObject({ returned: 4, total: 4 });
      const lossVal = await api.call('events.get_task_events', { task, metrics: [{ metric: 'loss', variants: ['val'] }] });
      expect(brief(lossVal)).toEqual(['training_stats_scalar:loss/val@2', 'plot:loss/val@4']);
      expect(lossVal.total).toBe(2);
      const loss = await api.call('events.get_task_events', { task, event_type: 'training_stats_scalar', metrics: [{ metric: 'loss' }] });
      expect(brief(loss)).toEqual(['training_stats_scalar:loss/train@0', 'training_stats_scalar:loss/train@1', 'training_stats_scalar:loss/val@2']);
      // An empty metrics list is no filter, as in ClearML.
      expect((await api.call('events.get_task_events', { task, metrics: [] })).total).toBe(6);
      expect(Object.keys(await api.call('events.scalar_metrics_iter_histogram', { task, metrics: [] }))).toEqual(['acc', 'loss']);

      const pages: string[][] = [];
      let scrollId: string | undefined;
      for (;;) {
        const page = await api.call('events.get_task_events', { task, batch_size: 4, ...(scrollId ? { scroll_id: scrollId } : {}) });
        expect(page.total).toBe(6);
        if (page.returned === 0) break;
        pages.push(brief(page));
        scrollId = page.scroll_id;
      }
      expect(pages.flat()).toEqual(brief(await api.call('events.get_task_events', { task })));
      expect(pages.map((p) => p.length)).toEqual([4, 2]);

      const err = await expectError(api.call('events.get_task_events', { task, scroll_id: 'nonsense' }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid request: body.scroll_id: not a scroll id this server made, got "nonsense". Send the scroll_id of the previous reply, or none for the first page."`,
      );
    });
  });

  describe('scalar_metrics_iter_histogram', () => {
    it('downsamples a long series to the samples asked for, keeping spikes up and down', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const values = Array.from({ length: 10_000 }, (_, i) => Math.sin(i / 100));
      values[4321] = 1e6;
      values[7777] = -1e6;
      await addOk(values.map((v, i) => scalar(task, i, v)));

      const { loss } = await api.call('events.scalar_metrics_iter_histogram', { task, samples: 100 });
      const { x, y } = loss!.train!;
      expect(x.length).toBe(y.length);
      expect(x.length).toBeLessThanOrEqual(100);
      expect(x.length).toBeGreaterThanOrEqual(90);
      expect(x).toEqual([...x].sort((a, b) => (a as number) - (b as number)));
      expect(new Set(x).size).toBe(x.length);
      expect(Math.max(...y)).toBe(1e6);
      expect(x[y.indexOf(1e6)]).toBe(4321);
      expect(Math.min(...y)).toBe(-1e6);
      expect(x[y.indexOf(-1e6)]).toBe(7777);
      // Every answered point is a stored one.
      for (let i = 0; i < x.length; i += 1) expect(y[i]).toBe(values[x[i] as number]);

      const byDefault = (await histogram(task)).loss!.train!;
      expect(byDefault.x.length).toBeLessThanOrEqual(5000);
      expect(Math.max(...byDefault.y)).toBe(1e6);
      const all = (await api.call('events.scalar_metrics_iter_histogram', { task, samples: 0 })).loss!.train!;
      expect(all.x).toEqual(values.map((_, i) => i));
      expect(all.y).toEqual(values);

      expect(await lastMetrics(task)).toMatchObject({ max_value: 1e6, max_value_iteration: 4321, min_value: -1e6, min_value_iteration: 7777, count: 10_000 });
      const latest = await api.call('events.get_task_latest_scalar_values', { task });
      const last10 = values.slice(-10);
      expect(latest.metrics[0]!.variants[0]!.last_value).toBe(values.at(-1));
      expect(latest.metrics[0]!.variants[0]!.last_10_value).toBeCloseTo(last10.reduce((a, b) => a + b) / 10, 12);
    });
  });

  describe('deleting events', () => {
    async function taskWithEvents(status: 'completed' | 'in_progress' = 'completed'): Promise<string> {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([
        { type: 'log', task, msg: 'a' },
        { type: 'log', task, msg: 'b' },
        scalar(task, 0, 1),
        scalar(task, 1, 2),
        scalar(task, 1, 2, 'loss', 'val'),
        { type: 'plot', task, iter: 1, metric: 'cm', variant: 'v', plot_str: '{}' },
      ]);
      if (status === 'completed') await api.call('tasks.completed', { task });
      return task;
    }

    it('reset deletes the events of the task and only those', async () => {
      const task = await taskWithEvents();
      const other = await taskWithEvents();
      const reply = await api.call('tasks.reset', { task });
      expect(reply.events).toBe(6);
      expect(await logTotal(task)).toBe(0);
      expect(await eventTotal(task)).toBe(0);
      expect(await histogram(task)).toEqual({});
      expect(await api.call('events.get_scalar_metrics_and_variants', { task })).toEqual({ metrics: {} });
      expect(await getTask(api, task)).toMatchObject({ last_metrics: {}, last_iteration: 0 });
      expect(await eventTotal(other)).toBe(6);

      // Reported again after the reset, the series starts afresh.
      await api.call('tasks.started', { task });
      await addOk([scalar(task, 1, 7)]);
      expect(await lastMetrics(task)).toMatchObject({ value: 7, first_value: 7, count: 1 });
      expect(await histogram(task)).toEqual({ loss: { train: { name: 'train', x: [1], y: [7] } } });
    });

    it('delete deletes the events of the task', async () => {
      const task = await taskWithEvents();
      const reply = await api.call('tasks.delete', { task });
      expect(reply).toMatchObject({ deleted: 1, events: 6 });
      await expectError(api.call('events.get_task_log', { task }), 'TASK_NOT_FOUND');
    });

    it('delete_for_task deletes them and clears last_metrics and last_iteration; a published task needs allow_locked', async () => {
      const task = await taskWithEvents('in_progress');
      expect(await api.call('events.delete_for_task', { task })).toEqual({ deleted: 6 });
      expect(await eventTotal(task)).toBe(0);
      expect(await getTask(api, task)).toMatchObject({ last_metrics: {}, last_iteration: 0, status: 'in_progress' });
      expect(await api.call('events.delete_for_task', { task })).toEqual({ deleted: 0 });

      const published = await taskWithEvents();
      await api.call('tasks.publish', { task: published });
      const err = await expectError(api.call('events.delete_for_task', { task: published }), 'TASK_READ_ONLY');
      expect(withoutId(err.message, published)).toMatchInlineSnapshot(
        `"Cannot delete the events of task <id>: its status is "published" (Published) and a published task is read-only. Pass allow_locked: true to delete them anyway."`,
      );
      expect(await eventTotal(published)).toBe(6);
      expect(await api.call('events.delete_for_task', { task: published, allow_locked: true })).toEqual({ deleted: 6 });
    });
  });
});
