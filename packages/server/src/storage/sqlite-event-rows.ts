import type Database from 'better-sqlite3';
import { SINGLE_VALUE_ITERATION } from '@tasklane/protocol';
import { TOP_LEVEL, type BlockSummary } from './scalar-summaries.js';
import type {
  BlockVisitor,
  PointVisitor,
  EventRows,
  SeriesBlockKey,
  SeriesName,
  SeriesSpan,
  SeriesSummary,
} from './event-rows.js';
import { withSingleValue } from './series-stats.js';
import { RowWriter } from './sqlite-row-writer.js';
import type { LogEventRecord, ScalarSlice, SeriesStats } from './store.js';

const SINGLE = SINGLE_VALUE_ITERATION;

/** Rows per multi-row INSERT: far fewer calls into SQLite than one statement per row. */
const SCALAR_ROWS_PER_INSERT = 64;
const SUMMARY_ROWS_PER_INSERT = 32;
const LOG_ROWS_PER_INSERT = 64;
const SUMMARY_COLUMNS = `series, level, bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter, max_value,
  max_value_iter, last_value`;
const SUMMARY_FIELDS = 'bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter, max_value, max_value_iter, last_value';

/** A summary row as `.raw()` reads it, in SUMMARY_FIELDS order. */
type SummaryRow = [number, number, number, number, number, number, number, number, number, number];

function summaryFromRow(row: SummaryRow): BlockSummary {
  const [bucket, minIter, maxIter, count, sum, minValue, minValueIter, maxValue, maxValueIter, lastValue] = row;
  return { bucket, minIter, maxIter, count, sum, minValue, minValueIter, maxValue, maxValueIter, lastValue };
}

/**
 * The hot event rows on SQLite (see EventRows): prepared once, run synchronously on the store's connection inside its
 * transaction; points, summaries and console lines are written with multi-row INSERTs.
 */
export class SqliteEventRows implements EventRows {
  private readonly logWriter;
  private readonly seriesIdStmt;
  private readonly insertSeriesStmt;
  private readonly lastIterStmt;
  private readonly pointWriter;
  private readonly summaryWriter;
  private readonly summaryStmt;
  private readonly summaryRangeStmt;
  private readonly pointRangeStmt;
  private readonly topStmt;
  private readonly lowestStmt;
  private readonly highestStmt;
  private readonly valueAtStmt;
  private readonly spansStmt;
  private readonly levelRowsStmt;
  private readonly pointsStmt;
  private readonly pointsWithTimeStmt;
  private readonly timestampsStmt;

  constructor(db: Database.Database) {
    this.logWriter = new RowWriter(
      db,
      'INSERT INTO log_events (task, event_id, timestamp, level, worker, msg)',
      6,
      'ON CONFLICT (task, event_id) DO NOTHING',
      LOG_ROWS_PER_INSERT,
    );
    this.seriesIdStmt = db.prepare('SELECT id FROM event_series WHERE task = ? AND metric = ? AND variant = ?').pluck();
    this.insertSeriesStmt = db.prepare('INSERT INTO event_series (task, metric, variant) VALUES (?, ?, ?)');
    this.lastIterStmt = db.prepare('SELECT iter FROM scalar_events WHERE series = ? ORDER BY iter DESC LIMIT 1').pluck();
    this.pointWriter = new RowWriter(
      db,
      'INSERT INTO scalar_events (series, iter, value, timestamp)',
      4,
      'ON CONFLICT (series, iter) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp',
      SCALAR_ROWS_PER_INSERT,
    );
    this.summaryWriter = new RowWriter(
      db,
      `INSERT INTO scalar_summaries (${SUMMARY_COLUMNS})`,
      12,
      `ON CONFLICT (series, level, bucket) DO UPDATE SET min_iter = excluded.min_iter, max_iter = excluded.max_iter,
         count = excluded.count, sum_value = excluded.sum_value, min_value = excluded.min_value,
         min_value_iter = excluded.min_value_iter, max_value = excluded.max_value, max_value_iter = excluded.max_value_iter,
         last_value = excluded.last_value`,
      SUMMARY_ROWS_PER_INSERT,
    );
    this.summaryStmt = db.prepare(`SELECT ${SUMMARY_FIELDS} FROM scalar_summaries WHERE series = ? AND level = ? AND bucket = ?`).raw();
    this.summaryRangeStmt = db
      .prepare(`SELECT ${SUMMARY_FIELDS} FROM scalar_summaries WHERE series = ? AND level = ? AND bucket BETWEEN ? AND ? ORDER BY bucket`)
      .raw();
    this.pointRangeStmt = db.prepare('SELECT iter, value FROM scalar_events WHERE series = ? AND iter BETWEEN ? AND ? ORDER BY iter').raw();
    this.topStmt = db.prepare(
      `SELECT SUM(count) AS count, TOTAL(sum_value) AS sum, MIN(min_iter) AS minIter, MAX(max_iter) AS maxIter
       FROM scalar_summaries WHERE series = ? AND level = ${TOP_LEVEL}`,
    );
    // Ties go to the earliest iteration, as within a block.
    this.lowestStmt = db.prepare(
      `SELECT min_value AS value, min_value_iter AS iter FROM scalar_summaries WHERE series = ? AND level = ${TOP_LEVEL}
       ORDER BY min_value ASC, min_value_iter ASC LIMIT 1`,
    );
    this.highestStmt = db.prepare(
      `SELECT max_value AS value, max_value_iter AS iter FROM scalar_summaries WHERE series = ? AND level = ${TOP_LEVEL}
       ORDER BY max_value DESC, max_value_iter ASC LIMIT 1`,
    );
    this.valueAtStmt = db.prepare('SELECT value FROM scalar_events WHERE series = ? AND iter = ?').pluck();
    this.spansStmt = db.prepare(
      `SELECT e.id, e.metric, e.variant, COALESCE(SUM(s.count), 0) AS count, MIN(s.min_iter) AS minIter, MAX(s.max_iter) AS maxIter
       FROM event_series e LEFT JOIN scalar_summaries s ON s.series = e.id AND s.level = ${TOP_LEVEL}
       WHERE e.task = ? GROUP BY e.id ORDER BY e.metric, e.variant`,
    );
    this.levelRowsStmt = db
      .prepare(
        `SELECT bucket, min_value, min_value_iter, max_value, max_value_iter FROM scalar_summaries
         WHERE series = ? AND level = ? ORDER BY bucket`,
      )
      .raw();
    this.pointsStmt = db.prepare(`SELECT iter, value FROM scalar_events WHERE series = ? AND iter > ${SINGLE} ORDER BY iter`).raw();
    this.pointsWithTimeStmt = db
      .prepare(`SELECT iter, value, timestamp FROM scalar_events WHERE series = ? AND iter > ${SINGLE} ORDER BY iter`)
      .raw();
    // The iterations go as one JSON array: a chart asks for thousands.
    this.timestampsStmt = db
      .prepare('SELECT timestamp FROM scalar_events WHERE series = ? AND iter IN (SELECT value FROM json_each(?)) ORDER BY iter')
      .pluck();
  }

  async insertLogs(events: readonly LogEventRecord[]) {
    const writer = this.logWriter;
    const params = writer.params;
    const before = writer.changes;
    for (const e of events) {
      const k = writer.next();
      params[k] = e.task;
      params[k + 1] = e.id;
      params[k + 2] = e.timestamp;
      params[k + 3] = e.level;
      params[k + 4] = e.worker;
      params[k + 5] = e.msg;
    }
    writer.flush();
    // A line skipped as stored already changes nothing.
    return writer.changes - before;
  }

  async seriesIds(task: string, names: readonly SeriesName[]) {
    return names.map(({ metric, variant }) => {
      const id = this.seriesIdStmt.get(task, metric, variant) as number | undefined;
      return id ?? Number(this.insertSeriesStmt.run(task, metric, variant).lastInsertRowid);
    });
  }

  async lastIterations(series: readonly number[]) {
    return series.map((id) => this.lastIterStmt.get(id) as number | undefined);
  }

  async writePoints(series: readonly number[], slices: readonly ScalarSlice[]) {
    const writer = this.pointWriter;
    const params = writer.params;
    slices.forEach((slice, s) => {
      const id = series[s];
      const { iter, value, timestamp } = slice.points;
      for (let i = slice.from; i < slice.to; i += 1) {
        const k = writer.next();
        params[k] = id;
        params[k + 1] = iter[i];
        params[k + 2] = value[i];
        params[k + 3] = timestamp[i];
      }
    });
    writer.flush();
  }

  async summaries(keys: readonly SeriesBlockKey[]) {
    return keys.map(({ series, level, bucket }) => {
      const row = this.summaryStmt.get(series, level, bucket) as SummaryRow | undefined;
      return row ? summaryFromRow(row) : undefined;
    });
  }

  async writeSummaries(rows: readonly SeriesSummary[]) {
    const writer = this.summaryWriter;
    const params = writer.params;
    for (const { series, level, summary } of rows) {
      const k = writer.next();
      params[k] = series;
      params[k + 1] = level;
      params[k + 2] = summary.bucket;
      params[k + 3] = summary.minIter;
      params[k + 4] = summary.maxIter;
      params[k + 5] = summary.count;
      params[k + 6] = summary.sum;
      params[k + 7] = summary.minValue;
      params[k + 8] = summary.minValueIter;
      params[k + 9] = summary.maxValue;
      params[k + 10] = summary.maxValueIter;
      params[k + 11] = summary.lastValue;
    }
    writer.flush();
  }

  async pointsBetween(series: number, first: number, last: number) {
    const rows = this.pointRangeStmt.all(series, first, last) as [number, number][];
    return { iter: rows.map((p) => p[0]), value: rows.map((p) => p[1]) };
  }

  async summariesBetween(series: number, level: number, first: number, last: number) {
    return (this.summaryRangeStmt.all(series, level, first, last) as SummaryRow[]).map(summaryFromRow);
  }

  async seriesStats(series: readonly number[]) {
    return series.map((id) => this.statsOf(id));
  }

  private statsOf(series: number): SeriesStats | undefined {
    type Point = { iter: number; value: number };
    const top = this.topStmt.get(series) as { count: number | null; sum: number; minIter: number | null; maxIter: number | null };
    const single = this.valueAtStmt.get(series, SINGLE) as number | undefined;
    const stats =
      top.count && top.minIter !== null && top.maxIter !== null
        ? {
            count: top.count,
            sum: top.sum,
            first: { iter: top.minIter, value: this.valueAtStmt.get(series, top.minIter) as number },
            last: { iter: top.maxIter, value: this.valueAtStmt.get(series, top.maxIter) as number },
            min: this.lowestStmt.get(series) as Point,
            max: this.highestStmt.get(series) as Point,
          }
        : undefined;
    return withSingleValue(stats, single);
  }

  async seriesSpans(task: string) {
    return (this.spansStmt.all(task) as (Omit<SeriesSpan, 'minIter' | 'maxIter'> & { minIter: number | null; maxIter: number | null })[]).map(
      (row) => ({ ...row, minIter: row.minIter ?? 0, maxIter: row.maxIter ?? 0 }),
    );
  }

  async forEachBlock(series: readonly number[], level: number, visit: BlockVisitor) {
    series.forEach((id, k) => {
      for (const [block, minValue, minIter, maxValue, maxIter] of this.levelRowsStmt.all(id, level) as number[][]) {
        visit(k, block!, minValue!, minIter!, maxValue!, maxIter!);
      }
    });
  }

  async forEachPoint(series: readonly number[], withTimestamps: boolean, visit: PointVisitor) {
    series.forEach((id, k) => {
      if (withTimestamps) {
        for (const [iter, value, timestamp] of this.pointsWithTimeStmt.all(id) as [number, number, number][]) visit(k, iter, value, timestamp);
      } else {
        for (const [iter, value] of this.pointsStmt.all(id) as [number, number][]) visit(k, iter, value, 0);
      }
    });
  }

  async timestampsAt(requests: readonly { series: number; iters: readonly number[] }[]) {
    return requests.map(({ series, iters }) => {
      const timestamps = this.timestampsStmt.all(series, JSON.stringify(iters)) as number[];
      if (timestamps.length !== iters.length) {
        throw new Error(`Scalar series ${series} lacks points its summaries name: ${timestamps.length} of ${iters.length} found`);
      }
      return timestamps;
    });
  }
}
