import { describe, expect, it } from 'vitest';
import { MAX_OTHER_EVENTS_PER_BATCH, MAX_SCALAR_POINTS_PER_REQUEST, MAX_SERIES_PER_SCALARS_REQUEST } from '@tasklane/protocol';
import type { ReportEvent } from './event-reporter.js';
import { joinScalars, jsonLinesBodies, splitScalars } from './scalar-columns.js';

const scalar = (task: string, iter: number, metric: string, variant: string, value: number): ReportEvent => ({
  type: 'training_stats_scalar',
  task,
  timestamp: 1000 + iter,
  iter,
  metric,
  variant,
  value,
});

describe('splitScalars', () => {
  it('groups scalar points into columns per task and series, in order, and leaves other events as they are', () => {
    const log: ReportEvent = { type: 'log', task: 'a', timestamp: 5, msg: 'hi', level: 'info', id: 'x' };
    const labelled = { ...scalar('a', 3, 'lr', 'x', 0.1), x_axis_label: 'epoch' };
    const { scalars, others } = splitScalars([
      scalar('a', 0, 'loss', 'train', 1),
      log,
      scalar('a', 0, 'loss', 'val', 2),
      scalar('a', 1, 'loss', 'train', 0.5),
      scalar('b', 7, 'loss', 'train', 9),
      labelled,
    ]);
    expect(others).toEqual([log]);
    expect(scalars).toEqual([
      {
        task: 'a',
        series: [
          { metric: 'loss', variant: 'train', iter: [0, 1], value: [1, 0.5], timestamp: [1000, 1001] },
          { metric: 'loss', variant: 'val', iter: [0], value: [2], timestamp: [1000] },
          { metric: 'lr', variant: 'x', iter: [3], value: [0.1], timestamp: [1003], x_axis_label: 'epoch' },
        ],
      },
      { task: 'b', series: [{ metric: 'loss', variant: 'train', iter: [7], value: [9], timestamp: [1007] }] },
    ]);
  });

  it('sends a scalar it cannot put in columns (no iteration) as an event', () => {
    const noIter: ReportEvent = { type: 'training_stats_scalar', task: 'a', timestamp: 1, metric: 'm', variant: 'v', value: 1 };
    expect(splitScalars([noIter])).toEqual({ scalars: [], others: [noIter] });
  });
});

describe('jsonLinesBodies', () => {
  it('cuts JSON lines into bodies under the size, keeping order; an event over the size goes alone', () => {
    const small = { type: 'log', msg: 'x'.repeat(20) };
    const big = { type: 'plot', plot_str: 'y'.repeat(200) };
    const bodies = [...jsonLinesBodies([small, small, small, big, small], 100)];
    expect(bodies.map((b) => b.split('\n').length)).toEqual([2, 1, 1, 1]);
    expect(bodies.join('\n').split('\n').map((l) => JSON.parse(l) as object)).toEqual([small, small, small, big, small]);
    expect([...jsonLinesBodies([], 100)]).toEqual([]);
  });
});

describe('bodies within the server caps', () => {
  it('cuts a task\'s scalars into add_scalars bodies of at most MAX_SERIES_PER_SCALARS_REQUEST series and MAX_SCALAR_POINTS_PER_REQUEST points, in order', () => {
    const manySeries = Array.from({ length: MAX_SERIES_PER_SCALARS_REQUEST + 1 }, (_, i) => scalar('a', 0, 'per-class', `c${i}`, i));
    const bySeries = splitScalars(manySeries).scalars;
    expect(bySeries.map((body) => [body.task, body.series.length])).toEqual([
      ['a', MAX_SERIES_PER_SCALARS_REQUEST],
      ['a', 1],
    ]);
    expect(bySeries[1]!.series[0]).toMatchObject({ variant: `c${MAX_SERIES_PER_SCALARS_REQUEST}`, iter: [0] });

    const longSeries = Array.from({ length: MAX_SCALAR_POINTS_PER_REQUEST + 2 }, (_, i) => scalar('a', i, 'loss', 'train', i));
    const split = splitScalars([...longSeries, scalar('a', 0, 'loss', 'val', 7)]);
    expect(split.scalars.map((body) => body.series.map((s) => [s.variant, s.iter.length]))).toEqual([
      [['train', MAX_SCALAR_POINTS_PER_REQUEST]],
      [['train', 2], ['val', 1]],
    ]);
    expect(split.scalars[1]!.series[0]).toMatchObject({
      iter: [MAX_SCALAR_POINTS_PER_REQUEST, MAX_SCALAR_POINTS_PER_REQUEST + 1],
      timestamp: [1000 + MAX_SCALAR_POINTS_PER_REQUEST, 1001 + MAX_SCALAR_POINTS_PER_REQUEST],
    });
    // Spilled and read back, the points are the same, in the same order.
    expect(joinScalars(split).slice(0, longSeries.length)).toEqual(longSeries);
  });

  it('cuts JSON lines into bodies of at most MAX_OTHER_EVENTS_PER_BATCH events', () => {
    const line = { type: 'log', msg: 'x' };
    const bodies = [...jsonLinesBodies(Array<object>(MAX_OTHER_EVENTS_PER_BATCH * 2 + 1).fill(line), 64 * 1024 * 1024)];
    expect(bodies.map((b) => b.split('\n').length)).toEqual([MAX_OTHER_EVENTS_PER_BATCH, MAX_OTHER_EVENTS_PER_BATCH, 1]);
  });
});
