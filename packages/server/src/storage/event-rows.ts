import type { MetricVariants } from '@tasklane/protocol';
import { ChartBuckets } from './scalar-chart.js';
import {
  SUMMARY_BLOCK_SIZES,
  appendedSummaries,
  blockIterations,
  blockOf,
  blockRuns,
  childBlocks,
  combineSummaries,
  planChart,
  planSummaryUpkeep,
  summarize,
  touchedBlocks,
  type BlockKey,
  type BlockSummary,
  type ChartPlan,
} from './scalar-summaries.js';
import { appendToStats } from './series-stats.js';
import type { ChartQuery, LogEventRecord, ScalarSlice, SeriesChart, SeriesStats } from './store.js';

/** A series of a task by its names. */
export interface SeriesName {
  metric: string;
  variant: string;
}

/**
 * A scalar series of a task with the span of its points (single value left out), from its top-level summaries:
 * `count` 0 (and no span) when it holds a single value only.
 */
export interface SeriesSpan extends SeriesName {
  id: number;
  count: number;
  minIter: number;
  maxIter: number;
}

/** A block of a series. */
export interface SeriesBlockKey extends BlockKey {
  series: number;
}

/** A summary row of a series. */
export interface SeriesSummary {
  series: number;
  level: number;
  summary: BlockSummary;
}

/** Visits a summary row: its block, lowest and highest point. */
export type BlockVisitor = (index: number, block: number, minValue: number, minIter: number, maxValue: number, maxIter: number) => void;

/** Visits a point; `timestamp` is 0 unless asked for. */
export type PointVisitor = (index: number, iter: number, value: number, timestamp: number) => void;

/**
 * The event rows on the hot path — scalar series (event_series, scalar_events, scalar_summaries) as ingest and charts
 * use them, and the insert of console lines — written by hand for each database (sqlite-event-rows.ts: prepared
 * statements, multi-row INSERTs; postgres/postgres-event-rows.ts: one statement per call over arrays, `unnest`): a
 * query builder adds nothing there but cost. Each call covers every series of a batch or chart, so that a batch costs
 * PostgreSQL a handful of round trips whatever its number of series. What to read and write is decided once, for
 * both, by appendScalars and readCharts below; the other event queries are written once with Kysely (events.ts).
 * `index` in a visitor is the position of the series in the list given.
 */
export interface EventRows {
  /** Stores console lines; one whose task and id are stored already is skipped. Answers how many were new. */
  insertLogs(events: readonly LogEventRecord[]): Promise<number>;
  /** The ids of these series of a task, in order, created when missing. */
  seriesIds(task: string, names: readonly SeriesName[]): Promise<number[]>;
  /** The highest iteration stored in each series, in order; undefined for an empty one. */
  lastIterations(series: readonly number[]): Promise<(number | undefined)[]>;
  /** Writes the points of each slice into the series of the same position; a point at a stored iteration replaces it. */
  writePoints(series: readonly number[], slices: readonly ScalarSlice[]): Promise<void>;
  /** The stored summaries of these blocks, in order; undefined where there is none. */
  summaries(keys: readonly SeriesBlockKey[]): Promise<(BlockSummary | undefined)[]>;
  /** Writes summary rows, replacing the stored ones of the same blocks. */
  writeSummaries(rows: readonly SeriesSummary[]): Promise<void>;
  /** The stored points of a series from iteration `first` to `last` (inclusive), by iteration. */
  pointsBetween(series: number, first: number, last: number): Promise<{ iter: number[]; value: number[] }>;
  /** The stored summaries of a series at a level, from bucket `first` to `last` (inclusive), by bucket. */
  summariesBetween(series: number, level: number, first: number, last: number): Promise<BlockSummary[]>;
  /** The stats of each whole series (single value included) from its summaries, in order; undefined for an empty one. */
  seriesStats(series: readonly number[]): Promise<(SeriesStats | undefined)[]>;
  /** Every series of a task with its span, by metric and variant. */
  seriesSpans(task: string): Promise<SeriesSpan[]>;
  /** Visits the summary rows of one level of these series: by series, then bucket. */
  forEachBlock(series: readonly number[], level: number, visit: BlockVisitor): Promise<void>;
  /** Visits the points of these series, single values left out: by series, then iteration. */
  forEachPoint(series: readonly number[], withTimestamps: boolean, visit: PointVisitor): Promise<void>;
  /** The timestamps of stored points: for each series, at its iterations (ascending), in order. */
  timestampsAt(requests: readonly { series: number; iters: readonly number[] }[]): Promise<number[][]>;
}

/** EventRepository.appendScalars over the rows of either database. */
export async function appendScalars(rows: EventRows, task: string, slices: readonly ScalarSlice[]): Promise<SeriesStats[]> {
  if (slices.length === 0) return [];
  const ids = await rows.seriesIds(task, slices);
  const storedLast = await rows.lastIterations(ids);
  await rows.writePoints(ids, slices);

  // Summaries: appended batches all at once (their open blocks read in one go), the others block by block.
  const plans = slices.map((s, i) => planSummaryUpkeep(s.points.iter, s.from, s.to, storedLast[i]));
  const keys: SeriesBlockKey[] = [];
  const keyOwners: number[] = [];
  plans.forEach((plan, i) => {
    if (plan.kind !== 'append') return;
    for (const block of plan.open) {
      keys.push({ series: ids[i]!, ...block });
      keyOwners.push(i);
    }
  });
  const open: (BlockSummary | undefined)[][] = slices.map(() => []);
  if (keys.length > 0) {
    (await rows.summaries(keys)).forEach((summary, k) => {
      open[keyOwners[k]!]![keys[k]!.level] = summary;
    });
  }
  const appended: SeriesSummary[] = [];
  plans.forEach((plan, i) => {
    if (plan.kind !== 'append') return;
    const { iter, value } = slices[i]!.points;
    for (const [level, summary] of appendedSummaries(iter, value, plan.start, slices[i]!.to, open[i]!)) {
      appended.push({ series: ids[i]!, level, summary });
    }
  });
  if (appended.length > 0) await rows.writeSummaries(appended);
  for (const [i, plan] of plans.entries()) {
    if (plan.kind === 'recompute') await recomputeSummaries(rows, ids[i]!, slices[i]!, plan.start);
  }

  // Stats: from the batch when it comes after what is stored and the stats before it are known, else from the store.
  const stats = slices.map((slice, i) => {
    const { iter, value } = slice.points;
    const last = storedLast[i];
    if (last === undefined) return appendToStats(undefined, iter, value, slice.from, slice.to);
    return slice.known && iter[slice.from]! > last ? appendToStats(slice.known, iter, value, slice.from, slice.to) : undefined;
  });
  const unknown = stats.flatMap((s, i) => (s === undefined ? [i] : []));
  if (unknown.length > 0) {
    (await rows.seriesStats(unknown.map((i) => ids[i]!))).forEach((s, k) => {
      stats[unknown[k]!] = s;
    });
  }
  return stats.map((s, i) => {
    if (!s) throw new Error(`Scalar series ${ids[i]} is empty right after points were written to it`);
    return s;
  });
}

/**
 * Summarizes again the blocks that points `start` to `slice.to` touch, level by level: the finest from the stored
 * points, the others from the blocks below, each run of consecutive blocks read in one go.
 */
async function recomputeSummaries(rows: EventRows, series: number, slice: ScalarSlice, start: number): Promise<void> {
  const { iter } = slice.points;
  for (const [level, blockSize] of SUMMARY_BLOCK_SIZES.entries()) {
    const written: SeriesSummary[] = [];
    for (const [firstBlock, lastBlock] of blockRuns(touchedBlocks(iter, start, slice.to, blockSize))) {
      if (level === 0) {
        const points = await rows.pointsBetween(series, blockIterations(firstBlock).first, blockIterations(lastBlock).last);
        for (let i = 0; i < points.iter.length; ) {
          const bucket = blockOf(points.iter[i]!, blockSize);
          let end = i + 1;
          while (end < points.iter.length && blockOf(points.iter[end]!, blockSize) === bucket) end += 1;
          written.push({ series, level, summary: summarize(bucket, points.iter, points.value, i, end) });
          i = end;
        }
      } else {
        const factor = blockSize / SUMMARY_BLOCK_SIZES[level - 1]!;
        const children = await rows.summariesBetween(series, level - 1, childBlocks(level, firstBlock).first, childBlocks(level, lastBlock).last);
        for (let i = 0; i < children.length; ) {
          const bucket = blockOf(children[i]!.bucket, factor);
          let end = i + 1;
          while (end < children.length && blockOf(children[end]!.bucket, factor) === bucket) end += 1;
          written.push({ series, level, summary: combineSummaries(bucket, children.slice(i, end)) });
          i = end;
        }
      }
    }
    // Written before the next level reads them.
    await rows.writeSummaries(written);
  }
}

/** The series a metrics filter selects (all without one); a filter entry without variants takes every variant. */
function selectSeries<TSeries extends SeriesName>(all: readonly TSeries[], metrics: MetricVariants[] | undefined): TSeries[] {
  if (metrics === undefined) return [...all];
  // metric → its variants asked for, or 'all': one lookup per series, whatever the length of the filter.
  const wanted = new Map<string, Set<string> | 'all'>();
  for (const { metric, variants } of metrics) {
    const known = wanted.get(metric);
    if (known === 'all') continue;
    if (!variants || variants.length === 0) wanted.set(metric, 'all');
    else wanted.set(metric, new Set([...(known ?? []), ...variants]));
  }
  return all.filter((s) => {
    const variants = wanted.get(s.metric);
    return variants === 'all' || (variants !== undefined && variants.has(s.variant));
  });
}

/** EventRepository.charts over the rows of either database: one read per summary level in use, whatever the series. */
export async function readCharts(rows: EventRows, query: ChartQuery): Promise<SeriesChart[]> {
  const spans = selectSeries(await rows.seriesSpans(query.task), query.metrics).filter((s) => s.count > 0);
  const charts: SeriesChart[] = spans.map(({ metric, variant }) => ({
    metric,
    variant,
    iter: [],
    value: [],
    ...(query.withTimestamps ? { timestamp: [] } : {}),
  }));
  // Series read whole, and series downsampled, by the level read (-1: the points themselves).
  const whole: number[] = [];
  const byLevel = new Map<number, { index: number; plan: Extract<ChartPlan, { kind: 'buckets' }> }[]>();
  spans.forEach((span, index) => {
    const plan = planChart(span.minIter, span.maxIter, span.count, query.samples);
    if (plan.kind === 'all') whole.push(index);
    else {
      const members = byLevel.get(plan.level);
      if (members) members.push({ index, plan });
      else byLevel.set(plan.level, [{ index, plan }]);
    }
  });
  if (whole.length > 0) {
    await rows.forEachPoint(
      whole.map((i) => spans[i]!.id),
      query.withTimestamps,
      (k, iter, value, timestamp) => {
        const chart = charts[whole[k]!]!;
        chart.iter.push(iter);
        chart.value.push(value);
        chart.timestamp?.push(timestamp);
      },
    );
  }
  const downsampled: number[] = [];
  for (const [level, members] of byLevel) {
    const ids = members.map((m) => spans[m.index]!.id);
    const buckets = members.map((m) => new ChartBuckets(m.plan));
    if (level < 0) await rows.forEachPoint(ids, false, (k, iter, value) => buckets[k]!.add(iter, value, iter, value, iter));
    else await rows.forEachBlock(ids, level, (k, ...block) => buckets[k]!.add(...block));
    members.forEach((m, k) => {
      const { iter, value } = buckets[k]!.finish();
      charts[m.index]!.iter = iter;
      charts[m.index]!.value = value;
      downsampled.push(m.index);
    });
  }
  if (query.withTimestamps && downsampled.length > 0) {
    const timestamps = await rows.timestampsAt(downsampled.map((i) => ({ series: spans[i]!.id, iters: charts[i]!.iter })));
    downsampled.forEach((i, k) => {
      charts[i]!.timestamp = timestamps[k]!;
    });
  }
  return charts;
}
