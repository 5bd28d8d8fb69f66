import { describe, expect, it } from 'vitest';
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import { MIGRATION_3_SUMMARY_BLOCK_SIZES } from './migrations.js';
import {
  SUMMARY_BLOCK_SIZES,
  TOP_LEVEL,
  appendedSummaries,
  blockIterations,
  blockOf,
  blockRuns,
  bucketOfBlock,
  childBlocks,
  combineSummaries,
  mergeSummaries,
  planChart,
  planSummaryUpkeep,
  summarize,
  touchedBlocks,
  type BlockSummary,
  type LeveledSummary,
} from './scalar-summaries.js';

describe('summary levels', () => {
  it('are the ones migration 3 summarized existing points with', () => {
    expect(SUMMARY_BLOCK_SIZES).toEqual(MIGRATION_3_SUMMARY_BLOCK_SIZES);
  });

  it('grow by a whole factor, so that a block is made of whole blocks of the level below', () => {
    for (let level = 1; level <= TOP_LEVEL; level += 1) {
      expect(SUMMARY_BLOCK_SIZES[level]! % SUMMARY_BLOCK_SIZES[level - 1]!).toBe(0);
    }
  });
});

describe('blockOf', () => {
  it('floors, also below zero', () => {
    expect([0, 31, 32, -1, -32, -33].map((i) => blockOf(i, 32))).toEqual([0, 0, 1, -1, -1, -2]);
    expect(blockOf(-(2 ** 31), 32)).toBe(-(2 ** 26));
  });
});

describe('summarize, merge, combine', () => {
  const iters = [3, 4, 5, 6, 7, 8];
  const values = [2, 1, 5, 1, 5, 0.5];

  it('keep count, sum, first and last iteration, last value, and min and max with the earliest iteration on ties', () => {
    expect(summarize(0, iters, values, 0, 5)).toEqual({
      bucket: 0,
      minIter: 3,
      maxIter: 7,
      count: 5,
      sum: 14,
      minValue: 1,
      minValueIter: 4,
      maxValue: 5,
      maxValueIter: 5,
      lastValue: 5,
    });
  });

  it('give the same summary whether a block is taken whole or in consecutive parts', () => {
    const whole = summarize(9, iters, values, 0, 6);
    for (let cut = 1; cut < 6; cut += 1) {
      const merged = mergeSummaries(9, summarize(1, iters, values, 0, cut), summarize(2, iters, values, cut, 6));
      expect(merged).toEqual(whole);
      const combined = combineSummaries(9, [summarize(1, iters, values, 0, cut), summarize(2, iters, values, cut, 6)]);
      expect(combined).toEqual(whole);
    }
  });
});

describe('planChart', () => {
  it('answers every point when there are no more than samples, or samples is 0', () => {
    expect(planChart(0, 999, 1000, 1000)).toEqual({ kind: 'all' });
    expect(planChart(0, 10 ** 9, 10 ** 6, 0)).toEqual({ kind: 'all' });
  });

  it('reads the coarsest level whose blocks give at least samples points, in at most samples / 2 buckets', () => {
    // 1,000,000 consecutive iterations, 2,000 samples: 1,000 buckets. Blocks of 2,048 span 489 (too few); of 256, 3,907.
    const plan = planChart(0, 999_999, 1_000_000, 2000);
    expect(plan).toEqual({ kind: 'buckets', level: 1, blockSize: 256, group: 4, firstBlock: 0 });
    if (plan.kind !== 'buckets') throw new Error('unreachable');
    const buckets = bucketOfBlock(plan, blockOf(999_999, 256)) + 1;
    expect(buckets).toBe(977);
  });

  it('counts blocks from the first one of the series, also for negative or late iterations', () => {
    // 50 buckets: blocks of 256 span 40 (-20..19), too few; blocks of 32 span 314 (-157..156), 7 to a bucket.
    expect(planChart(-5000, 5000, 10_001, 100)).toEqual({ kind: 'buckets', level: 0, blockSize: 32, group: 7, firstBlock: -157 });
    expect(planChart(10 ** 7, 10 ** 7 + 999_999, 1_000_000, 20)).toMatchObject({ level: 3, blockSize: 16_384, firstBlock: 610 });
  });

  it('reads the points themselves when even the finest blocks are too few', () => {
    expect(planChart(0, 2999, 3000, 2000)).toEqual({ kind: 'buckets', level: -1, blockSize: 1, group: 3, firstBlock: 0 });
  });

  it('never makes more than max(1, samples / 2) buckets, nor fewer than about half of that', () => {
    for (const samples of [1, 2, 3, 10, 99, 100, 2000, 5000]) {
      for (const [minIter, maxIter] of [
        [0, 10_000],
        [-3, 123_456],
        [7, 1_000_006],
        [0, 50_000_000],
        [-(2 ** 31) + 1, 2 ** 31],
      ] as const) {
        const count = Math.min(maxIter - minIter + 1, 10_000_000);
        const plan = planChart(minIter, maxIter, count, samples);
        if (plan.kind === 'all') {
          expect(count).toBeLessThanOrEqual(samples);
          continue;
        }
        const limit = Math.max(1, Math.floor(samples / 2));
        const buckets = bucketOfBlock(plan, blockOf(maxIter, plan.blockSize)) - bucketOfBlock(plan, blockOf(minIter, plan.blockSize)) + 1;
        expect(buckets, `samples ${samples}, ${minIter}..${maxIter}`).toBeLessThanOrEqual(limit);
        expect(buckets, `samples ${samples}, ${minIter}..${maxIter}`).toBeGreaterThanOrEqual(Math.floor(limit / 2));
        // The level below the one read would have been finer than needed only if this one were too coarse.
        if (plan.level >= 0 && plan.level < TOP_LEVEL) {
          const coarser = SUMMARY_BLOCK_SIZES[plan.level + 1]!;
          expect(blockOf(maxIter, coarser) - blockOf(minIter, coarser) + 1).toBeLessThan(limit);
        }
      }
    }
  });
});

/** Every block of every level of points sorted by iteration (single value left out), summarized from scratch. */
function summariesOf(iters: readonly number[], values: readonly number[]): LeveledSummary[] {
  const rows: LeveledSummary[] = [];
  const from = iters[0] === SINGLE_VALUE_ITERATION ? 1 : 0;
  SUMMARY_BLOCK_SIZES.forEach((blockSize, level) => {
    for (let i = from; i < iters.length; ) {
      const bucket = blockOf(iters[i]!, blockSize);
      let end = i + 1;
      while (end < iters.length && blockOf(iters[end]!, blockSize) === bucket) end += 1;
      rows.push([level, summarize(bucket, iters, values, i, end)]);
      i = end;
    }
  });
  return rows;
}

/** A training loop's points: iterations from `first` with gaps, values with ties and spikes. */
function loopPoints(first: number, count: number, seed: number): { iters: number[]; values: number[] } {
  const iters: number[] = [];
  const values: number[] = [];
  let iter = first;
  for (let i = 0; i < count; i += 1) {
    iters.push(iter);
    values.push(((i * 7919 + seed) % 13) / 4);
    iter += 1 + ((i * 31 + seed) % 5 === 0 ? 40 : 0);
  }
  return { iters, values };
}

describe('planSummaryUpkeep', () => {
  it('does nothing for a single value alone, and skips it ahead of points', () => {
    expect(planSummaryUpkeep([SINGLE_VALUE_ITERATION], 0, 1, undefined)).toEqual({ kind: 'none' });
    expect(planSummaryUpkeep([SINGLE_VALUE_ITERATION, 4, 5], 0, 3, 3)).toMatchObject({ kind: 'append', start: 1 });
    expect(planSummaryUpkeep([1, 2], 2, 2, undefined)).toEqual({ kind: 'none' });
  });

  it('appends after the stored points, naming the blocks that hold the last of them and the first new point', () => {
    expect(planSummaryUpkeep([0, 1], 0, 2, undefined)).toEqual({ kind: 'append', start: 0, open: [] });
    // A stored single value is no stored point.
    expect(planSummaryUpkeep([0, 1], 0, 2, SINGLE_VALUE_ITERATION)).toEqual({ kind: 'append', start: 0, open: [] });
    // 40 and 33 share the block of 32..63 and every coarser one.
    expect(planSummaryUpkeep([40, 41], 0, 2, 33)).toEqual({
      kind: 'append',
      start: 0,
      open: SUMMARY_BLOCK_SIZES.map((size, level) => ({ level, bucket: blockOf(40, size) })),
    });
    // 300 is past the stored 255's blocks of 32 and 256, in its blocks of 2,048 and up.
    expect(planSummaryUpkeep([300], 0, 1, 255)).toEqual({
      kind: 'append',
      start: 0,
      open: SUMMARY_BLOCK_SIZES.slice(2).map((size, i) => ({ level: i + 2, bucket: blockOf(300, size) })),
    });
  });

  it('recomputes when a point does not come after the stored ones', () => {
    expect(planSummaryUpkeep([5, 9], 0, 2, 5)).toEqual({ kind: 'recompute', start: 0 });
    expect(planSummaryUpkeep([7, 3, 20], 1, 3, 10)).toEqual({ kind: 'recompute', start: 1 });
  });
});

describe('appendedSummaries', () => {
  it('give, merged into the stored open blocks, what summarizing the whole series from scratch gives', () => {
    for (const [storedCount, newCount] of [
      [0, 1],
      [1, 1],
      [100, 37],
      [5000, 3000],
      [31, 1],
      [2047, 2],
    ] as const) {
      const all = loopPoints(-70, storedCount + newCount, storedCount);
      const stored = { iters: all.iters.slice(0, storedCount), values: all.values.slice(0, storedCount) };
      const storedRows = new Map(summariesOf(stored.iters, stored.values).map(([level, s]) => [`${level}:${s.bucket}`, s]));
      const upkeep = planSummaryUpkeep(all.iters, storedCount, all.iters.length, stored.iters.at(-1));
      if (upkeep.kind !== 'append') throw new Error(`expected an append, got ${upkeep.kind}`);
      const open: (BlockSummary | undefined)[] = [];
      for (const { level, bucket } of upkeep.open) open[level] = storedRows.get(`${level}:${bucket}`);
      const rows = appendedSummaries(all.iters, all.values, upkeep.start, all.iters.length, open);
      const expected = summariesOf(all.iters, all.values).filter(([level, s]) => {
        const size = SUMMARY_BLOCK_SIZES[level]!;
        return s.bucket >= blockOf(all.iters[storedCount]!, size);
      });
      expect(rows, `${storedCount} stored, ${newCount} new`).toEqual(expected);
    }
  });
});

describe('recomputing blocks', () => {
  it('names each touched block once, in order', () => {
    expect(touchedBlocks([-1, 0, 5, 31, 32, 95, 96], 0, 7, 32)).toEqual([-1, 0, 1, 2, 3]);
    expect(touchedBlocks([0, 40, 41], 1, 3, 32)).toEqual([1]);
    expect(touchedBlocks([0], 1, 1, 32)).toEqual([]);
  });

  it('groups consecutive blocks into runs', () => {
    expect(blockRuns([])).toEqual([]);
    expect(blockRuns([-2, -1, 0, 3, 5, 6])).toEqual([
      [-2, 0],
      [3, 3],
      [5, 6],
    ]);
  });

  it('reads the iterations of a finest block, never the single value', () => {
    expect(blockIterations(0)).toEqual({ first: 0, last: 31 });
    expect(blockIterations(-1)).toEqual({ first: -32, last: -1 });
    expect(blockIterations(blockOf(SINGLE_VALUE_ITERATION, 32))).toEqual({
      first: SINGLE_VALUE_ITERATION + 1,
      last: SINGLE_VALUE_ITERATION + 31,
    });
  });

  it('makes a block of the blocks below it', () => {
    expect(childBlocks(1, 0)).toEqual({ first: 0, last: 7 });
    expect(childBlocks(1, -1)).toEqual({ first: -8, last: -1 });
    expect(childBlocks(3, 2)).toEqual({ first: 16, last: 23 });
    // The children of each block summarize to the block.
    const { iters, values } = loopPoints(-500, 4000, 3);
    const rows = summariesOf(iters, values);
    for (const [level, summary] of rows.filter(([level]) => level > 0)) {
      const { first, last } = childBlocks(level, summary.bucket);
      const children = rows.filter(([l, s]) => l === level - 1 && s.bucket >= first && s.bucket <= last).map(([, s]) => s);
      expect(combineSummaries(summary.bucket, children)).toEqual(summary);
    }
  });
});
