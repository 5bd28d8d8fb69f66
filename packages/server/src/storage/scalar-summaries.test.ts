import { describe, expect, it } from 'vitest';
import { MIGRATION_3_SUMMARY_BLOCK_SIZES } from './migrations.js';
import {
  SUMMARY_BLOCK_SIZES,
  TOP_LEVEL,
  blockOf,
  bucketOfBlock,
  combineSummaries,
  mergeSummaries,
  planChart,
  summarize,
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
