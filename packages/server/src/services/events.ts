import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  ITERATION_IGNORED_METRICS,
  LOG_LINE_FIELDS,
  MAX_LISTED_PROBLEMS,
  MAX_SERIES_PER_BATCH,
  MAX_TASKS_PER_BATCH,
  PLOTS_PAGE_SIZE,
  SINGLE_VALUE_ITERATION,
  TASK_STATUS_LABEL,
  TasklaneError,
  newId,
  parseEvent,
  parseEventBatchInSlices,
  shortId,
  type EventInput,
  type LastMetricsEvent,
  type LogEvent,
  type MetricVariants,
  type ParsedRequestOf,
  type ResponseOf,
  type ScalarEventInput,
  type ScalarKey,
  type ScalarSeries,
  type Task,
  type TaskEvent,
  type TaskMetric,
  storableText,
} from '@tasklane/protocol';
import type {
  DebugImagePosition,
  DebugImageScope,
  EventRecord,
  KnownSeriesStats,
  LogEventRecord,
  OtherEventRecord,
  ScalarColumns,
  ScalarSlice,
  SeriesStats,
} from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { LoopPacer } from './loop-pacer.js';
import { getTaskOrThrow, saveLastMetrics } from './tasks.js';

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
// events.add_batch and events.add
//
// A batch may hold MAX_EVENTS_PER_BATCH events (or MAX_SCALAR_POINTS_PER_REQUEST points): too much work to do in
// one go without stalling every other client. So it is validated, sorted out and written a slice at a time, the
// event loop free in between (LoopPacer). All of it runs in the request's one transaction, and the store runs one
// transaction at a time (SqliteStore's lock): no other request sees or writes anything in between, and a batch that
// fails half-way is rolled back whole.

/**
 * The scalar points of one series that a batch brings, column by column (a batch holds thousands: no object per
 * point), in arrival order until `normalize` sorts them.
 */
interface SeriesBatch extends ScalarColumns {
  metric: string;
  variant: string;
  /** Whether the iterations arrived strictly increasing (the usual case: no sort needed). */
  isSorted: boolean;
  xAxisLabel?: string;
}

/** What a batch brings one task, sorted out by kind, before anything is written. */
interface TaskBatch {
  task: Task;
  logs: LogEventRecord[];
  others: OtherEventRecord[];
  series: SeriesBatch[];
  /** Debug-sample series that got samples (their history is capped after the write). */
  sampleSeries: { metric: string; variant: string }[];
  lastIteration: number;
}

/** Rows written per call to the store between two looks at the clock. */
const ROWS_PER_WRITE = 1_000;
/**
 * The work of one call to the store that appends scalars (of all the batch's series, with their summaries), between
 * two looks at the clock, counted in points: a few milliseconds of SQLite's time, and one call for most batches. Each
 * series in a call counts as SERIES_WRITE_COST points more (its id, last iteration and summary blocks), so that a
 * batch of 10,000 series of one point each is cut too.
 */
const WRITE_BUDGET = 8_192;
const SERIES_WRITE_COST = 64;

/** Batches at least this large start with a yield: the body's parsing may just have held the event loop. */
const LARGE_BATCH = 1_000;

export async function addBatch(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.add_batch'>,
): Promise<ResponseOf<'events.add_batch'>> {
  const pacer = new LoopPacer();
  if (body.length >= LARGE_BATCH) await pacer.yield();
  const events = await pacer.drive(parseEventBatchInSlices(body));
  const byTask = groupByTask(events);
  const tasks = await loadWritableTasks(ctx, events, byTask, true);
  const nowMs = Date.parse(ctx.now());
  const batches: TaskBatch[] = [];
  for (const task of tasks) batches.push(await sortOutEvents(ctx, task, byTask.get(task.id)!, nowMs, pacer));
  const seriesCount = batches.reduce((n, b) => n + b.series.length, 0);
  if (seriesCount > MAX_SERIES_PER_BATCH) {
    throw new TasklaneError(
      'REQUEST_TOO_LARGE',
      `events.add_batch takes scalar events of at most ${MAX_SERIES_PER_BATCH.toLocaleString('en')} series ` +
        `(metric/variant pairs) per request, got ${seriesCount.toLocaleString('en')}; nothing was stored. Send them ` +
        'in several requests, fewer series each.',
      { limit: MAX_SERIES_PER_BATCH, count: seriesCount },
    );
  }
  return writeBatches(ctx, batches, events.length, pacer);
}

export async function addEvent(ctx: ServiceContext, body: ParsedRequestOf<'events.add'>): Promise<ResponseOf<'events.add'>> {
  const events = [parseEvent(body)];
  const pacer = new LoopPacer();
  const [task] = await loadWritableTasks(ctx, events, groupByTask(events), false);
  const batch = await sortOutEvents(ctx, task!, events, Date.parse(ctx.now()), pacer);
  return writeBatches(ctx, [batch], 1, pacer);
}

/**
 * `events.add_scalars`: the points arrive column by column and are stored as such, by the rules of scalar events of
 * add_batch (identity, locking, last_iteration and last_metrics): no object is made per point, and a series sent
 * once (the usual case) keeps the request's own arrays.
 */
export async function addScalars(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.add_scalars'>,
): Promise<ResponseOf<'events.add_scalars'>> {
  const { task: taskId, allow_locked } = body;
  const points = body.series.reduce((n, s) => n + s.iter.length, 0);
  const pacer = new LoopPacer();
  if (points >= LARGE_BATCH) await pacer.yield();
  // One event stands for the request in the checks: they look at its task and allow_locked only.
  const probe: ScalarEventInput = { type: 'training_stats_scalar', task: taskId, value: 0, allow_locked };
  const [task] = await loadWritableTasks(ctx, [probe], new Map([[taskId, [probe]]]), false);
  const nowMs = Date.parse(ctx.now());
  const batch: TaskBatch = { task: task!, logs: [], others: [], series: [], sampleSeries: [], lastIteration: task!.last_iteration };
  const byName = new Map<string, Map<string, SeriesBatch>>();
  for (const { metric, variant, iter, value, timestamp, x_axis_label } of body.series) {
    if (!ITERATION_IGNORED_METRICS.includes(metric)) {
      for (const at of iter) if (at > batch.lastIteration && at !== SINGLE_VALUE_ITERATION) batch.lastIteration = at;
    }
    const timestamps = timestamp ? timestamp.map(Math.round) : new Array<number>(iter.length).fill(nowMs);
    let series = byName.get(metric)?.get(variant);
    if (!series) {
      let isSorted = true;
      for (let i = 1; i < iter.length && isSorted; i += 1) isSorted = iter[i]! > iter[i - 1]!;
      series = { metric, variant, iter, value, timestamp: timestamps, length: iter.length, isSorted };
      if (!byName.has(metric)) byName.set(metric, new Map());
      byName.get(metric)!.set(variant, series);
      batch.series.push(series);
    } else {
      // The same series twice in one request: its points are appended, in order (to arrays of this request's body).
      for (let i = 0; i < iter.length; i += 1) addPoint(series, iter[i]!, value[i]!, timestamps[i]!);
    }
    if (x_axis_label !== undefined) series.xAxisLabel = x_axis_label;
    await pacer.pace();
  }
  return writeBatches(ctx, [batch], points, pacer);
}

/** The series metric/variant of a task's batch, added when it is new. */
function seriesOf(batch: TaskBatch, byName: Map<string, Map<string, SeriesBatch>>, metric: string, variant: string): SeriesBatch {
  let variants = byName.get(metric);
  if (!variants) {
    variants = new Map();
    byName.set(metric, variants);
  }
  let series = variants.get(variant);
  if (!series) {
    series = { metric, variant, iter: [], value: [], timestamp: [], length: 0, isSorted: true };
    variants.set(variant, series);
    batch.series.push(series);
  }
  return series;
}

function addPoint(series: SeriesBatch, iter: number, value: number, timestamp: number): void {
  const n = series.length;
  if (n > 0 && iter <= series.iter[n - 1]!) series.isSorted = false;
  series.iter.push(iter);
  series.value.push(value);
  series.timestamp.push(timestamp);
  series.length = n + 1;
}

/** The events of each task, in order. A batch is nearly always for one task: then it is taken as it is. */
function groupByTask(events: readonly EventInput[]): Map<string, readonly EventInput[]> {
  const first = events[0]!.task;
  if (events.every((e) => e.task === first)) return new Map([[first, events]]);
  const byTask = new Map<string, EventInput[]>();
  for (const event of events) {
    const list = byTask.get(event.task);
    if (list) list.push(event);
    else byTask.set(event.task, [event]);
  }
  return byTask;
}

/** The 1-based lines of the events that match, for messages. */
function linesWhere(events: readonly EventInput[], matches: (event: EventInput) => boolean): number[] {
  const lines: number[] = [];
  events.forEach((event, i) => {
    if (matches(event)) lines.push(i + 1);
  });
  return lines;
}

/** Loads the tasks of a batch; refuses the whole batch if one is missing or read-only, naming the first few. */
async function loadWritableTasks(
  ctx: ServiceContext,
  events: readonly EventInput[],
  byTask: Map<string, readonly EventInput[]>,
  isBatch: boolean,
): Promise<Task[]> {
  if (byTask.size > MAX_TASKS_PER_BATCH) {
    throw new TasklaneError(
      'REQUEST_TOO_LARGE',
      `events.add_batch takes events of at most ${MAX_TASKS_PER_BATCH.toLocaleString('en')} tasks per request, got ` +
        `${byTask.size.toLocaleString('en')}; nothing was stored. Send each task's events in requests of their own.`,
      { limit: MAX_TASKS_PER_BATCH, count: byTask.size },
    );
  }
  const tasks: Task[] = [];
  const missing: string[] = [];
  for (const id of byTask.keys()) {
    const task = await ctx.repos.tasks.get(id);
    if (task) tasks.push(task);
    else missing.push(id);
  }
  const where = (lines: readonly number[]) => (isBatch ? ` (${lineList(lines)})` : '');
  const nothing = isBatch ? 'nothing of this batch was stored' : 'nothing was stored';
  if (missing.length > 0) {
    const listed = missing.slice(0, MAX_LISTED_PROBLEMS);
    const more = missing.length - listed.length;
    const named = listed.map((id) => `"${id}"${where(linesWhere(events, (e) => e.task === id))}`).join(', ');
    throw new TasklaneError(
      'TASK_NOT_FOUND',
      `No task has id ${named}${more > 0 ? `, nor ${more} more of the ids` : ''}; ${nothing}. Report events to an ` +
        'existing task (tasklane task list).',
      { tasks: listed, ...(more > 0 ? { missing_tasks: missing.length } : {}) },
    );
  }
  for (const task of tasks) {
    if (!LOCKED_STATUSES.includes(task.status)) continue;
    const locked = linesWhere(events, (e) => e.task === task.id && !e.allow_locked);
    if (locked.length > 0) {
      const id = shortId(task.id);
      throw new TasklaneError(
        'TASK_READ_ONLY',
        `Cannot add events to task ${id}${where(locked)}: its status is "${task.status}" (${TASK_STATUS_LABEL[task.status]}) ` +
          `and a published task is read-only; ${nothing}. Clone it to run it again ` +
          `(tasklane task clone ${id}), or send allow_locked: true on each event to add them anyway.`,
        {
          task: task.id,
          current_status: task.status,
          ...(isBatch ? { lines: locked.slice(0, LISTED_LINES), ...(locked.length > LISTED_LINES ? { locked_events: locked.length } : {}) } : {}),
        },
      );
    }
  }
  return tasks;
}

/** How many line numbers a message lists. */
const LISTED_LINES = 10;

function lineList(lines: readonly number[]): string {
  const shown = lines.slice(0, LISTED_LINES).join(', ');
  return `${lines.length === 1 ? 'line' : 'lines'} ${shown}${lines.length > LISTED_LINES ? `, and ${lines.length - LISTED_LINES} more` : ''}`;
}

/** Sorts out one task's events of a batch by kind (records to write, scalar columns), a slice at a time. */
async function sortOutEvents(
  ctx: ServiceContext,
  task: Task,
  events: readonly EventInput[],
  nowMs: number,
  pacer: LoopPacer,
): Promise<TaskBatch> {
  const batch: TaskBatch = { task, logs: [], others: [], series: [], sampleSeries: [], lastIteration: task.last_iteration };
  const { logs, others } = batch;
  // metric → variant → points: no key string built per event.
  const scalars = new Map<string, Map<string, SeriesBatch>>();
  const sampleSeries = new Map<string, { metric: string; variant: string }>();
  const callerWorker = ctx.caller?.worker ?? null;
  for (let n = 0; n < events.length; n += 1) {
    if ((n & 255) === 255) await pacer.pace();
    const event = events[n]!;
    // As ClearML: `ts` (the old name) wins over `timestamp`; the time of arrival when neither is given.
    const timestamp = Math.round(event.ts ?? event.timestamp ?? nowMs);
    if (event.type === 'log') {
      const worker = event.worker ?? callerWorker;
      // Console text is any process's output and may hold NUL or a lone surrogate, which PostgreSQL cannot store:
      // U+FFFD on both stores.
      const msg = storableText(event.msg);
      logs.push({ type: 'log', task: task.id, id: event.id ?? newId(), timestamp, level: event.level, worker, msg });
      continue;
    }
    const metric = event.metric ?? '';
    const variant = event.variant ?? '';
    const iter = event.iter;
    if (iter !== undefined && iter > batch.lastIteration && iter !== SINGLE_VALUE_ITERATION && !ITERATION_IGNORED_METRICS.includes(metric)) {
      batch.lastIteration = iter;
    }
    if (event.type === 'training_stats_scalar') {
      const series = seriesOf(batch, scalars, metric, variant);
      addPoint(series, iter ?? 0, event.value, timestamp);
      if (event.x_axis_label !== undefined) series.xAxisLabel = event.x_axis_label;
      continue;
    }
    const worker = event.worker ?? callerWorker;
    const data: Record<string, unknown> =
      event.type === 'training_stats_vector'
        ? { value: event.values }
        : event.type === 'training_debug_image'
          ? { key: event.key, url: event.url }
          : { plot_str: event.plot_str };
    const key = event.type === 'training_debug_image' ? event.key : undefined;
    // The length prefix keeps the key unambiguous whatever characters the names hold.
    if (event.type === 'training_debug_image') sampleSeries.set(`${metric.length}:${metric}${variant}`, { metric, variant });
    others.push({
      type: event.type,
      task: task.id,
      id: eventId({ task: task.id, iter, metric, variant, key }),
      iter: iter ?? null,
      metric,
      variant,
      timestamp,
      data: { ...data, worker },
    });
  }
  batch.sampleSeries = [...sampleSeries.values()];
  return batch;
}

/** Writes the sorted-out batches, a slice at a time, and each task's summaries once; answers the reply. */
async function writeBatches(
  ctx: ServiceContext,
  batches: readonly TaskBatch[],
  added: number,
  pacer: LoopPacer,
): Promise<ResponseOf<'events.add_batch'>> {
  const now = ctx.now();
  for (const batch of batches) {
    const { last_metrics } = await writeTaskBatch(ctx, batch, pacer);
    // One write per task and batch, whatever the number of events, of what the batch changes in the task only.
    const update = { last_update: now, last_iteration: batch.lastIteration, last_metrics };
    await saveLastMetrics(ctx, batch.task.id, update, batch.task.status);
  }
  return { added, errors: 0, errors_info: {} };
}

/** Writes one task's part of a batch and answers its new last_metrics. */
async function writeTaskBatch(ctx: ServiceContext, batch: TaskBatch, pacer: LoopPacer): Promise<Pick<Task, 'last_metrics'>> {
  const repo = ctx.repos.events;
  const { task, logs, others } = batch;
  for (let from = 0; from < logs.length; from += ROWS_PER_WRITE) {
    await repo.insertLogs(from === 0 && logs.length <= ROWS_PER_WRITE ? logs : logs.slice(from, from + ROWS_PER_WRITE));
    await pacer.pace();
  }
  for (let from = 0; from < others.length; ) {
    // Plots may be large: a slice ends at ROWS_PER_WRITE events or about 1 MB of plot text.
    let to = from;
    let chars = 0;
    while (to < others.length && to - from < ROWS_PER_WRITE && chars < 1_000_000) {
      const plot = others[to]!.data.plot_str;
      chars += typeof plot === 'string' ? plot.length : 0;
      to += 1;
    }
    await repo.upsertOthers(others.slice(from, to));
    from = to;
    await pacer.pace();
  }
  // Only the last N iterations of each debug-sample series are kept (ClearML leaves this to the client).
  for (const { metric, variant } of batch.sampleSeries) {
    await repo.capDebugImages(task.id, metric, variant, ctx.settings.debugSampleHistory);
    await pacer.pace();
  }

  if (batch.series.length === 0) return { last_metrics: task.last_metrics };
  const lastMetrics = { ...task.last_metrics };
  // Each metric's variants are copied once per batch, not once per series (a metric may have thousands).
  const copied = new Set<string>();
  const entries = batch.series.map((series) => {
    const metricHash = metricKey(series.metric);
    if (!copied.has(metricHash)) {
      lastMetrics[metricHash] = { ...lastMetrics[metricHash] };
      copied.add(metricHash);
    }
    return { variants: lastMetrics[metricHash]!, variantHash: metricKey(series.variant) };
  });
  // The points of every series, WRITE_BUDGET to a call: most batches are one call, a series split across two goes on
  // from the stats the first call answered.
  const sorted = batch.series.map(normalize);
  let slices: ScalarSlice[] = [];
  let owners: number[] = [];
  let cost = 0;
  const write = async () => {
    const stats = await repo.appendScalars(task.id, slices);
    stats.forEach((s, k) => {
      const { metric, variant, xAxisLabel } = sorted[owners[k]!]!;
      const { variants, variantHash } = entries[owners[k]!]!;
      variants[variantHash] = lastMetricsEntry(metric, variant, s, xAxisLabel ?? variants[variantHash]?.x_axis_label);
    });
    slices = [];
    owners = [];
    cost = 0;
    await pacer.pace();
  };
  for (const [k, series] of sorted.entries()) {
    for (let from = 0; from < series.length; ) {
      const room = WRITE_BUDGET - cost - SERIES_WRITE_COST;
      if (room <= 0) {
        await write();
        continue;
      }
      const to = Math.min(series.length, from + room);
      const { variants, variantHash } = entries[k]!;
      const previous = variants[variantHash];
      const known = previous ? statsFromLastMetrics(previous) : undefined;
      slices.push({ metric: series.metric, variant: series.variant, points: series, from, to, ...(known ? { known } : {}) });
      owners.push(k);
      cost += SERIES_WRITE_COST + to - from;
      from = to;
      if (cost >= WRITE_BUDGET) await write();
    }
  }
  if (slices.length > 0) await write();
  return { last_metrics: lastMetrics };
}

/** Sorts a series' points by iteration, keeping the last point sent for an iteration (as a re-send overwrites). */
function normalize(series: SeriesBatch): SeriesBatch {
  if (series.isSorted) return series;
  const order = Array.from({ length: series.length }, (_, i) => i);
  // Stable: points of one iteration stay in arrival order, so the last of them is the one sent last.
  order.sort((a, b) => series.iter[a]! - series.iter[b]!);
  const sorted: SeriesBatch = { ...series, iter: [], value: [], timestamp: [], length: 0, isSorted: true };
  for (let k = 0; k < order.length; k += 1) {
    const i = order[k]!;
    const next = order[k + 1];
    if (next !== undefined && series.iter[next] === series.iter[i]) continue;
    sorted.iter.push(series.iter[i]!);
    sorted.value.push(series.value[i]!);
    sorted.timestamp.push(series.timestamp[i]!);
  }
  sorted.length = sorted.iter.length;
  return sorted;
}

/** The stats a `last_metrics` entry holds, if it holds all of them (it has no iteration of the last point). */
function statsFromLastMetrics(entry: LastMetricsEvent): KnownSeriesStats | undefined {
  const num = (n: number | null | undefined) => (typeof n === 'number' ? n : undefined);
  const [count, mean, first, firstIter, min, minIter, max, maxIter] = [
    entry.count,
    entry.mean_value,
    entry.first_value,
    entry.first_value_iteration,
    entry.min_value,
    entry.min_value_iteration,
    entry.max_value,
    entry.max_value_iteration,
  ].map(num);
  if (!count || mean === undefined || first === undefined || firstIter === undefined) return undefined;
  if (min === undefined || minIter === undefined || max === undefined || maxIter === undefined) return undefined;
  return {
    count,
    sum: mean * count,
    first: { iter: firstIter, value: first },
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
// Reading: shapes and scroll ids

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

/** A scroll id: the state of a paging, as base64url JSON, so the server keeps nothing between calls. */
function encodeScroll(state: unknown): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

function decodeScroll<TSchema extends z.ZodType>(schema: TSchema, scrollId: string): z.output<TSchema> {
  try {
    const result = schema.safeParse(JSON.parse(Buffer.from(scrollId, 'base64url').toString('utf8')));
    if (result.success) return result.data;
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

/** The scroll state of offset paging (get_task_events, get_task_plots): where the next page starts. */
const OffsetScrollSchema = z.object({ offset: z.number().int().min(0) }).strict();

/** A metrics filter; an empty list means no filter, as in ClearML. */
function metricFilter(metrics: MetricVariants[] | undefined): MetricVariants[] | undefined {
  return metrics && metrics.length > 0 ? metrics : undefined;
}

/** Loads tasks by id (each once, in the order given); TASK_NOT_FOUND names every missing one. */
async function getTasksOrThrow(ctx: ServiceContext, ids: readonly string[]): Promise<Task[]> {
  const unique = [...new Set(ids)];
  const tasks: Task[] = [];
  const missing: string[] = [];
  for (const id of unique) {
    const task = await ctx.repos.tasks.get(id);
    if (task) tasks.push(task);
    else missing.push(id);
  }
  if (missing.length > 0) {
    // One task asked for: the usual message of a missing task.
    if (unique.length === 1) await getTaskOrThrow(ctx, missing[0]!);
    const listed = missing.slice(0, MAX_LISTED_PROBLEMS);
    const more = missing.length - listed.length;
    throw new TasklaneError(
      'TASK_NOT_FOUND',
      `No task has id ${listed.map((id) => `"${id}"`).join(', ')}${more > 0 ? `, nor ${more} more of the ids` : ''}. ` +
        'List tasks with: tasklane task list',
      { tasks: listed, ...(more > 0 ? { missing_tasks: missing.length } : {}) },
    );
  }
  return tasks;
}

// ---------------------------------------------------------------------------------------------------------------
// Console log

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
    search: body.search,
  });
  // As ClearML: the page is taken in the navigation direction, then turned around if another order is asked for.
  const isDescending = body.order === undefined ? body.navigate_earlier : body.order === 'desc';
  if (isDescending !== body.navigate_earlier) records.reverse();
  const total = await ctx.repos.events.countLogs(task.id, body.search);
  return { events: records.map(toLogEvent), returned: records.length, total };
}

type LogLinePart = { text: string } | { field: (typeof LOG_LINE_FIELDS)[number] };

/** Parses a ClearML (Python str.format) line format: `{field}` placeholders, `{{` and `}}` for braces. */
function parseLineFormat(format: string): LogLinePart[] {
  const parts: LogLinePart[] = [];
  const unknown: string[] = [];
  let text = '';
  for (let i = 0; i < format.length; i += 1) {
    const c = format[i]!;
    if ((c === '{' || c === '}') && format[i + 1] === c) {
      text += c;
      i += 1;
      continue;
    }
    if (c === '}') unknown.push('}');
    if (c !== '{') {
      if (c !== '}') text += c;
      continue;
    }
    const end = format.indexOf('}', i);
    const name = end === -1 ? format.slice(i) : format.slice(i + 1, end);
    if (end === -1 || !(LOG_LINE_FIELDS as readonly string[]).includes(name)) {
      unknown.push(end === -1 ? name : `{${name}}`);
      if (end === -1) break;
    } else {
      if (text) parts.push({ text });
      text = '';
      parts.push({ field: name as (typeof LOG_LINE_FIELDS)[number] });
    }
    i = end;
  }
  if (text) parts.push({ text });
  if (unknown.length > 0) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.line_format: ${unknown.map((u) => JSON.stringify(u)).join(', ')} ` +
        `${unknown.length === 1 ? 'is not a placeholder' : 'are not placeholders'}; use ` +
        `${LOG_LINE_FIELDS.map((f) => `{${f}}`).join(', ')}, and {{ or }} for a brace, got ${JSON.stringify(format)}`,
      { fields: ['body.line_format'] },
    );
  }
  return parts;
}

export async function downloadTaskLog(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.download_task_log'>,
): Promise<ResponseOf<'events.download_task_log'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const format = body.line_type === 'text' ? parseLineFormat(body.line_format) : undefined;
  const lines: string[] = [];
  // A log of a million lines takes seconds to read and format: a page at a time, the event loop free in between.
  const pacer = new LoopPacer();
  await ctx.repos.events.forEachLog(task.id, async (events) => {
    await pacer.pace();
    for (const e of events) {
      const fields = {
        asctime: new Date(e.timestamp).toISOString(),
        timestamp: String(e.timestamp),
        level: e.level,
        worker: e.worker ?? '',
        msg: e.msg,
      };
      if (!format) {
        const line = { id: e.id, timestamp: e.timestamp, asctime: fields.asctime, level: e.level, worker: e.worker, msg: e.msg };
        lines.push(`${JSON.stringify(line)}\n`);
      } else {
        lines.push(`${format.map((part) => ('text' in part ? part.text : fields[part.field])).join('').replace(/\n$/, '')}\n`);
      }
    }
  });
  return { text: lines.join('') };
}

// ---------------------------------------------------------------------------------------------------------------
// Events of any type

export async function getTaskEvents(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_events'>,
): Promise<ResponseOf<'events.get_task_events'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const { offset } = body.scroll_id ? decodeScroll(OffsetScrollSchema, body.scroll_id) : { offset: 0 };
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
    scroll_id: encodeScroll({ offset: offset + records.length }),
  };
}

export async function getTaskMetrics(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_metrics'>,
): Promise<ResponseOf<'events.get_task_metrics'>> {
  const tasks = await getTasksOrThrow(ctx, body.tasks);
  const metrics: ResponseOf<'events.get_task_metrics'>['metrics'] = [];
  for (const task of tasks) metrics.push({ task: task.id, metrics: await ctx.repos.events.taskMetrics(task.id, body.event_type) });
  return { metrics };
}

// ---------------------------------------------------------------------------------------------------------------
// Scalars

export async function getScalarMetricsAndVariants(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_scalar_metrics_and_variants'>,
): Promise<ResponseOf<'events.get_scalar_metrics_and_variants'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const metrics: Record<string, string[]> = {};
  for (const series of await ctx.repos.events.listSeries(task.id)) (metrics[series.metric] ??= []).push(series.variant);
  return { metrics };
}

/** The chart series of a task: metric → variant → {x, y}, downsampled to about `samples` points each. */
async function taskHistogram(
  ctx: ServiceContext,
  taskId: string,
  request: { samples: number; key: ScalarKey; metrics?: MetricVariants[] },
): Promise<Record<string, Record<string, Omit<ScalarSeries, 'name'>>>> {
  const out: Record<string, Record<string, Omit<ScalarSeries, 'name'>>> = {};
  const charts = await ctx.repos.events.charts({
    task: taskId,
    samples: request.samples,
    withTimestamps: request.key !== 'iter',
    metrics: metricFilter(request.metrics),
  });
  for (const { metric, variant, iter, value, timestamp } of charts) {
    const x = request.key === 'iter' ? iter : request.key === 'timestamp' ? timestamp! : timestamp!.map((t) => new Date(t).toISOString());
    (out[metric] ??= {})[variant] = { x, y: value };
  }
  return out;
}

export async function scalarMetricsIterHistogram(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.scalar_metrics_iter_histogram'>,
): Promise<ResponseOf<'events.scalar_metrics_iter_histogram'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const out: Record<string, Record<string, ScalarSeries>> = {};
  for (const [metric, variants] of Object.entries(await taskHistogram(ctx, task.id, body))) {
    out[metric] = Object.fromEntries(Object.entries(variants).map(([variant, s]) => [variant, { name: variant, ...s }]));
  }
  return out;
}

export async function multiTaskScalarMetricsIterHistogram(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.multi_task_scalar_metrics_iter_histogram'>,
): Promise<ResponseOf<'events.multi_task_scalar_metrics_iter_histogram'>> {
  const tasks = await getTasksOrThrow(ctx, body.tasks);
  const metrics: Record<string, Record<string, Record<string, ScalarSeries>>> = {};
  for (const task of tasks) {
    for (const [metric, variants] of Object.entries(await taskHistogram(ctx, task.id, body))) {
      const byVariant = (metrics[metric] ??= {});
      for (const [variant, series] of Object.entries(variants)) (byVariant[variant] ??= {})[task.id] = { name: task.name, ...series };
    }
  }
  return { metrics };
}

export async function getTaskSingleValueMetrics(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_single_value_metrics'>,
): Promise<ResponseOf<'events.get_task_single_value_metrics'>> {
  const tasks = await getTasksOrThrow(ctx, body.tasks);
  const values = await ctx.repos.events.singleValues(
    tasks.map((t) => t.id),
    metricFilter(body.metrics),
  );
  return {
    tasks: tasks.map((task) => ({
      task: task.id,
      task_name: task.name,
      values: values
        .filter((v) => v.task === task.id)
        .map(({ metric, variant, value, timestamp }) => ({ metric, variant, value, timestamp })),
    })),
  };
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

// ---------------------------------------------------------------------------------------------------------------
// Plots

export async function getTaskPlots(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_task_plots'>,
): Promise<ResponseOf<'events.get_task_plots'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const { offset } = body.scroll_id ? decodeScroll(OffsetScrollSchema, body.scroll_id) : { offset: 0 };
  const { events, total } = await ctx.repos.events.plotPage({
    task: task.id,
    iters: body.iters,
    metrics: metricFilter(body.metrics),
    limit: PLOTS_PAGE_SIZE,
    offset,
  });
  return {
    plots: events.map(toTaskEvent),
    returned: events.length,
    total,
    ...(body.no_scroll ? {} : { scroll_id: encodeScroll({ offset: offset + events.length }) }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Debug samples

/** debug_images paging: per task, the lowest and highest iteration of the page shown last. */
const DebugImagesScrollSchema = z.object({ debug_images: z.record(z.string(), z.tuple([z.number().int(), z.number().int()])) }).strict();

/** The scope of each task of a debug_images request: all its samples, or those of some metrics (and variants). */
function scopesOf(requested: readonly TaskMetric[]): Map<string, MetricVariants[] | undefined> {
  const scopes = new Map<string, MetricVariants[] | undefined>();
  for (const { task, metric, variants } of requested) {
    if (scopes.has(task) && scopes.get(task) === undefined) continue;
    if (metric === undefined) {
      scopes.set(task, undefined);
      continue;
    }
    const list = scopes.get(task) ?? [];
    const same = list.find((m) => m.metric === metric);
    const all = !variants || variants.length === 0;
    if (!same) list.push(all ? { metric } : { metric, variants: [...variants] });
    else if (all || !same.variants) delete same.variants;
    else same.variants = [...new Set([...same.variants, ...variants])];
    scopes.set(task, list);
  }
  return scopes;
}

export async function debugImages(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.debug_images'>,
): Promise<ResponseOf<'events.debug_images'>> {
  const scopes = scopesOf(body.metrics);
  await getTasksOrThrow(ctx, [...scopes.keys()]);
  const shown =
    body.scroll_id && !body.refresh ? decodeScroll(DebugImagesScrollSchema, body.scroll_id).debug_images : {};
  const next: Record<string, [number, number]> = {};
  const metrics: ResponseOf<'events.debug_images'>['metrics'] = [];
  for (const [task, scopeMetrics] of scopes) {
    const scope: DebugImageScope = { task, metrics: scopeMetrics };
    const range = shown[task];
    // As ClearML: the first page is the latest iterations, whatever the direction.
    const bound = !range ? {} : body.navigate_earlier ? { before: range[0] } : { after: range[1] };
    const iters = await ctx.repos.events.debugImageIterations(scope, bound, body.iters);
    const events = await ctx.repos.events.debugImagesAt(scope, iters);
    const iterations: { iter: number; events: TaskEvent[] }[] = [];
    for (const event of events) {
      const last = iterations.at(-1);
      if (last?.iter === event.iter) last.events.push(toTaskEvent(event));
      else iterations.push({ iter: event.iter!, events: [toTaskEvent(event)] });
    }
    // As ClearML: the window moves to the page just shown; an empty page (the end) leaves it where it was.
    if (iters.length > 0) next[task] = [Math.min(...iters), Math.max(...iters)];
    else if (range) next[task] = range;
    metrics.push({ task, iterations });
  }
  return { scroll_id: encodeScroll({ debug_images: next }), metrics };
}

/** get/next_debug_image_sample navigation: the task, the metric it stays in (if any), and the current sample. */
const SampleScrollSchema = z
  .object({
    sample_of: z.string(),
    metric: z.string().nullable(),
    at: z.tuple([z.number().int(), z.string(), z.string()]).nullable(),
  })
  .strict();
type SampleScroll = z.infer<typeof SampleScrollSchema>;

/** A sample reply: the event (or null), and the iteration range of its variant (or of `fallback`, without event). */
async function sampleReply(
  ctx: ServiceContext,
  state: SampleScroll,
  event: OtherEventRecord | undefined,
  fallback?: { metric: string; variant: string },
) {
  const of = event ?? fallback;
  const range = of ? await ctx.repos.events.debugImageRange(state.sample_of, of.metric, of.variant) : undefined;
  const at: SampleScroll['at'] = event ? [event.iter!, event.metric, event.variant] : state.at;
  return {
    scroll_id: encodeScroll({ ...state, at }),
    event: event ? toTaskEvent(event) : null,
    min_iteration: range?.min ?? null,
    max_iteration: range?.max ?? null,
  };
}

export async function getDebugImageSample(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.get_debug_image_sample'>,
): Promise<ResponseOf<'events.get_debug_image_sample'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const event = await ctx.repos.events.debugImageAtOrBefore(task.id, body.metric, body.variant, body.iteration);
  const state: SampleScroll = {
    sample_of: task.id,
    metric: body.navigate_current_metric ? body.metric : null,
    at: body.iteration !== undefined ? [body.iteration, body.metric, body.variant] : null,
  };
  return sampleReply(ctx, state, event, body);
}

export async function nextDebugImageSample(
  ctx: ServiceContext,
  body: ParsedRequestOf<'events.next_debug_image_sample'>,
): Promise<ResponseOf<'events.next_debug_image_sample'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const state = decodeScroll(SampleScrollSchema, body.scroll_id);
  if (state.sample_of !== task.id) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.scroll_id: it belongs to the debug samples of task ${shortId(state.sample_of)}, not of task ` +
        `${shortId(task.id)}. Call events.get_debug_image_sample for this task first.`,
      { fields: ['body.scroll_id'] },
    );
  }
  if (!state.at) return sampleReply(ctx, state, undefined);
  const scope: DebugImageScope = { task: task.id, metrics: state.metric !== null ? [{ metric: state.metric }] : undefined };
  const [iter, metric, variant] = state.at;
  const from: DebugImagePosition = { iter, metric, variant };
  const repo = ctx.repos.events;
  const event =
    (!body.next_iteration ? await repo.debugImageNeighbour(scope, from, body.navigate_earlier, 'sameIteration') : undefined) ??
    (await repo.debugImageNeighbour(scope, from, body.navigate_earlier, 'otherIteration'));
  return sampleReply(ctx, state, event);
}

// ---------------------------------------------------------------------------------------------------------------
// Deleting

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
  await saveLastMetrics(ctx, task.id, { last_metrics: {}, last_iteration: 0, last_update: ctx.now() }, task.status);
  return { deleted };
}
