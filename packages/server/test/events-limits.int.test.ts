import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_EVENTS_PER_BATCH,
  MAX_METRICS_PER_FILTER,
  MAX_OTHER_EVENTS_PER_BATCH,
  MAX_SCALAR_POINTS_PER_REQUEST,
  MAX_SERIES_PER_BATCH,
  MAX_SERIES_PER_SCALARS_REQUEST,
  MAX_TASKS_PER_BATCH,
  MAX_TASKS_PER_READ,
  MAX_VARIANTS_PER_FILTER,
  type Task,
} from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { getTask, makeTask } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

// Issue 13: no event request may stall the server. Requests over a cap are refused as a whole, at once, in a short
// reply; those within the caps are stored whole.

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const fmt = (n: number) => n.toLocaleString('en');

/** What the server answered, and how long it took. */
interface Reply {
  status: number;
  bytes: number;
  json: any;
  ms: number;
}

describe('caps on event requests', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  async function send(endpoint: string, body: string, contentType = 'application/json'): Promise<Reply> {
    const started = performance.now();
    const response = await fetch(`${server.url}/${endpoint}`, { method: 'POST', headers: { 'content-type': contentType }, body });
    const text = await response.text();
    return { status: response.status, bytes: Buffer.byteLength(text), json: JSON.parse(text), ms: performance.now() - started };
  }

  const lines = (events: readonly unknown[]) => events.map((e) => JSON.stringify(e)).join('\n');
  const addBatch = (events: readonly unknown[]) => send('events.add_batch', lines(events), 'application/json-lines');
  const scalar = (task: string, iter: number, variant = 'train') => ({ type: 'training_stats_scalar', task, iter, metric: 'loss', variant, value: iter });
  const log = (task: string, i: number) => ({ type: 'log', task, timestamp: 1_700_000_000_000 + i, msg: `line ${i}` });

  /**
   * Runs `request` while a second client asks the server for its default queue, one call after the other; answers
   * the reply and the slowest of those calls.
   */
  async function whileOtherClientIsServed(request: () => Promise<Reply>): Promise<{ reply: Reply; slowestOtherMs: number; otherCalls: number }> {
    let done = false;
    const other = (async () => {
      const times: number[] = [];
      while (!done) {
        const started = performance.now();
        const response = await fetch(`${server.url}/queues.get_default`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        expect(response.status).toBe(200);
        await response.text();
        times.push(performance.now() - started);
      }
      return times;
    })();
    const reply = await request().finally(() => {
      done = true;
    });
    const times = await other;
    return { reply, slowestOtherMs: Math.max(...times), otherCalls: times.length };
  }

  /** Events stored for a task: console lines, and all events of any type. */
  async function stored(task: string) {
    const [logs, events] = await Promise.all([
      api.call('events.get_task_log', { task }),
      api.call('events.get_task_events', { task }),
    ]);
    return { logs: logs.total, events: events.total };
  }

  /** The points of all series in a task's last_metrics. */
  function pointsIn(task: Task): number {
    return Object.values(task.last_metrics)
      .flatMap((variants) => Object.values(variants))
      .reduce((n, entry) => n + (entry.count ?? 0), 0);
  }

  describe('a million empty events, three million points', () => {
    const million = Array<string>(1_000_000).fill('{}');

    it('refuses a million events sent as JSON lines at once, in a short reply naming the cap, while another client is served', async () => {
      const { reply, slowestOtherMs } = await whileOtherClientIsServed(() =>
        send('events.add_batch', million.join('\n'), 'application/json-lines'),
      );
      expect(reply.status).toBe(413);
      expect(reply.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_EVENTS_PER_BATCH, count: 1_000_000 });
      expect(reply.json.meta.result_msg).toMatchInlineSnapshot(
        `"events.add_batch takes at most 100,000 events per request, got 1,000,000; nothing was stored. Send them in several requests (Tasklane's SDK and agent split their batches by themselves; ClearML's SDK stays below this unless its api.http.max_req_size is raised)."`,
      );
      expect(reply.bytes).toBeLessThan(1024);
      expect(reply.ms).toBeLessThan(1000);
      expect(slowestOtherMs).toBeLessThan(500);
    });

    it('refuses a million events sent as a JSON array the same way', async () => {
      const { reply, slowestOtherMs } = await whileOtherClientIsServed(() => send('events.add_batch', `[${million.join(',')}]`));
      expect(reply.status).toBe(413);
      expect(reply.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_EVENTS_PER_BATCH, count: 1_000_000 });
      expect(reply.bytes).toBeLessThan(1024);
      expect(reply.ms).toBeLessThan(1000);
      expect(slowestOtherMs).toBeLessThan(500);
    });

    it('refuses three million points of add_scalars at once, storing none', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, task);
      const body = (points: number, seriesCount: number) => {
        // Small numbers, so that the body is as small as such a request can be.
        const column = `[${Array<string>(points / seriesCount).fill('0').join(',')}]`;
        const series = Array.from({ length: seriesCount }, (_, k) => `{"metric":"big","variant":"s${k}","iter":${column},"value":${column}}`);
        return `{"task":"${task}","series":[${series.join(',')}]}`;
      };
      // Three million points take 12 MB at the least: more than one JSON document may be, refused before parsing.
      const three = await whileOtherClientIsServed(() => send('events.add_scalars', body(3_000_000, 3)));
      expect(three.reply.status).toBe(413);
      expect(three.reply.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit_bytes: 8 * 1024 * 1024 });
      expect(three.reply.bytes).toBeLessThan(1024);
      expect(three.reply.ms).toBeLessThan(1000);
      expect(three.slowestOtherMs).toBeLessThan(500);
      // Two million fit in one document; the points cap refuses them.
      const { reply, slowestOtherMs } = await whileOtherClientIsServed(() => send('events.add_scalars', body(2_000_000, 2)));
      expect(reply.status).toBe(413);
      expect(reply.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_SCALAR_POINTS_PER_REQUEST, count: 2_000_000 });
      expect(reply.json.meta.result_msg).toMatchInlineSnapshot(
        `"events.add_scalars takes at most 100,000 points (all series together) per request, got 2,000,000; nothing was stored. Send them in several requests (Tasklane's SDK splits its batches by itself)."`,
      );
      expect(reply.bytes).toBeLessThan(1024);
      expect(reply.ms).toBeLessThan(1000);
      expect(slowestOtherMs).toBeLessThan(500);
      expect(await getTask(api, task)).toEqual(before);
    });
  });

  describe('events.add_batch', () => {
    it(`stores a batch of exactly ${fmt(MAX_EVENTS_PER_BATCH)} events whole, and refuses one more, storing nothing`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const full = Array.from({ length: MAX_EVENTS_PER_BATCH }, (_, i) => scalar(task, Math.floor(i / 10), `v${i % 10}`));
      const ok = await addBatch(full);
      expect({ status: ok.status, data: ok.json.data }).toEqual({ status: 200, data: { added: MAX_EVENTS_PER_BATCH, errors: 0, errors_info: {} } });
      const after = await getTask(api, task);
      expect(pointsIn(after)).toBe(MAX_EVENTS_PER_BATCH);
      expect(after.last_iteration).toBe(MAX_EVENTS_PER_BATCH / 10 - 1);

      const other = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, other);
      const over = await addBatch([...full.map((e) => ({ ...e, task: other })), log(other, 0)]);
      expect(over.status).toBe(413);
      expect(over.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_EVENTS_PER_BATCH, count: MAX_EVENTS_PER_BATCH + 1 });
      expect(over.json.meta.result_msg).toContain(`at most ${fmt(MAX_EVENTS_PER_BATCH)} events per request, got ${fmt(MAX_EVENTS_PER_BATCH + 1)}`);
      expect(await getTask(api, other)).toEqual(before);
      expect(await stored(other)).toEqual({ logs: 0, events: 0 });
    });

    it('lets other clients in while a large batch is written, and none of them sees half of it', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const full = Array.from({ length: MAX_EVENTS_PER_BATCH }, (_, i) => scalar(task, Math.floor(i / 10), `v${i % 10}`));
      const seen = new Set<number>();
      let done = false;
      const watcher = (async () => {
        while (!done) seen.add((await api.call('events.get_task_events', { task, batch_size: 1 })).total);
      })();
      // Another writer of the same task meanwhile: it goes before or after the batch, never inside it.
      const [batch, line] = await Promise.all([
        addBatch(full).finally(() => {
          done = true;
        }),
        addBatch([log(task, 0)]),
      ]);
      await watcher;
      expect([batch.status, line.status]).toEqual([200, 200]);
      expect([...seen].every((total) => [0, 1, MAX_EVENTS_PER_BATCH, MAX_EVENTS_PER_BATCH + 1].includes(total))).toBe(true);
      expect(await stored(task)).toEqual({ logs: 1, events: MAX_EVENTS_PER_BATCH + 1 });
      expect(pointsIn(await getTask(api, task))).toBe(MAX_EVENTS_PER_BATCH);
    });

    it(`takes ${fmt(MAX_OTHER_EVENTS_PER_BATCH)} events other than scalars (beside scalars), and refuses one more`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const consoleLines = Array.from({ length: MAX_OTHER_EVENTS_PER_BATCH }, (_, i) => log(task, i));
      const ok = await addBatch([...consoleLines, scalar(task, 1)]);
      expect(ok.status).toBe(200);
      expect(await stored(task)).toEqual({ logs: MAX_OTHER_EVENTS_PER_BATCH, events: MAX_OTHER_EVENTS_PER_BATCH + 1 });

      const other = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, other);
      const over = await addBatch([
        ...consoleLines.map((e) => ({ ...e, task: other })),
        { type: 'plot', task: other, iter: 1, metric: 'm', variant: 'v', plot_str: '{}' },
        scalar(other, 1),
      ]);
      expect(over.status).toBe(413);
      expect(over.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_OTHER_EVENTS_PER_BATCH, count: MAX_OTHER_EVENTS_PER_BATCH + 1 });
      expect(over.json.meta.result_msg).toMatchInlineSnapshot(
        `"events.add_batch takes at most 20,000 events other than scalars (console lines, plots, debug samples, vectors) per request, got 20,001; nothing was stored. Send them in several requests (Tasklane's SDK and agent split their batches by themselves; ClearML's SDK stays below this unless its api.http.max_req_size is raised)."`,
      );
      expect(await getTask(api, other)).toEqual(before);
      expect(await stored(other)).toEqual({ logs: 0, events: 0 });
    });

    it(`takes scalars of ${fmt(MAX_SERIES_PER_BATCH)} series, and refuses one series more`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const series = (t: string, count: number) => Array.from({ length: count }, (_, i) => ({ ...scalar(t, 0, `class-${i}`), metric: `m${i % 10}` }));
      const ok = await addBatch(series(task, MAX_SERIES_PER_BATCH));
      expect(ok.status).toBe(200);
      const after = await getTask(api, task);
      expect(Object.values(after.last_metrics).flatMap((variants) => Object.keys(variants))).toHaveLength(MAX_SERIES_PER_BATCH);

      const other = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, other);
      const over = await addBatch([log(other, 0), ...series(other, MAX_SERIES_PER_BATCH + 1)]);
      expect(over.status).toBe(413);
      expect(over.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_SERIES_PER_BATCH, count: MAX_SERIES_PER_BATCH + 1 });
      expect(over.json.meta.result_msg).toMatchInlineSnapshot(
        `"events.add_batch takes scalar events of at most 10,000 series (metric/variant pairs) per request, got 10,001; nothing was stored. Send them in several requests, fewer series each."`,
      );
      expect(await getTask(api, other)).toEqual(before);
      expect(await stored(other)).toEqual({ logs: 0, events: 0 });
    });

    it(`refuses events of more than ${MAX_TASKS_PER_BATCH} tasks in one batch, and names only the first unknown tasks`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const unknown = (i: number) => `f${i.toString(16).padStart(31, '0')}`;
      const tooMany = await addBatch([log(task, 0), ...Array.from({ length: MAX_TASKS_PER_BATCH }, (_, i) => log(unknown(i), i))]);
      expect(tooMany.status).toBe(413);
      expect(tooMany.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_TASKS_PER_BATCH, count: MAX_TASKS_PER_BATCH + 1 });

      const missing = await addBatch([log(task, 0), ...Array.from({ length: MAX_TASKS_PER_BATCH - 1 }, (_, i) => log(unknown(i), i))]);
      expect(missing.status).toBe(404);
      expect(missing.json.meta.error_data).toEqual({
        code: 'TASK_NOT_FOUND',
        tasks: [0, 1, 2, 3, 4].map(unknown),
        missing_tasks: MAX_TASKS_PER_BATCH - 1,
      });
      expect(missing.json.meta.result_msg).toMatchInlineSnapshot(
        `"No task has id "f0000000000000000000000000000000" (line 2), "f0000000000000000000000000000001" (line 3), "f0000000000000000000000000000002" (line 4), "f0000000000000000000000000000003" (line 5), "f0000000000000000000000000000004" (line 6), nor 94 more of the ids; nothing of this batch was stored. Report events to an existing task (tasklane task list)."`,
      );
      expect(missing.bytes).toBeLessThan(2048);
      expect(await stored(task)).toEqual({ logs: 0, events: 0 });
    });

    it('answers a batch of many bad events in a short message that lists the first five and counts the rest', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const bad = Array.from({ length: MAX_EVENTS_PER_BATCH }, (_, i) =>
        i % 2 === 0 ? { type: 'training_stats_scalar', task, value: 'high' } : { type: 'training_stats_scalar', task, iter: 0.5, value: 1 },
      );
      const reply = await addBatch(bad);
      expect(reply.status).toBe(400);
      expect(reply.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', lines: [1, 2, 3, 4, 5], invalid_events: MAX_EVENTS_PER_BATCH });
      expect(reply.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 1: value: expected a number, got "high"; line 2: iter: expected an integer, got 0.5; line 3: value: expected a number, got "high"; line 4: iter: expected an integer, got 0.5; line 5: value: expected a number, got "high"; and 99,995 more bad lines (100,000 of 100,000 events are invalid). Fix these lines and send the batch again."`,
      );
      expect(reply.bytes).toBeLessThan(2048);
      expect(await stored(task)).toEqual({ logs: 0, events: 0 });
    });

    it('names the first few problems of one bad event, and counts the others', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const reply = await addBatch([{ type: 'training_stats_scalar', task, iter: 'a', metric: 1, variant: 2, value: 'b', timestamp: 'c', worker: 3, x_axis_label: 4 }]);
      expect(reply.status).toBe(400);
      expect(reply.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid events, nothing of this batch was stored: line 1: timestamp: expected a number, got "c"; line 1: worker: expected a string, got 3; line 1: iter: expected a number, got "a"; line 1: metric: expected a string, got 1; line 1: variant: expected a string, got 2; and 2 more problems. Fix these lines and send the batch again."`,
      );
    });
  });

  describe('events.add_scalars', () => {
    const columns = (count: number, variant: string, first = 0) => ({
      metric: 'loss',
      variant,
      iter: Array.from({ length: count }, (_, i) => first + i),
      value: Array.from({ length: count }, (_, i) => i),
    });

    it(`stores exactly ${fmt(MAX_SCALAR_POINTS_PER_REQUEST)} points whole, and refuses one point more, storing nothing`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const half = MAX_SCALAR_POINTS_PER_REQUEST / 2;
      const ok = await send('events.add_scalars', JSON.stringify({ task, series: [columns(half, 'a'), columns(half, 'b')] }));
      expect({ status: ok.status, data: ok.json.data }).toEqual({ status: 200, data: { added: MAX_SCALAR_POINTS_PER_REQUEST, errors: 0, errors_info: {} } });
      const after = await getTask(api, task);
      expect(pointsIn(after)).toBe(MAX_SCALAR_POINTS_PER_REQUEST);
      expect(after.last_metrics[md5('loss')]?.[md5('b')]).toMatchObject({ count: half, value: half - 1, max_value_iteration: half - 1 });

      const other = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, other);
      const over = await send('events.add_scalars', JSON.stringify({ task: other, series: [columns(half, 'a'), columns(half + 1, 'b')] }));
      expect(over.status).toBe(413);
      expect(over.json.meta.error_data).toEqual({ code: 'REQUEST_TOO_LARGE', limit: MAX_SCALAR_POINTS_PER_REQUEST, count: MAX_SCALAR_POINTS_PER_REQUEST + 1 });
      expect(await getTask(api, other)).toEqual(before);
      expect(await stored(other)).toEqual({ logs: 0, events: 0 });
    });

    it(`stores ${fmt(MAX_SERIES_PER_SCALARS_REQUEST)} series, and refuses one series more, storing nothing`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const series = (count: number) => Array.from({ length: count }, (_, i) => columns(2, `class-${i}`));
      const ok = await send('events.add_scalars', JSON.stringify({ task, series: series(MAX_SERIES_PER_SCALARS_REQUEST) }));
      expect(ok.status).toBe(200);
      expect(pointsIn(await getTask(api, task))).toBe(2 * MAX_SERIES_PER_SCALARS_REQUEST);

      const other = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, other);
      const over = await send('events.add_scalars', JSON.stringify({ task: other, series: series(MAX_SERIES_PER_SCALARS_REQUEST + 1) }));
      expect(over.status).toBe(413);
      expect(over.json.meta.error_data).toEqual({
        code: 'REQUEST_TOO_LARGE',
        limit: MAX_SERIES_PER_SCALARS_REQUEST,
        count: MAX_SERIES_PER_SCALARS_REQUEST + 1,
      });
      expect(over.json.meta.result_msg).toMatchInlineSnapshot(
        `"events.add_scalars takes at most 250 series per request, got 251; nothing was stored. Send them in several requests (Tasklane's SDK splits its batches by itself)."`,
      );
      expect(await getTask(api, other)).toEqual(before);
    });

    it('takes the same series twice in one request, its points appended in order', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const ok = await send('events.add_scalars', JSON.stringify({ task, series: [columns(3, 'a'), columns(2, 'a', 3)] }));
      expect(ok.status).toBe(200);
      const chart = await api.call('events.scalar_metrics_iter_histogram', { task });
      expect(chart.loss?.a).toMatchObject({ x: [0, 1, 2, 3, 4], y: [0, 1, 2, 0, 1] });
      expect((await getTask(api, task)).last_iteration).toBe(4);
    });
  });

  describe('read requests', () => {
    it(`refuses a metrics filter of more than ${MAX_METRICS_PER_FILTER} entries or ${fmt(MAX_VARIANTS_PER_FILTER)} variants`, async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const entries = await send(
        'events.get_task_events',
        JSON.stringify({ task, metrics: Array.from({ length: MAX_METRICS_PER_FILTER + 1 }, (_, i) => ({ metric: `m${i}` })) }),
      );
      expect(entries.status).toBe(400);
      expect(entries.json.meta.result_msg).toMatchInlineSnapshot(`"Invalid request: body.metrics: expected a list of at most 100 items, got [{"metric":"m0"},{"metric":"m1"},{"metric":"m2"},{"metric..."`);
      const variants = Array.from({ length: MAX_VARIANTS_PER_FILTER / 2 + 1 }, (_, i) => `v${i}`);
      const tooManyVariants = await send(
        'events.scalar_metrics_iter_histogram',
        JSON.stringify({ task, metrics: [{ metric: 'a', variants }, { metric: 'b', variants }] }),
      );
      expect(tooManyVariants.status).toBe(400);
      expect(tooManyVariants.json.meta.result_msg).toMatchInlineSnapshot(
        `"Invalid request: body.metrics: at most 10,000 variants may be listed in all entries together, got 10,002; list fewer, or leave variants out to take all of a metric, got [{"metric":"a","variants":["v0","v1","v2","v3","v4","v5",..."`,
      );
      // Within the caps, a long filter is answered, quickly and right (the SQL stays within SQLite's limits).
      await addBatch([{ ...scalar(task, 1, 'v3'), metric: 'm1' }, { ...scalar(task, 1, 'v50'), metric: 'm1' }, { ...scalar(task, 1, 'v3'), metric: 'm2' }]);
      const perEntry = MAX_VARIANTS_PER_FILTER / MAX_METRICS_PER_FILTER;
      const filter = Array.from({ length: MAX_METRICS_PER_FILTER }, (_, i) => ({
        metric: `m${i}`,
        variants: Array.from({ length: perEntry }, (_, k) => `v${i === 2 ? k + 10 : k}`),
      }));
      const started = performance.now();
      const events = await api.call('events.get_task_events', { task, metrics: filter });
      const chart = await api.call('events.scalar_metrics_iter_histogram', { task, metrics: filter });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(events.events.map((e) => `${e.metric}/${e.variant}`).sort()).toEqual(['m1/v3', 'm1/v50']);
      expect(Object.keys(chart)).toEqual(['m1']);
      expect(Object.keys(chart.m1!).sort()).toEqual(['v3', 'v50']);
    });

    it(`refuses more than ${fmt(MAX_TASKS_PER_READ)} tasks in one multi-task read, and lists only the first missing ones`, async () => {
      const ids = (count: number) => Array.from({ length: count }, (_, i) => `e${i.toString(16).padStart(31, '0')}`);
      const tooMany = await send('events.get_task_metrics', JSON.stringify({ tasks: ids(MAX_TASKS_PER_READ + 1) }));
      expect(tooMany.status).toBe(400);
      expect(tooMany.json.meta.result_msg).toMatchInlineSnapshot(`"Invalid request: body.tasks: expected a list of at most 1000 items, got ["e0000000000000000000000000000000","e0000000000000000000..."`);
      const missing = await send('events.get_task_metrics', JSON.stringify({ tasks: ids(MAX_TASKS_PER_READ) }));
      expect(missing.status).toBe(404);
      expect(missing.json.meta.error_data).toMatchObject({ code: 'TASK_NOT_FOUND', missing_tasks: MAX_TASKS_PER_READ });
      expect(missing.json.meta.error_data.tasks).toHaveLength(5);
      expect(missing.json.meta.result_msg).toContain(', nor 995 more of the ids.');
      expect(missing.bytes).toBeLessThan(2048);
    });
  });
});
