import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import { openSqliteStore } from '@tasklane/server';
import type { ApiClient } from 'tasklane/client';
import { SQLITE_MIGRATIONS } from '../src/storage/migrations.js';
import { SUMMARY_BLOCK_SIZES, blockOf, planChart } from '../src/storage/scalar-summaries.js';
import { openDatabaseReader, type DatabaseReader } from './support/database-reader.js';
import { getTask, makeTask } from './support/factories.js';
import { onPostgres, rawCall, startTestServer, type TestServer } from './support/test-server.js';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');
const T0 = 1_700_000_000_000;
const SINGLE = SINGLE_VALUE_ITERATION;

/** A deterministic random generator (mulberry32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values that are multiples of 0.25: sums of them are exact, so summaries compare exactly. */
const quarter = (r: () => number, scale = 400) => Math.round((r() - 0.5) * scale) / 4 + 0; // + 0: no -0

/** The points a series should hold: iteration → value (the last value sent for an iteration wins). */
type Points = Map<number, number>;

interface SummaryRow {
  level: number;
  bucket: number;
  min_iter: number;
  max_iter: number;
  count: number;
  sum_value: number;
  min_value: number;
  min_value_iter: number;
  max_value: number;
  max_value_iter: number;
  last_value: number;
}

/** The summaries of `points` computed the slow way: every block of every level from the points themselves. */
function bruteSummaries(points: Points): SummaryRow[] {
  const sorted = [...points].filter(([iter]) => iter !== SINGLE).sort((a, b) => a[0] - b[0]);
  const rows: SummaryRow[] = [];
  SUMMARY_BLOCK_SIZES.forEach((size, level) => {
    const blocks = new Map<number, [number, number][]>();
    for (const point of sorted) {
      const bucket = blockOf(point[0], size);
      const list = blocks.get(bucket) ?? [];
      list.push(point);
      blocks.set(bucket, list);
    }
    for (const [bucket, list] of [...blocks].sort((a, b) => a[0] - b[0])) {
      const lowest = list.reduce((best, p) => (p[1] < best[1] ? p : best));
      const highest = list.reduce((best, p) => (p[1] > best[1] ? p : best));
      rows.push({
        level,
        bucket,
        min_iter: list[0]![0],
        max_iter: list.at(-1)![0],
        count: list.length,
        sum_value: list.reduce((sum, p) => sum + p[1], 0),
        min_value: lowest[1],
        min_value_iter: lowest[0],
        max_value: highest[1],
        max_value_iter: highest[0],
        last_value: list.at(-1)![1],
      });
    }
  });
  return rows;
}

/** A chart of `samples` points computed the slow way: each bucket's lowest and highest point, from the points. */
function bruteChart(points: Points, samples: number): { x: number[]; y: number[] } {
  const sorted = [...points].filter(([iter]) => iter !== SINGLE).sort((a, b) => a[0] - b[0]);
  const plan = planChart(sorted[0]![0], sorted.at(-1)![0], sorted.length, samples);
  if (plan.kind === 'all') return { x: sorted.map((p) => p[0]), y: sorted.map((p) => p[1]) };
  const buckets = new Map<number, { low: [number, number]; high: [number, number] }>();
  for (const point of sorted) {
    const key = Math.floor((blockOf(point[0], plan.blockSize) - plan.firstBlock) / plan.group);
    const bucket = buckets.get(key);
    if (!bucket) buckets.set(key, { low: point, high: point });
    else {
      if (point[1] < bucket.low[1]) bucket.low = point;
      if (point[1] > bucket.high[1]) bucket.high = point;
    }
  }
  const out: [number, number][] = [];
  for (const { low, high } of [...buckets].sort((a, b) => a[0] - b[0]).map(([, b]) => b)) {
    if (low[0] === high[0]) out.push(low);
    else out.push(...(low[0] < high[0] ? [low, high] : [high, low]));
  }
  return { x: out.map((p) => p[0]), y: out.map((p) => p[1]) };
}

/** The last_metrics entry of `points` computed the slow way (a single value counts, as the earliest point). */
function bruteLastMetrics(points: Points, metric: string, variant: string) {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  const lowest = sorted.reduce((best, p) => (p[1] < best[1] ? p : best));
  const highest = sorted.reduce((best, p) => (p[1] > best[1] ? p : best));
  return {
    metric,
    variant,
    value: sorted.at(-1)![1],
    min_value: lowest[1],
    min_value_iteration: lowest[0],
    max_value: highest[1],
    max_value_iteration: highest[0],
    first_value: sorted[0]![1],
    first_value_iteration: sorted[0]![0],
    mean_value: sorted.reduce((sum, p) => sum + p[1], 0) / sorted.length,
    count: sorted.length,
  };
}

describe('scalar summaries', () => {
  let server: TestServer;
  let api: ApiClient;
  let reader: DatabaseReader;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
    reader = await openDatabaseReader(server.dbUrl);
  });
  afterAll(async () => {
    await reader?.close();
    await server.close();
  });

  async function send(task: string, metric: string, variant: string, points: readonly (readonly [number, number])[]) {
    const body = points
      .map(([iter, value]) => JSON.stringify({ type: 'training_stats_scalar', task, timestamp: T0 + iter, iter, metric, variant, value }))
      .join('\n');
    const { status, json } = await rawCall(server.url, '/events.add_batch', { body, headers: { 'content-type': 'application/json-lines' } });
    expect({ status, data: json.data }).toEqual({ status: 200, data: { added: points.length, errors: 0, errors_info: {} } });
  }

  function storedSummaries(task: string, metric: string, variant: string): Promise<SummaryRow[]> {
    return reader.all<SummaryRow>(
      `SELECT level, bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter, max_value, max_value_iter, last_value
       FROM scalar_summaries WHERE series = (SELECT id FROM event_series WHERE task = ? AND metric = ? AND variant = ?)
       ORDER BY level, bucket`,
      [task, metric, variant],
    );
  }

  async function chart(task: string, metric: string, variant: string, samples: number) {
    const reply = await api.call('events.scalar_metrics_iter_histogram', { task, samples, metrics: [{ metric, variants: [variant] }] });
    const series = reply[metric]![variant]!;
    return { x: series.x, y: series.y };
  }

  /** Checks summaries, last_metrics and charts of a series against the slow computations. */
  async function expectConsistent(task: string, metric: string, variant: string, points: Points, samplesList: number[]) {
    expect(await storedSummaries(task, metric, variant)).toEqual(bruteSummaries(points));
    const saved = await getTask(api, task);
    expect(saved.last_metrics[md5(metric)]![md5(variant)]).toEqual(bruteLastMetrics(points, metric, variant));
    for (const samples of samplesList) expect(await chart(task, metric, variant, samples)).toEqual(bruteChart(points, samples));
  }

  it('equal a brute-force summary of the stored points through in-order, out-of-order, overwriting and shuffled batches', async () => {
    const task = await makeTask(api, { status: 'in_progress' });
    const r = random(42);
    const points: Points = new Map();
    const apply = async (batch: [number, number][]) => {
      await send(task, 'loss', 'train', batch);
      for (const [iter, value] of batch) points.set(iter, value);
    };
    const samplesList = [0, 2, 10, 100, 1000, 5000];

    // A training loop: batches in order.
    for (let from = 0; from < 12_000; from += 2500) {
      await apply(Array.from({ length: Math.min(2500, 12_000 - from) }, (_, i) => [from + i, quarter(r)] as [number, number]));
    }
    await expectConsistent(task, 'loss', 'train', points, samplesList);

    // Batches arriving out of order (a retried batch behind a later one), with gaps between them.
    const late: [number, number][][] = [];
    for (let from = 20_000; from < 40_000; from += 3000) {
      late.push(Array.from({ length: 1000 }, (_, i) => [from + i * 3, quarter(r)] as [number, number]));
    }
    for (const batch of late.reverse()) await apply(batch);
    await expectConsistent(task, 'loss', 'train', points, samplesList);

    // Re-sent points with new values, including new extremes and values that unseat old extremes.
    const stored = [...points.keys()];
    const overwrites = Array.from({ length: 700 }, () => [stored[Math.floor(r() * stored.length)]!, quarter(r, 4000)] as [number, number]);
    overwrites.push([5, 10_000], [31, -10_000], [25_000, 0]);
    await apply(overwrites);
    await expectConsistent(task, 'loss', 'train', points, samplesList);

    // One batch in no order, with an iteration sent three times (the last one wins), negative iterations, far-away
    // iterations, and a single value (left out of summaries and charts, counted in last_metrics).
    const shuffled: [number, number][] = [
      [7_000_001, 3],
      [-1, 2.5],
      [-33, -7],
      [100, 1],
      [100, 2],
      [12_345_678, -0.25],
      [100, 3],
      [SINGLE, 0.5],
      [-1_000_000, 8],
      [6_999_999, 9],
    ];
    await send(task, 'loss', 'train', shuffled);
    for (const [iter, value] of shuffled) points.set(iter, value);
    await expectConsistent(task, 'loss', 'train', points, samplesList);
    // The single value does not move last_iteration.
    expect((await getTask(api, task)).last_iteration).toBe(12_345_678);

    // More in order after all that: merged into the stored summaries.
    await apply(Array.from({ length: 3000 }, (_, i) => [12_345_679 + i, quarter(r)] as [number, number]));
    await expectConsistent(task, 'loss', 'train', points, samplesList);
  });

  it('keep a spike up and a spike down at every level, and at the raw level', async () => {
    const task = await makeTask(api, { status: 'in_progress' });
    const r = random(7);
    // Every 64th iteration over 1.28 million iterations: long enough for the coarsest level to be read.
    const sparse: Points = new Map();
    for (let i = 0; i < 20_000; i += 1) sparse.set(i * 64, quarter(r));
    sparse.set(777 * 64, 1e6);
    sparse.set(15_555 * 64, -1e6);
    const entries = [...sparse];
    for (let from = 0; from < entries.length; from += 5000) await send(task, 'm', 'sparse', entries.slice(from, from + 5000));
    // 3,000 consecutive iterations: too short for the finest blocks to make 1,000 buckets, long enough to thin out.
    const dense: Points = new Map();
    for (let i = 0; i < 3000; i += 1) dense.set(i, quarter(r));
    dense.set(1234, 500);
    dense.set(2345, -500);
    await send(task, 'm', 'dense', [...dense]);

    const levelsRead = new Set<number>();
    const cases: [string, Points, number, number, number][] = [
      ['sparse', sparse, 1e6, -1e6, 2],
      ['sparse', sparse, 1e6, -1e6, 6],
      ['sparse', sparse, 1e6, -1e6, 40],
      ['sparse', sparse, 1e6, -1e6, 400],
      ['sparse', sparse, 1e6, -1e6, 4000],
      ['sparse', sparse, 1e6, -1e6, 19_998],
      ['dense', dense, 500, -500, 2000],
    ];
    for (const [variant, points, high, low, samples] of cases) {
      const plan = planChart(0, Math.max(...points.keys()), points.size, samples);
      levelsRead.add(plan.kind === 'all' ? -2 : plan.level);
      const { x, y } = await chart(task, 'm', variant, samples);
      expect(x.length, `${variant}, samples ${samples}`).toBeLessThanOrEqual(samples);
      expect(y[x.indexOf([...points].find(([, v]) => v === high)![0])], `${variant}, samples ${samples}`).toBe(high);
      expect(y[x.indexOf([...points].find(([, v]) => v === low)![0])], `${variant}, samples ${samples}`).toBe(low);
      expect({ x, y }).toEqual(bruteChart(points, samples));
    }
    // Every summary level was read once, and the points themselves once.
    expect([...levelsRead].sort((a, b) => a - b)).toEqual([-1, 0, 1, 2, 3, 4, 5]);

    // With time on the x axis, the same points, each at its own time (points were reported at T0 + iteration).
    const expected = bruteChart(sparse, 400);
    for (const key of ['timestamp', 'iso_time'] as const) {
      const reply = await api.call('events.scalar_metrics_iter_histogram', { task, samples: 400, key, metrics: [{ metric: 'm', variants: ['sparse'] }] });
      expect(reply.m!.sparse).toEqual({
        name: 'sparse',
        x: expected.x.map((iter) => (key === 'timestamp' ? T0 + iter : new Date(T0 + iter).toISOString())),
        y: expected.y,
      });
    }
  });
});

// SQLite's own history: a PostgreSQL database starts at version 9, with nothing before it to summarize.
describe.skipIf(onPostgres)('migration 3', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-migration-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('summarizes the points stored before it, so that charts of old runs come out as new ones', async () => {
    const file = join(dir, 'old.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 2)) {
      old.exec(migration.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, new Date().toISOString());
    }
    const r = random(3);
    const series: Points[] = [new Map(), new Map()];
    for (let i = -500; i < 70_000; i += 1 + Math.floor(r() * 3)) series[0]!.set(i, quarter(r));
    series[0]!.set(SINGLE, 1.5);
    series[0]!.set(40_000, 1e9);
    series[1]!.set(SINGLE, 2);
    series[1]!.set(3, 1);
    const insert = old.prepare('INSERT INTO scalar_events (series, iter, value, timestamp) VALUES (?, ?, ?, ?)');
    old.transaction(() => {
      series.forEach((points, i) => {
        old.prepare('INSERT INTO event_series (id, task, metric, variant) VALUES (?, ?, ?, ?)').run(i + 1, 'task-old', 'm', `v${i}`);
        for (const [iter, value] of points) insert.run(i + 1, iter, value, T0 + iter);
      });
    })();
    old.close();

    const store = openSqliteStore(file);
    try {
      expect(await store.schemaVersion()).toBe(SQLITE_MIGRATIONS.at(-1)!.version);
      const check = new Database(file, { readonly: true });
      const rows = (id: number) =>
        check
          .prepare(
            `SELECT level, bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter, max_value, max_value_iter,
               last_value FROM scalar_summaries WHERE series = ? ORDER BY level, bucket`,
          )
          .all(id);
      expect(rows(1)).toEqual(bruteSummaries(series[0]!));
      expect(rows(2)).toEqual(bruteSummaries(series[1]!));
      check.close();
      await store.transaction(async (repos) => {
        const charts = await repos.events.charts({ task: 'task-old', samples: 500, withTimestamps: true });
        const expected = bruteChart(series[0]!, 500);
        expect(charts.map(({ variant, iter, value, timestamp }) => ({ variant, x: iter, y: value, timestamp }))).toEqual([
          { variant: 'v0', ...expected, timestamp: expected.x.map((iter) => T0 + iter) },
          { variant: 'v1', x: [3], y: [1], timestamp: [T0 + 3] },
        ]);
        // Without stats known beforehand, the store sums up the series from the summaries migration 3 made.
        const points = { iter: [4], value: [0.5], timestamp: [T0 + 4], length: 1 };
        expect(await repos.events.appendScalars('task-old', [{ metric: 'm', variant: 'v1', points, from: 0, to: 1 }])).toEqual([
          {
            count: 3,
            sum: 3.5,
            first: { iter: SINGLE, value: 2 },
            last: { iter: 4, value: 0.5 },
            min: { iter: 4, value: 0.5 },
            max: { iter: SINGLE, value: 2 },
          },
        ]);
      });
    } finally {
      await store.close();
    }
  });
});
