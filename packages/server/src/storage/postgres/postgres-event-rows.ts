import { sql, type Kysely } from 'kysely';
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import type {
  BlockVisitor,
  EventRows,
  PointVisitor,
  SeriesBlockKey,
  SeriesName,
  SeriesSpan,
  SeriesSummary,
} from '../event-rows.js';
import { TOP_LEVEL, type BlockSummary } from '../scalar-summaries.js';
import { withSingleValue } from '../series-stats.js';
import type { Database } from '../sql/schema.js';
import type { LogEventRecord, ScalarSlice, SeriesStats } from '../store.js';

const SINGLE = SINGLE_VALUE_ITERATION;

/** A summary row as read back: the table's columns but the key's series and level. */
type SummaryRow = Omit<Database['scalar_summaries'], 'series' | 'level'>;

function summaryFromRow(row: SummaryRow): BlockSummary {
  return {
    bucket: row.bucket,
    minIter: row.min_iter,
    maxIter: row.max_iter,
    count: row.count,
    sum: row.sum_value,
    minValue: row.min_value,
    minValueIter: row.min_value_iter,
    maxValue: row.max_value,
    maxValueIter: row.max_value_iter,
    lastValue: row.last_value,
  };
}

/**
 * Numbers as one PostgreSQL array literal (`{1,2.5,3}`), bound as text and cast in the statement. pg's own binding of
 * a JS array quotes and escapes every element: for the four columns of a 5,000-point batch that took 8 ms of the
 * server's CPU against 3.5 ms for this (docs/benchmarks.md, "Both stores"). A number's shortest string round-trips
 * exactly through float8 and bigint input; NaN and ±Infinity are spelled as float8 reads them.
 */
function numberArray(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

/**
 * The hot event rows on PostgreSQL (see EventRows): every call is one statement, whatever the number of rows or
 * series, with the values bound as arrays and unrolled by `unnest` (the pool binds a JS array as a PostgreSQL array):
 * a batch of scalars of any number of series costs a handful of round trips, and the statement text never depends
 * on the batch's size. Rows come back in the order asked for through `WITH ORDINALITY`. Runs on the unit of work's
 * transaction.
 */
export class PostgresEventRows implements EventRows {
  constructor(private readonly db: Kysely<Database>) {}

  async insertLogs(events: readonly LogEventRecord[]) {
    // ORDER BY n: the lines get their seq (the order of lines of one timestamp) in the order sent.
    const result = await sql`INSERT INTO log_events (task, event_id, timestamp, level, worker, msg)
      SELECT task, event_id, timestamp, level, worker, msg
      FROM unnest(${events.map((e) => e.task)}::text[], ${events.map((e) => e.id)}::text[], ${events.map((e) => e.timestamp)}::bigint[],
        ${events.map((e) => e.level)}::text[], ${events.map((e) => e.worker)}::text[], ${events.map((e) => e.msg)}::text[])
        WITH ORDINALITY AS l(task, event_id, timestamp, level, worker, msg, n)
      ORDER BY n
      ON CONFLICT (task, event_id) DO NOTHING`.execute(this.db);
    return Number(result.numAffectedRows ?? 0);
  }

  async seriesIds(task: string, names: readonly SeriesName[]) {
    // Series another transaction adds meanwhile make this one fail to serialize (and the store run it again).
    const { rows } = await sql<{ id: number }>`WITH wanted AS (
        SELECT metric COLLATE "C" AS metric, variant COLLATE "C" AS variant, n
        FROM unnest(${names.map((n) => n.metric)}::text[], ${names.map((n) => n.variant)}::text[]) WITH ORDINALITY AS w(metric, variant, n)),
      added AS (
        INSERT INTO event_series (task, metric, variant) SELECT ${task}, metric, variant FROM wanted ORDER BY n
        ON CONFLICT (task, metric, variant) DO NOTHING RETURNING id, metric, variant)
      SELECT COALESCE(a.id, e.id) AS id FROM wanted w
        LEFT JOIN added a ON a.metric = w.metric AND a.variant = w.variant
        LEFT JOIN event_series e ON e.task = ${task} AND e.metric = w.metric AND e.variant = w.variant
      ORDER BY w.n`.execute(this.db);
    return rows.map((row) => {
      if (row.id === null) throw new Error(`Scalar series of task ${task} neither found nor created`);
      return row.id;
    });
  }

  async lastIterations(series: readonly number[]) {
    const { rows } = await sql<{ last: number | null }>`SELECT (SELECT max(iter) FROM scalar_events s WHERE s.series = k.id) AS last
      FROM unnest(${[...series]}::bigint[]) WITH ORDINALITY AS k(id, n) ORDER BY k.n`.execute(this.db);
    return rows.map((row) => row.last ?? undefined);
  }

  async writePoints(series: readonly number[], slices: readonly ScalarSlice[]) {
    const count = slices.reduce((n, s) => n + s.to - s.from, 0);
    if (count === 0) return;
    const ids = new Array<number>(count);
    const iters = new Array<number>(count);
    const values = new Array<number>(count);
    const timestamps = new Array<number>(count);
    let k = 0;
    slices.forEach((slice, s) => {
      const { iter, value, timestamp } = slice.points;
      for (let i = slice.from; i < slice.to; i += 1, k += 1) {
        ids[k] = series[s]!;
        iters[k] = iter[i]!;
        values[k] = value[i]!;
        timestamps[k] = timestamp[i]!;
      }
    });
    await sql`INSERT INTO scalar_events (series, iter, value, timestamp)
      SELECT * FROM unnest(${numberArray(ids)}::bigint[], ${numberArray(iters)}::bigint[], ${numberArray(values)}::float8[],
        ${numberArray(timestamps)}::bigint[])
      ON CONFLICT (series, iter) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp`.execute(this.db);
  }

  async summaries(keys: readonly SeriesBlockKey[]) {
    const { rows } = await sql<SummaryRow & { n: number }>`SELECT k.n, s.bucket, s.min_iter, s.max_iter, s.count, s.sum_value,
        s.min_value, s.min_value_iter, s.max_value, s.max_value_iter, s.last_value
      FROM unnest(${keys.map((k) => k.series)}::bigint[], ${keys.map((k) => k.level)}::int[], ${keys.map((k) => k.bucket)}::bigint[])
        WITH ORDINALITY AS k(series, level, bucket, n)
      JOIN scalar_summaries s ON s.series = k.series AND s.level = k.level AND s.bucket = k.bucket`.execute(this.db);
    const found: (BlockSummary | undefined)[] = keys.map(() => undefined);
    for (const row of rows) found[row.n - 1] = summaryFromRow(row);
    return found;
  }

  async writeSummaries(rows: readonly SeriesSummary[]) {
    if (rows.length === 0) return;
    const column = <T>(of: (row: SeriesSummary) => T) => rows.map(of);
    await sql`INSERT INTO scalar_summaries (series, level, bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter,
        max_value, max_value_iter, last_value)
      SELECT * FROM unnest(${column((r) => r.series)}::bigint[], ${column((r) => r.level)}::int[],
        ${column((r) => r.summary.bucket)}::bigint[], ${column((r) => r.summary.minIter)}::bigint[],
        ${column((r) => r.summary.maxIter)}::bigint[], ${column((r) => r.summary.count)}::bigint[],
        ${column((r) => r.summary.sum)}::float8[], ${column((r) => r.summary.minValue)}::float8[],
        ${column((r) => r.summary.minValueIter)}::bigint[], ${column((r) => r.summary.maxValue)}::float8[],
        ${column((r) => r.summary.maxValueIter)}::bigint[], ${column((r) => r.summary.lastValue)}::float8[])
      ON CONFLICT (series, level, bucket) DO UPDATE SET min_iter = excluded.min_iter, max_iter = excluded.max_iter,
        count = excluded.count, sum_value = excluded.sum_value, min_value = excluded.min_value,
        min_value_iter = excluded.min_value_iter, max_value = excluded.max_value, max_value_iter = excluded.max_value_iter,
        last_value = excluded.last_value`.execute(this.db);
  }

  async pointsBetween(series: number, first: number, last: number) {
    const { rows } = await sql<{ iter: number; value: number }>`SELECT iter, value FROM scalar_events
      WHERE series = ${series} AND iter BETWEEN ${first} AND ${last} ORDER BY iter`.execute(this.db);
    return { iter: rows.map((p) => p.iter), value: rows.map((p) => p.value) };
  }

  async summariesBetween(series: number, level: number, first: number, last: number) {
    const { rows } = await sql<SummaryRow>`SELECT bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter, max_value,
        max_value_iter, last_value
      FROM scalar_summaries WHERE series = ${series} AND level = ${level} AND bucket BETWEEN ${first} AND ${last}
      ORDER BY bucket`.execute(this.db);
    return rows.map(summaryFromRow);
  }

  async seriesStats(series: readonly number[]) {
    type Row = {
      count: number | null;
      sum: number | null;
      min_iter: number | null;
      max_iter: number | null;
      first_value: number | null;
      last_value: number | null;
      min_value: number | null;
      min_value_iter: number | null;
      max_value: number | null;
      max_value_iter: number | null;
      single: number | null;
    };
    // Ties go to the earliest iteration, as within a block.
    const { rows } = await sql<Row>`SELECT t.count, t.sum, t.min_iter, t.max_iter,
        (SELECT value FROM scalar_events WHERE series = k.id AND iter = t.min_iter) AS first_value,
        (SELECT value FROM scalar_events WHERE series = k.id AND iter = t.max_iter) AS last_value,
        lo.min_value, lo.min_value_iter, hi.max_value, hi.max_value_iter,
        (SELECT value FROM scalar_events WHERE series = k.id AND iter = ${SINGLE}) AS single
      FROM unnest(${[...series]}::bigint[]) WITH ORDINALITY AS k(id, n)
      LEFT JOIN LATERAL (SELECT sum(count)::bigint AS count, sum(sum_value) AS sum, min(min_iter) AS min_iter, max(max_iter) AS max_iter
        FROM scalar_summaries WHERE series = k.id AND level = ${TOP_LEVEL}) t ON true
      LEFT JOIN LATERAL (SELECT min_value, min_value_iter FROM scalar_summaries WHERE series = k.id AND level = ${TOP_LEVEL}
        ORDER BY min_value ASC, min_value_iter ASC LIMIT 1) lo ON true
      LEFT JOIN LATERAL (SELECT max_value, max_value_iter FROM scalar_summaries WHERE series = k.id AND level = ${TOP_LEVEL}
        ORDER BY max_value DESC, max_value_iter ASC LIMIT 1) hi ON true
      ORDER BY k.n`.execute(this.db);
    return rows.map((row): SeriesStats | undefined => {
      const stats =
        row.count && row.min_iter !== null && row.max_iter !== null
          ? {
              count: row.count,
              sum: row.sum ?? 0,
              first: { iter: row.min_iter, value: row.first_value! },
              last: { iter: row.max_iter, value: row.last_value! },
              min: { iter: row.min_value_iter!, value: row.min_value! },
              max: { iter: row.max_value_iter!, value: row.max_value! },
            }
          : undefined;
      return withSingleValue(stats, row.single ?? undefined);
    });
  }

  async seriesSpans(task: string) {
    const { rows } = await sql<SeriesSpan & { minIter: number | null; maxIter: number | null }>`SELECT e.id, e.metric, e.variant,
        COALESCE(sum(s.count), 0)::bigint AS count, min(s.min_iter) AS "minIter", max(s.max_iter) AS "maxIter"
      FROM event_series e LEFT JOIN scalar_summaries s ON s.series = e.id AND s.level = ${TOP_LEVEL}
      WHERE e.task = ${task} GROUP BY e.id, e.metric, e.variant ORDER BY e.metric, e.variant`.execute(this.db);
    return rows.map((row) => ({ ...row, minIter: row.minIter ?? 0, maxIter: row.maxIter ?? 0 }));
  }

  async forEachBlock(series: readonly number[], level: number, visit: BlockVisitor) {
    type Row = { n: number; bucket: number; min_value: number; min_value_iter: number; max_value: number; max_value_iter: number };
    const { rows } = await sql<Row>`SELECT k.n, s.bucket, s.min_value, s.min_value_iter, s.max_value, s.max_value_iter
      FROM unnest(${[...series]}::bigint[]) WITH ORDINALITY AS k(id, n)
      JOIN scalar_summaries s ON s.series = k.id AND s.level = ${level}
      ORDER BY k.n, s.bucket`.execute(this.db);
    for (const r of rows) visit(r.n - 1, r.bucket, r.min_value, r.min_value_iter, r.max_value, r.max_value_iter);
  }

  async forEachPoint(series: readonly number[], withTimestamps: boolean, visit: PointVisitor) {
    const { rows } = await sql<{ n: number; iter: number; value: number; timestamp: number }>`SELECT k.n, s.iter, s.value,
        ${withTimestamps ? sql`s.timestamp` : sql`0`} AS timestamp
      FROM unnest(${[...series]}::bigint[]) WITH ORDINALITY AS k(id, n)
      JOIN scalar_events s ON s.series = k.id AND s.iter > ${SINGLE}
      ORDER BY k.n, s.iter`.execute(this.db);
    for (const r of rows) visit(r.n - 1, r.iter, r.value, r.timestamp);
  }

  async timestampsAt(requests: readonly { series: number; iters: readonly number[] }[]) {
    const series = requests.flatMap((r) => r.iters.map(() => r.series));
    const iters = requests.flatMap((r) => r.iters);
    const { rows } = await sql<{ timestamp: number | null }>`SELECT s.timestamp
      FROM unnest(${series}::bigint[], ${iters}::bigint[]) WITH ORDINALITY AS p(series, iter, n)
      LEFT JOIN scalar_events s ON s.series = p.series AND s.iter = p.iter
      ORDER BY p.n`.execute(this.db);
    let k = 0;
    return requests.map(({ series: id, iters: wanted }) =>
      wanted.map(() => {
        const timestamp = rows[k++]!.timestamp;
        if (timestamp === null) throw new Error(`Scalar series ${id} lacks points its summaries name`);
        return timestamp;
      }),
    );
  }
}
