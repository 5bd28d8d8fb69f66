/**
 * Precomputed summaries of scalar series, so that a chart of a series of millions of points reads thousands of rows,
 * not millions.
 *
 * Each series is cut into blocks of a fixed number of iterations, at several levels (32, 256, ... iterations per
 * block; each level 8 times coarser than the one below). A block keeps the count, sum, first and last iteration, the
 * last value, and its lowest and highest point (value and iteration) — ties go to the earliest iteration, so the
 * summary of a block is a pure function of its points. They are kept up to date at ingest, in the same transaction as
 * the points, recomputing only the blocks a batch touches. Single values (iteration -2^31) are not part of any block.
 *
 * A chart of `samples` points is drawn from the coarsest level that still gives at least `samples` points (two per
 * block: its lowest and highest): blocks are grouped into at most samples / 2 buckets of equal iteration width (a
 * whole number of blocks), and each bucket gives its lowest and highest point, so spikes survive at every level.
 * The level read has fewer than 8 × samples / 2 blocks in the span of the series (the next coarser one had too few).
 *
 * Everything here is free of SQL: the stores read and write the rows, these functions say which and compute them.
 */
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';

/** Iterations per block at each level, finest first. Changing them needs a migration (see migration 3). */
export const SUMMARY_BLOCK_SIZES: readonly number[] = [32, 256, 2048, 16_384, 131_072, 1_048_576];

/** The coarsest level: its few rows summarize a whole series. */
export const TOP_LEVEL = SUMMARY_BLOCK_SIZES.length - 1;

/** The summary of one block of a series. Iterations are integers; ties of min and max go to the earliest iteration. */
export interface BlockSummary {
  bucket: number;
  minIter: number;
  maxIter: number;
  count: number;
  sum: number;
  minValue: number;
  minValueIter: number;
  maxValue: number;
  maxValueIter: number;
  lastValue: number;
}

/** The block of an iteration at a block size (floor division, so negative iterations work too). */
export function blockOf(iter: number, blockSize: number): number {
  return Math.floor(iter / blockSize);
}

/** Summarizes points `from` to `to` (exclusive) of columns sorted by iteration, all in one block. */
export function summarize(bucket: number, iters: ArrayLike<number>, values: ArrayLike<number>, from: number, to: number): BlockSummary {
  let minValue = values[from]!;
  let minValueIter = iters[from]!;
  let maxValue = minValue;
  let maxValueIter = minValueIter;
  let sum = minValue;
  for (let i = from + 1; i < to; i += 1) {
    const value = values[i]!;
    sum += value;
    // Strict comparisons: on a tie the earlier iteration keeps the record.
    if (value < minValue) {
      minValue = value;
      minValueIter = iters[i]!;
    }
    if (value > maxValue) {
      maxValue = value;
      maxValueIter = iters[i]!;
    }
  }
  return {
    bucket,
    minIter: iters[from]!,
    maxIter: iters[to - 1]!,
    count: to - from,
    sum,
    minValue,
    minValueIter,
    maxValue,
    maxValueIter,
    lastValue: values[to - 1]!,
  };
}

/** Summarizes `earlier` followed by `later` (all of whose points come after those of `earlier`), as one block. */
export function mergeSummaries(bucket: number, earlier: BlockSummary, later: BlockSummary): BlockSummary {
  const lowerIsLater = later.minValue < earlier.minValue;
  const higherIsLater = later.maxValue > earlier.maxValue;
  return {
    bucket,
    minIter: earlier.minIter,
    maxIter: later.maxIter,
    count: earlier.count + later.count,
    sum: earlier.sum + later.sum,
    minValue: lowerIsLater ? later.minValue : earlier.minValue,
    minValueIter: lowerIsLater ? later.minValueIter : earlier.minValueIter,
    maxValue: higherIsLater ? later.maxValue : earlier.maxValue,
    maxValueIter: higherIsLater ? later.maxValueIter : earlier.maxValueIter,
    lastValue: later.lastValue,
  };
}

/** Summarizes consecutive blocks (sorted by bucket) as one block of the level above. */
export function combineSummaries(bucket: number, children: readonly BlockSummary[]): BlockSummary {
  let result = { ...children[0]!, bucket };
  for (let i = 1; i < children.length; i += 1) result = mergeSummaries(bucket, result, children[i]!);
  return result;
}

/**
 * How to draw a chart of at most about `samples` points from a series: every point, or buckets of `group` blocks of
 * `blockSize` iterations, counted from block `firstBlock`, read from summary `level` (-1: from the points themselves,
 * blocks of one iteration).
 */
export type ChartPlan =
  | { kind: 'all' }
  | { kind: 'buckets'; level: number; blockSize: number; group: number; firstBlock: number };

/**
 * Plans a chart of a series of `count` points from `minIter` to `maxIter` (single values left out). At most
 * max(samples, 2) points come out: buckets of whole blocks, at most max(1, samples / 2) of them (at least about
 * half that many), each giving its lowest and highest point. The level is the
 * coarsest whose blocks give at least `samples` points, two per block; when even the finest level gives too few,
 * the points themselves are read (a series spanning fewer than 32 × samples / 2 iterations).
 */
export function planChart(minIter: number, maxIter: number, count: number, samples: number): ChartPlan {
  if (samples === 0 || count <= samples) return { kind: 'all' };
  const buckets = Math.max(1, Math.floor(samples / 2));
  for (let level = TOP_LEVEL; level >= 0; level -= 1) {
    const blockSize = SUMMARY_BLOCK_SIZES[level]!;
    const firstBlock = blockOf(minIter, blockSize);
    const spannedBlocks = blockOf(maxIter, blockSize) - firstBlock + 1;
    if (spannedBlocks >= buckets) {
      return { kind: 'buckets', level, blockSize, group: Math.ceil(spannedBlocks / buckets), firstBlock };
    }
  }
  return { kind: 'buckets', level: -1, blockSize: 1, group: Math.ceil((maxIter - minIter + 1) / buckets), firstBlock: minIter };
}

/** The bucket of a block under a plan. */
export function bucketOfBlock(plan: Extract<ChartPlan, { kind: 'buckets' }>, block: number): number {
  return Math.floor((block - plan.firstBlock) / plan.group);
}

/** A summary row to write: its level and the block's summary. */
export type LeveledSummary = readonly [level: number, summary: BlockSummary];

/** A block of a level. */
export interface BlockKey {
  level: number;
  bucket: number;
}

/**
 * How to bring a series' summaries up to date once points `from` to `to` (exclusive) of columns sorted by iteration,
 * one point per iteration, are written; `storedLast` is the highest iteration the series held before that write.
 * - `none`: the points are a single value only (single values are in no block);
 * - `append`: the points from `start` on all come after the stored ones (a training loop): each level's summaries are
 *   made from the points, merged, in the block of the first of them, with the stored summary of that block where it
 *   holds stored points already (`open`: the blocks to read first, see appendedSummaries);
 * - `recompute`: the points may replace stored ones (a re-sent batch, iterations out of order): the blocks they touch
 *   are summarized again from what is stored, level by level (see touchedBlocks).
 */
export type SummaryUpkeep =
  | { kind: 'none' }
  | { kind: 'append'; start: number; open: BlockKey[] }
  | { kind: 'recompute'; start: number };

export function planSummaryUpkeep(
  iters: ArrayLike<number>,
  from: number,
  to: number,
  storedLast: number | undefined,
): SummaryUpkeep {
  // Sorted by iteration: a single value can only come first.
  const start = from < to && iters[from] === SINGLE_VALUE_ITERATION ? from + 1 : from;
  if (start >= to) return { kind: 'none' };
  const hasStoredPoints = storedLast !== undefined && storedLast !== SINGLE_VALUE_ITERATION;
  if (!hasStoredPoints) return { kind: 'append', start, open: [] };
  const first = iters[start]!;
  if (first <= storedLast) return { kind: 'recompute', start };
  const open: BlockKey[] = [];
  SUMMARY_BLOCK_SIZES.forEach((blockSize, level) => {
    const bucket = blockOf(first, blockSize);
    if (blockOf(storedLast, blockSize) === bucket) open.push({ level, bucket });
  });
  return { kind: 'append', start, open };
}

/**
 * The summary rows of points `start` to `to` of columns sorted by iteration that all come after the stored points,
 * every level, finest first. `stored[level]` is the stored summary of the block at that level that holds the first
 * of the points, when that block holds stored points already (one of `open` of planSummaryUpkeep): the points are
 * merged into it. Only that block can hold stored points: the others start after the last stored point.
 */
export function appendedSummaries(
  iters: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
  to: number,
  stored: readonly (BlockSummary | undefined)[],
): LeveledSummary[] {
  const rows: LeveledSummary[] = [];
  SUMMARY_BLOCK_SIZES.forEach((blockSize, level) => {
    let from = start;
    while (from < to) {
      const bucket = blockOf(iters[from]!, blockSize);
      let end = from + 1;
      while (end < to && blockOf(iters[end]!, blockSize) === bucket) end += 1;
      let summary = summarize(bucket, iters, values, from, end);
      const earlier = from === start ? stored[level] : undefined;
      if (earlier && earlier.bucket === bucket) summary = mergeSummaries(bucket, earlier, summary);
      rows.push([level, summary]);
      from = end;
    }
  });
  return rows;
}

/** The blocks of `blockSize` iterations that points `from` to `to` of iterations sorted ascending fall in, in order. */
export function touchedBlocks(iters: ArrayLike<number>, from: number, to: number, blockSize: number): number[] {
  const blocks: number[] = [];
  for (let i = from; i < to; i += 1) {
    const bucket = blockOf(iters[i]!, blockSize);
    if (bucket !== blocks.at(-1)) blocks.push(bucket);
  }
  return blocks;
}

/** Runs of consecutive blocks, as [first, last], of blocks sorted ascending, each once. */
export function blockRuns(blocks: readonly number[]): [first: number, last: number][] {
  const runs: [number, number][] = [];
  for (const block of blocks) {
    const run = runs.at(-1);
    if (run && block === run[1] + 1) run[1] = block;
    else runs.push([block, block]);
  }
  return runs;
}

/** The iterations a finest-level block summarizes: its span, without the single value's iteration. */
export function blockIterations(bucket: number): { first: number; last: number } {
  const blockSize = SUMMARY_BLOCK_SIZES[0]!;
  const first = bucket * blockSize;
  return { first: Math.max(first, SINGLE_VALUE_ITERATION + 1), last: first + blockSize - 1 };
}

/** The blocks of level `level - 1` that make the block `bucket` of `level` (level ≥ 1). */
export function childBlocks(level: number, bucket: number): { first: number; last: number } {
  const factor = SUMMARY_BLOCK_SIZES[level]! / SUMMARY_BLOCK_SIZES[level - 1]!;
  return { first: bucket * factor, last: bucket * factor + factor - 1 };
}
