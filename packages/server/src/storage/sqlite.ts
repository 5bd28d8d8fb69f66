import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { QueueEntry, Task, TaskStatus } from '@tasklane/protocol';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import { SerialLock } from './serial-lock.js';
import type {
  BucketExtremes,
  EventListQuery,
  EventRecord,
  EventRepository,
  ListFilter,
  LogEventRecord,
  LogPageQuery,
  OtherEventRecord,
  ProjectRecord,
  ProjectRepository,
  QueueRecord,
  QueueRepository,
  Repositories,
  ScalarPoint,
  SeriesStats,
  Store,
  TaskQuery,
  TaskRepository,
  WorkerRecord,
  WorkerRepository,
} from './store.js';

type Db = Database.Database;
type Params = Record<string, unknown>;

/** Opens (creating if needed) the SQLite database at `file` and brings its schema up to date. */
export function openSqliteStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  enableWal(db);
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  registerRegexp(db);
  migrate(db, SQLITE_MIGRATIONS);
  return new SqliteStore(db);
}

/**
 * Switches the file to WAL. On a new file that needs an exclusive lock, and when several processes open the same
 * new file at once SQLite answers SQLITE_BUSY straight away instead of waiting (its busy handler is skipped where
 * waiting could deadlock), so wait a little and try again.
 */
function enableWal(db: Db): void {
  for (let attempt = 1; ; attempt += 1) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      const isBusy = error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
      if (!isBusy || attempt === 50) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(5 * attempt, 100));
    }
  }
}

function registerRegexp(db: Db): void {
  const cache = new Map<string, RegExp>();
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== 'string' || typeof value !== 'string') return 0;
    let re = cache.get(pattern);
    if (!re) {
      re = new RegExp(pattern, 'i');
      if (cache.size > 200) cache.clear();
      cache.set(pattern, re);
    }
    return re.test(value) ? 1 : 0;
  });
}

function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      // Asked again under the write lock: another process opening the same new file may have applied it meanwhile.
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.sql);
      record.run(migration.version, migration.name, new Date().toISOString());
    }).immediate();
  }
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly lock = new SerialLock();
  private readonly repos: Repositories;

  constructor(private readonly db: Db) {
    this.repos = {
      projects: new SqliteProjects(db),
      tasks: new SqliteTasks(db),
      queues: new SqliteQueues(db),
      workers: new SqliteWorkers(db),
      events: new SqliteEvents(db),
    };
  }

  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T> {
    // better-sqlite3 is synchronous; the lock keeps one unit of work on the connection at a time, and
    // BEGIN IMMEDIATE takes SQLite's write lock up front so other processes on the same file wait rather than
    // interleave.
    return this.lock.run(async () => {
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.repos);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async schemaVersion(): Promise<number> {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  async close(): Promise<void> {
    await this.lock.run(async () => this.db.close());
  }
}

function placeholders(values: readonly unknown[], params: Params, prefix: string): string {
  return values
    .map((value, i) => {
      params[`${prefix}${i}`] = value;
      return `@${prefix}${i}`;
    })
    .join(', ');
}

class SqliteProjects implements ProjectRepository {
  private readonly byId;
  private readonly byName;
  private readonly all;
  private readonly insertStmt;
  private readonly updateStmt;

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT data FROM projects WHERE id = ?').pluck();
    this.byName = db.prepare('SELECT data FROM projects WHERE name = ?').pluck();
    this.all = db.prepare('SELECT data FROM projects ORDER BY name').pluck();
    this.insertStmt = db.prepare(
      'INSERT INTO projects (id, name, parent, created, last_update, data) VALUES (@id, @name, @parent, @created, @last_update, @data)',
    );
    this.updateStmt = db.prepare(
      'UPDATE projects SET name = @name, parent = @parent, last_update = @last_update, data = @data WHERE id = @id',
    );
  }

  async get(id: string) {
    return parseRow<ProjectRecord>(this.byId.get(id));
  }
  async getByName(name: string) {
    return parseRow<ProjectRecord>(this.byName.get(name));
  }
  async list() {
    return (this.all.all() as string[]).map((row) => JSON.parse(row) as ProjectRecord);
  }
  async insert(project: ProjectRecord) {
    this.insertStmt.run({ ...projectColumns(project), data: JSON.stringify(project) });
  }
  async update(project: ProjectRecord) {
    this.updateStmt.run({ ...projectColumns(project), data: JSON.stringify(project) });
  }
  async delete(ids: string[]) {
    if (ids.length === 0) return 0;
    const params: Params = {};
    // Children first would be needed by the foreign key; clearing parent pointers inside the set avoids ordering.
    const list = placeholders(ids, params, 'p');
    this.db.prepare(`UPDATE projects SET parent = NULL WHERE id IN (${list})`).run(params);
    return this.db.prepare(`DELETE FROM projects WHERE id IN (${list})`).run(params).changes;
  }
}

function projectColumns(p: ProjectRecord) {
  return { id: p.id, name: p.name, parent: p.parent, created: p.created, last_update: p.last_update };
}

function parseRow<T>(row: unknown): T | undefined {
  return typeof row === 'string' ? (JSON.parse(row) as T) : undefined;
}

const TASK_COLUMNS = `id, name, project, parent, type, status, user, created, started, completed, last_update, last_iteration, data`;

function taskColumns(task: Task) {
  return {
    id: task.id,
    name: task.name,
    project: task.project ?? null,
    parent: task.parent ?? null,
    type: task.type,
    status: task.status,
    user: task.user ?? null,
    created: task.created,
    started: task.started ?? null,
    completed: task.completed ?? null,
    last_update: task.last_update,
    last_iteration: task.last_iteration,
    data: JSON.stringify(task),
  };
}

class SqliteTasks implements TaskRepository {
  private readonly byId;
  private readonly insertStmt;
  private readonly replaceStmt;
  private readonly casStmt;

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT data FROM tasks WHERE id = ?').pluck();
    const values = TASK_COLUMNS.split(', ')
      .map((c) => `@${c}`)
      .join(', ');
    this.insertStmt = db.prepare(`INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${values})`);
    const sets = TASK_COLUMNS.split(', ')
      .filter((c) => c !== 'id')
      .map((c) => `${c} = @${c}`)
      .join(', ');
    this.replaceStmt = db.prepare(`UPDATE tasks SET ${sets} WHERE id = @id`);
    this.casStmt = db.prepare(`UPDATE tasks SET ${sets} WHERE id = @id AND status = @expected_status`);
  }

  async get(id: string) {
    return parseRow<Task>(this.byId.get(id));
  }

  async list(query: TaskQuery) {
    const params: Params = {};
    const where = taskWhere(query, params);
    const order = (query.orderBy ?? []).map((o) => `${o.field} ${o.descending ? 'DESC' : 'ASC'}`);
    order.push('created ASC', 'id ASC');
    let sql = `SELECT data FROM tasks${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.join(', ')}`;
    if (query.limit !== undefined) {
      sql += ' LIMIT @limit OFFSET @offset';
      params.limit = query.limit;
      params.offset = query.offset ?? 0;
    }
    return (this.db.prepare(sql).pluck().all(params) as string[]).map((row) => JSON.parse(row) as Task);
  }

  async countInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return 0;
    const params: Params = {};
    const sql = `SELECT COUNT(*) FROM tasks WHERE project IN (${placeholders(projectIds, params, 'p')})`;
    return this.db.prepare(sql).pluck().get(params) as number;
  }

  async idsInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return [];
    const params: Params = {};
    const sql = `SELECT id FROM tasks WHERE project IN (${placeholders(projectIds, params, 'p')})`;
    return this.db.prepare(sql).pluck().all(params) as string[];
  }

  async insert(task: Task) {
    this.insertStmt.run(taskColumns(task));
  }

  async replace(task: Task, expectedStatus?: TaskStatus) {
    const columns = taskColumns(task);
    const result =
      expectedStatus === undefined
        ? this.replaceStmt.run(columns)
        : this.casStmt.run({ ...columns, expected_status: expectedStatus });
    return result.changes === 1;
  }

  async delete(ids: string[]) {
    if (ids.length === 0) return 0;
    const params: Params = {};
    return this.db.prepare(`DELETE FROM tasks WHERE id IN (${placeholders(ids, params, 't')})`).run(params).changes;
  }

  async detachFromProjects(projectIds: string[]) {
    return this.rewrite(
      'project',
      projectIds,
      (task) => ({ ...task, project: null }),
    );
  }

  async detachChildren(parentId: string) {
    return this.rewrite('parent', [parentId], (task) => ({ ...task, parent: null }));
  }

  private rewrite(column: 'project' | 'parent', values: string[], change: (task: Task) => Task): number {
    if (values.length === 0) return 0;
    const params: Params = {};
    const rows = this.db
      .prepare(`SELECT data FROM tasks WHERE ${column} IN (${placeholders(values, params, 'v')})`)
      .pluck()
      .all(params) as string[];
    for (const row of rows) this.replaceStmt.run(taskColumns(change(JSON.parse(row) as Task)));
    return rows.length;
  }
}

function listCondition(column: string, filter: ListFilter | undefined, params: Params, prefix: string): string[] {
  if (!filter) return [];
  const out: string[] = [];
  if (filter.include.length > 0) out.push(`${column} IN (${placeholders(filter.include, params, `${prefix}i`)})`);
  if (filter.exclude.length > 0) out.push(`${column} NOT IN (${placeholders(filter.exclude, params, `${prefix}x`)})`);
  return out;
}

function tagCondition(path: string, filter: ListFilter | undefined, params: Params, prefix: string): string[] {
  if (!filter) return [];
  const out: string[] = [];
  const any = (list: string) => `EXISTS (SELECT 1 FROM json_each(tasks.data, '${path}') WHERE value IN (${list}))`;
  if (filter.include.length > 0) out.push(any(placeholders(filter.include, params, `${prefix}i`)));
  if (filter.exclude.length > 0) out.push(`NOT ${any(placeholders(filter.exclude, params, `${prefix}x`))}`);
  return out;
}

function taskWhere(query: TaskQuery, params: Params): string[] {
  const where: string[] = [];
  if (query.ids) where.push(query.ids.length > 0 ? `id IN (${placeholders(query.ids, params, 'id')})` : '0');
  if (query.namePattern !== undefined) {
    params.namePattern = query.namePattern;
    where.push('regexp(@namePattern, name)');
  }
  if (query.projects) {
    const ids = query.projects.filter((p): p is string => p !== null);
    const parts: string[] = [];
    if (ids.length > 0) parts.push(`project IN (${placeholders(ids, params, 'pr')})`);
    if (query.projects.includes(null)) parts.push('project IS NULL');
    where.push(parts.length > 0 ? `(${parts.join(' OR ')})` : '0');
  }
  where.push(...listCondition('status', query.statuses, params, 'st'));
  where.push(...listCondition('type', query.types, params, 'ty'));
  where.push(...tagCondition('$.tags', query.tags, params, 'tg'));
  where.push(...tagCondition('$.system_tags', query.systemTags, params, 'sy'));
  if (query.parent !== undefined) {
    params.parent = query.parent;
    where.push('parent = @parent');
  }
  if (query.users && query.users.length > 0) where.push(`user IN (${placeholders(query.users, params, 'u')})`);
  if (query.searchText) {
    params.searchText = `%${query.searchText.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      `(id LIKE @searchText ESCAPE '\\' OR name LIKE @searchText ESCAPE '\\' OR json_extract(data, '$.comment') LIKE @searchText ESCAPE '\\')`,
    );
  }
  if (!query.includeHidden) {
    where.push(`NOT EXISTS (SELECT 1 FROM json_each(tasks.data, '$.system_tags') WHERE value = 'hidden')`);
  }
  if (query.lastUpdateBefore !== undefined) {
    params.lastUpdateBefore = query.lastUpdateBefore;
    where.push('last_update < @lastUpdateBefore');
  }
  return where;
}

class SqliteQueues implements QueueRepository {
  private readonly byId;
  private readonly byName;
  private readonly all;
  private readonly insertStmt;
  private readonly entriesStmt;
  private readonly pushStmt;
  private readonly headStmt;
  private readonly deleteEntryStmt;

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT data FROM queues WHERE id = ?').pluck();
    this.byName = db.prepare('SELECT data FROM queues WHERE name = ?').pluck();
    this.all = db.prepare('SELECT data FROM queues ORDER BY created, name').pluck();
    this.insertStmt = db.prepare('INSERT INTO queues (id, name, created, data) VALUES (@id, @name, @created, @data)');
    this.entriesStmt = db.prepare('SELECT task, added FROM queue_entries WHERE queue = ? ORDER BY seq');
    this.pushStmt = db.prepare('INSERT INTO queue_entries (queue, task, added) VALUES (?, ?, ?)');
    this.headStmt = db.prepare('SELECT seq, task, added FROM queue_entries WHERE queue = ? ORDER BY seq LIMIT 1');
    this.deleteEntryStmt = db.prepare('DELETE FROM queue_entries WHERE seq = ?');
  }

  async get(id: string) {
    return parseRow<QueueRecord>(this.byId.get(id));
  }
  async getByName(name: string) {
    return parseRow<QueueRecord>(this.byName.get(name));
  }
  async list() {
    return (this.all.all() as string[]).map((row) => JSON.parse(row) as QueueRecord);
  }
  async insert(queue: QueueRecord) {
    this.insertStmt.run({ id: queue.id, name: queue.name, created: queue.created, data: JSON.stringify(queue) });
  }
  async delete(id: string) {
    return this.db.prepare('DELETE FROM queues WHERE id = ?').run(id).changes;
  }
  async entries(queueId: string) {
    return this.entriesStmt.all(queueId) as QueueEntry[];
  }
  async push(queueId: string, taskId: string, added: string) {
    this.pushStmt.run(queueId, taskId, added);
  }
  async remove(taskId: string, queueId?: string) {
    return queueId === undefined
      ? this.db.prepare('DELETE FROM queue_entries WHERE task = ?').run(taskId).changes
      : this.db.prepare('DELETE FROM queue_entries WHERE task = ? AND queue = ?').run(taskId, queueId).changes;
  }
  async popHead(queueId: string, onlyTask?: string) {
    const head = this.headStmt.get(queueId) as { seq: number; task: string; added: string } | undefined;
    if (!head || (onlyTask !== undefined && head.task !== onlyTask)) return undefined;
    this.deleteEntryStmt.run(head.seq);
    return { task: head.task, added: head.added };
  }
  async queuesOf(taskId: string) {
    return this.db.prepare('SELECT DISTINCT queue FROM queue_entries WHERE task = ?').pluck().all(taskId) as string[];
  }
}

class SqliteWorkers implements WorkerRepository {
  constructor(private readonly db: Db) {}

  async get(id: string) {
    return parseRow<WorkerRecord>(this.db.prepare('SELECT data FROM workers WHERE id = ?').pluck().get(id));
  }
  async list() {
    return (this.db.prepare('SELECT data FROM workers ORDER BY id').pluck().all() as string[]).map(
      (row) => JSON.parse(row) as WorkerRecord,
    );
  }
  async upsert(worker: WorkerRecord) {
    this.db
      .prepare(
        `INSERT INTO workers (id, last_activity_time, data) VALUES (@id, @last_activity_time, @data)
         ON CONFLICT(id) DO UPDATE SET last_activity_time = excluded.last_activity_time, data = excluded.data`,
      )
      .run({ id: worker.id, last_activity_time: worker.last_activity_time, data: JSON.stringify(worker) });
  }
  async delete(id: string) {
    return this.db.prepare('DELETE FROM workers WHERE id = ?').run(id).changes;
  }
}

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
}

const LOG_COLUMNS = `'log' AS type, event_id AS id, timestamp, level, worker, msg`;

class SqliteEvents implements EventRepository {
  private readonly seriesIdStmt;
  private readonly insertSeriesStmt;
  private readonly seriesOfTaskStmt;
  private readonly lastIterStmt;
  private readonly upsertScalarStmt;
  private readonly countSumStmt;
  private readonly firstPointStmt;
  private readonly lastPointStmt;
  private readonly minPointStmt;
  private readonly maxPointStmt;
  private readonly rangeStmt;
  private readonly pointsStmt;
  private readonly latestStmt;
  private readonly bucketMinStmt;
  private readonly bucketMaxStmt;
  private readonly insertLogStmt;
  private readonly upsertOtherStmt;
  private readonly logPageStmts;
  private readonly logTailStmts;
  private readonly countLogsStmt;
  private readonly deleteStmts;
  private readonly deleteSeriesStmt;

  constructor(private readonly db: Db) {
    this.seriesIdStmt = db.prepare('SELECT id FROM event_series WHERE task = ? AND metric = ? AND variant = ?').pluck();
    this.insertSeriesStmt = db.prepare('INSERT INTO event_series (task, metric, variant) VALUES (?, ?, ?)');
    this.seriesOfTaskStmt = db.prepare('SELECT id, metric, variant FROM event_series WHERE task = ? ORDER BY metric, variant');
    this.lastIterStmt = db.prepare('SELECT iter FROM scalar_events WHERE series = ? ORDER BY iter DESC LIMIT 1').pluck();
    this.upsertScalarStmt = db.prepare(
      `INSERT INTO scalar_events (series, iter, value, timestamp) VALUES (?, ?, ?, ?)
       ON CONFLICT (series, iter) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp`,
    );
    this.countSumStmt = db.prepare('SELECT COUNT(*) AS count, TOTAL(value) AS sum FROM scalar_events WHERE series = ?');
    const point = 'SELECT iter, value FROM scalar_events WHERE series = ?';
    this.firstPointStmt = db.prepare(`${point} ORDER BY iter ASC LIMIT 1`);
    this.lastPointStmt = db.prepare(`${point} ORDER BY iter DESC LIMIT 1`);
    // Ties go to the earliest iteration, as when the points arrive in order.
    this.minPointStmt = db.prepare(`${point} ORDER BY value ASC, iter ASC LIMIT 1`);
    this.maxPointStmt = db.prepare(`${point} ORDER BY value DESC, iter ASC LIMIT 1`);
    this.rangeStmt = db.prepare(
      'SELECT COUNT(*) AS count, MIN(iter) AS minIter, MAX(iter) AS maxIter FROM scalar_events WHERE series = ?',
    );
    this.pointsStmt = db.prepare('SELECT iter, value, timestamp FROM scalar_events WHERE series = ? ORDER BY iter');
    this.latestStmt = db.prepare('SELECT iter, value, timestamp FROM scalar_events WHERE series = ? ORDER BY iter DESC LIMIT ?');
    // With exactly one MIN() or MAX() aggregate, SQLite takes the bare columns (iter, timestamp) from the row that
    // holds the extreme, so each query finds the extreme points of every bucket in one pass. better-sqlite3 binds
    // JS numbers as REAL: the casts keep the division an integer one.
    const bucket = (aggregate: 'MIN' | 'MAX') =>
      db.prepare(
        `SELECT (iter - CAST(@origin AS INTEGER)) / CAST(@width AS INTEGER) AS bucket, iter, ${aggregate}(value) AS value, timestamp
         FROM scalar_events WHERE series = @series GROUP BY bucket ORDER BY bucket`,
      );
    this.bucketMinStmt = bucket('MIN');
    this.bucketMaxStmt = bucket('MAX');
    this.insertLogStmt = db.prepare(
      `INSERT INTO log_events (task, event_id, timestamp, level, worker, msg)
       VALUES (@task, @id, @timestamp, @level, @worker, @msg) ON CONFLICT (task, event_id) DO NOTHING`,
    );
    this.upsertOtherStmt = db.prepare(
      `INSERT INTO other_events (task, event_id, type, iter, metric, variant, timestamp, data)
       VALUES (@task, @id, @type, @iter, @metric, @variant, @timestamp, @data)
       ON CONFLICT (task, event_id) DO UPDATE SET type = excluded.type, iter = excluded.iter, metric = excluded.metric,
         variant = excluded.variant, timestamp = excluded.timestamp, data = excluded.data`,
    );
    const page = (descending: boolean, from: boolean) =>
      db.prepare(
        `SELECT ${LOG_COLUMNS}, seq FROM log_events WHERE task = @task${from ? ` AND timestamp ${descending ? '<' : '>'} @from` : ''}
         ORDER BY timestamp ${descending ? 'DESC' : 'ASC'}, seq ${descending ? 'DESC' : 'ASC'} LIMIT @limit`,
      );
    this.logPageStmts = { asc: page(false, false), ascFrom: page(false, true), desc: page(true, false), descFrom: page(true, true) };
    const tail = (descending: boolean) =>
      db.prepare(
        `SELECT ${LOG_COLUMNS} FROM log_events WHERE task = @task AND timestamp = @timestamp AND seq ${descending ? '<' : '>'} @seq
         ORDER BY seq ${descending ? 'DESC' : 'ASC'}`,
      );
    this.logTailStmts = { asc: tail(false), desc: tail(true) };
    this.countLogsStmt = db.prepare('SELECT COUNT(*) FROM log_events WHERE task = ?').pluck();
    this.deleteStmts = [
      db.prepare('DELETE FROM scalar_events WHERE series IN (SELECT id FROM event_series WHERE task = ?)'),
      db.prepare('DELETE FROM log_events WHERE task = ?'),
      db.prepare('DELETE FROM other_events WHERE task = ?'),
    ];
    this.deleteSeriesStmt = db.prepare('DELETE FROM event_series WHERE task = ?');
  }

  async ensureSeries(task: string, metric: string, variant: string) {
    const id = this.seriesIdStmt.get(task, metric, variant) as number | undefined;
    if (id !== undefined) return id;
    return Number(this.insertSeriesStmt.run(task, metric, variant).lastInsertRowid);
  }

  async listSeries(task: string) {
    return this.seriesOfTaskStmt.all(task) as { id: number; metric: string; variant: string }[];
  }

  async lastIteration(series: number) {
    return this.lastIterStmt.get(series) as number | undefined;
  }

  async upsertScalars(series: number, points: readonly ScalarPoint[]) {
    for (const p of points) this.upsertScalarStmt.run(series, p.iter, p.value, p.timestamp);
  }

  async seriesStats(series: number): Promise<SeriesStats | undefined> {
    const { count, sum } = this.countSumStmt.get(series) as { count: number; sum: number };
    if (count === 0) return undefined;
    type Point = { iter: number; value: number };
    return {
      count,
      sum,
      first: this.firstPointStmt.get(series) as Point,
      last: this.lastPointStmt.get(series) as Point,
      min: this.minPointStmt.get(series) as Point,
      max: this.maxPointStmt.get(series) as Point,
    };
  }

  async seriesRange(series: number) {
    const row = this.rangeStmt.get(series) as { count: number; minIter: number | null; maxIter: number | null };
    if (row.count === 0 || row.minIter === null || row.maxIter === null) return undefined;
    return { count: row.count, minIter: row.minIter, maxIter: row.maxIter };
  }

  async seriesPoints(series: number) {
    return this.pointsStmt.all(series) as ScalarPoint[];
  }

  async latestPoints(series: number, count: number) {
    return this.latestStmt.all(series, count) as ScalarPoint[];
  }

  async bucketExtremes(series: number, origin: number, width: number): Promise<BucketExtremes[]> {
    type Row = ScalarPoint & { bucket: number };
    const params = { series, origin, width };
    const lows = this.bucketMinStmt.all(params) as Row[];
    const highs = this.bucketMaxStmt.all(params) as Row[];
    // Both list the same non-empty buckets in the same order.
    return lows.map((low, i) => {
      const high = highs[i]!;
      return {
        min: { iter: low.iter, value: low.value, timestamp: low.timestamp },
        max: { iter: high.iter, value: high.value, timestamp: high.timestamp },
      };
    });
  }

  async insertLogs(events: readonly LogEventRecord[]) {
    let added = 0;
    for (const e of events) {
      added += this.insertLogStmt.run({ task: e.task, id: e.id, timestamp: e.timestamp, level: e.level, worker: e.worker, msg: e.msg })
        .changes;
    }
    return added;
  }

  async upsertOthers(events: readonly OtherEventRecord[]) {
    for (const e of events) {
      this.upsertOtherStmt.run({
        task: e.task,
        id: e.id,
        type: e.type,
        iter: e.iter,
        metric: e.metric,
        variant: e.variant,
        timestamp: e.timestamp,
        data: JSON.stringify(e.data),
      });
    }
  }

  async logPage(query: LogPageQuery) {
    const direction = query.descending ? 'desc' : 'asc';
    const hasFrom = query.fromTimestamp !== undefined;
    const stmt = this.logPageStmts[hasFrom ? (`${direction}From` as const) : direction];
    const params = { task: query.task, limit: query.limit, ...(hasFrom ? { from: query.fromTimestamp } : {}) };
    const rows = stmt.all(params) as (LogEventRecord & { seq: number })[];
    const last = rows.at(-1);
    if (!last || rows.length < query.limit) return rows.map((row) => toLogRecord(query.task, row));
    const tail = this.logTailStmts[direction].all({ task: query.task, timestamp: last.timestamp, seq: last.seq }) as LogEventRecord[];
    return [...rows, ...tail].map((row) => toLogRecord(query.task, row));
  }

  async countLogs(task: string) {
    return this.countLogsStmt.get(task) as number;
  }

  async listEvents(query: EventListQuery): Promise<EventRecord[]> {
    const params: Params = { task: query.task, limit: query.limit, offset: query.offset };
    const union = eventUnion(query, params);
    if (union === undefined) return [];
    const direction = query.descending ? 'DESC' : 'ASC';
    const sql = `SELECT type, id, timestamp, iter, metric, variant, value, level, worker, msg, data FROM (${union})
      ORDER BY timestamp ${direction}, type ${direction}, metric ${direction}, variant ${direction}, iter ${direction},
        ord ${direction} LIMIT @limit OFFSET @offset`;
    return (this.db.prepare(sql).all(params) as EventRow[]).map((row) => toEventRecord(query.task, row));
  }

  async countEvents(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>) {
    const params: Params = { task: query.task };
    const union = eventUnion(query, params);
    if (union === undefined) return 0;
    return this.db.prepare(`SELECT COUNT(*) FROM (${union})`).pluck().get(params) as number;
  }

  async deleteForTask(task: string) {
    let deleted = 0;
    for (const stmt of this.deleteStmts) deleted += stmt.run(task).changes;
    this.deleteSeriesStmt.run(task);
    return deleted;
  }
}

function toLogRecord(task: string, row: LogEventRecord): LogEventRecord {
  return { type: 'log', task, id: row.id, timestamp: row.timestamp, level: row.level, worker: row.worker, msg: row.msg };
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
    data: JSON.parse(row.data!) as Record<string, unknown>,
  };
}

/** `(metric = ? AND variant IN (...)) OR ...` over the given columns; undefined when there is no filter. */
function metricCondition(
  metrics: EventListQuery['metrics'],
  params: Params,
  columns: { metric: string; variant: string },
): string | undefined {
  if (metrics === undefined) return undefined;
  if (metrics.length === 0) return '0';
  return metrics
    .map(({ metric, variants }, i) => {
      params[`m${i}`] = metric;
      const variantPart =
        variants && variants.length > 0 ? ` AND ${columns.variant} IN (${placeholders(variants, params, `m${i}v`)})` : '';
      return `(${columns.metric} = @m${i}${variantPart})`;
    })
    .join(' OR ');
}

/** The SELECTs over the three event tables that a query needs, as one UNION ALL; undefined when none is. */
function eventUnion(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>, params: Params): string | undefined {
  const wants = (type: EventRecord['type']) => query.types === undefined || query.types.includes(type);
  const parts: string[] = [];
  if (wants('log') && query.metrics === undefined) {
    parts.push(
      `SELECT ${LOG_COLUMNS}, NULL AS iter, '' AS metric, '' AS variant, NULL AS value, NULL AS data, seq AS ord
       FROM log_events WHERE task = @task`,
    );
  }
  if (wants('training_stats_scalar')) {
    const metric = metricCondition(query.metrics, params, { metric: 'e.metric', variant: 'e.variant' });
    parts.push(
      `SELECT 'training_stats_scalar' AS type, NULL AS id, s.timestamp, NULL AS level, NULL AS worker, NULL AS msg, s.iter,
         e.metric, e.variant, s.value, NULL AS data, 0 AS ord
       FROM scalar_events s JOIN event_series e ON e.id = s.series WHERE e.task = @task${metric ? ` AND (${metric})` : ''}`,
    );
  }
  const others = (['training_stats_vector', 'training_debug_image', 'plot'] as const).filter(wants);
  if (others.length > 0) {
    const metric = metricCondition(query.metrics, params, { metric: 'metric', variant: 'variant' });
    parts.push(
      `SELECT type, event_id AS id, timestamp, NULL AS level, NULL AS worker, NULL AS msg, iter, metric, variant,
         NULL AS value, data, rowid AS ord
       FROM other_events WHERE task = @task AND type IN (${placeholders(others, params, 'ot')})${metric ? ` AND (${metric})` : ''}`,
    );
  }
  return parts.length > 0 ? parts.join('\nUNION ALL\n') : undefined;
}
