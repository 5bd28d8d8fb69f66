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
 */

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
