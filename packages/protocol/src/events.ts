import { z } from 'zod';
import { IdSchema } from './common.js';
import { TasklaneError } from './errors.js';
import {
  MAX_EVENTS_PER_BATCH,
  MAX_LISTED_PROBLEMS,
  MAX_LOG_LINE_FORMAT_LENGTH,
  MAX_METRICS_PER_FILTER,
  MAX_OTHER_EVENTS_PER_BATCH,
  MAX_SCALAR_POINTS_PER_REQUEST,
  MAX_SERIES_PER_SCALARS_REQUEST,
  MAX_TASKS_PER_COMPARE,
  MAX_TASKS_PER_READ,
  MAX_VARIANTS_PER_FILTER,
  MAX_VECTOR_VALUES,
} from './event-limits.js';
import { LastMetricsEventSchema, TaskStatusSchema } from './task.js';
import { checkFirst, overCapCheck, parseInput, refuseOverCap, type CapExcess } from './validation.js';

/** The five kinds of event a task reports, as ClearML names them. */
export const EVENT_TYPES = ['training_stats_scalar', 'training_stats_vector', 'training_debug_image', 'plot', 'log'] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

/** Console levels, lower-case as ClearML's clients send them. */
export const LOG_LEVELS = ['notset', 'debug', 'verbose', 'info', 'warn', 'warning', 'error', 'fatal', 'critical'] as const;
export const LogLevelSchema = z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(LOG_LEVELS));
export type LogLevel = z.infer<typeof LogLevelSchema>;

/**
 * Metrics whose iterations do not move a task's `last_iteration` (ClearML's `services.events.ignore_iteration`):
 * the resource monitor reports seconds since start as the iteration.
 */
export const ITERATION_IGNORED_METRICS: readonly string[] = [':monitor:machine', ':monitor:gpu'];

/**
 * The iteration of single values (ClearML's `SINGLE_SCALAR_ITERATION`, -2^31): a scalar reported at it is a summary
 * figure of the run (`reportSingleValue`), not a point of a curve. It does not move `last_iteration` and is left out
 * of charts; `events.get_task_single_value_metrics` answers these.
 */
export const SINGLE_VALUE_ITERATION = -(2 ** 31);

/** The `last_metrics` entry of one metric variant. */
export type LastMetricsEvent = z.infer<typeof LastMetricsEventSchema>;

// ---------------------------------------------------------------------------------------------------------------
// events.add_batch input: one object per JSON line. Unknown keys (e.g. the `method` key ClearML's SDK adds) are
// dropped.

const EventFieldsShape = {
  task: z.string().min(1).describe('task id'),
  timestamp: z.number().optional().describe('epoch milliseconds; the server fills it in when missing'),
  ts: z.number().optional().describe('alias of timestamp'),
  worker: z.string().optional().describe('who reported it; defaults to the X-ClearML-Worker header'),
  model_event: z
    .boolean()
    .optional()
    .refine((v) => v !== true, 'model events are not supported yet; report events of a task (model_event: false)'),
  allow_locked: z.boolean().optional().describe('write even if the task is published'),
};

const MetricFieldsShape = {
  ...EventFieldsShape,
  iter: z.number().int().optional().describe('iteration'),
  metric: z.string().nullable().optional().describe('title; missing means ""'),
  variant: z.string().nullable().optional().describe('series; missing means ""'),
};

/** A scalar: one point of the series metric/variant at an iteration. */
export const ScalarEventInputSchema = z.object({
  type: z.literal('training_stats_scalar'),
  ...MetricFieldsShape,
  value: z.number(),
  x_axis_label: z.string().optional(),
});

/** A list of finite numbers (checked by hand: zod would cost as much as parsing the body, per number). */
function numberList(what: string, isValid: (n: number) => boolean, maxItems = Number.POSITIVE_INFINITY) {
  const most = Number.isFinite(maxItems) ? ` at most ${maxItems.toLocaleString('en')}` : '';
  return z.custom<number[]>((v) => {
    if (!Array.isArray(v) || v.length > maxItems) return false;
    for (let i = 0; i < v.length; i += 1) {
      const n: unknown = v[i];
      if (typeof n !== 'number' || !isValid(n)) return false;
    }
    return true;
  }, `expected a list of${most} ${what}`);
}

/** A vector of numbers at an iteration (ClearML's `values`), at most MAX_VECTOR_VALUES of them. */
export const VectorEventInputSchema = z.object({
  type: z.literal('training_stats_vector'),
  ...MetricFieldsShape,
  values: numberList('finite numbers', Number.isFinite, MAX_VECTOR_VALUES),
});

/** A debug sample (image, audio, video...) already uploaded: its storage key and URL. */
export const DebugImageEventInputSchema = z.object({
  type: z.literal('training_debug_image'),
  ...MetricFieldsShape,
  key: z.string().optional(),
  url: z.string().optional(),
});

/** A whole Plotly figure, as a JSON string. */
export const PlotEventInputSchema = z.object({
  type: z.literal('plot'),
  ...MetricFieldsShape,
  plot_str: z.string().optional(),
  skip_validation: z.boolean().optional(),
});

/**
 * A console line. `id` is a Tasklane extension: a client-made id, so that a batch sent again (after a retry) is not
 * stored twice. Without it the server makes a fresh id, as ClearML does.
 */
export const LogEventInputSchema = z.object({
  type: z.literal('log'),
  ...EventFieldsShape,
  id: z.string().min(1).max(200).optional(),
  level: LogLevelSchema.optional().default('info'),
  msg: z.string(),
});

const EVENT_INPUT_SCHEMAS = {
  training_stats_scalar: ScalarEventInputSchema,
  training_stats_vector: VectorEventInputSchema,
  training_debug_image: DebugImageEventInputSchema,
  plot: PlotEventInputSchema,
  log: LogEventInputSchema,
} as const satisfies Record<EventType, z.ZodType>;

export type ScalarEventInput = z.output<typeof ScalarEventInputSchema>;
export type VectorEventInput = z.output<typeof VectorEventInputSchema>;
export type DebugImageEventInput = z.output<typeof DebugImageEventInputSchema>;
export type PlotEventInput = z.output<typeof PlotEventInputSchema>;
export type LogEventInput = z.output<typeof LogEventInputSchema>;
/** One event of `events.add_batch`, after validation. */
export type EventInput = ScalarEventInput | VectorEventInput | DebugImageEventInput | PlotEventInput | LogEventInput;
/** One event of `events.add_batch`, as a client writes it. */
export type EventInputBody = z.input<(typeof EVENT_INPUT_SCHEMAS)[EventType]>;

// A string first, so that a missing type reads "required field is missing".
const EventTypeOnlySchema = z.object({ type: z.string().pipe(EventTypeSchema) });

/** How many lines {@link parseEventBatchInSlices} validates between two yields. */
const LINES_PER_SLICE = 256;

const fmt = (n: number) => n.toLocaleString('en');

/** The REQUEST_TOO_LARGE message of a request over one of the event caps. */
function overCap(endpoint: string, what: string, limit: number, count: number, how: string): CapExcess {
  return {
    message:
      `${endpoint} takes at most ${fmt(limit)} ${what} per request, got ${fmt(count)}; nothing was stored. ` +
      `Send them in several requests (${how}).`,
    details: { limit, count },
  };
}

const BATCH_SPLIT_HOW =
  "Tasklane's SDK and agent split their batches by themselves; ClearML's SDK stays below this unless its " +
  'api.http.max_req_size is raised';

/**
 * The REQUEST_TOO_LARGE error of an `events.add_batch` body of `count` events, if that is over the cap. The server's
 * edge counts the lines of a body with it before parsing them, so a million-line body is refused at once.
 */
export function batchCountExcess(count: number): TasklaneError | undefined {
  if (count <= MAX_EVENTS_PER_BATCH) return undefined;
  const excess = overCap('events.add_batch', 'events', MAX_EVENTS_PER_BATCH, count, BATCH_SPLIT_HOW);
  return new TasklaneError('REQUEST_TOO_LARGE', excess.message, excess.details);
}

/** Why an `events.add_batch` body is over a cap, if it is (counted before any event is validated). */
function batchOverCap(body: unknown): CapExcess | undefined {
  if (!Array.isArray(body)) return undefined;
  const how = BATCH_SPLIT_HOW;
  if (body.length > MAX_EVENTS_PER_BATCH) return overCap('events.add_batch', 'events', MAX_EVENTS_PER_BATCH, body.length, how);
  if (body.length <= MAX_OTHER_EVENTS_PER_BATCH) return undefined;
  let others = 0;
  for (const event of body) {
    const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
    if (type !== 'training_stats_scalar') others += 1;
  }
  if (others <= MAX_OTHER_EVENTS_PER_BATCH) return undefined;
  return overCap(
    'events.add_batch',
    'events other than scalars (console lines, plots, debug samples, vectors)',
    MAX_OTHER_EVENTS_PER_BATCH,
    others,
    how,
  );
}

/**
 * Validates every event of a batch, a slice of lines at a time: the generator yields between slices, so that its
 * caller can let other work run, and returns the events in order (event i came from line i + 1). A bad batch throws
 * one INVALID_INPUT naming the first few bad lines and what was wrong with them (`line 3: value: expected a number,
 * got "abc"`) and counting the others, which are only checked, not described.
 */
export function* parseEventBatchInSlices(lines: readonly unknown[]): Generator<void, EventInput[], void> {
  if (lines.length === 0) {
    throw new TasklaneError(
      'INVALID_INPUT',
      'The batch has no events: send one JSON event per line (Content-Type: application/json-lines).',
    );
  }
  const excess = batchOverCap(lines);
  if (excess) throw new TasklaneError('REQUEST_TOO_LARGE', excess.message, excess.details);
  const events: EventInput[] = [];
  const problems: string[] = [];
  const badLines: number[] = [];
  let badCount = 0;
  for (let i = 0; i < lines.length; i += 1) {
    if (i > 0 && i % LINES_PER_SLICE === 0) yield;
    const event = validEvent(lines[i]);
    if (event !== undefined) {
      events.push(event);
      continue;
    }
    badCount += 1;
    if (problems.length < MAX_LISTED_PROBLEMS) {
      problems.push(describeBadLine(lines[i], i + 1));
      badLines.push(i + 1);
    }
  }
  if (badCount > 0) {
    const more = badCount - problems.length;
    const rest = more > 0 ? `; and ${fmt(more)} more bad ${more === 1 ? 'line' : 'lines'} (${fmt(badCount)} of ${fmt(lines.length)} events are invalid)` : '';
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid events, nothing of this batch was stored: ${problems.join('; ')}${rest}. Fix these lines and send the batch again.`,
      { lines: badLines, invalid_events: badCount },
    );
  }
  return events;
}

/**
 * Validates every event of a batch at once (see {@link parseEventBatchInSlices}, which lets other work run in
 * between): answers them in order, or throws one INVALID_INPUT naming the first few bad lines and counting the rest.
 */
export function parseEventBatch(lines: readonly unknown[]): EventInput[] {
  const slices = parseEventBatchInSlices(lines);
  for (;;) {
    const step = slices.next();
    if (step.done) return step.value;
  }
}

/**
 * Validates one event sent on its own (`events.add`): answers it, or throws INVALID_INPUT naming each wrong field,
 * e.g. `body.value: expected a number, got "abc"`.
 */
export function parseEvent(body: unknown): EventInput {
  const type = typeof body === 'object' && body !== null ? (body as { type?: unknown }).type : undefined;
  if (type === 'training_stats_scalar' && isPlainScalar(body as Record<string, unknown>)) return body as ScalarEventInput;
  try {
    const { type: checked } = parseInput(EventTypeOnlySchema, body);
    return parseInput(EVENT_INPUT_SCHEMAS[checked], body) as EventInput;
  } catch (error) {
    if (!(error instanceof TasklaneError)) throw error;
    const problems = error.message.replace(/^Invalid request: /, '');
    throw new TasklaneError('INVALID_INPUT', `Invalid event, nothing was stored: ${problems}. Fix it and send it again.`, error.details, {
      cause: error,
    });
  }
}

const isOptionalString = (v: unknown) => v === undefined || typeof v === 'string';
const isOptionalNumber = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v));

/**
 * Tells whether a line is a well-formed scalar event, by hand: the same rules as ScalarEventInputSchema, without
 * zod's cost (a copy of every event), since scalars are the bulk of all events. Anything it does not accept goes
 * through the schema, which also words the errors; so it may refuse more than the schema, never less.
 */
function isPlainScalar(line: Record<string, unknown>): boolean {
  const { task, value, iter, metric, variant, model_event, allow_locked } = line;
  return (
    typeof task === 'string' &&
    task.length > 0 &&
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (iter === undefined || Number.isSafeInteger(iter)) &&
    isOptionalNumber(line.timestamp) &&
    isOptionalNumber(line.ts) &&
    (metric === undefined || metric === null || typeof metric === 'string') &&
    (variant === undefined || variant === null || typeof variant === 'string') &&
    isOptionalString(line.worker) &&
    isOptionalString(line.x_axis_label) &&
    (model_event === undefined || model_event === false) &&
    (allow_locked === undefined || typeof allow_locked === 'boolean')
  );
}

/** One line as an event, if it is a valid one (the common case, so it is cheap: no message is made). */
function validEvent(line: unknown): EventInput | undefined {
  const type = typeof line === 'object' && line !== null ? (line as { type?: unknown }).type : undefined;
  if (type === 'training_stats_scalar' && isPlainScalar(line as Record<string, unknown>)) {
    // Extra keys (ClearML's SDK adds `method`) stay on the object; nothing downstream reads them.
    return line as ScalarEventInput;
  }
  if (typeof type !== 'string' || !Object.hasOwn(EVENT_INPUT_SCHEMAS, type)) return undefined;
  const result = EVENT_INPUT_SCHEMAS[type as EventType].safeParse(line);
  return result.success ? (result.data as EventInput) : undefined;
}

/** What is wrong with a bad line, as text starting with `line N: `. */
function describeBadLine(line: unknown, lineNumber: number): string {
  const where = `line ${lineNumber}`;
  try {
    const { type } = parseInput(EventTypeOnlySchema, line, where);
    parseInput(EVENT_INPUT_SCHEMAS[type], line, where);
    return `${where}: invalid event`;
  } catch (error) {
    if (!(error instanceof TasklaneError)) throw error;
    // parseInput names fields as `line 3.value`; say `line 3: value`.
    return error.message.replace(/^Invalid request: /, '').replaceAll(`${where}.`, `${where}: `);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Events as the read endpoints answer them (ClearML's shapes: timestamps in epoch milliseconds).

/** A console line as `events.get_task_log` answers it. */
export const LogEventSchema = z.object({
  type: z.literal('log'),
  task: z.string(),
  id: z.string(),
  timestamp: z.number().int().describe('epoch milliseconds'),
  level: z.string(),
  worker: z.string().nullable(),
  msg: z.string(),
});
export type LogEvent = z.infer<typeof LogEventSchema>;

/** Any event as `events.get_task_events` answers it: the common fields, then those of its type. */
export const TaskEventSchema = z
  .object({
    type: EventTypeSchema,
    task: z.string(),
    id: z.string(),
    timestamp: z.number().int().describe('epoch milliseconds'),
    iter: z.number().int().optional(),
    metric: z.string().optional(),
    variant: z.string().optional(),
    worker: z.string().nullable().optional(),
    value: z.union([z.number(), z.array(z.number())]).optional().describe('a number (scalar) or numbers (vector)'),
    x_axis_label: z.string().optional(),
    key: z.string().optional(),
    url: z.string().optional(),
    plot_str: z.string().optional(),
    level: z.string().optional(),
    msg: z.string().optional(),
  })
  .loose();
export type TaskEvent = z.infer<typeof TaskEventSchema>;

/** A metric and, optionally, some of its variants (all when none are listed). */
export const MetricVariantsSchema = z.object({
  metric: z.string(),
  variants: z.array(z.string()).max(MAX_VARIANTS_PER_FILTER).optional(),
});
export type MetricVariants = z.infer<typeof MetricVariantsSchema>;

/** The variants listed by all entries of a metrics filter together, if the value looks like one (else 0). */
function listedVariants(value: unknown): number {
  if (!Array.isArray(value)) return 0;
  let count = 0;
  for (const entry of value) {
    const variants: unknown = typeof entry === 'object' && entry !== null ? (entry as { variants?: unknown }).variants : undefined;
    if (Array.isArray(variants)) count += variants.length;
  }
  return count;
}

/**
 * A metrics filter of a read request: each entry becomes a condition of the query, so at most
 * MAX_METRICS_PER_FILTER entries (`maxEntries` where the entries are tasks) and MAX_VARIANTS_PER_FILTER variants in all,
 * counted before any entry is parsed.
 */
function metricsFilter<TEntry extends z.ZodType>(entry: TEntry, maxEntries = MAX_METRICS_PER_FILTER, minEntries = 0) {
  return checkFirst(z.array(entry).min(minEntries).max(maxEntries), (value) => {
    if (!Array.isArray(value) || value.length > maxEntries) return undefined; // the list's own cap says so
    const variants = listedVariants(value);
    return variants > MAX_VARIANTS_PER_FILTER
      ? `at most ${fmt(MAX_VARIANTS_PER_FILTER)} variants may be listed in all entries together, got ${fmt(variants)}; ` +
          'list fewer, or leave variants out to take all of a metric'
      : undefined;
  });
}

/** `metrics` of the read requests: only these metrics (and variants). */
const MetricsFilterSchema = metricsFilter(MetricVariantsSchema);

const SortOrderSchema = z.enum(['asc', 'desc']);

/** The x axis of scalar charts: iteration, epoch milliseconds, or ISO time. */
export const SCALAR_KEYS = ['iter', 'timestamp', 'iso_time'] as const;
export const ScalarKeySchema = z.enum(SCALAR_KEYS);
export type ScalarKey = z.infer<typeof ScalarKeySchema>;

// ---------------------------------------------------------------------------------------------------------------
// Requests and replies of the events service.

/**
 * `events.add_batch`: the body is the list of events (JSON lines, or a JSON array), at most MAX_EVENTS_PER_BATCH of
 * them (counted first: REQUEST_TOO_LARGE past it). Each event is validated by the service, so that an error names
 * its line.
 */
export const EventsAddBatchRequestSchema = z
  .custom<EventInputBody[]>((body) => Array.isArray(body), 'expected a list')
  // A check, not refuseOverCap: the list is not parsed item by item here, and a transform in front of it would make
  // zod track every event object of the body (~15% more CPU per ingested event).
  .check(overCapCheck(batchOverCap));

export const EventsAddBatchResponseSchema = z.object({
  added: z.number().int(),
  errors: z.number().int(),
  errors_info: z.record(z.string(), z.number().int()),
});

/** One series of `events.add_scalars`: its points column by column, the i-th entries making the i-th point. */
export const ScalarColumnsInputSchema = z
  .object({
    metric: z.string().describe('title'),
    variant: z.string().describe('series'),
    iter: numberList('integer iterations', Number.isSafeInteger).describe('the iterations'),
    value: numberList('finite numbers', Number.isFinite).describe('the values'),
    timestamp: numberList('epoch milliseconds', Number.isFinite)
      .optional()
      .describe('epoch milliseconds of each point; the time of arrival when left out'),
    x_axis_label: z.string().optional(),
  })
  .superRefine((series, ctx) => {
    const lengths = [series.iter.length, series.value.length, ...(series.timestamp ? [series.timestamp.length] : [])];
    if (lengths.some((n) => n !== lengths[0])) {
      ctx.addIssue({
        code: 'custom',
        message: `iter, value and timestamp must have one entry per point, got ${lengths.join(', ')} entries`,
      });
    }
    if (series.iter.length === 0) ctx.addIssue({ code: 'custom', message: 'a series needs at least one point' });
  });
export type ScalarColumnsInput = z.output<typeof ScalarColumnsInputSchema>;

/** The points of an `events.add_scalars` body (the longest column of each series), if it looks like one. */
function pointsOf(series: readonly unknown[]): number {
  let points = 0;
  for (const entry of series) {
    if (typeof entry !== 'object' || entry === null) continue;
    const { iter, value, timestamp } = entry as Record<string, unknown>;
    points += Math.max(Array.isArray(iter) ? iter.length : 0, Array.isArray(value) ? value.length : 0, Array.isArray(timestamp) ? timestamp.length : 0);
  }
  return points;
}

/** Why an `events.add_scalars` body is over a cap, if it is (counted before any series is looked at). */
function scalarsOverCap(body: unknown): CapExcess | undefined {
  const series: unknown = typeof body === 'object' && body !== null ? (body as { series?: unknown }).series : undefined;
  if (!Array.isArray(series)) return undefined;
  const how = "Tasklane's SDK splits its batches by itself";
  if (series.length > MAX_SERIES_PER_SCALARS_REQUEST) {
    return overCap('events.add_scalars', 'series', MAX_SERIES_PER_SCALARS_REQUEST, series.length, how);
  }
  const points = pointsOf(series);
  if (points > MAX_SCALAR_POINTS_PER_REQUEST) {
    return overCap('events.add_scalars', 'points (all series together)', MAX_SCALAR_POINTS_PER_REQUEST, points, how);
  }
  return undefined;
}

/**
 * `events.add_scalars` (a Tasklane extension): the scalar points of one task, column by column, which costs a
 * fraction of one JSON event per point to send and to parse. Same rules as scalar events of `events.add_batch`. At
 * most MAX_SERIES_PER_SCALARS_REQUEST series and MAX_SCALAR_POINTS_PER_REQUEST points in all (counted first:
 * REQUEST_TOO_LARGE past them).
 */
export const EventsAddScalarsRequestSchema = refuseOverCap(
  z.object({
    task: z.string().min(1).describe('task id'),
    series: z
      .array(ScalarColumnsInputSchema)
      .min(1)
      .max(MAX_SERIES_PER_SCALARS_REQUEST)
      .describe(
        `one entry per metric/variant; at most ${fmt(MAX_SERIES_PER_SCALARS_REQUEST)} series and ${fmt(MAX_SCALAR_POINTS_PER_REQUEST)} points in all`,
      ),
    worker: z.string().optional(),
    allow_locked: z.boolean().optional().describe('write even if the task is published'),
  }),
  scalarsOverCap,
);

export const EventsGetTaskLogRequestSchema = z.object({
  task: IdSchema,
  batch_size: z.number().int().min(1).max(10_000).optional().default(500).describe('how many lines to answer'),
  navigate_earlier: z
    .boolean()
    .optional()
    .default(true)
    .describe('page from the newest lines back (true) or from the oldest forward (false)'),
  from_timestamp: z
    .number()
    .optional()
    .describe('epoch ms to page from (exclusive): earlier lines when navigating earlier, later ones otherwise'),
  order: SortOrderSchema.optional().describe('order of the answered lines; default: the navigation direction'),
  search: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe('only lines whose msg contains this text, ignoring case (a Tasklane extension; ClearML has no search)'),
});

export const EventsGetTaskLogResponseSchema = z.object({
  events: z.array(LogEventSchema),
  returned: z.number().int(),
  total: z.number().int().describe('all console lines of the task (with search: all lines that match)'),
});

export const EventsGetTaskEventsRequestSchema = z.object({
  task: IdSchema,
  event_type: EventTypeSchema.optional().describe('only events of this type'),
  metrics: MetricsFilterSchema.optional().describe(`only these metrics (and variants); at most ${fmt(MAX_METRICS_PER_FILTER)} entries and ${fmt(MAX_VARIANTS_PER_FILTER)} variants in all`),
  order: SortOrderSchema.optional().default('asc').describe('by timestamp'),
  batch_size: z.number().int().min(1).max(10_000).optional().default(500),
  scroll_id: z.string().optional().describe('the scroll_id of the previous page (send the same filters)'),
});

export const EventsGetTaskEventsResponseSchema = z.object({
  events: z.array(TaskEventSchema),
  returned: z.number().int(),
  total: z.number().int(),
  scroll_id: z.string(),
});

export const EventsGetScalarMetricsAndVariantsResponseSchema = z.object({
  metrics: z.record(z.string(), z.array(z.string())).describe('metric → its variants'),
});

export const EventsScalarHistogramRequestSchema = z.object({
  task: IdSchema,
  samples: z
    .number()
    .int()
    .min(0)
    .optional()
    .default(5000)
    .describe('most points per series (0: all); longer series keep the min and max of each iteration bucket'),
  key: ScalarKeySchema.optional().default('iter').describe('x axis: iter, timestamp (epoch ms) or iso_time'),
  metrics: MetricsFilterSchema.optional().describe(`only these metrics (and variants); at most ${fmt(MAX_METRICS_PER_FILTER)} entries and ${fmt(MAX_VARIANTS_PER_FILTER)} variants in all`),
});

/** One chart series: x (iterations, epoch ms or ISO times) and y, in iteration order. */
export const ScalarSeriesSchema = z.object({
  name: z.string(),
  x: z.array(z.union([z.number(), z.string()])),
  y: z.array(z.number()),
});
export type ScalarSeries = z.infer<typeof ScalarSeriesSchema>;

/** metric → variant → series: the reply `data` itself, as ClearML's. */
export const ScalarHistogramSchema = z.record(z.string(), z.record(z.string(), ScalarSeriesSchema));
export type ScalarHistogram = z.infer<typeof ScalarHistogramSchema>;

export const EventsLatestScalarValuesResponseSchema = z.object({
  metrics: z.array(
    z.object({
      name: z.string(),
      variants: z.array(z.object({ name: z.string(), last_value: z.number(), last_10_value: z.number() })),
    }),
  ),
  last_iter: z.number().int(),
  name: z.string(),
  status: TaskStatusSchema,
  last_timestamp: z.number().int().describe('epoch ms of the newest latest point; 0 without scalars'),
});

export const EventsDeleteForTaskRequestSchema = z.object({
  task: IdSchema,
  allow_locked: z.boolean().optional().default(false).describe('delete even if the task is published'),
});

/** `events.add`: one event as a flat body, validated by the service with the rules of `events.add_batch`. */
export const EventsAddRequestSchema = z.custom<EventInputBody>();

/** How many plot events one `events.get_task_plots` page holds. */
export const PLOTS_PAGE_SIZE = 500;

/** `events.get_task_plots`: the plots of a task, the last `iters` iterations of each. */
export const EventsGetTaskPlotsRequestSchema = z.object({
  task: IdSchema,
  iters: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .default(1)
    .describe('the last N iterations of each plot (metric/variant) that reported any'),
  metrics: MetricsFilterSchema.optional().describe(`only these metrics (and variants); at most ${fmt(MAX_METRICS_PER_FILTER)} entries and ${fmt(MAX_VARIANTS_PER_FILTER)} variants in all`),
  scroll_id: z.string().optional().describe('the scroll_id of the previous page (send the same filters)'),
  no_scroll: z.boolean().optional().default(false).describe('answer the first page only, without a scroll_id'),
});

/** A page of plot events. */
export const EventsGetTaskPlotsResponseSchema = z.object({
  plots: z.array(TaskEventSchema).describe('plot events (plot_str holds the Plotly figure), by timestamp'),
  returned: z.number().int(),
  total: z.number().int(),
  scroll_id: z.string().optional().describe('for the next page; absent with no_scroll'),
});

/** A task and, optionally, one of its metrics and some of its variants (all when none are listed). */
export const TaskMetricSchema = z.object({
  task: IdSchema,
  metric: z.string().optional().describe('all metrics of the task when missing'),
  variants: z.array(z.string()).max(MAX_VARIANTS_PER_FILTER).optional(),
});
export type TaskMetric = z.infer<typeof TaskMetricSchema>;

/** `events.debug_images`: debug samples of tasks, a few iterations per page. */
export const EventsDebugImagesRequestSchema = z.object({
  metrics: metricsFilter(TaskMetricSchema, MAX_TASKS_PER_COMPARE, 1).describe(
    `the tasks (and metrics, variants) to show; at most ${fmt(MAX_TASKS_PER_COMPARE)} entries and ${fmt(MAX_VARIANTS_PER_FILTER)} variants in all`,
  ),
  iters: z.number().int().min(1).max(1000).optional().default(1).describe('how many iterations per task and page'),
  navigate_earlier: z
    .boolean()
    .optional()
    .default(true)
    .describe('the next page goes to earlier iterations (true) or later ones (false); the first page is the latest'),
  refresh: z.boolean().optional().default(false).describe('start again from the latest iterations'),
  scroll_id: z.string().optional().describe('the scroll_id of the previous page (send the same metrics)'),
});

/** The debug samples of one iteration. */
export const IterationEventsSchema = z.object({
  iter: z.number().int(),
  events: z.array(TaskEventSchema).describe('by metric, then variant'),
});

/** Debug samples per task, grouped by iteration; `scroll_id` holds the paging state. */
export const EventsDebugImagesResponseSchema = z.object({
  scroll_id: z.string(),
  metrics: z.array(
    z.object({
      task: z.string(),
      iterations: z.array(IterationEventsSchema).describe('latest iteration first'),
    }),
  ),
});

/** `events.get_debug_image_sample`: one debug sample of a metric/variant, to browse from. */
export const EventsGetDebugImageSampleRequestSchema = z.object({
  task: IdSchema,
  metric: z.string(),
  variant: z.string(),
  iteration: z
    .number()
    .int()
    .optional()
    .describe('the sample of this iteration, or the latest before it; the latest sample when missing'),
  refresh: z.boolean().optional().default(false).describe('accepted for ClearML clients; every call reads afresh'),
  scroll_id: z.string().optional().describe('accepted for ClearML clients; each reply carries the navigation state'),
  navigate_current_metric: z
    .boolean()
    .optional()
    .default(true)
    .describe('next_debug_image_sample stays within this metric (true) or walks all metrics of the task'),
});

/** One debug sample, the stored iteration range of its variant, and the browsing state. */
export const DebugImageSampleSchema = z.object({
  scroll_id: z.string().describe('pass to events.next_debug_image_sample'),
  event: TaskEventSchema.nullable().describe('the debug sample event; null when there is none (or no next one)'),
  min_iteration: z.number().int().nullable().describe('first iteration stored for the variant of the event'),
  max_iteration: z.number().int().nullable().describe('last iteration stored for the variant of the event'),
});

/** `events.next_debug_image_sample`: the neighbour of the sample a scroll_id points at. */
export const EventsNextDebugImageSampleRequestSchema = z.object({
  task: IdSchema,
  scroll_id: z.string().min(1).describe('from get_debug_image_sample or a previous next_debug_image_sample'),
  navigate_earlier: z
    .boolean()
    .optional()
    .default(true)
    .describe('the previous variant of this iteration, else the last of an earlier iteration (true); or the next / a later one'),
  next_iteration: z.boolean().optional().default(false).describe('go straight to the earlier (or later) iteration'),
});

/** `events.get_task_single_value_metrics`: the single values of tasks. */
export const EventsSingleValueMetricsRequestSchema = z.object({
  tasks: z.array(IdSchema).min(1).max(MAX_TASKS_PER_READ).describe(`at most ${fmt(MAX_TASKS_PER_READ)} task ids`),
  metrics: MetricsFilterSchema.optional().describe(`only these metrics (and variants); at most ${fmt(MAX_METRICS_PER_FILTER)} entries and ${fmt(MAX_VARIANTS_PER_FILTER)} variants in all`),
});

/** Single values per task, by metric and variant. */
export const EventsSingleValueMetricsResponseSchema = z.object({
  tasks: z.array(
    z.object({
      task: z.string(),
      task_name: z.string(),
      values: z.array(
        z.object({ metric: z.string(), variant: z.string(), value: z.number(), timestamp: z.number().int().describe('epoch ms') }),
      ),
    }),
  ),
});

/** `events.get_task_metrics`: the metric names of tasks, for an event type. */
export const EventsGetTaskMetricsRequestSchema = z.object({
  tasks: z.array(IdSchema).min(1).max(MAX_TASKS_PER_READ).describe(`at most ${fmt(MAX_TASKS_PER_READ)} task ids`),
  event_type: EventTypeSchema.optional().describe('metrics that reported events of this type; of any type when missing'),
});

/** Metric names per task, in the order the tasks were asked for. */
export const EventsGetTaskMetricsResponseSchema = z.object({
  metrics: z.array(z.object({ task: z.string(), metrics: z.array(z.string()).describe('sorted') })),
});

/** `events.multi_task_scalar_metrics_iter_histogram`: chart series of several tasks, to compare. */
export const EventsMultiTaskScalarHistogramRequestSchema = z.object({
  tasks: z.array(IdSchema).min(1).max(MAX_TASKS_PER_COMPARE).describe(`at most ${fmt(MAX_TASKS_PER_COMPARE)} task ids`),
  samples: EventsScalarHistogramRequestSchema.shape.samples,
  key: EventsScalarHistogramRequestSchema.shape.key,
  metrics: EventsScalarHistogramRequestSchema.shape.metrics,
});

/** One task's series in a compare chart: `name` is the task's name. */
export const CompareSeriesSchema = ScalarSeriesSchema;

/** ClearML's compare shape: `{metrics: {metric: {variant: {task id: series}}}}`. */
export const EventsMultiTaskScalarHistogramResponseSchema = z.object({
  metrics: z
    .record(z.string(), z.record(z.string(), z.record(z.string(), CompareSeriesSchema)))
    .describe('metric → variant → task id → {name: task name, x, y}'),
});

/** Placeholders of download_task_log's line_format. */
export const LOG_LINE_FIELDS = ['asctime', 'timestamp', 'level', 'worker', 'msg'] as const;

/** `events.download_task_log`: a task's whole console log as text. */
export const EventsDownloadTaskLogRequestSchema = z.object({
  task: IdSchema,
  line_type: z.enum(['json', 'text']).optional().default('json').describe('one JSON object per line, or formatted text'),
  line_format: z
    .string()
    .min(1)
    .max(MAX_LOG_LINE_FORMAT_LENGTH)
    .optional()
    .default('{asctime} {worker} {level} {msg}')
    .describe(
      `text lines: placeholders ${LOG_LINE_FIELDS.map((f) => `{${f}}`).join(', ')}; {{ and }} for braces; at most ` +
        `${fmt(MAX_LOG_LINE_FORMAT_LENGTH)} characters`,
    ),
});

/** The log text (ClearML answers it as a file; here it is the `text` field of `data`). */
export const EventsDownloadTaskLogResponseSchema = z.object({
  text: z.string().describe('the whole console log, oldest line first, each line ending with a newline'),
});
