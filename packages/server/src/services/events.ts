import { createHash } from 'node:crypto';
import {
  ITERATION_IGNORED_METRICS,
  TASK_STATUS_LABEL,
  TasklaneError,
  newId,
  parseEventBatch,
  shortId,
  type EventInput,
  type LastMetricsEvent,
  type LogEvent,
  type MetricVariants,
  type ParsedRequestOf,
  type ResponseOf,
  type ScalarKey,
  type ScalarSeries,
  type Task,
  type TaskEvent,
} from '@tasklane/protocol';
import type {
  EventRecord,
  LogEventRecord,
  OtherEventRecord,
  ScalarPoint,
  SeriesRecord,
  SeriesStats,
} from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { getTaskOrThrow, saveTask } from './tasks.js';

/** Statuses in which a task takes no events unless the caller says `allow_locked` (ClearML's locked statuses). */
const LOCKED_STATUSES: readonly Task['status'][] = ['publishing', 'published'];

/** How many latest values `get_task_latest_scalar_values` averages. */
const LATEST_VALUES_WINDOW = 10;

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/**
 * ClearML's identity of a non-log event: md5 of "task-iter-metric-variant-key" over the fields it has. A re-sent
 * event gets the same id and replaces the stored one.
 */
export function eventId(event: { task: string; iter?: number; metric: string; variant: string; key?: string }): string {
  const parts = [event.task, event.iter, event.metric, event.variant, event.key].filter((p) => p !== undefined);
  return md5(parts.join('-'));
}

/** The key of a metric or variant name in `last_metrics` (ClearML hashes them: names may hold any character). */
export function metricKey(name: string): string {
  return md5(name);
}

// ---------------------------------------------------------------------------------------------------------------
// events.add_batch

/** The scalar points of one series that a batch brings; a later point at the same iteration wins. */
interface PendingSeries {
  metric: string;
  variant: string;
  points: Map<number, { value: number; timestamp: number }>;
  xAxisLabel?: string;
}

/** What a batch brings for one task. */
interface TaskBatch {
  /** 1-based line of each event, for messages. */
  lines: number[];
  events: EventInput[];
}

export async function addBatch(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.add_batch'>,
): Promise<ResponseOf<'events.add_batch'>> {
  const events = parseEventBatch(body);
  const byTask = new Map<string, TaskBatch>();
  events.forEach((event, i) => {
    const batch = byTask.get(event.task) ?? { lines: [], events: [] };
    batch.lines.push(i + 1);
    batch.events.push(event);
    byTask.set(event.task, batch);
  });
  const tasks = await loadWritableTasks(ctx, byTask);
  const now = ctx.now();
  const nowMs = Date.parse(now);
  for (const task of tasks) {
    const { last_iteration, last_metrics } = await storeTaskEvents(ctx, task, byTask.get(task.id)!.events, nowMs);
    // One write per task and batch, whatever the number of events.
    await saveTask(ctx, { ...task, last_update: now, last_iteration, last_metrics }, task.status);
  }
  return { added: events.length, errors: 0, errors_info: {} };
}

/** Loads the tasks of a batch; refuses the whole batch if one is missing or read-only, naming the lines. */
async function loadWritableTasks(ctx: ServiceContext, byTask: Map<string, TaskBatch>): Promise<Task[]> {
  const tasks: Task[] = [];
  const missing: string[] = [];
  for (const id of byTask.keys()) {
    const task = await ctx.repos.tasks.get(id);
    if (task) tasks.push(task);
    else missing.push(id);
  }
  if (missing.length > 0) {
    const named = missing.map((id) => `"${id}" (${lineList(byTask.get(id)!.lines)})`).join(', ');
    throw new TasklaneError(
      'TASK_NOT_FOUND',
      `No task has id ${named}; nothing of this batch was stored. Report events to an existing task (tasklane task list).`,
      { tasks: missing },
    );
  }
  for (const task of tasks) {
    const batch = byTask.get(task.id)!;
    const locked = batch.lines.filter((_, i) => !batch.events[i]!.allow_locked);
    if (LOCKED_STATUSES.includes(task.status) && locked.length > 0) {
      const id = shortId(task.id);
      throw new TasklaneError(
        'TASK_READ_ONLY',
        `Cannot add events to task ${id} (${lineList(locked)}): its status is "${task.status}" (${TASK_STATUS_LABEL[task.status]}) ` +
          `and a published task is read-only; nothing of this batch was stored. Clone it to run it again ` +
          `(tasklane task clone ${id}), or send allow_locked: true on each event to add them anyway.`,
        { task: task.id, current_status: task.status, lines: locked },
      );
    }
  }
  return tasks;
}

function lineList(lines: readonly number[]): string {
  const shown = lines.slice(0, 10).join(', ');
  return `${lines.length === 1 ? 'line' : 'lines'} ${shown}${lines.length > 10 ? `, and ${lines.length - 10} more` : ''}`;
}

/** Stores one task's events of a batch and answers its new last_iteration and last_metrics. */
async function storeTaskEvents(
  ctx: ServiceContext,
  task: Task,
  events: readonly EventInput[],
  nowMs: number,
): Promise<Pick<Task, 'last_iteration' | 'last_metrics'>> {
  const logs: LogEventRecord[] = [];
  const others: OtherEventRecord[] = [];
  const scalars = new Map<string, PendingSeries>();
  let lastIteration = task.last_iteration;
  for (const event of events) {
    // As ClearML: `ts` (the old name) wins over `timestamp`; the time of arrival when neither is given.
    const timestamp = Math.round(event.ts ?? event.timestamp ?? nowMs);
    const worker = event.worker ?? ctx.caller?.worker ?? null;
    if (event.type === 'log') {
      logs.push({ type: 'log', task: task.id, id: event.id ?? newId(), timestamp, level: event.level, worker, msg: event.msg });
      continue;
    }
    const metric = event.metric ?? '';
    const variant = event.variant ?? '';
    if (event.iter !== undefined && !ITERATION_IGNORED_METRICS.includes(metric)) {
      lastIteration = Math.max(lastIteration, event.iter);
    }
    if (event.type === 'training_stats_scalar') {
      const key = JSON.stringify([metric, variant]);
      const series: PendingSeries = scalars.get(key) ?? { metric, variant, points: new Map() };
      series.points.set(event.iter ?? 0, { value: event.value, timestamp });
      if (event.x_axis_label !== undefined) series.xAxisLabel = event.x_axis_label;
      scalars.set(key, series);
      continue;
    }
    const data: Record<string, unknown> =
      event.type === 'training_stats_vector'
        ? { value: event.values }
        : event.type === 'training_debug_image'
          ? { key: event.key, url: event.url }
          : { plot_str: event.plot_str };
    const key = event.type === 'training_debug_image' ? event.key : undefined;
    others.push({
      type: event.type,
      task: task.id,
      id: eventId({ task: task.id, iter: event.iter, metric, variant, key }),
      iter: event.iter ?? null,
      metric,
      variant,
      timestamp,
      data: { ...data, worker },
    });
  }
  await ctx.repos.events.insertLogs(logs);
  await ctx.repos.events.upsertOthers(others);

  const lastMetrics = { ...task.last_metrics };
  for (const series of scalars.values()) {
    const metricHash = metricKey(series.metric);
    const variantHash = metricKey(series.variant);
    const variants = { ...lastMetrics[metricHash] };
    variants[variantHash] = await storeSeries(ctx, task.id, series, variants[variantHash]);
    lastMetrics[metricHash] = variants;
  }
  return { last_iteration: lastIteration, last_metrics: lastMetrics };
}

/**
 * Writes a series' points and answers its `last_metrics` entry. When the points all come after what is stored (a
 * training loop), the entry is updated from the batch alone; when they may replace stored points (a re-sent batch,
 * iterations out of order), the series is summarized again from the table, so overwrites are never counted twice.
 */
async function storeSeries(
  ctx: ServiceContext,
  taskId: string,
  series: PendingSeries,
  previous: LastMetricsEvent | undefined,
): Promise<LastMetricsEvent> {
  const points: ScalarPoint[] = [...series.points]
    .map(([iter, p]) => ({ iter, value: p.value, timestamp: p.timestamp }))
    .sort((a, b) => a.iter - b.iter);
  const repo = ctx.repos.events;
  const id = await repo.ensureSeries(taskId, series.metric, series.variant);
  const storedLast = await repo.lastIteration(id);
  await repo.upsertScalars(id, points);
  const known = storedLast !== undefined && previous ? statsFromLastMetrics(previous, storedLast) : undefined;
  const stats =
    storedLast === undefined
      ? statsOf(points)
      : known && points[0]!.iter > storedLast
        ? mergeStats(known, points)
        : await repo.seriesStats(id);
  if (!stats) throw new Error(`Scalar series ${id} is empty right after points were written to it`);
  return lastMetricsEntry(series.metric, series.variant, stats, series.xAxisLabel ?? previous?.x_axis_label);
}

/** Stats of points sorted by iteration. */
function statsOf(points: readonly ScalarPoint[]): SeriesStats {
  const first = points[0]!;
  return mergeStats(
    { count: 1, sum: first.value, first, last: first, min: first, max: first },
    points.slice(1),
  );
}

/** Adds points that all come after the last one of `stats`, sorted by iteration. */
function mergeStats(stats: SeriesStats, points: readonly ScalarPoint[]): SeriesStats {
  let { count, sum, last, min, max } = stats;
  for (const p of points) {
    count += 1;
    sum += p.value;
    last = p;
    // Strict comparisons: on a tie the earlier iteration keeps the record.
    if (p.value < min.value) min = p;
    if (p.value > max.value) max = p;
  }
  const pick = (p: { iter: number; value: number }) => ({ iter: p.iter, value: p.value });
  return { count, sum, first: pick(stats.first), last: pick(last), min: pick(min), max: pick(max) };
}

/** The stats a `last_metrics` entry holds, if it holds all of them; `lastIter` is the series' stored last iteration. */
function statsFromLastMetrics(entry: LastMetricsEvent, lastIter: number): SeriesStats | undefined {
  const num = (n: number | null | undefined) => (typeof n === 'number' ? n : undefined);
  const [count, mean, last, first, firstIter, min, minIter, max, maxIter] = [
    entry.count,
    entry.mean_value,
    entry.value,
    entry.first_value,
    entry.first_value_iteration,
    entry.min_value,
    entry.min_value_iteration,
    entry.max_value,
    entry.max_value_iteration,
  ].map(num);
  if (!count || mean === undefined || last === undefined || first === undefined || firstIter === undefined) return undefined;
  if (min === undefined || minIter === undefined || max === undefined || maxIter === undefined) return undefined;
  return {
    count,
    sum: mean * count,
    first: { iter: firstIter, value: first },
    last: { iter: lastIter, value: last },
    min: { iter: minIter, value: min },
    max: { iter: maxIter, value: max },
  };
}

function lastMetricsEntry(metric: string, variant: string, stats: SeriesStats, xAxisLabel: string | undefined): LastMetricsEvent {
  return {
    metric,
    variant,
    value: stats.last.value,
    min_value: stats.min.value,
    min_value_iteration: stats.min.iter,
    max_value: stats.max.value,
    max_value_iteration: stats.max.iter,
    first_value: stats.first.value,
    first_value_iteration: stats.first.iter,
    mean_value: stats.sum / stats.count,
    count: stats.count,
    ...(xAxisLabel !== undefined ? { x_axis_label: xAxisLabel } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

function toLogEvent(record: LogEventRecord): LogEvent {
  return {
    type: 'log',
    task: record.task,
    id: record.id,
    timestamp: record.timestamp,
    level: record.level,
    worker: record.worker,
    msg: record.msg,
  };
}

function toTaskEvent(record: EventRecord): TaskEvent {
  switch (record.type) {
    case 'log':
      return toLogEvent(record);
    case 'training_stats_scalar':
      return {
        type: record.type,
        task: record.task,
        id: eventId(record),
        timestamp: record.timestamp,
        iter: record.iter,
        metric: record.metric,
        variant: record.variant,
        value: record.value,
      };
    default: {
      const data = Object.fromEntries(Object.entries(record.data).filter(([, v]) => v !== undefined && v !== null));
      return {
        ...data,
        type: record.type,
        task: record.task,
        id: record.id,
        timestamp: record.timestamp,
        ...(record.iter !== null ? { iter: record.iter } : {}),
        metric: record.metric,
        variant: record.variant,
        worker: (record.data.worker as string | null | undefined) ?? null,
      };
    }
  }
}

export async function getTaskLog(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_log'>,
): Promise<ResponseOf<'events.get_task_log'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const records = await ctx.repos.events.logPage({
    task: task.id,
    limit: body.batch_size,
    descending: body.navigate_earlier,
    fromTimestamp: body.from_timestamp,
  });
  // As ClearML: the page is taken in the navigation direction, then turned around if another order is asked for.
  const isDescending = body.order === undefined ? body.navigate_earlier : body.order === 'desc';
  if (isDescending !== body.navigate_earlier) records.reverse();
  const total = await ctx.repos.events.countLogs(task.id);
  return { events: records.map(toLogEvent), returned: records.length, total };
}

/** A scroll position of get_task_events: the offset of the next page (the caller repeats its filters). */
function encodeScroll(offset: number): string {
  return Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

function decodeScroll(scrollId: string): number {
  try {
    const { offset } = JSON.parse(Buffer.from(scrollId, 'base64url').toString('utf8')) as { offset?: unknown };
    if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // Reported below.
  }
  throw new TasklaneError(
    'INVALID_INPUT',
    `Invalid request: body.scroll_id: not a scroll id this server made, got ${JSON.stringify(scrollId)}. ` +
      'Send the scroll_id of the previous reply, or none for the first page.',
    { fields: ['body.scroll_id'] },
  );
}

export async function getTaskEvents(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_events'>,
): Promise<ResponseOf<'events.get_task_events'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const offset = body.scroll_id ? decodeScroll(body.scroll_id) : 0;
  const filter = { task: task.id, types: body.event_type ? [body.event_type] : undefined, metrics: metricFilter(body.metrics) };
  const records = await ctx.repos.events.listEvents({
    ...filter,
    descending: body.order === 'desc',
    limit: body.batch_size,
    offset,
  });
  const total = await ctx.repos.events.countEvents(filter);
  return {
    events: records.map(toTaskEvent),
    returned: records.length,
    total,
    scroll_id: encodeScroll(offset + records.length),
  };
}

export async function getScalarMetricsAndVariants(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_scalar_metrics_and_variants'>,
): Promise<ResponseOf<'events.get_scalar_metrics_and_variants'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const metrics: Record<string, string[]> = {};
  for (const series of await ctx.repos.events.listSeries(task.id)) (metrics[series.metric] ??= []).push(series.variant);
  return { metrics };
}

/** A metrics filter; an empty list means no filter, as in ClearML. */
function metricFilter(metrics: MetricVariants[] | undefined): MetricVariants[] | undefined {
  return metrics && metrics.length > 0 ? metrics : undefined;
}

function selectSeries(all: readonly SeriesRecord[], requested: MetricVariants[] | undefined): SeriesRecord[] {
  const metrics = metricFilter(requested);
  if (metrics === undefined) return [...all];
  return all.filter((s) =>
    metrics.some((m) => m.metric === s.metric && (!m.variants || m.variants.length === 0 || m.variants.includes(s.variant))),
  );
}

/**
 * Points of a series for a chart of at most `samples` points (0: all). A longer series is cut into buckets of equal
 * iteration width, half as many as `samples`, and each bucket gives its lowest and highest point: spikes survive.
 */
async function chartPoints(ctx: ServiceContext, series: number, samples: number): Promise<ScalarPoint[]> {
  const range = await ctx.repos.events.seriesRange(series);
  if (!range) return [];
  if (samples === 0 || range.count <= samples) return ctx.repos.events.seriesPoints(series);
  const buckets = Math.max(1, Math.floor(samples / 2));
  const width = Math.ceil((range.maxIter - range.minIter + 1) / buckets);
  const points: ScalarPoint[] = [];
  for (const { min, max } of await ctx.repos.events.bucketExtremes(series, range.minIter, width)) {
    if (min.iter === max.iter) points.push(min);
    else points.push(...(min.iter < max.iter ? [min, max] : [max, min]));
  }
  return points;
}

function xOf(point: ScalarPoint, key: ScalarKey): number | string {
  if (key === 'iter') return point.iter;
  if (key === 'timestamp') return point.timestamp;
  return new Date(point.timestamp).toISOString();
}

export async function scalarMetricsIterHistogram(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.scalar_metrics_iter_histogram'>,
): Promise<ResponseOf<'events.scalar_metrics_iter_histogram'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const out: Record<string, Record<string, ScalarSeries>> = {};
  for (const series of selectSeries(await ctx.repos.events.listSeries(task.id), body.metrics)) {
    const points = await chartPoints(ctx, series.id, body.samples);
    if (points.length === 0) continue;
    (out[series.metric] ??= {})[series.variant] = {
      name: series.variant,
      x: points.map((p) => xOf(p, body.key)),
      y: points.map((p) => p.value),
    };
  }
  return out;
}

export async function getTaskLatestScalarValues(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_latest_scalar_values'>,
): Promise<ResponseOf<'events.get_task_latest_scalar_values'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const metrics: ResponseOf<'events.get_task_latest_scalar_values'>['metrics'] = [];
  let lastTimestamp = 0;
  for (const series of await ctx.repos.events.listSeries(task.id)) {
    const latest = await ctx.repos.events.latestPoints(series.id, LATEST_VALUES_WINDOW);
    const newest = latest[0];
    if (!newest) continue;
    lastTimestamp = Math.max(lastTimestamp, newest.timestamp);
    let metric = metrics.at(-1);
    if (metric?.name !== series.metric) {
      metric = { name: series.metric, variants: [] };
      metrics.push(metric);
    }
    const mean = latest.reduce((sum, p) => sum + p.value, 0) / latest.length;
    metric.variants.push({ name: series.variant, last_value: newest.value, last_10_value: mean });
  }
  return { metrics, last_iter: task.last_iteration, name: task.name, status: task.status, last_timestamp: lastTimestamp };
}

/** Deletes every event of a task (reset and delete use it too); answers how many. */
export async function deleteTaskEvents(ctx: ServiceContext, taskId: string): Promise<number> {
  return ctx.repos.events.deleteForTask(taskId);
}

export async function deleteForTask(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.delete_for_task'>,
): Promise<ResponseOf<'events.delete_for_task'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  if (LOCKED_STATUSES.includes(task.status) && !body.allow_locked) {
    const id = shortId(task.id);
    throw new TasklaneError(
      'TASK_READ_ONLY',
      `Cannot delete the events of task ${id}: its status is "${task.status}" (${TASK_STATUS_LABEL[task.status]}) and a ` +
        `published task is read-only. Pass allow_locked: true to delete them anyway.`,
      { task: task.id, current_status: task.status },
    );
  }
  const deleted = await deleteTaskEvents(ctx, task.id);
  // The summaries on the task come from the events: without events they would describe nothing.
  await saveTask(ctx, { ...task, last_metrics: {}, last_iteration: 0, last_update: ctx.now() }, task.status);
  return { deleted };
}
