import { describe, expect, it } from 'vitest';
import { ChartBuckets } from './scalar-chart.js';
import { SUMMARY_BLOCK_SIZES, blockOf, bucketOfBlock, planChart, summarize } from './scalar-summaries.js';

/** A chart by brute force: per bucket of the plan, its lowest and highest point (earliest on ties), by iteration. */
function bruteChart(iters: readonly number[], values: readonly number[], samples: number) {
  const plan = planChart(iters[0]!, iters.at(-1)!, iters.length, samples);
  if (plan.kind === 'all') return { iter: [...iters], value: [...values] };
  const buckets = new Map<number, number[]>();
  iters.forEach((iter, i) => {
    const bucket = bucketOfBlock(plan, blockOf(iter, plan.blockSize));
    const indexes = buckets.get(bucket);
    if (indexes) indexes.push(i);
    else buckets.set(bucket, [i]);
  });
  const out = { iter: [] as number[], value: [] as number[] };
  for (const indexes of buckets.values()) {
    let low = indexes[0]!;
    let high = indexes[0]!;
    for (const i of indexes) {
      if (values[i]! < values[low]!) low = i;
      if (values[i]! > values[high]!) high = i;
    }
    for (const i of [...new Set([low, high])].sort((a, b) => a - b)) {
      out.iter.push(iters[i]!);
      out.value.push(values[i]!);
    }
  }
  return out;
}

/** What a store does: reads the plan's blocks (summaries, or the points themselves) and adds them in order. */
function chartFromBlocks(iters: readonly number[], values: readonly number[], samples: number) {
  const plan = planChart(iters[0]!, iters.at(-1)!, iters.length, samples);
  if (plan.kind === 'all') return { iter: [...iters], value: [...values] };
  const buckets = new ChartBuckets(plan);
  if (plan.level < 0) {
    iters.forEach((iter, i) => buckets.add(iter, values[i]!, iter, values[i]!, iter));
    return buckets.finish();
  }
  const blockSize = SUMMARY_BLOCK_SIZES[plan.level]!;
  for (let i = 0; i < iters.length; ) {
    const block = blockOf(iters[i]!, blockSize);
    let end = i + 1;
    while (end < iters.length && blockOf(iters[end]!, blockSize) === block) end += 1;
    const s = summarize(block, iters, values, i, end);
    buckets.add(block, s.minValue, s.minValueIter, s.maxValue, s.maxValueIter);
    i = end;
  }
  return buckets.finish();
}

describe('ChartBuckets', () => {
  it('gives each bucket its lowest and highest point by iteration, one when they are the same point', () => {
    const plan = { kind: 'buckets', level: -1, blockSize: 1, group: 3, firstBlock: 0 } as const;
    const buckets = new ChartBuckets(plan);
    // Bucket 0 (iterations 0-2): high first, then low. Bucket 1 (3-5): one point. Bucket 2 (6-8): ties, earliest.
    for (const [iter, value] of [
      [0, 5],
      [1, 9],
      [2, 1],
      [4, 7],
      [6, 2],
      [7, 2],
      [8, 2],
    ] as const) {
      buckets.add(iter, value, iter, value, iter);
    }
    expect(buckets.finish()).toEqual({ iter: [1, 2, 4, 6], value: [9, 1, 7, 2] });
  });

  it('keeps spikes, and draws from summaries what reading every point would', () => {
    for (const [count, samples] of [
      [10_000, 100],
      [100_000, 2000],
      [3000, 2000],
      [70_001, 7],
    ] as const) {
      const iters = Array.from({ length: count }, (_, i) => i * 2 - 1000);
      const values = iters.map((_, i) => Math.sin(i / 50) + (i % 9973 === 17 ? 100 : 0) - (i % 7919 === 5 ? 100 : 0));
      const chart = chartFromBlocks(iters, values, samples);
      expect(chart, `${count} points, ${samples} samples`).toEqual(bruteChart(iters, values, samples));
      expect(chart.iter.length).toBeLessThanOrEqual(Math.max(samples, 2));
      // The highest and lowest spikes survive at any level, and every spike does with 50 or more buckets (spikes of
      // one sign are 7,919 points apart or more, so each is the only one of its sign in its bucket).
      expect(chart.value).toContain(Math.max(...values));
      expect(chart.value).toContain(Math.min(...values));
      if (samples >= 100) {
        for (let i = 17; i < count; i += 9973) expect(chart.value).toContain(values[i]);
        for (let i = 5; i < count; i += 7919) expect(chart.value).toContain(values[i]);
      }
    }
  });
});
