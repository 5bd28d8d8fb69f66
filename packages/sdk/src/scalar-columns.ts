import {
  MAX_OTHER_EVENTS_PER_BATCH,
  MAX_SCALAR_POINTS_PER_REQUEST,
  MAX_SERIES_PER_SCALARS_REQUEST,
  type RequestOf,
} from '@tasklane/protocol';
import type { ReportEvent } from './event-reporter.js';

type AddScalarsBody = RequestOf<'events.add_scalars'>;
type ColumnSeries = AddScalarsBody['series'][number] & { iter: number[]; value: number[]; timestamp: number[] };

/** A batch split by `splitScalars`. */
export interface SplitBatch {
  scalars: AddScalarsBody[];
  others: ReportEvent[];
}

/**
 * Splits a batch into the bodies of `events.add_scalars` (the scalar points, column by column, per task, each body
 * within the server's caps: at most MAX_SERIES_PER_SCALARS_REQUEST series and MAX_SCALAR_POINTS_PER_REQUEST points)
 * and the other events, which go as JSON lines to `events.add_batch`. Columns cost the server a fraction of a JSON
 * event per point to parse; both endpoints store a scalar by the same identity, so a batch sent again after a
 * failure (in either form) overwrites instead of duplicating.
 */
export function splitScalars(events: readonly ReportEvent[]): SplitBatch {
  const others: ReportEvent[] = [];
  // task → metric → variant → columns; nested maps, so no key string is built per point.
  const byTask = new Map<string, Map<string, Map<string, ColumnSeries>>>();
  for (const event of events) {
    const { iter, metric, variant, value } = event;
    if (event.type !== 'training_stats_scalar' || typeof iter !== 'number' || typeof metric !== 'string' || typeof variant !== 'string' || typeof value !== 'number') {
      others.push(event);
      continue;
    }
    let metrics = byTask.get(event.task);
    if (!metrics) byTask.set(event.task, (metrics = new Map()));
    let variants = metrics.get(metric);
    if (!variants) metrics.set(metric, (variants = new Map()));
    let series = variants.get(variant);
    if (!series) variants.set(variant, (series = { metric, variant, iter: [], value: [], timestamp: [] }));
    series.iter.push(iter);
    series.value.push(value);
    series.timestamp.push(event.timestamp);
    if (typeof event.x_axis_label === 'string') series.x_axis_label = event.x_axis_label;
  }
  const scalars: AddScalarsBody[] = [];
  for (const [task, metrics] of byTask) {
    const series = [...metrics.values()].flatMap((variants) => [...variants.values()]);
    for (const part of capBodies(series)) scalars.push({ task, series: part });
  }
  return { scalars, others };
}

/** The columns of one series, as an `events.add_scalars` body holds them. */
interface Columns {
  iter: number[];
  value: number[];
  timestamp?: number[];
}

/**
 * Cuts a task's series into the `series` of several `events.add_scalars` bodies, in order, each within the server's
 * caps (a series longer than the points cap is cut into pieces, which go in order too).
 * @internal for the SDK's senders (reporter, offline import)
 */
export function capBodies<TSeries extends Columns>(
  series: readonly TSeries[],
  maxSeries = MAX_SERIES_PER_SCALARS_REQUEST,
  maxPoints = MAX_SCALAR_POINTS_PER_REQUEST,
): TSeries[][] {
  const bodies: TSeries[][] = [];
  let body: TSeries[] = [];
  let points = 0;
  for (const whole of series) {
    for (let from = 0; from < whole.iter.length; ) {
      if (body.length === maxSeries || points === maxPoints) {
        bodies.push(body);
        body = [];
        points = 0;
      }
      const take = Math.min(whole.iter.length - from, maxPoints - points);
      const to = from + take;
      const piece =
        from === 0 && take === whole.iter.length
          ? whole
          : {
              ...whole,
              iter: whole.iter.slice(from, to),
              value: whole.value.slice(from, to),
              ...(whole.timestamp ? { timestamp: whole.timestamp.slice(from, to) } : {}),
            };
      body.push(piece);
      points += take;
      from = to;
    }
  }
  if (body.length > 0) bodies.push(body);
  return bodies;
}

/** The events of a split batch again (scalars first, each series in its order; then the others in theirs). */
export function joinScalars({ scalars, others }: SplitBatch): ReportEvent[] {
  const events: ReportEvent[] = [];
  for (const { task, series } of scalars) {
    for (const { metric, variant, iter, value, timestamp, x_axis_label } of series) {
      for (let i = 0; i < iter.length; i += 1) {
        const event: ReportEvent = { type: 'training_stats_scalar', task, timestamp: timestamp?.[i] ?? Date.now(), iter: iter[i], metric, variant, value: value[i] };
        if (x_axis_label !== undefined) event.x_axis_label = x_axis_label;
        events.push(event);
      }
    }
  }
  for (const event of others) events.push(event);
  return events;
}

/**
 * JSON-lines bodies of at most about `maxBytes` and `maxEvents` events each (one event per line), so that a batch of
 * large events (plots) never exceeds the server's request size limit, nor its cap on events other than scalars per
 * `events.add_batch`; an event larger than the size goes alone.
 */
export function* jsonLinesBodies(events: readonly object[], maxBytes: number, maxEvents = MAX_OTHER_EVENTS_PER_BATCH): Generator<string> {
  let lines: string[] = [];
  let size = 0;
  for (const event of events) {
    const line = JSON.stringify(event);
    // Characters, not bytes: close enough for a limit kept well below the server's.
    if (lines.length > 0 && (size + line.length + 1 > maxBytes || lines.length === maxEvents)) {
      yield lines.join('\n');
      lines = [];
      size = 0;
    }
    lines.push(line);
    size += line.length + 1;
  }
  if (lines.length > 0) yield lines.join('\n');
}
