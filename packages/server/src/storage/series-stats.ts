import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import type { KnownSeriesStats, SeriesStats } from './store.js';

/**
 * The stats of a whole scalar series (what a task's last_metrics shows of it), kept without reading the series:
 * free of SQL, so both stores and the ingest share them. Ties of min and max go to the earliest iteration, as in the
 * block summaries (scalar-summaries.ts).
 */

/**
 * The stats of a series once points `from` to `to` (exclusive) of columns sorted by iteration, all after its stored
 * points, are added to its `stats` (without stats, the points are the whole series). The last point is the last of
 * these, so the stats need not know it. Answers undefined when there are no points to add.
 */
export function appendToStats(
  stats: KnownSeriesStats | undefined,
  iters: ArrayLike<number>,
  values: ArrayLike<number>,
  from: number,
  to: number,
): SeriesStats | undefined {
  if (from >= to) return undefined;
  let start = from;
  let count = stats?.count ?? 0;
  let sum = stats?.sum ?? 0;
  let first = stats?.first;
  let min = stats?.min;
  let max = stats?.max;
  if (!first || !min || !max) {
    first = { iter: iters[from]!, value: values[from]! };
    min = first;
    max = first;
    count = 1;
    sum = values[from]!;
    start = from + 1;
  }
  for (let i = start; i < to; i += 1) {
    const v = values[i]!;
    count += 1;
    sum += v;
    // Strict comparisons: on a tie the earlier iteration keeps the record.
    if (v < min.value) min = { iter: iters[i]!, value: v };
    if (v > max.value) max = { iter: iters[i]!, value: v };
  }
  return { count, sum, first, last: { iter: iters[to - 1]!, value: values[to - 1]! }, min, max };
}

/**
 * The stats of a series whose points (single value left out) have `stats`, once its single value (iteration -2^31),
 * if it has one, is counted in: it is the earliest point, so it keeps the first place and wins ties of min and max.
 */
export function withSingleValue(stats: SeriesStats | undefined, single: number | undefined): SeriesStats | undefined {
  if (single === undefined) return stats;
  const point = { iter: SINGLE_VALUE_ITERATION, value: single };
  if (!stats) return { count: 1, sum: single, first: point, last: point, min: point, max: point };
  return {
    count: stats.count + 1,
    sum: stats.sum + single,
    first: point,
    last: stats.last,
    min: single <= stats.min.value ? point : stats.min,
    max: single >= stats.max.value ? point : stats.max,
  };
}
