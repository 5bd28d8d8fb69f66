// The events repository (storage/events.ts and each store's EventRows) driven directly, one body for SQLite and
// PostgreSQL: scalar ingest (appended, re-sent, out of order, single values), charts with and without timestamps,
// console lines, vectors, debug samples, plots, deleting. Expectations come from brute force over what was written,
// so both stores must give the same answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINGLE_VALUE_ITERATION, type MetricVariants } from '@tasklane/protocol';
import { PLOT_COMPRESSION_THRESHOLD } from '../src/storage/events.js';
import { blockOf, planChart } from '../src/storage/scalar-summaries.js';
import type {
  KnownSeriesStats,
  LogEventRecord,
  OtherEventRecord,
  Repositories,
  ScalarSlice,
  SeriesStats,
  Store,
} from '../src/storage/store.js';
import { storesUnderTest } from './support/stores-under-test.js';


const SINGLE = SINGLE_VALUE_ITERATION;
const T0 = 1_700_000_000_000;

const STORES = storesUnderTest('events-store.int.test.ts', 'events');

/** The points of a series as a test keeps them: iteration → [value, timestamp]. */
type Points = Map<number, [number, number]>;

/** Stats of points the slow way (a single value counts, as the earliest point; ties to the earliest). */
function bruteStats(points: Points): SeriesStats {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  const point = ([iter, [value]]: (typeof sorted)[number]) => ({ iter, value });
  let min = sorted[0]!;
  let max = sorted[0]!;
  for (const p of sorted) {
    if (p[1][0] < min[1][0]) min = p;
    if (p[1][0] > max[1][0]) max = p;
  }
  return {
    count: sorted.length,
    sum: sorted.reduce((sum, p) => sum + p[1][0], 0),
    first: point(sorted[0]!),
    last: point(sorted.at(-1)!),
    min: point(min),
    max: point(max),
  };
}

/** A chart the slow way: every point, or each bucket's lowest and highest point (single value left out). */
function bruteChart(points: Points, samples: number) {
  const sorted = [...points].filter(([iter]) => iter !== SINGLE).sort((a, b) => a[0] - b[0]);
  const columns = (list: typeof sorted) => ({ iter: list.map((p) => p[0]), value: list.map((p) => p[1][0]), timestamp: list.map((p) => p[1][1]) });
  const plan = planChart(sorted[0]![0], sorted.at(-1)![0], sorted.length, samples);
  if (plan.kind === 'all') return columns(sorted);
  const buckets = new Map<number, { low: (typeof sorted)[number]; high: (typeof sorted)[number] }>();
  for (const p of sorted) {
    const key = Math.floor((blockOf(p[0], plan.blockSize) - plan.firstBlock) / plan.group);
    const bucket = buckets.get(key);
    if (!bucket) buckets.set(key, { low: p, high: p });
    else {
      if (p[1][0] < bucket.low[1][0]) bucket.low = p;
      if (p[1][0] > bucket.high[1][0]) bucket.high = p;
    }
  }
  const out: typeof sorted = [];
  for (const { low, high } of [...buckets].sort((a, b) => a[0] - b[0]).map(([, b]) => b)) {
    if (low[0] === high[0]) out.push(low);
    else out.push(...(low[0] < high[0] ? [low, high] : [high, low]));
  }
  return columns(out);
}

/** A slice of the given points (sorted, one per iteration, as the service makes them), recorded into `stored`. */
function slice(metric: string, variant: string, points: [number, number][], stored: Points, known?: KnownSeriesStats): ScalarSlice {
  const sorted = [...new Map(points).entries()].sort((a, b) => a[0] - b[0]);
  for (const [iter, value] of sorted) stored.set(iter, [value, T0 + iter]);
  return {
    metric,
    variant,
    points: { iter: sorted.map((p) => p[0]), value: sorted.map((p) => p[1]), timestamp: sorted.map((p) => T0 + p[0]), length: sorted.length },
    from: 0,
    to: sorted.length,
    ...(known ? { known } : {}),
  };
}

/** Values with ties and spikes, the same on every run. */
function valueAt(iter: number, seed: number): number {
  const wave = Math.round(Math.sin(iter / 40 + seed) * 8) / 4;
  // + 0: no -0, which the stores keep as 0.
  return iter % 997 === 13 ? 1000 + seed : iter % 1499 === 7 ? -1000 - seed : wave + 0;
}

function log(task: string, id: string, timestamp: number, msg: string): LogEventRecord {
  return { type: 'log', task, id, timestamp, level: 'info', worker: 'w1', msg };
}

function sample(task: string, metric: string, variant: string, iter: number, key = 'k', timestamp = T0 + iter): OtherEventRecord {
  return { type: 'training_debug_image', task, id: `${metric}/${variant}/${iter}/${key}`, iter, metric, variant, timestamp, data: { key, url: `u${iter}` } };
}

describe.each(STORES)('events repository on $name', ({ isAvailable, open }) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    if (!isAvailable) return;
    ({ store, cleanup } = await open());
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });
  const write = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work);
  const read = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work, { readOnly: true });

  it.skipIf(!isAvailable)('appends scalars of many series in one call and answers their stats, whatever the order points come in', async () => {
    const task = 'scalars';
    const loss: Points = new Map();
    const acc: Points = new Map();
    const lr: Points = new Map();
    // A training loop: batches that come after what is stored, the known stats passed in as the service does.
    let known: (KnownSeriesStats | undefined)[] = [undefined, undefined];
    for (let batch = 0; batch < 4; batch += 1) {
      const iters = Array.from({ length: 2500 }, (_, i) => batch * 5000 + i * 2);
      const slices = [
        slice('loss', 'train', iters.map((i) => [i, valueAt(i, 1)]), loss, known[0]),
        slice('acc', 'val', iters.filter((i) => i % 10 === 0).map((i) => [i, valueAt(i, 2)]), acc, known[1]),
      ];
      const stats = await write((repos) => repos.events.appendScalars(task, slices));
      expect(stats).toEqual([bruteStats(loss), bruteStats(acc)]);
      known = stats;
    }
    // A re-sent, overlapping batch with a point out of order and a single value, without known stats: the store sums
    // up from what it holds, overwrites counted once.
    const resent = slice('loss', 'train', [[SINGLE, 7], [5000, -3], [5001, 99], [3, 4], [19_998, 0.5], [30_000, 2]], loss);
    const fresh = slice('lr', '', [[SINGLE, 0.1]], lr);
    expect(await write((repos) => repos.events.appendScalars(task, [resent, fresh]))).toEqual([bruteStats(loss), bruteStats(lr)]);
    // Known stats that come after the stored points are trusted; a single value alone is its series.
    const after = slice('loss', 'train', [[30_001, -5000]], loss, bruteStats(loss));
    expect(await write((repos) => repos.events.appendScalars(task, [after]))).toEqual([bruteStats(loss)]);

    const series = await read((repos) => repos.events.listSeries(task));
    expect(series.map(({ metric, variant }) => `${metric}/${variant}`)).toEqual(['acc/val', 'loss/train', 'lr/']);
    expect(await read((repos) => repos.events.latestPoints(series[1]!.id, 3))).toEqual([
      { iter: 30_001, value: -5000, timestamp: T0 + 30_001 },
      { iter: 30_000, value: 2, timestamp: T0 + 30_000 },
      { iter: 19_998, value: 0.5, timestamp: T0 + 19_998 },
    ]);
    expect(await read((repos) => repos.events.singleValues([task, 'other'], [{ metric: 'lr' }, { metric: 'loss', variants: ['train'] }]))).toEqual([
      { task, metric: 'loss', variant: 'train', value: 7, timestamp: T0 + SINGLE },
      { task, metric: 'lr', variant: '', value: 0.1, timestamp: T0 + SINGLE },
    ]);
    expect(await read((repos) => repos.events.taskMetrics(task))).toEqual(['acc', 'loss']);
    expect(await read((repos) => repos.events.taskMetrics(task, 'training_stats_scalar'))).toEqual(['acc', 'loss']);

    // Charts: whole series, downsampled from summaries, from the points themselves; timestamps joined.
    for (const samples of [0, 100, 2000, 5000, 20_000]) {
      const charts = await read((repos) => repos.events.charts({ task, samples, withTimestamps: true }));
      expect(charts, `samples ${samples}`).toEqual([
        { metric: 'acc', variant: 'val', ...bruteChart(acc, samples) },
        { metric: 'loss', variant: 'train', ...bruteChart(loss, samples) },
      ]);
      expect(charts[1]!.value, `samples ${samples}`).toEqual(expect.arrayContaining([-5000, 1001]));
    }
    const withoutTime = await read((repos) => repos.events.charts({ task, samples: 100, withTimestamps: false, metrics: [{ metric: 'loss' }] }));
    const { timestamp: _t, ...lossChart } = bruteChart(loss, 100);
    expect(withoutTime).toEqual([{ metric: 'loss', variant: 'train', ...lossChart }]);
    const filters: [MetricVariants[], string[]][] = [
      [[{ metric: 'acc', variants: ['val', 'nope'] }], ['acc/val']],
      [[{ metric: 'acc', variants: ['train'] }, { metric: 'loss' }], ['loss/train']],
      [[{ metric: 'lr' }], []],
      [[], []],
      [Array.from({ length: 100 }, (_, i) => ({ metric: i === 50 ? 'loss' : `m${i}`, variants: Array.from({ length: 100 }, (_, k) => (k === 99 ? 'train' : `v${k}`)) })), ['loss/train']],
    ];
    for (const [metrics, expected] of filters) {
      const charts = await read((repos) => repos.events.charts({ task, samples: 10, withTimestamps: false, metrics }));
      expect(charts.map((c) => `${c.metric}/${c.variant}`), JSON.stringify(metrics).slice(0, 80)).toEqual(expected);
    }
  });

  it.skipIf(!isAvailable)('stores console lines once, and pages, searches and counts them', async () => {
    const task = 'console';
    const lines = Array.from({ length: 2500 }, (_, i) => log(task, `l${i}`, T0 + Math.floor(i / 3), i % 100 === 0 ? `Épreuve ${i}` : `line ${i}`));
    expect(await write((repos) => repos.events.insertLogs(lines.slice(0, 1500)))).toBe(1500);
    // Stored ones and twice in one call: each line once.
    expect(await write((repos) => repos.events.insertLogs([...lines.slice(1400), lines[2400]!]))).toBe(1000);
    expect(await read((repos) => repos.events.countLogs(task))).toBe(2500);
    expect(await read((repos) => repos.events.countLogs(task, 'éPREUVE'))).toBe(25);

    const first = await read((repos) => repos.events.logPage({ task, limit: 4, descending: false }));
    // Lines of the last timestamp all come (the page is longer than asked), in the order sent.
    expect(first.map((l) => l.id)).toEqual(['l0', 'l1', 'l2', 'l3', 'l4', 'l5']);
    expect(first[0]).toEqual(lines[0]);
    const back = await read((repos) => repos.events.logPage({ task, limit: 2, descending: true, fromTimestamp: T0 + 500 }));
    expect(back.map((l) => l.id)).toEqual(['l1499', 'l1498', 'l1497']);
    const found = await read((repos) => repos.events.logPage({ task, limit: 3, descending: false, fromTimestamp: T0 + 100, search: 'épreuve' }));
    expect(found.map((l) => l.msg)).toEqual(['Épreuve 400', 'Épreuve 500', 'Épreuve 600']);

    const seen: string[] = [];
    await read((repos) => repos.events.forEachLog(task, (chunk) => void seen.push(...chunk.map((l) => l.id))));
    expect(seen).toEqual(lines.map((l) => l.id));
  });

  it.skipIf(!isAvailable)('keeps vectors, samples and plots: upserts, compression, listings, history caps and navigation', async () => {
    const task = 'others';
    const big = 'x'.repeat(PLOT_COMPRESSION_THRESHOLD + 10);
    const plot = (iter: number | null, variant: string, text: string): OtherEventRecord => ({
      type: 'plot',
      task,
      id: `p/${variant}/${iter}`,
      iter,
      metric: 'plots',
      variant,
      timestamp: T0 + (iter ?? 50),
      data: { plot_str: text, worker: null },
    });
    await write(async (repos) => {
      await repos.events.upsertOthers([
        plot(1, 'a', 'one'),
        plot(2, 'a', big),
        plot(3, 'a', 'three'),
        plot(null, 'b', 'no iteration'),
        plot(2, 'b', 'b2'),
        // The same event twice in a batch: the last one sent.
        plot(3, 'a', 'three again'),
        { type: 'training_stats_vector', task, id: 'vec', iter: 4, metric: 'vec', variant: 'v', timestamp: T0 + 4, data: { value: [1, 2] } },
      ]);
      for (let iter = 0; iter < 6; iter += 1) {
        await repos.events.upsertOthers([sample(task, 'img', 'a', iter), sample(task, 'img', 'b', iter), sample(task, 'img', 'a', iter, 'k2', T0 + iter + 1)]);
      }
      // Only the last 3 iterations of img/a stay; img/b is left alone.
      expect(await repos.events.capDebugImages(task, 'img', 'a', 3)).toBe(6);
    });
    const plots = await read((repos) => repos.events.plotPage({ task, iters: 1, limit: 10, offset: 0 }));
    expect(plots.total).toBe(2);
    expect(plots.events.map((e) => [e.variant, e.iter, e.data.plot_str])).toEqual([
      ['b', 2, 'b2'],
      ['a', 3, 'three again'],
    ]);
    const allPlots = await read((repos) => repos.events.plotPage({ task, iters: 5, limit: 2, offset: 1 }));
    expect(allPlots.total).toBe(5);
    expect(allPlots.events.map((e) => `${e.variant}${e.iter}`)).toEqual(['a2', 'b2']);
    expect(allPlots.events[0]!.data.plot_str).toBe(big);

    const listed = await read((repos) => repos.events.listEvents({ task, descending: false, limit: 100, offset: 0 }));
    // 5 plots, 1 vector, 12 samples; by timestamp, then type, metric, variant, iteration.
    expect(listed).toHaveLength(18);
    expect(listed.slice(0, 10).map((e) => ('id' in e ? e.id : ''))).toEqual([
      'img/b/0/k',
      'p/a/1',
      'img/b/1/k',
      'p/a/2',
      'p/b/2',
      'img/b/2/k',
      'p/a/3',
      'img/a/3/k',
      'img/b/3/k',
      'img/a/3/k2',
    ]);
    expect(listed[1]).toEqual({ ...plot(1, 'a', 'one') });
    const vectorsAndPlots = { task, types: ['plot' as const, 'training_stats_vector' as const], metrics: [{ metric: 'vec' }, { metric: 'plots', variants: ['b'] }] };
    expect(await read((repos) => repos.events.countEvents(vectorsAndPlots))).toBe(3);
    const newest = await read((repos) => repos.events.listEvents({ ...vectorsAndPlots, descending: true, limit: 2, offset: 0 }));
    expect(newest.map((e) => e.id)).toEqual(['p/b/null', 'vec']);

    const scope = { task, metrics: [{ metric: 'img' }] };
    expect(await read((repos) => repos.events.debugImageIterations(scope, {}, 2))).toEqual([5, 4]);
    expect(await read((repos) => repos.events.debugImageIterations(scope, { before: 4 }, 10))).toEqual([3, 2, 1, 0]);
    expect(await read((repos) => repos.events.debugImageIterations(scope, { after: 3 }, 1))).toEqual([4]);
    const at = await read((repos) => repos.events.debugImagesAt(scope, [5, 1]));
    expect(at.map((e) => e.id)).toEqual(['img/a/5/k', 'img/a/5/k2', 'img/b/5/k', 'img/b/1/k']);
    expect(await read((repos) => repos.events.debugImageRange(task, 'img', 'a'))).toEqual({ min: 3, max: 5 });
    expect(await read((repos) => repos.events.debugImageRange(task, 'img', 'none'))).toBeUndefined();
    expect((await read((repos) => repos.events.debugImageAtOrBefore(task, 'img', 'a', 4)))?.id).toBe('img/a/4/k2');
    expect((await read((repos) => repos.events.debugImageAtOrBefore(task, 'img', 'a', 2)))?.id).toBeUndefined();
    const neighbour = (earlier: boolean, where: 'sameIteration' | 'otherIteration', variant = 'a') =>
      read((repos) => repos.events.debugImageNeighbour(scope, { iter: 4, metric: 'img', variant }, earlier, where)).then((e) => e?.id);
    expect(await neighbour(false, 'sameIteration')).toBe('img/b/4/k');
    expect(await neighbour(true, 'sameIteration', 'b')).toBe('img/a/4/k2');
    expect(await neighbour(true, 'otherIteration')).toBe('img/b/3/k');
    expect(await neighbour(false, 'otherIteration')).toBe('img/a/5/k2');
    expect(await read((repos) => repos.events.taskMetrics(task, 'training_debug_image'))).toEqual(['img']);
    expect(await read((repos) => repos.events.taskMetrics(task))).toEqual(['img', 'plots', 'vec']);
  });

  it.skipIf(!isAvailable)('deletes every event of a task and nothing of another', async () => {
    const stored: Points = new Map();
    await write(async (repos) => {
      for (const task of ['gone', 'kept']) {
        await repos.events.appendScalars(task, [slice('m', 'v', [[1, 1], [2, 2]], stored)]);
        await repos.events.insertLogs([log(task, 'l', T0, 'hello')]);
        await repos.events.upsertOthers([sample(task, 'img', 'a', 1)]);
      }
    });
    expect(await write((repos) => repos.events.deleteForTask('gone'))).toBe(4);
    const left = (task: string) =>
      read(async (repos) => ({
        series: await repos.events.listSeries(task),
        events: await repos.events.countEvents({ task }),
        charts: await repos.events.charts({ task, samples: 10, withTimestamps: false }),
      }));
    expect(await left('gone')).toEqual({ series: [], events: 0, charts: [] });
    expect(await left('kept')).toMatchObject({ events: 4, charts: [{ metric: 'm', variant: 'v', iter: [1, 2], value: [1, 2] }] });
  });
});
