import type { RequestOf } from '@tasklane/protocol';
import type { ReportEvent } from './event-reporter.js';

type AddScalarsBody = RequestOf<'events.add_scalars'>;
type ColumnSeries = AddScalarsBody['series'][number] & { iter: number[]; value: number[]; timestamp: number[] };

/** A batch split by `splitScalars`. */
export interface SplitBatch {
  scalars: AddScalarsBody[];
  others: ReportEvent[];
}

/**
 * Splits a batch into the bodies of `events.add_scalars` (the scalar points, column by column, one body per task) and
 * the other events, which go as JSON lines to `events.add_batch`. Columns cost the server a fraction of a JSON event
 * per point to parse; both endpoints store a scalar by the same identity, so a batch sent again after a failure
 * (in either form) overwrites instead of duplicating.
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
    scalars.push({ task, series: [...metrics.values()].flatMap((variants) => [...variants.values()]) });
  }
  return { scalars, others };
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
 * JSON-lines bodies of at most about `maxBytes` each (one event per line), so that a batch of large events (plots)
 * never exceeds the server's request size limit; an event larger than the limit goes alone.
 */
export function* jsonLinesBodies(events: readonly object[], maxBytes: number): Generator<string> {
  let lines: string[] = [];
  let size = 0;
  for (const event of events) {
    const line = JSON.stringify(event);
    // Characters, not bytes: close enough for a limit kept well below the server's.
    if (lines.length > 0 && size + line.length + 1 > maxBytes) {
      yield lines.join('\n');
      lines = [];
      size = 0;
    }
    lines.push(line);
    size += line.length + 1;
  }
  if (lines.length > 0) yield lines.join('\n');
}
