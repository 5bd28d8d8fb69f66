import { describe, expect, it } from 'vitest';
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import { appendToStats, withSingleValue } from './series-stats.js';
import type { SeriesStats } from './store.js';

const SINGLE = SINGLE_VALUE_ITERATION;

/** The stats of points by brute force: ties of min and max to the earliest. */
function statsOf(iters: readonly number[], values: readonly number[]): SeriesStats {
  let min = 0;
  let max = 0;
  values.forEach((v, i) => {
    if (v < values[min]!) min = i;
    if (v > values[max]!) max = i;
  });
  const point = (i: number) => ({ iter: iters[i]!, value: values[i]! });
  return {
    count: iters.length,
    sum: values.reduce((a, b) => a + b, 0),
    first: point(0),
    last: point(iters.length - 1),
    min: point(min),
    max: point(max),
  };
}

describe('appendToStats', () => {
  const iters = [1, 2, 3, 4, 5, 6, 7];
  const values = [3, 1, 4, 1, 5, 9, 5];

  it('summarizes the points without stats, and answers nothing without points', () => {
    expect(appendToStats(undefined, iters, values, 0, 7)).toEqual(statsOf(iters, values));
    expect(appendToStats(undefined, iters, values, 2, 5)).toEqual(statsOf(iters.slice(2, 5), values.slice(2, 5)));
    expect(appendToStats(undefined, iters, values, 3, 3)).toBeUndefined();
  });

  it('gives the same stats whether the points come at once or in consecutive parts', () => {
    const whole = statsOf(iters, values);
    for (let cut = 1; cut < 7; cut += 1) {
      const first = appendToStats(undefined, iters, values, 0, cut);
      expect(appendToStats(first, iters, values, cut, 7), `cut at ${cut}`).toEqual(whole);
    }
    expect(appendToStats(whole, iters, values, 7, 7)).toBeUndefined();
    // The last point of the stats is not needed: the new last point is the last one added.
    const { last: _last, ...known } = appendToStats(undefined, iters, values, 0, 3)!;
    expect(appendToStats(known, iters, values, 3, 7)).toEqual(whole);
  });

  it('keeps the earliest point on ties', () => {
    const stats = appendToStats(undefined, [10, 11, 12], [2, 2, 2], 0, 3);
    expect(stats?.min).toEqual({ iter: 10, value: 2 });
    expect(stats?.max).toEqual({ iter: 10, value: 2 });
  });
});

describe('withSingleValue', () => {
  const points = statsOf([0, 1, 2], [5, 2, 8]);

  it('leaves stats alone without a single value', () => {
    expect(withSingleValue(points, undefined)).toBe(points);
    expect(withSingleValue(undefined, undefined)).toBeUndefined();
  });

  it('is the whole series when there are no points', () => {
    const point = { iter: SINGLE, value: 1.5 };
    expect(withSingleValue(undefined, 1.5)).toEqual({ count: 1, sum: 1.5, first: point, last: point, min: point, max: point });
  });

  it('counts the single value as the earliest point: first, and the record on ties', () => {
    expect(withSingleValue(points, 4)).toEqual({ ...points, count: 4, sum: 19, first: { iter: SINGLE, value: 4 } });
    expect(withSingleValue(points, 2)).toMatchObject({ min: { iter: SINGLE, value: 2 }, max: points.max });
    expect(withSingleValue(points, 8)).toMatchObject({ min: points.min, max: { iter: SINGLE, value: 8 } });
    // The same as the stats of the points with the single value in front.
    expect(withSingleValue(points, 9)).toEqual(statsOf([SINGLE, 0, 1, 2], [9, 5, 2, 8]));
  });
});
