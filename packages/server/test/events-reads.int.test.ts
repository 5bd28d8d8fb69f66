import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINGLE_VALUE_ITERATION, newId, type TaskEvent } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { openDatabaseReader, type DatabaseReader } from './support/database-reader.js';
import { expectError, getTask, makeTask, withoutId } from './support/factories.js';
import { newTestDatabase, rawCall, startTestServer, type TestServer } from './support/test-server.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const T0 = 1_700_000_000_000;

describe('events: the read endpoints and events.add', () => {
  let server: TestServer;
  let api: ApiClient;
  let reader: DatabaseReader;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
    reader = await openDatabaseReader(server.dbUrl);
  });
  afterAll(async () => {
    await reader?.close();
    await server.close();
  });

  async function addOk(events: readonly unknown[]) {
    const { status, json } = await rawCall(server.url, '/events.add_batch', {
      body: events.map((e) => JSON.stringify(e)).join('\n'),
      headers: { 'content-type': 'application/json-lines' },
    });
    expect({ status, data: json.data, message: json.meta.result_msg }).toEqual({
      status: 200,
      data: { added: events.length, errors: 0, errors_info: {} },
      message: 'OK',
    });
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
  const plot = (task: string, iter: number, metric: string, variant: string, timestamp: number, plotStr = `{"iter":${iter}}`) => ({
    type: 'plot',
    task,
    timestamp,
    iter,
    metric,
    variant,
    plot_str: plotStr,
  });
  const image = (task: string, iter: number, metric: string, variant: string, key = `${metric}/${variant}/${iter % 3}.png`) => ({
    type: 'training_debug_image',
    task,
    timestamp: T0 + iter,
    iter,
    metric,
    variant,
    key,
    url: `http://files/${key}?iter=${iter}`,
  });
  /** metric/variant@iter of events, to compare lists briefly. */
  const brief = (events: readonly TaskEvent[]) => events.map((e) => `${e.metric}/${e.variant}@${e.iter}`);

  describe('events.add', () => {
    it('stores one event sent as a flat body, with the rules of add_batch', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const reply = await rawCall(server.url, '/events.add', {
        body: JSON.stringify({ ...scalar(task, 3, 0.5), method: 'get' }),
      });
      expect({ status: reply.status, data: reply.json.data }).toEqual({ status: 200, data: { added: 1, errors: 0, errors_info: {} } });
      expect(await api.call('events.add', { type: 'log', task, timestamp: T0, msg: 'hello', level: 'WARNING' })).toEqual({
        added: 1,
        errors: 0,
        errors_info: {},
      });
      expect(await api.call('events.scalar_metrics_iter_histogram', { task })).toEqual({
        loss: { train: { name: 'train', x: [3], y: [0.5] } },
      });
      expect((await api.call('events.get_task_log', { task })).events).toEqual([
        { type: 'log', task, id: expect.any(String), timestamp: T0, level: 'warning', worker: null, msg: 'hello' },
      ]);
      const saved = await getTask(api, task);
      expect(saved.last_iteration).toBe(3);
      expect(saved.last_metrics[md5('loss')]![md5('train')]).toMatchObject({ value: 0.5, count: 1 });
    });

    it('refuses a bad event with 400 naming its fields, and an unknown task with 404, storing nothing', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const bad = await rawCall(server.url, '/events.add', { body: JSON.stringify({ ...scalar(task, 1, 1), value: 'x', iter: 1.5 }) });
      expect(bad.status).toBe(400);
      expect(bad.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: ['body.iter', 'body.value'] });
      expect(bad.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid event, nothing was stored: body.iter: expected an integer, got 1.5; body.value: expected a number, got "x". Fix it and send it again."`,
      );
      const untyped = await rawCall(server.url, '/events.add', { body: JSON.stringify({ task, msg: 'no type' }) });
      expect(untyped.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid event, nothing was stored: body.type: required field is missing. Fix it and send it again."`,
      );
      const unknown = 'f'.repeat(32);
      const missing = await rawCall(server.url, '/events.add', { body: JSON.stringify(scalar(unknown, 1, 1)) });
      expect(missing.status).toBe(404);
      expect(missing.json.meta.result_msg).toMatchInlineSnapshot(
        `"No task has id "ffffffffffffffffffffffffffffffff"; nothing was stored. Report events to an existing task (tasklane task list)."`,
      );
      expect((await api.call('events.get_task_events', { task })).total).toBe(0);
    });
  });

  describe('get_task_plots', () => {
    it('answers the last iters iterations of each plot, filtered by metric, by timestamp', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([
        plot(task, 1, 'roc', 'a', T0 + 1),
        plot(task, 1, 'roc', 'b', T0 + 2),
        plot(task, 1, 'cm', 'x', T0 + 3),
        plot(task, 2, 'roc', 'a', T0 + 4),
        plot(task, 2, 'roc', 'b', T0 + 5),
        plot(task, 3, 'roc', 'a', T0 + 6),
        plot(task, 5, 'cm', 'x', T0 + 7),
        scalar(task, 9, 1),
      ]);
      const latest = await api.call('events.get_task_plots', { task });
      expect(brief(latest.plots)).toEqual(['roc/b@2', 'roc/a@3', 'cm/x@5']);
      expect(latest).toMatchObject({ returned: 3, total: 3, scroll_id: expect.any(String) });
      expect(latest.plots[2]).toEqual({
        type: 'plot',
        task,
        id: md5(`${task}-5-cm-x`),
        timestamp: T0 + 7,
        iter: 5,
        metric: 'cm',
        variant: 'x',
        plot_str: '{"iter":5}',
        worker: null,
      });
      const two = await api.call('events.get_task_plots', { task, iters: 2 });
      expect(brief(two.plots)).toEqual(['roc/b@1', 'cm/x@1', 'roc/a@2', 'roc/b@2', 'roc/a@3', 'cm/x@5']);
      const roc = await api.call('events.get_task_plots', { task, iters: 10, metrics: [{ metric: 'roc', variants: ['b'] }] });
      expect(brief(roc.plots)).toEqual(['roc/b@1', 'roc/b@2']);
      const noScroll = await api.call('events.get_task_plots', { task, no_scroll: true });
      expect(Object.keys(noScroll).sort()).toEqual(['plots', 'returned', 'total']);
      await expectError(api.call('events.get_task_plots', { task: 'e'.repeat(32) }), 'TASK_NOT_FOUND');
    });

    it('pages 500 plots at a time with scroll_id', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk(Array.from({ length: 501 }, (_, i) => plot(task, i, 'p', 'v', T0 + i)));
      const first = await api.call('events.get_task_plots', { task, iters: 1000 });
      expect({ returned: first.returned, total: first.total }).toEqual({ returned: 500, total: 501 });
      const second = await api.call('events.get_task_plots', { task, iters: 1000, scroll_id: first.scroll_id });
      expect({ returned: second.returned, iters: second.plots.map((p) => p.iter) }).toEqual({ returned: 1, iters: [500] });
      const third = await api.call('events.get_task_plots', { task, iters: 1000, scroll_id: second.scroll_id });
      expect(third.returned).toBe(0);
    });

    it('stores a plot of 100,000 characters or more compressed and answers it whole', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const big = JSON.stringify({ data: [{ x: Array.from({ length: 30_000 }, (_, i) => i), type: 'scatter' }], layout: { title: 'é 📈' } });
      const justUnder = `"${'a'.repeat(99_997)}"`;
      expect({ big: big.length >= 100_000, small: justUnder.length }).toEqual({ big: true, small: 99_999 });
      await addOk([plot(task, 1, 'big', 'v', T0, big), plot(task, 1, 'small', 'v', T0 + 1, justUnder)]);

      const stored = await reader.all<{ metric: string; compressed: number | null; inJson: number }>(
        `SELECT metric, length(plot_data) AS compressed, CASE WHEN data ->> 'plot_str' IS NULL THEN 1 ELSE 0 END AS "inJson"
         FROM other_events WHERE task = ? ORDER BY metric`,
        [task],
      );
      expect(stored.map((row) => ({ ...row, compressed: row.compressed === null ? null : row.compressed < big.length / 2 }))).toEqual([
        { metric: 'big', compressed: true, inJson: 1 },
        { metric: 'small', compressed: null, inJson: 0 },
      ]);
      const plots = (await api.call('events.get_task_plots', { task })).plots;
      expect(plots.map((p) => p.plot_str)).toEqual([big, justUnder]);
      expect((await api.call('events.get_task_events', { task, event_type: 'plot' })).events.map((e) => e.plot_str)).toEqual([big, justUnder]);

      // Re-sent smaller, the same plot is stored plainly again.
      await addOk([plot(task, 1, 'big', 'v', T0, '{"data":[]}')]);
      expect((await api.call('events.get_task_plots', { task })).plots.map((p) => p.plot_str)).toEqual(['{"data":[]}', justUnder]);
      expect(await reader.value(`SELECT COUNT(*) FROM other_events WHERE task = ? AND plot_data IS NOT NULL`, [task])).toBe(0);
    });
  });

  describe('debug_images', () => {
    /** Task a: img/a and img/b at iterations 0..5, other/c at even ones. Task b: img/a at 10 and 20. */
    async function twoTasks() {
      const a = await makeTask(api, { status: 'in_progress' });
      const b = await makeTask(api, { status: 'in_progress' });
      const events: unknown[] = [];
      for (let i = 0; i <= 5; i += 1) {
        events.push(image(a, i, 'img', 'b'), image(a, i, 'img', 'a'));
        if (i % 2 === 0) events.push(image(a, i, 'other', 'c'));
      }
      events.push(image(b, 10, 'img', 'a'), image(b, 20, 'img', 'a'));
      await addOk(events);
      return { a, b };
    }
    const iterationsOf = (reply: { metrics: { task: string; iterations: { iter: number; events: TaskEvent[] }[] }[] }) =>
      reply.metrics.map((m) => ({ task: m.task, iterations: m.iterations.map((it) => `${it.iter}: ${brief(it.events).join(' ')}`) }));

    it('pages through iterations from the latest, earlier and later, and starts again on refresh', async () => {
      const { a } = await twoTasks();
      const metrics = [{ task: a, metric: 'img' }];
      const first = await api.call('events.debug_images', { metrics, iters: 2 });
      expect(iterationsOf(first)).toEqual([{ task: a, iterations: ['5: img/a@5 img/b@5', '4: img/a@4 img/b@4'] }]);
      expect(first.metrics[0]!.iterations[0]!.events[0]).toEqual({
        type: 'training_debug_image',
        task: a,
        id: md5(`${a}-5-img-a-img/a/2.png`),
        timestamp: T0 + 5,
        iter: 5,
        metric: 'img',
        variant: 'a',
        key: 'img/a/2.png',
        url: 'http://files/img/a/2.png?iter=5',
        worker: null,
      });
      const page = (scrollId: string, navigateEarlier: boolean) =>
        api.call('events.debug_images', { metrics, iters: 2, scroll_id: scrollId, navigate_earlier: navigateEarlier });
      const second = await page(first.scroll_id, true);
      expect(iterationsOf(second)[0]!.iterations.map((s) => s.split(':')[0])).toEqual(['3', '2']);
      const third = await page(second.scroll_id, true);
      expect(iterationsOf(third)[0]!.iterations.map((s) => s.split(':')[0])).toEqual(['1', '0']);
      const end = await page(third.scroll_id, true);
      expect(iterationsOf(end)).toEqual([{ task: a, iterations: [] }]);
      const back = await page(end.scroll_id, false);
      expect(iterationsOf(back)[0]!.iterations.map((s) => s.split(':')[0])).toEqual(['3', '2']);
      const refreshed = await api.call('events.debug_images', { metrics, iters: 2, scroll_id: back.scroll_id, refresh: true });
      expect(iterationsOf(refreshed)).toEqual(iterationsOf(first));
    });

    it('takes several tasks, metrics and variants in one request', async () => {
      const { a, b } = await twoTasks();
      const reply = await api.call('events.debug_images', {
        metrics: [{ task: a, metric: 'other' }, { task: b }, { task: a, metric: 'img', variants: ['b'] }],
        iters: 3,
      });
      expect(iterationsOf(reply)).toEqual([
        { task: a, iterations: ['5: img/b@5', '4: img/b@4 other/c@4', '3: img/b@3'] },
        { task: b, iterations: ['20: img/a@20', '10: img/a@10'] },
      ]);
      await expectError(api.call('events.debug_images', { metrics: [{ task: 'e'.repeat(32) }] }), 'TASK_NOT_FOUND');
      const err = await expectError(api.call('events.debug_images', { metrics: [{ task: a }], scroll_id: 'nonsense' }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid request: body.scroll_id: not a scroll id this server made, got "nonsense". Send the scroll_id of the previous reply, or none for the first page."`,
      );
    });
  });

  describe('debug sample history', () => {
    it('keeps only the last debugSampleHistory iterations of each task, metric and variant', async () => {
      const capped = await startTestServer({ debugSampleHistory: 3 });
      try {
        const send = async (events: unknown[]) => {
          const { status } = await rawCall(capped.url, '/events.add_batch', {
            body: events.map((e) => JSON.stringify(e)).join('\n'),
            headers: { 'content-type': 'application/json-lines' },
          });
          expect(status).toBe(200);
        };
        const task = await makeTask(capped.api, { status: 'in_progress' });
        const other = await makeTask(capped.api, { status: 'in_progress' });
        await send(Array.from({ length: 6 }, (_, i) => image(task, i, 'img', 'a')));
        await send([
          ...Array.from({ length: 4 }, (_, i) => image(task, i + 6, 'img', 'a')),
          image(task, 9, 'img', 'a', 'second-key.png'),
          image(task, 1, 'img', 'b'),
          image(task, 2, 'img', 'b'),
          ...Array.from({ length: 5 }, (_, i) => image(other, i, 'img', 'a')),
        ]);
        const kept = async (t: string) =>
          (await capped.api.call('events.get_task_events', { task: t, event_type: 'training_debug_image', batch_size: 100 })).events.map(
            (e) => `${e.variant}@${e.iter}${e.key === 'second-key.png' ? '+' : ''}`,
          );
        expect(await kept(task)).toEqual(['b@1', 'b@2', 'a@7', 'a@8', 'a@9', 'a@9+']);
        expect(await kept(other)).toEqual(['a@2', 'a@3', 'a@4']);
        const sample = await capped.api.call('events.get_debug_image_sample', { task, metric: 'img', variant: 'a', iteration: 2 });
        expect({ event: sample.event, min: sample.min_iteration, max: sample.max_iteration }).toEqual({ event: null, min: 7, max: 9 });
      } finally {
        await capped.close();
      }
    });
  });

  describe('get_debug_image_sample and next_debug_image_sample', () => {
    /** img/a at 0, 1, 2; img/b at 1, 2; other/c at 1. */
    async function samples() {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([
        image(task, 0, 'img', 'a'),
        image(task, 1, 'img', 'a'),
        image(task, 2, 'img', 'a'),
        image(task, 1, 'img', 'b'),
        image(task, 2, 'img', 'b'),
        image(task, 1, 'other', 'c'),
      ]);
      return task;
    }
    type Sample = { scroll_id: string; event: TaskEvent | null; min_iteration: number | null; max_iteration: number | null };
    const at = (s: Sample) => (s.event ? `${s.event.metric}/${s.event.variant}@${s.event.iter} [${s.min_iteration}..${s.max_iteration}]` : null);

    it('answers the sample at an iteration (or the latest before it) with the range of its variant', async () => {
      const task = await samples();
      const get = (body: { variant?: string; iteration?: number }) =>
        api.call('events.get_debug_image_sample', { task, metric: 'img', variant: body.variant ?? 'a', ...body });
      expect(at(await get({}))).toBe('img/a@2 [0..2]');
      expect(at(await get({ iteration: 1 }))).toBe('img/a@1 [0..2]');
      expect(at(await get({ iteration: 10 }))).toBe('img/a@2 [0..2]');
      expect(at(await get({ variant: 'b', iteration: 1 }))).toBe('img/b@1 [1..2]');
      const none = await get({ iteration: -5 });
      expect({ ...none, scroll_id: typeof none.scroll_id }).toEqual({ scroll_id: 'string', event: null, min_iteration: 0, max_iteration: 2 });
      const unknown = await get({ variant: 'zzz' });
      expect({ ...unknown, scroll_id: undefined }).toEqual({ scroll_id: undefined, event: null, min_iteration: null, max_iteration: null });
      const sample = await get({ iteration: 1 });
      expect(sample.event).toEqual({
        type: 'training_debug_image',
        task,
        id: md5(`${task}-1-img-a-img/a/1.png`),
        timestamp: T0 + 1,
        iter: 1,
        metric: 'img',
        variant: 'a',
        key: 'img/a/1.png',
        url: 'http://files/img/a/1.png?iter=1',
        worker: null,
      });
    });

    it('steps variant by variant, then iteration by iteration, both ways, within the metric or across metrics', async () => {
      const task = await samples();
      const walk = async (start: Sample, earlier: boolean, nextIteration = false) => {
        const seen: (string | null)[] = [];
        let current = start;
        for (let i = 0; i < 10; i += 1) {
          const next = await api.call('events.next_debug_image_sample', {
            task,
            scroll_id: current.scroll_id,
            navigate_earlier: earlier,
            next_iteration: nextIteration,
          });
          seen.push(at(next));
          if (!next.event) {
            // At the end the position stays: stepping the other way still works.
            expect(next.scroll_id).toBe(current.scroll_id);
            break;
          }
          current = next;
        }
        return seen;
      };
      const middle = await api.call('events.get_debug_image_sample', { task, metric: 'img', variant: 'a', iteration: 1 });
      expect(await walk(middle, false)).toEqual(['img/b@1 [1..2]', 'img/a@2 [0..2]', 'img/b@2 [1..2]', null]);
      expect(await walk(middle, true)).toEqual(['img/a@0 [0..2]', null]);
      expect(await walk(middle, false, true)).toEqual(['img/a@2 [0..2]', null]);

      const anyMetric = await api.call('events.get_debug_image_sample', {
        task,
        metric: 'img',
        variant: 'b',
        iteration: 1,
        navigate_current_metric: false,
      });
      expect(await walk(anyMetric, false)).toEqual(['other/c@1 [1..1]', 'img/a@2 [0..2]', 'img/b@2 [1..2]', null]);
      expect(await walk(anyMetric, true)).toEqual(['img/a@1 [0..2]', 'img/a@0 [0..2]', null]);
    });

    it('refuses a scroll_id of another task or not made by the server', async () => {
      const task = await samples();
      const other = await samples();
      const sample = await api.call('events.get_debug_image_sample', { task, metric: 'img', variant: 'a' });
      const err = await expectError(api.call('events.next_debug_image_sample', { task: other, scroll_id: sample.scroll_id }), 'INVALID_INPUT');
      expect(withoutId(withoutId(err.message, task), other).replace('<id>', '<task>')).toMatchInlineSnapshot(
        `"Invalid request: body.scroll_id: it belongs to the debug samples of task <task>, not of task <id>. Call events.get_debug_image_sample for this task first."`,
      );
      await expectError(api.call('events.next_debug_image_sample', { task, scroll_id: 'bm9wZQ' }), 'INVALID_INPUT');
      // A scroll id of another endpoint is not taken either.
      const images = await api.call('events.debug_images', { metrics: [{ task }] });
      await expectError(api.call('events.next_debug_image_sample', { task, scroll_id: images.scroll_id }), 'INVALID_INPUT');
    });
  });

  describe('single values', () => {
    it('are answered per task, do not move last_iteration, and stay out of charts and scalar metric lists', async () => {
      const x = await makeTask(api, { status: 'in_progress', name: 'single-values-x' });
      const y = await makeTask(api, { status: 'in_progress', name: 'single-values-y' });
      const single = (task: string, variant: string, value: number, timestamp: number) => ({
        type: 'training_stats_scalar',
        task,
        timestamp,
        iter: SINGLE_VALUE_ITERATION,
        metric: 'Summary',
        variant,
        value,
      });
      await addOk([scalar(x, 5, 1), single(x, 'f1', 0.88, T0 + 10), single(x, 'accuracy', 0.9, T0 + 11), scalar(y, 2, 1)]);
      await addOk([single(x, 'accuracy', 0.93, T0 + 12)]);
      const only = await makeTask(api, { status: 'in_progress' });
      await addOk([single(only, 'score', 1, T0)]);

      expect(await api.call('events.get_task_single_value_metrics', { tasks: [x, y] })).toEqual({
        tasks: [
          {
            task: x,
            task_name: 'single-values-x',
            values: [
              { metric: 'Summary', variant: 'accuracy', value: 0.93, timestamp: T0 + 12 },
              { metric: 'Summary', variant: 'f1', value: 0.88, timestamp: T0 + 10 },
            ],
          },
          { task: y, task_name: 'single-values-y', values: [] },
        ],
      });
      const filtered = await api.call('events.get_task_single_value_metrics', { tasks: [x], metrics: [{ metric: 'Summary', variants: ['f1'] }] });
      expect(filtered.tasks[0]!.values.map((v) => v.variant)).toEqual(['f1']);

      expect((await getTask(api, x)).last_iteration).toBe(5);
      expect((await getTask(api, only)).last_iteration).toBe(0);
      expect((await getTask(api, x)).last_metrics[md5('Summary')]![md5('accuracy')]).toEqual({
        metric: 'Summary',
        variant: 'accuracy',
        value: 0.93,
        min_value: 0.93,
        min_value_iteration: SINGLE_VALUE_ITERATION,
        max_value: 0.93,
        max_value_iteration: SINGLE_VALUE_ITERATION,
        first_value: 0.93,
        first_value_iteration: SINGLE_VALUE_ITERATION,
        mean_value: 0.93,
        count: 1,
      });
      expect(await api.call('events.scalar_metrics_iter_histogram', { task: x })).toEqual({ loss: { train: { name: 'train', x: [5], y: [1] } } });
      expect(await api.call('events.get_task_metrics', { tasks: [x, only], event_type: 'training_stats_scalar' })).toEqual({
        metrics: [
          { task: x, metrics: ['loss'] },
          { task: only, metrics: [] },
        ],
      });

      const err = await expectError(api.call('events.get_task_single_value_metrics', { tasks: [x, 'e'.repeat(32), 'd'.repeat(32)] }), 'TASK_NOT_FOUND');
      expect(err.message).toMatchInlineSnapshot(
        `"No task has id "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "dddddddddddddddddddddddddddddddd". List tasks with: tasklane task list"`,
      );
    });
  });

  describe('get_task_metrics', () => {
    it('answers, per task, the metrics that reported events of a type, or of any type', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const empty = await makeTask(api, { status: 'in_progress' });
      await addOk([
        scalar(task, 1, 1, 'loss'),
        scalar(task, 1, 1, 'acc', 'val'),
        plot(task, 1, 'roc', 'a', T0),
        image(task, 1, 'img', 'a'),
        { type: 'training_stats_vector', task, iter: 1, metric: 'w', variant: 'l1', values: [1, 2] },
        { type: 'log', task, msg: 'hello' },
      ]);
      const metricsOf = async (eventType?: 'training_stats_scalar' | 'plot' | 'training_debug_image' | 'training_stats_vector' | 'log') =>
        (await api.call('events.get_task_metrics', { tasks: [task], ...(eventType ? { event_type: eventType } : {}) })).metrics[0]!.metrics;
      expect(await metricsOf('training_stats_scalar')).toEqual(['acc', 'loss']);
      expect(await metricsOf('plot')).toEqual(['roc']);
      expect(await metricsOf('training_debug_image')).toEqual(['img']);
      expect(await metricsOf('training_stats_vector')).toEqual(['w']);
      expect(await metricsOf('log')).toEqual([]);
      expect(await metricsOf()).toEqual(['acc', 'img', 'loss', 'roc', 'w']);
      expect(await api.call('events.get_task_metrics', { tasks: [empty, task, empty], event_type: 'plot' })).toEqual({
        metrics: [
          { task: empty, metrics: [] },
          { task, metrics: ['roc'] },
        ],
      });
    });
  });

  describe('multi_task_scalar_metrics_iter_histogram', () => {
    it("answers ClearML's compare shape: metric, variant, task id, each series named after its task", async () => {
      const a = await makeTask(api, { status: 'in_progress', name: 'compare-a' });
      const b = await makeTask(api, { status: 'in_progress', name: 'compare-b' });
      await addOk([scalar(a, 0, 1), scalar(a, 1, 2), scalar(a, 1, 5, 'loss', 'val'), scalar(b, 0, 3)]);
      expect(await api.call('events.multi_task_scalar_metrics_iter_histogram', { tasks: [a, b] })).toEqual({
        metrics: {
          loss: {
            train: { [a]: { name: 'compare-a', x: [0, 1], y: [1, 2] }, [b]: { name: 'compare-b', x: [0], y: [3] } },
            val: { [a]: { name: 'compare-a', x: [1], y: [5] } },
          },
        },
      });
      const iso = await api.call('events.multi_task_scalar_metrics_iter_histogram', {
        tasks: [b],
        key: 'iso_time',
        metrics: [{ metric: 'loss' }],
      });
      expect(iso).toEqual({ metrics: { loss: { train: { [b]: { name: 'compare-b', x: [new Date(T0).toISOString()], y: [3] } } } } });
      const err = await expectError(api.call('events.multi_task_scalar_metrics_iter_histogram', { tasks: ['e'.repeat(32)] }), 'TASK_NOT_FOUND');
      expect(err.message).toMatchInlineSnapshot(
        `"Task eeeeeeee not found: no task has id "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee". List tasks with: tasklane task list"`,
      );
    });
  });

  describe('download_task_log', () => {
    it('answers the whole log as JSON lines or as text lines of a format', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([
        { type: 'log', task, timestamp: T0 + 1, level: 'error', worker: 'box-1', msg: 'second', id: 'l2' },
        { type: 'log', task, timestamp: T0, level: 'info', worker: 'box-1', msg: 'first', id: 'l1' },
        { type: 'log', task, timestamp: T0 + 2, msg: 'no worker {braces}', id: 'l3' },
      ]);
      const json = await api.call('events.download_task_log', { task });
      expect(json.text.split('\n')).toEqual([
        JSON.stringify({ id: 'l1', timestamp: T0, asctime: new Date(T0).toISOString(), level: 'info', worker: 'box-1', msg: 'first' }),
        JSON.stringify({ id: 'l2', timestamp: T0 + 1, asctime: new Date(T0 + 1).toISOString(), level: 'error', worker: 'box-1', msg: 'second' }),
        JSON.stringify({ id: 'l3', timestamp: T0 + 2, asctime: new Date(T0 + 2).toISOString(), level: 'info', worker: null, msg: 'no worker {braces}' }),
        '',
      ]);
      const iso = (offset: number) => new Date(T0 + offset).toISOString();
      expect((await api.call('events.download_task_log', { task, line_type: 'text' })).text).toBe(
        `${iso(0)} box-1 info first\n${iso(1)} box-1 error second\n${iso(2)}  info no worker {braces}\n`,
      );
      expect((await api.call('events.download_task_log', { task, line_type: 'text', line_format: '[{level}] {{{msg}}} @{timestamp}\n' })).text).toBe(
        `[info] {first} @${T0}\n[error] {second} @${T0 + 1}\n[info] {no worker {braces}} @${T0 + 2}\n`,
      );
      const err = await expectError(
        api.call('events.download_task_log', { task, line_type: 'text', line_format: '{asctime} {host} {msg:>10} }' }),
        'INVALID_INPUT',
      );
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid request: body.line_format: "{host}", "{msg:>10}", "}" are not placeholders; use {asctime}, {timestamp}, {level}, {worker}, {msg}, and {{ or }} for a brace, got "{asctime} {host} {msg:>10} }""`,
      );
      const empty = await makeTask(api);
      expect(await api.call('events.download_task_log', { task: empty })).toEqual({ text: '' });
    });

    it('answers every line of a long log, in order', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk(Array.from({ length: 2500 }, (_, i) => ({ type: 'log', task, timestamp: T0 + Math.floor(i / 7), msg: `line ${i}` })));
      const lines = (await api.call('events.download_task_log', { task, line_type: 'text', line_format: '{msg}' })).text.split('\n');
      expect(lines).toEqual([...Array.from({ length: 2500 }, (_, i) => `line ${i}`), '']);
    });
  });

  describe('get_task_log search', () => {
    /** 40 lines, several per timestamp; every 3rd says ERROR (in assorted cases), some hold LIKE wildcards. */
    async function logTask() {
      const task = await makeTask(api, { status: 'in_progress' });
      const msgs = Array.from({ length: 40 }, (_, i) =>
        i % 3 === 0 ? `step ${i}: ${['ERROR', 'Error', 'eRRor'][i % 9 === 0 ? 0 : i % 2]} in loader` : `step ${i}: progress 50% of a_b`,
      );
      msgs[10] = 'step 10: ÉCHEC du chargement';
      msgs[11] = 'step 11: échec partiel';
      await addOk(msgs.map((msg, i) => ({ type: 'log', task, timestamp: T0 + Math.floor(i / 3), msg })));
      return { task, msgs };
    }
    const msgsOf = (reply: { events: { msg: string }[] }) => reply.events.map((e) => e.msg);

    it('answers only the lines containing the text, ignoring case (also beyond ASCII), with their count', async () => {
      const { task, msgs } = await logTask();
      const errors = msgs.filter((m) => m.toLowerCase().includes('error'));
      const reply = await api.call('events.get_task_log', { task, search: 'error', navigate_earlier: false, batch_size: 100 });
      expect(msgsOf(reply)).toEqual(errors);
      expect({ returned: reply.returned, total: reply.total }).toEqual({ returned: errors.length, total: errors.length });
      expect(msgsOf(await api.call('events.get_task_log', { task, search: 'éCHEC', navigate_earlier: false }))).toEqual([msgs[10], msgs[11]]);
      // LIKE wildcards are plain characters here.
      expect((await api.call('events.get_task_log', { task, search: '50%' })).total).toBe(msgs.filter((m) => m.includes('50%')).length);
      expect((await api.call('events.get_task_log', { task, search: '%' })).total).toBe(msgs.filter((m) => m.includes('%')).length);
      expect((await api.call('events.get_task_log', { task, search: 'a_b' })).total).toBe(msgs.filter((m) => m.includes('a_b')).length);
      expect((await api.call('events.get_task_log', { task, search: 'nothing like this' })).total).toBe(0);
      expect((await api.call('events.get_task_log', { task })).total).toBe(40);
    });

    it('pages through a long log from the head and from the tail, with and without search, without gaps or repeats', async () => {
      const { task, msgs } = await logTask();
      for (const search of [undefined, 'error', 'progress']) {
        const expected = search ? msgs.filter((m) => m.toLowerCase().includes(search)) : msgs;
        for (const navigateEarlier of [false, true]) {
          const seen: string[] = [];
          let from: number | undefined;
          for (let page = 0; page < 100; page += 1) {
            const reply = await api.call('events.get_task_log', {
              task,
              batch_size: 2,
              navigate_earlier: navigateEarlier,
              ...(search ? { search } : {}),
              ...(from !== undefined ? { from_timestamp: from } : {}),
            });
            expect(reply.total).toBe(expected.length);
            if (reply.returned === 0) break;
            seen.push(...msgsOf(reply));
            from = reply.events.at(-1)!.timestamp;
          }
          expect(seen, `search ${search}, navigate_earlier ${navigateEarlier}`).toEqual(navigateEarlier ? [...expected].reverse() : expected);
        }
      }
    });

    it('pages from a from_timestamp with a fraction, or past any timestamp, as from the whole number past it', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      await addOk([1, 2, 3].map((i) => ({ type: 'log', task, timestamp: T0 + i, msg: `line ${i}` })));
      const page = async (navigateEarlier: boolean, from: number) =>
        msgsOf(await api.call('events.get_task_log', { task, navigate_earlier: navigateEarlier, from_timestamp: from }));
      expect(await page(true, T0 + 2.5)).toEqual(['line 2', 'line 1']);
      expect(await page(true, T0 + 2)).toEqual(['line 1']);
      expect(await page(false, T0 + 1.5)).toEqual(['line 2', 'line 3']);
      expect(await page(false, T0 + 2)).toEqual(['line 3']);
      expect(await page(true, 1e308)).toEqual(['line 3', 'line 2', 'line 1']);
      expect(await page(true, 5e-324)).toEqual([]);
      expect(await page(false, -1e308)).toEqual(['line 1', 'line 2', 'line 3']);
      expect(await page(false, 1e21)).toEqual([]);
    });
  });
});

describe('read-only transactions', () => {
  it('refuse to write, and leave nothing behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-readonly-'));
    const database = await newTestDatabase(dir);
    const store = await database.openStore();
    try {
      const slice = { metric: 'm', variant: 'v', points: { iter: [3], value: [0.5], timestamp: [1000], length: 1 }, from: 0, to: 1 };
      const write = store.transaction((repos) => repos.events.appendScalars(newId(), [slice]), { readOnly: true });
      await expect(write).rejects.toThrow(/readonly|read-only|query_only/i);
      // The next unit of work writes normally.
      await store.transaction((repos) => repos.events.appendScalars('task', [slice]));
      const stored = await store.transaction(
        async (repos) => {
          const series = await repos.events.listSeries('task');
          return { series, points: await Promise.all(series.map((s) => repos.events.latestPoints(s.id, 10))) };
        },
        { readOnly: true },
      );
      expect(stored).toEqual({
        series: [{ id: expect.any(Number), metric: 'm', variant: 'v' }],
        points: [[{ iter: 3, value: 0.5, timestamp: 1000 }]],
      });
    } finally {
      await store.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
