import { promisify } from 'node:util';
import { deflate, inflateSync } from 'node:zlib';
import { sql, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import { SINGLE_VALUE_ITERATION, type EventType, type MetricVariants } from '@tasklane/protocol';
import { appendScalars, readCharts, type EventRows } from './event-rows.js';
import type { SqlDialect } from './sql/dialect.js';
import type { Database } from './sql/schema.js';
import type {
  ChartQuery,
  DebugImagePosition,
  DebugImageScope,
  EventListQuery,
  EventRecord,
  EventRepository,
  LogEventRecord,
  LogPageQuery,
  OtherEventRecord,
  PlotQuery,
  ScalarPoint,
  ScalarSlice,
  SingleValueRecord,
} from './store.js';

const deflateAsync = promisify(deflate);

/** The iteration of single values; they are stored with the points of their series but left out of summaries. */
const SINGLE = SINGLE_VALUE_ITERATION;

/** plot_str of at least this many characters is stored zlib-compressed, as ClearML does. */
export const PLOT_COMPRESSION_THRESHOLD = 100_000;

/** other_events rows per INSERT: 9 parameters each, and few statement sizes to prepare. */
const OTHER_ROWS_PER_INSERT = 50;

const DEBUG_IMAGE = 'training_debug_image';

type Db = Kysely<Database>;
type Eb<TTables extends keyof Database> = ExpressionBuilder<Database, TTables>;

/** A row of other_events as read back (its event id selected as `id`). */
type OtherRow = Omit<Database['other_events'], 'task' | 'event_id' | 'type'> & { type: OtherEventRecord['type']; id: string };

/** A row of the union that listEvents reads from the three event tables. */
interface EventRow {
  type: EventRecord['type'];
  id: string | null;
  timestamp: number;
  iter: number | null;
  metric: string;
  variant: string;
  value: number | null;
  level: string | null;
  worker: string | null;
  msg: string | null;
  data: string | null;
  plot_data: Buffer | null;
}

/**
 * Events, written once for both stores: console lines (log_events), vectors, debug samples and plots (other_events),
 * and the reads of scalar series. The hot path — scalar ingest, charts, the insert of console lines — goes to the
 * store's hand-written EventRows (event-rows.ts).
 *
 * Where the two databases differ here: other_events keeps insertion order in SQLite's implicit rowid and in `seq` on
 * PostgreSQL (otherOrder); NULL sorts first going up on SQLite and last on PostgreSQL, so every order over a nullable
 * column says where NULLs go (as SQLite puts them); the rest is in the dialect.
 */
export class SqlEvents implements EventRepository {
  /** other_events' insertion order. */
  private readonly otherOrder: RawBuilder<number>;

  constructor(
    private readonly db: Db,
    private readonly dialect: SqlDialect,
    private readonly rows: EventRows,
  ) {
    this.otherOrder = sql<number>`${sql.ref(dialect.kind === 'sqlite' ? 'other_events.rowid' : 'other_events.seq')}`;
  }

  // Scalars -------------------------------------------------------------------------------------------------------

  async appendScalars(task: string, slices: readonly ScalarSlice[]) {
    return appendScalars(this.rows, task, slices);
  }

  async charts(query: ChartQuery) {
    return readCharts(this.rows, query);
  }

  async listSeries(task: string) {
    return this.db
      .selectFrom('event_series')
      .select(['id', 'metric', 'variant'])
      .where('task', '=', task)
      .orderBy('metric')
      .orderBy('variant')
      .execute();
  }

  async latestPoints(series: number, count: number): Promise<ScalarPoint[]> {
    return this.db
      .selectFrom('scalar_events')
      .select(['iter', 'value', 'timestamp'])
      .where('series', '=', series)
      .orderBy('iter', 'desc')
      .limit(count)
      .execute();
  }

  async singleValues(tasks: readonly string[], metrics?: MetricVariants[]): Promise<SingleValueRecord[]> {
    if (tasks.length === 0) return [];
    return this.db
      .selectFrom('event_series as e')
      .innerJoin('scalar_events as s', (join) => join.onRef('s.series', '=', 'e.id').on('s.iter', '=', SINGLE))
      .select(['e.task', 'e.metric', 'e.variant', 's.value', 's.timestamp'])
      .where(this.dialect.inList('e.task', tasks))
      .where(this.metricCondition(metrics, 'e.metric', 'e.variant'))
      .orderBy('e.task')
      .orderBy('e.metric')
      .orderBy('e.variant')
      .execute();
  }

  async taskMetrics(task: string, type?: EventType) {
    if (type === 'log') return [];
    const names = new Set<string>();
    if (type === undefined || type === 'training_stats_scalar') {
      const rows = await this.db
        .selectFrom('event_series as e')
        .select('e.metric')
        .distinct()
        .where('e.task', '=', task)
        // Series of a single value only do not count.
        .where(({ exists, selectFrom }) =>
          exists(selectFrom('scalar_events as s').select('s.iter').whereRef('s.series', '=', 'e.id').where('s.iter', '>', SINGLE)),
        )
        .execute();
      for (const row of rows) names.add(row.metric);
    }
    if (type !== 'training_stats_scalar') {
      const rows = await this.db
        .selectFrom('other_events')
        .select('metric')
        .distinct()
        .where('task', '=', task)
        .$if(type !== undefined, (q) => q.where('type', '=', type!))
        .execute();
      for (const row of rows) names.add(row.metric);
    }
    // By code unit, whatever the database's collation.
    return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // Console lines -------------------------------------------------------------------------------------------------

  async insertLogs(events: readonly LogEventRecord[]) {
    return events.length === 0 ? 0 : this.rows.insertLogs(events);
  }

  async logPage(query: LogPageQuery) {
    const { task, limit, descending, fromTimestamp, search } = query;
    const direction = descending ? 'desc' : 'asc';
    const needle = search?.toLowerCase();
    const lines = () =>
      this.db
        .selectFrom('log_events')
        .select(['event_id as id', 'timestamp', 'level', 'worker', 'msg', 'seq'])
        .where('task', '=', task)
        .$if(needle !== undefined, (q) => q.where(this.dialect.containsText(sql.ref('msg'), needle!)));
    // Timestamps are whole milliseconds (rounded at ingest), so a bound with a fraction, or past what a timestamp can
    // be, means what the whole number past it means: PostgreSQL's bigint refuses 1.5 and 1e308, SQLite takes any.
    const bound = fromTimestamp === undefined ? undefined : wholeBound(fromTimestamp, descending);
    const rows = await lines()
      .$if(bound !== undefined, (q) => q.where('timestamp', descending ? '<' : '>', bound!))
      .orderBy('timestamp', direction)
      .orderBy('seq', direction)
      .limit(limit)
      .execute();
    const last = rows.at(-1);
    if (!last || rows.length < limit) return rows.map((row) => toLogRecord(task, row));
    // The rest of the lines that share the last timestamp, so that the next page (strictly past it) misses none.
    const tail = await lines()
      .where('timestamp', '=', last.timestamp)
      .where('seq', descending ? '<' : '>', last.seq)
      .orderBy('seq', direction)
      .execute();
    return [...rows, ...tail].map((row) => toLogRecord(task, row));
  }

  async countLogs(task: string, search?: string) {
    const row = await this.db
      .selectFrom('log_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('task', '=', task)
      .$if(search !== undefined, (q) => q.where(this.dialect.containsText(sql.ref('msg'), search!.toLowerCase())))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async forEachLog(task: string, chunk: (events: LogEventRecord[]) => void | Promise<void>) {
    const limit = 1000;
    let after: { timestamp: number; seq: number } | undefined;
    for (;;) {
      const from = after;
      const rows = await this.db
        .selectFrom('log_events')
        .select(['event_id as id', 'timestamp', 'level', 'worker', 'msg', 'seq'])
        .where('task', '=', task)
        .$if(from !== undefined, (q) =>
          q.where((eb) =>
            eb.or([eb('timestamp', '>', from!.timestamp), eb.and([eb('timestamp', '=', from!.timestamp), eb('seq', '>', from!.seq)])]),
          ),
        )
        .orderBy('timestamp')
        .orderBy('seq')
        .limit(limit)
        .execute();
      if (rows.length > 0) await chunk(rows.map((row) => toLogRecord(task, row)));
      if (rows.length < limit) return;
      const last = rows.at(-1)!;
      after = { timestamp: last.timestamp, seq: last.seq };
    }
  }

  // Vectors, debug samples, plots ---------------------------------------------------------------------------------

  async upsertOthers(events: readonly OtherEventRecord[]) {
    // Large plots are compressed first, on libuv's threads: a plot of 15 MB takes ~150 ms to compress, which would
    // hold the event loop. The rows are written afterwards, in order.
    const compressed = await Promise.all(
      events.map((e) => {
        const plot = e.data.plot_str;
        return e.type === 'plot' && typeof plot === 'string' && plot.length >= PLOT_COMPRESSION_THRESHOLD
          ? deflateAsync(Buffer.from(plot, 'utf8'), { level: 1 })
          : undefined;
      }),
    );
    // One row per event id, the last one sent, at the place of the first: what one upsert after another would leave
    // (PostgreSQL refuses to update a row twice in one statement).
    const rows: Database['other_events'][] = [];
    const at = new Map<string, number>();
    for (const [i, e] of events.entries()) {
      let data = e.data;
      const plotData = compressed[i] ?? null;
      if (plotData) {
        const { plot_str: _plot, ...rest } = data;
        data = rest;
      }
      const row = {
        task: e.task,
        event_id: e.id,
        type: e.type,
        iter: e.iter,
        metric: e.metric,
        variant: e.variant,
        timestamp: e.timestamp,
        data: JSON.stringify(data),
        plot_data: plotData,
      };
      const key = `${e.task.length}:${e.task}${e.id}`;
      const known = at.get(key);
      if (known === undefined) {
        at.set(key, rows.length);
        rows.push(row);
      } else rows[known] = row;
    }
    for (let from = 0; from < rows.length; from += OTHER_ROWS_PER_INSERT) {
      await this.db
        .insertInto('other_events')
        .values(rows.slice(from, from + OTHER_ROWS_PER_INSERT))
        .onConflict((oc) =>
          oc.columns(['task', 'event_id']).doUpdateSet((eb) => ({
            type: eb.ref('excluded.type'),
            iter: eb.ref('excluded.iter'),
            metric: eb.ref('excluded.metric'),
            variant: eb.ref('excluded.variant'),
            timestamp: eb.ref('excluded.timestamp'),
            data: eb.ref('excluded.data'),
            plot_data: eb.ref('excluded.plot_data'),
          })),
        )
        .execute();
    }
  }

  /** The debug samples of task/metric/variant. */
  private sampleOf(eb: Eb<'other_events'>, task: string, metric: string, variant: string) {
    return eb.and([eb('task', '=', task), eb('type', '=', DEBUG_IMAGE), eb('metric', '=', metric), eb('variant', '=', variant)]);
  }

  async capDebugImages(task: string, metric: string, variant: string, keep: number) {
    const result = await this.db
      .deleteFrom('other_events')
      .where((eb) => this.sampleOf(eb, task, metric, variant))
      .where('iter', '<', (eb) =>
        eb
          .selectFrom((inner) =>
            inner
              .selectFrom('other_events')
              .select('iter')
              .distinct()
              .where((e) => this.sampleOf(e, task, metric, variant))
              .where('iter', 'is not', null)
              .orderBy('iter', 'desc')
              .limit(1)
              .offset(keep - 1)
              .as('kept'),
          )
          .select('kept.iter'),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async listEvents(query: EventListQuery): Promise<EventRecord[]> {
    const union = this.eventUnion(query);
    if (union === undefined) return [];
    const direction = query.descending ? sql`DESC` : sql`ASC`;
    // NULL (an event without iteration) first going up and last going down, as SQLite sorts it.
    const nulls = query.descending ? sql`NULLS LAST` : sql`NULLS FIRST`;
    const { rows } = await sql<EventRow>`SELECT type, id, timestamp, iter, metric, variant, value, level, worker, msg, data,
        plot_data FROM (${union}) AS events
      ORDER BY timestamp ${direction}, type ${direction}, metric ${direction}, variant ${direction}, iter ${direction} ${nulls},
        ord ${direction} LIMIT ${query.limit} OFFSET ${query.offset}`.execute(this.db);
    return rows.map((row) => toEventRecord(query.task, row));
  }

  async countEvents(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>) {
    const union = this.eventUnion(query);
    if (union === undefined) return 0;
    const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM (${union}) AS events`.execute(this.db);
    return Number(rows[0]!.n);
  }

  /** The SELECTs over the three event tables that a query needs, as one UNION ALL; undefined when none is. */
  private eventUnion(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>): RawBuilder<unknown> | undefined {
    const wants = (type: EventRecord['type']) => query.types === undefined || query.types.includes(type);
    const parts: RawBuilder<unknown>[] = [];
    // Typed NULLs: PostgreSQL types each column of a UNION from its branches.
    const none = { text: sql`CAST(NULL AS TEXT)`, number: sql`CAST(NULL AS BIGINT)`, real: sql`CAST(NULL AS DOUBLE PRECISION)` };
    const json = this.dialect.kind === 'sqlite' ? sql`CAST(NULL AS TEXT)` : sql`CAST(NULL AS JSONB)`;
    const blob = this.dialect.kind === 'sqlite' ? sql`CAST(NULL AS BLOB)` : sql`CAST(NULL AS BYTEA)`;
    if (wants('log') && query.metrics === undefined) {
      parts.push(sql`SELECT 'log' AS type, event_id AS id, timestamp, level, worker, msg, ${none.number} AS iter, '' AS metric,
          '' AS variant, ${none.real} AS value, ${json} AS data, ${blob} AS plot_data, seq AS ord
        FROM log_events WHERE task = ${query.task}`);
    }
    if (wants('training_stats_scalar')) {
      parts.push(sql`SELECT 'training_stats_scalar' AS type, ${none.text} AS id, s.timestamp, ${none.text} AS level,
          ${none.text} AS worker, ${none.text} AS msg, s.iter, e.metric, e.variant, s.value, ${json} AS data,
          ${blob} AS plot_data, 0 AS ord
        FROM scalar_events s JOIN event_series e ON e.id = s.series
        WHERE e.task = ${query.task} AND ${this.metricCondition(query.metrics, 'e.metric', 'e.variant')}`);
    }
    const others = (['training_stats_vector', 'training_debug_image', 'plot'] as const).filter(wants);
    if (others.length > 0) {
      parts.push(sql`SELECT type, event_id AS id, timestamp, ${none.text} AS level, ${none.text} AS worker, ${none.text} AS msg,
          iter, metric, variant, ${none.real} AS value, data, plot_data, ${this.otherOrder} AS ord
        FROM other_events WHERE task = ${query.task} AND ${this.dialect.inList('type', others)}
          AND ${this.metricCondition(query.metrics, 'metric', 'variant')}`);
    }
    return parts.length > 0 ? sql.join(parts, sql`\nUNION ALL\n`) : undefined;
  }

  async plotPage(query: PlotQuery) {
    const metric = this.metricCondition(query.metrics, 'metric', 'variant');
    // DENSE_RANK numbers the iterations of each plot from its latest; plots without an iteration rank last.
    const ranked = sql`WITH ranked AS (
        SELECT ${this.otherOrder} AS ord, type, event_id AS id, iter, metric, variant, timestamp, data, plot_data,
          DENSE_RANK() OVER (PARTITION BY metric, variant ORDER BY iter DESC NULLS LAST) AS rank
        FROM other_events WHERE task = ${query.task} AND type = 'plot' AND ${metric})`;
    const { rows: counted } = await sql<{ n: number }>`${ranked} SELECT COUNT(*) AS n FROM ranked WHERE rank <= ${query.iters}`.execute(
      this.db,
    );
    const { rows } = await sql<OtherRow>`${ranked} SELECT type, id, iter, metric, variant, timestamp, data, plot_data FROM ranked
      WHERE rank <= ${query.iters} ORDER BY timestamp, metric, variant, iter NULLS FIRST, ord
      LIMIT ${query.limit} OFFSET ${query.offset}`.execute(this.db);
    return { events: rows.map((row) => toOtherRecord(query.task, row)), total: Number(counted[0]!.n) };
  }

  /** Debug samples in scope. */
  private samples(scope: DebugImageScope) {
    return this.db
      .selectFrom('other_events')
      .where('task', '=', scope.task)
      .where('type', '=', DEBUG_IMAGE)
      .where(this.metricCondition(scope.metrics, 'metric', 'variant'));
  }

  async debugImageIterations(scope: DebugImageScope, range: { before?: number; after?: number }, limit: number) {
    const rows = await this.samples(scope)
      .select('iter')
      .distinct()
      .where('iter', 'is not', null)
      .$if(range.before !== undefined, (q) => q.where('iter', '<', range.before!))
      .$if(range.before === undefined && range.after !== undefined, (q) => q.where('iter', '>', range.after!))
      .orderBy('iter', range.before === undefined && range.after !== undefined ? 'asc' : 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => r.iter!);
  }

  async debugImagesAt(scope: DebugImageScope, iters: readonly number[]) {
    if (iters.length === 0) return [];
    const rows = await this.samples(scope)
      .select(OTHER_COLUMNS)
      .where(this.dialect.inList('iter', iters))
      .orderBy('iter', 'desc')
      .orderBy('metric')
      .orderBy('variant')
      .orderBy('timestamp')
      .orderBy(this.otherOrder)
      .execute();
    return rows.map((row) => toOtherRecord(scope.task, row as OtherRow));
  }

  async debugImageRange(task: string, metric: string, variant: string) {
    const row = await this.db
      .selectFrom('other_events')
      .select((eb) => [eb.fn.min('iter').as('min'), eb.fn.max('iter').as('max')])
      .where((eb) => this.sampleOf(eb, task, metric, variant))
      .where('iter', 'is not', null)
      .executeTakeFirstOrThrow();
    return row.min === null || row.max === null ? undefined : { min: Number(row.min), max: Number(row.max) };
  }

  async debugImageAtOrBefore(task: string, metric: string, variant: string, iteration?: number) {
    const row = await this.db
      .selectFrom('other_events')
      .select(OTHER_COLUMNS)
      .where((eb) => this.sampleOf(eb, task, metric, variant))
      .where('iter', 'is not', null)
      .$if(iteration !== undefined, (q) => q.where('iter', '<=', iteration!))
      .orderBy('iter', 'desc')
      .orderBy('timestamp', 'desc')
      .orderBy(sql`${this.otherOrder} DESC`)
      .limit(1)
      .executeTakeFirst();
    return row ? toOtherRecord(task, row as OtherRow) : undefined;
  }

  async debugImageNeighbour(
    scope: DebugImageScope,
    from: DebugImagePosition,
    earlier: boolean,
    where: 'sameIteration' | 'otherIteration',
  ) {
    const direction = earlier ? 'desc' : 'asc';
    const row = await this.samples(scope)
      .select(OTHER_COLUMNS)
      .where((eb) =>
        where === 'sameIteration'
          ? eb.and([
              eb('iter', '=', from.iter),
              eb(eb.refTuple('metric', 'variant'), earlier ? '<' : '>', eb.tuple(from.metric, from.variant)),
            ])
          : eb('iter', earlier ? '<' : '>', from.iter),
      )
      .orderBy('iter', direction)
      .orderBy('metric', direction)
      .orderBy('variant', direction)
      // Several samples of one iteration and variant (other keys): the newest.
      .orderBy('timestamp', 'desc')
      .orderBy(sql`${this.otherOrder} DESC`)
      .limit(1)
      .executeTakeFirst();
    return row ? toOtherRecord(scope.task, row as OtherRow) : undefined;
  }

  async deleteForTask(task: string) {
    const seriesOfTask = this.db.selectFrom('event_series').select('id').where('task', '=', task);
    await this.db.deleteFrom('scalar_summaries').where('series', 'in', seriesOfTask).execute();
    let deleted = 0;
    for (const result of [
      await this.db.deleteFrom('scalar_events').where('series', 'in', seriesOfTask).executeTakeFirst(),
      await this.db.deleteFrom('log_events').where('task', '=', task).executeTakeFirst(),
      await this.db.deleteFrom('other_events').where('task', '=', task).executeTakeFirst(),
    ]) {
      deleted += Number(result.numDeletedRows);
    }
    await this.db.deleteFrom('event_series').where('task', '=', task).execute();
    return deleted;
  }

  /** `metric IN (...) OR (metric, variant) IN (...)` of a metrics filter over the given columns; true without one. */
  private metricCondition(metrics: MetricVariants[] | undefined, metricColumn: string, variantColumn: string): RawBuilder<SqlBool> {
    if (metrics === undefined) return sql<SqlBool>`1 = 1`;
    const whole: string[] = [];
    const pairs: [string, string][] = [];
    for (const { metric, variants } of metrics) {
      if (variants && variants.length > 0) for (const variant of variants) pairs.push([metric, variant]);
      else whole.push(metric);
    }
    const parts = [
      ...(whole.length > 0 ? [this.dialect.inList(metricColumn, whole)] : []),
      ...(pairs.length > 0 ? [this.dialect.inPairs(metricColumn, variantColumn, pairs)] : []),
    ];
    return parts.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
  }
}

const OTHER_COLUMNS = ['type', 'event_id as id', 'iter', 'metric', 'variant', 'timestamp', 'data', 'plot_data'] as const;

/**
 * A console page's bound as a whole number of milliseconds that selects the same lines: `< x` is `< ceil(x)` and
 * `> x` is `> floor(x)` for whole timestamps; held within ±2^53 (no line is stored that far out).
 */
function wholeBound(timestamp: number, isBefore: boolean): number {
  const whole = isBefore ? Math.ceil(timestamp) : Math.floor(timestamp);
  return Math.min(Math.max(whole, -Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
}

function toLogRecord(task: string, row: Pick<LogEventRecord, 'id' | 'timestamp' | 'level' | 'worker' | 'msg'>): LogEventRecord {
  return { type: 'log', task, id: row.id, timestamp: row.timestamp, level: row.level, worker: row.worker, msg: row.msg };
}

/** The fields of an other_events row; a compressed plot_str comes back whole. */
function otherData(data: string, plotData: Buffer | null): Record<string, unknown> {
  const parsed = JSON.parse(data) as Record<string, unknown>;
  if (plotData) parsed.plot_str = inflateSync(plotData).toString('utf8');
  return parsed;
}

function toOtherRecord(task: string, row: OtherRow): OtherEventRecord {
  return {
    type: row.type,
    task,
    id: row.id,
    iter: row.iter,
    metric: row.metric,
    variant: row.variant,
    timestamp: row.timestamp,
    data: otherData(row.data, row.plot_data),
  };
}

function toEventRecord(task: string, row: EventRow): EventRecord {
  if (row.type === 'log') {
    return { type: 'log', task, id: row.id!, timestamp: row.timestamp, level: row.level!, worker: row.worker, msg: row.msg! };
  }
  if (row.type === 'training_stats_scalar') {
    return {
      type: row.type,
      task,
      iter: row.iter!,
      metric: row.metric,
      variant: row.variant,
      value: row.value!,
      timestamp: row.timestamp,
    };
  }
  return {
    type: row.type,
    task,
    id: row.id!,
    iter: row.iter,
    metric: row.metric,
    variant: row.variant,
    timestamp: row.timestamp,
    data: otherData(row.data!, row.plot_data),
  };
}
