import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { deflate, inflateSync } from 'node:zlib';
import Database from 'better-sqlite3';
import {
  SINGLE_VALUE_ITERATION,
  type EventType,
  type MetricVariants,
  type Model,
  type Task,
  type TaskStatus,
} from '@tasklane/protocol';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import { compilePattern } from './patterns.js';
import { appendScalars, readCharts } from './scalar-rows.js';
import { SerialLock } from './serial-lock.js';
import { SqliteScalarRows } from './sqlite-scalar-rows.js';
import { SQLITE_DIALECT } from './sql/dialect.js';
import { sqliteKysely } from './sql/sqlite-kysely.js';
import { SqlProjects } from './projects.js';
import { SqlQueues, SqlWorkers } from './queues.js';
import { SqlUsers } from './users.js';
import type {
  ChartQuery,
  DebugImagePosition,
  DebugImageScope,
  EventListQuery,
  EventRecord,
  EventRepository,
  ListFilter,
  LogEventRecord,
  LogPageQuery,
  ModelQuery,
  ModelRepository,
  OtherEventRecord,
  PlotQuery,
  ProjectTaskStats,
  Repositories,
  ScalarPoint,
  ScalarSlice,
  SeriesRecord,
  SingleValueRecord,
  Store,
  TaskMetricsUpdate,
  TaskModelUse,
  TaskQuery,
  TaskRepository,
  TransactionOptions,
} from './store.js';

type Db = Database.Database;
type Params = Record<string, unknown>;

const deflateAsync = promisify(deflate);

/** Opens (creating if needed) the SQLite database at `file` and brings its schema up to date. */
export function openSqliteStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  enableWal(db);
  db.pragma('synchronous = NORMAL');
  // A checkpoint copies the WAL into the database file and syncs both. SQLite's default (every 1,000 pages, 4 MB)
  // copies the pages every batch rewrites (the task row, the head of each series and of its summaries) again and
  // again under a sustained ingest; every 10,000 pages (40 MB) cut the server's CPU per ingested point by ~9% (median
  // of 5 alternating runs of 1M points each, docs/benchmarks.md). SQLite also checkpoints when the last connection
  // closes.
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 10000');
  registerRegexp(db);
  registerContains(db);
  registerSortKey(db);
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

/** `regexp(pattern, text)`, SQLite's REGEXP: the user patterns of patterns.ts (RE2, linear time, cached). */
function registerRegexp(db: Db): void {
  db.function('regexp', { deterministic: true }, (pattern: unknown, value: unknown) => {
    if (typeof pattern !== 'string' || typeof value !== 'string') return 0;
    return compilePattern(pattern).test(value) ? 1 : 0;
  });
}

/**
 * `tasklane_icontains(text, needle)`: whether text contains needle, ignoring case (the caller lower-cases needle).
 * SQLite's own LIKE and lower() ignore case for ASCII letters only.
 */
function registerContains(db: Db): void {
  db.function('tasklane_icontains', { deterministic: true }, (text: unknown, needle: unknown) =>
    typeof text === 'string' && typeof needle === 'string' && text.toLowerCase().includes(needle) ? 1 : 0,
  );
}

/**
 * `tasklane_sort_key(value)`: how a value inside a document sorts. Hyperparameters are text on the wire, so "10"
 * must sort after "9": text that reads as a finite number becomes that number (SQLite sorts numbers before text).
 */
function registerSortKey(db: Db): void {
  db.function('tasklane_sort_key', { deterministic: true }, (value: unknown) => {
    if (typeof value !== 'string') return value as number | bigint | null;
    const trimmed = value.trim();
    const number = trimmed === '' ? Number.NaN : Number(trimmed);
    return Number.isFinite(number) ? number : value;
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
      migration.run?.(db);
      record.run(migration.version, migration.name, new Date().toISOString());
    }).immediate();
  }
}

class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly lock = new SerialLock();
  private readonly repos: Repositories;

  constructor(private readonly db: Db) {
    // One Kysely for every repository: its prepared statements are cached per instance.
    const kysely = sqliteKysely(db);
    this.repos = {
      projects: new SqlProjects(kysely, SQLITE_DIALECT),
      tasks: new SqliteTasks(db),
      models: new SqliteModels(db),
      queues: new SqlQueues(kysely, SQLITE_DIALECT),
      workers: new SqlWorkers(kysely, SQLITE_DIALECT),
      events: new SqliteEvents(db),
      users: new SqlUsers(kysely, SQLITE_DIALECT),
    };
  }

  transaction<T>(work: (repos: Repositories) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // better-sqlite3 is synchronous; the lock keeps one unit of work on the connection at a time, and
    // BEGIN IMMEDIATE takes SQLite's write lock up front so other processes on the same file wait rather than
    // interleave. A read-only unit takes no write lock: in WAL mode it reads a snapshot while another process writes;
    // query_only makes a write in it fail at once rather than take the lock midway.
    return this.lock.run(async () => {
      if (options.readOnly) this.db.exec('PRAGMA query_only = ON; BEGIN');
      else this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.repos);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      } finally {
        if (options.readOnly) this.db.exec('PRAGMA query_only = OFF');
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

/**
 * Longer lists are bound as one JSON array (`IN (SELECT value FROM json_each(...))`): SQLite takes at most 32,766
 * parameters in a statement, and a listing's ids (say, the tasks that use a model) can be more.
 */
const MAX_LISTED_PARAMS = 500;

/**
 * The inside of `IN (...)` for these values, bound into `params` under names that start with `prefix`: one parameter
 * per value, or the whole list as one JSON array past `maxInline` values.
 */
function placeholders(values: readonly unknown[], params: Params, prefix: string, maxInline = MAX_LISTED_PARAMS): string {
  if (values.length > maxInline) {
    params[`${prefix}_list`] = JSON.stringify(values);
    return `SELECT value FROM json_each(@${prefix}_list)`;
  }
  return values
    .map((value, i) => {
      params[`${prefix}${i}`] = value;
      return `@${prefix}${i}`;
    })
    .join(', ');
}

/**
 * Reads the JSON documents of a table that match `where`, in the asked order (then by creation and id, so paging is
 * stable), one page when `limit` is given.
 */
function selectDocuments<T>(
  db: Db,
  table: 'tasks' | 'models',
  where: string[],
  params: Params,
  page: { orderBy?: { field: string; descending: boolean; nullsLast?: boolean }[]; limit?: number; offset?: number },
): T[] {
  const order = (page.orderBy ?? []).map(
    (o) => `${o.field} ${o.descending ? 'DESC' : 'ASC'}${o.nullsLast ? ' NULLS LAST' : ''}`,
  );
  order.push('created ASC', 'id ASC');
  const from = `FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.join(', ')}`;
  if (page.limit === undefined) {
    return (db.prepare(`SELECT data ${from}`).pluck().all(params) as string[]).map((row) => JSON.parse(row) as T);
  }
  // A page picks its ids first and reads their documents after: sorting only ids keeps the (large) documents of the
  // rows that do not make the page out of SQLite's sorter, ~3x faster on a 100,000-task project.
  params.limit = page.limit;
  params.offset = page.offset ?? 0;
  const ids = db.prepare(`SELECT id ${from} LIMIT @limit OFFSET @offset`).pluck().all(params) as string[];
  if (ids.length === 0) return [];
  const byId = new Map<string, string>();
  const read = db.prepare(`SELECT id, data FROM ${table} WHERE id IN (SELECT value FROM json_each(?))`).raw();
  for (const [id, data] of read.all(JSON.stringify(ids)) as [string, string][]) byId.set(id, data);
  return ids.flatMap((id) => {
    const data = byId.get(id);
    return data === undefined ? [] : [JSON.parse(data) as T];
  });
}

function parseRow<T>(row: unknown): T | undefined {
  return typeof row === 'string' ? (JSON.parse(row) as T) : undefined;
}

const TASK_COLUMNS = `id, name, project, parent, type, status, user, created, started, completed, last_update, last_iteration, tags, system_tags, data`;

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
    // Mirrors of the document's tags (migration 6), so that listings filter on them without parsing documents.
    tags: JSON.stringify(task.tags ?? []),
    system_tags: JSON.stringify(task.system_tags ?? []),
    data: JSON.stringify(task),
  };
}

class SqliteTasks implements TaskRepository {
  private readonly byId;
  private readonly insertStmt;
  private readonly replaceStmt;
  private readonly casStmt;
  private readonly metricsStmt;
  private readonly deleteRefsStmt;
  private readonly insertRefStmt;

  constructor(private readonly db: Db) {
    this.deleteRefsStmt = db.prepare('DELETE FROM task_models WHERE task = ?');
    this.insertRefStmt = db.prepare('INSERT INTO task_models (task, type, model) VALUES (?, ?, ?)');
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
    this.metricsStmt = db.prepare(
      `UPDATE tasks SET last_update = @last_update, last_iteration = @last_iteration, data = json_set(data,
         '$.last_metrics', json(@last_metrics), '$.last_iteration', @last_iteration, '$.last_update', @last_update)
       WHERE id = @id AND status = @expected_status`,
    );
  }

  async get(id: string) {
    return parseRow<Task>(this.byId.get(id));
  }

  async list(query: TaskQuery) {
    const params: Params = {};
    const where = taskWhere(query, params);
    const orderBy = (query.orderBy ?? []).map((o, i) => {
      if ('field' in o) return o;
      // A value inside the document (a hyperparameter, a metric): its JSON paths are bound parameters, each key
      // written as a JSON string, whose escapes SQLite reads, so that a key may hold any character (", \, ., $, [).
      const values = o.paths.map((path, j) => {
        params[`ob${i}_${j}`] = `$${path.map((part) => `.${JSON.stringify(part)}`).join('')}`;
        return `json_extract(data, @ob${i}_${j})`;
      });
      const value = values.length === 1 ? values[0]! : `COALESCE(${values.join(', ')})`;
      return { field: `tasklane_sort_key(${value})`, descending: o.descending, nullsLast: true };
    });
    return selectDocuments<Task>(this.db, 'tasks', where, params, { ...query, orderBy });
  }

  async countInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return 0;
    const params: Params = {};
    const sql = `SELECT COUNT(*) FROM tasks WHERE project IN (${placeholders(projectIds, params, 'p')})`;
    return this.db.prepare(sql).pluck().get(params) as number;
  }

  async projectStats(archived: boolean) {
    const isArchived = `EXISTS (SELECT 1 FROM json_each(tasks.system_tags) WHERE value = 'archived')`;
    const sql = `SELECT project, status, COUNT(*) AS count, MAX(last_update) AS last_update FROM tasks
      WHERE ${archived ? '' : 'NOT '}${isArchived}
        AND NOT EXISTS (SELECT 1 FROM json_each(tasks.system_tags) WHERE value = 'hidden')
      GROUP BY project, status`;
    return this.db.prepare(sql).all() as ProjectTaskStats[];
  }

  async hyperParameterNames(projectIds: string[] | undefined) {
    const params: Params = {};
    const sql = `SELECT DISTINCT section.key AS section, param.key AS name
      FROM tasks, json_each(tasks.data, '$.hyperparams') AS section, json_each(section.value) AS param
      ${inProjects(projectIds, params)} ORDER BY section, name`;
    return this.db.prepare(sql).all(params) as { section: string; name: string }[];
  }

  async metricVariants(projectIds: string[] | undefined) {
    const params: Params = {};
    const sql = `SELECT json_extract(variant.value, '$.metric') AS metric, json_extract(variant.value, '$.variant') AS variant,
        metric.key AS metric_hash, variant.key AS variant_hash
      FROM tasks, json_each(tasks.data, '$.last_metrics') AS metric, json_each(metric.value) AS variant
      ${inProjects(projectIds, params)} GROUP BY metric.key, variant.key ORDER BY metric, variant`;
    return this.db.prepare(sql).all(params) as { metric: string; variant: string; metric_hash: string; variant_hash: string }[];
  }

  async taskTags(projectIds: string[] | undefined) {
    const params: Params = {};
    const where = inProjects(projectIds, params);
    const distinct = (column: string) =>
      this.db
        .prepare(`SELECT DISTINCT tag.value FROM tasks, json_each(tasks.${column}) AS tag ${where} ORDER BY tag.value`)
        .pluck()
        .all(params) as string[];
    return { tags: distinct('tags'), system_tags: distinct('system_tags') };
  }

  async idsInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return [];
    const params: Params = {};
    const sql = `SELECT id FROM tasks WHERE project IN (${placeholders(projectIds, params, 'p')})`;
    return this.db.prepare(sql).pluck().all(params) as string[];
  }

  async insert(task: Task) {
    this.insertStmt.run(taskColumns(task));
    this.writeModelRefs(task);
  }

  async replace(task: Task, expectedStatus?: TaskStatus) {
    const columns = taskColumns(task);
    const result =
      expectedStatus === undefined
        ? this.replaceStmt.run(columns)
        : this.casStmt.run({ ...columns, expected_status: expectedStatus });
    if (result.changes === 1) this.writeModelRefs(task);
    return result.changes === 1;
  }

  async updateLastMetrics(id: string, update: TaskMetricsUpdate, expectedStatus: TaskStatus) {
    const { last_metrics, last_iteration, last_update } = update;
    const params = { id, last_metrics: JSON.stringify(last_metrics), last_iteration, last_update, expected_status: expectedStatus };
    return this.metricsStmt.run(params).changes === 1;
  }

  async delete(ids: string[]) {
    if (ids.length === 0) return 0;
    const params: Params = {};
    const list = placeholders(ids, params, 't');
    this.db.prepare(`DELETE FROM task_models WHERE task IN (${list})`).run(params);
    return this.db.prepare(`DELETE FROM tasks WHERE id IN (${list})`).run(params).changes;
  }

  async modelUses(modelIds: readonly string[]) {
    if (modelIds.length === 0) return [];
    const params: Params = {};
    const sql = `SELECT DISTINCT m.task, t.status, m.type, m.model FROM task_models m JOIN tasks t ON t.id = m.task
      WHERE m.model IN (${placeholders(modelIds, params, 'm')}) ORDER BY m.task, m.type, m.model`;
    return this.db.prepare(sql).all(params) as TaskModelUse[];
  }

  /** Mirrors the task's model lists into task_models (see migration 4). */
  private writeModelRefs(task: Task): void {
    this.deleteRefsStmt.run(task.id);
    for (const type of ['input', 'output'] as const) {
      for (const ref of task.models?.[type] ?? []) this.insertRefStmt.run(task.id, type, ref.model);
    }
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
    for (const row of rows) {
      const task = change(JSON.parse(row) as Task);
      this.replaceStmt.run(taskColumns(task));
      this.writeModelRefs(task);
    }
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

function tagCondition(
  path: string,
  filter: ListFilter | undefined,
  params: Params,
  prefix: string,
  table: 'tasks' | 'models' = 'tasks',
): string[] {
  if (!filter) return [];
  const out: string[] = [];
  const any = (list: string) => `EXISTS (SELECT 1 FROM json_each(${table}.data, '${path}') WHERE value IN (${list}))`;
  if (filter.include.length > 0) out.push(any(placeholders(filter.include, params, `${prefix}i`)));
  if (filter.exclude.length > 0) out.push(`NOT ${any(placeholders(filter.exclude, params, `${prefix}x`))}`);
  return out;
}

/** `WHERE project IN (...)` for these projects, or nothing when undefined (every task). */
function inProjects(projectIds: string[] | undefined, params: Params): string {
  if (projectIds === undefined) return '';
  return projectIds.length > 0 ? `WHERE tasks.project IN (${placeholders(projectIds, params, 'p')})` : 'WHERE 0';
}

/** Like tagCondition, on the tag columns of tasks (migration 6) rather than inside the document. */
function taskTagCondition(column: 'tags' | 'system_tags', filter: ListFilter | undefined, params: Params, prefix: string): string[] {
  if (!filter) return [];
  const out: string[] = [];
  const any = (list: string) => `EXISTS (SELECT 1 FROM json_each(tasks.${column}) WHERE value IN (${list}))`;
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
  where.push(...taskTagCondition('tags', query.tags, params, 'tg'));
  where.push(...taskTagCondition('system_tags', query.systemTags, params, 'sy'));
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
    where.push(`NOT EXISTS (SELECT 1 FROM json_each(tasks.system_tags) WHERE value = 'hidden')`);
  }
  if (query.lastUpdateBefore !== undefined) {
    params.lastUpdateBefore = query.lastUpdateBefore;
    where.push('last_update < @lastUpdateBefore');
  }
  return where;
}

const MODEL_COLUMNS = `id, name, project, task, parent, framework, uri, ready, user, created, last_update, last_iteration, data`;

function modelColumns(model: Model) {
  return {
    id: model.id,
    name: model.name,
    project: model.project,
    task: model.task,
    parent: model.parent,
    framework: model.framework,
    uri: model.uri,
    ready: model.ready ? 1 : 0,
    user: model.user ?? null,
    created: model.created,
    last_update: model.last_update,
    last_iteration: model.last_iteration,
    data: JSON.stringify(model),
  };
}

class SqliteModels implements ModelRepository {
  private readonly byId;
  private readonly insertStmt;
  private readonly replaceStmt;

  constructor(private readonly db: Db) {
    this.byId = db.prepare('SELECT data FROM models WHERE id = ?').pluck();
    const names = MODEL_COLUMNS.split(', ');
    this.insertStmt = db.prepare(`INSERT INTO models (${MODEL_COLUMNS}) VALUES (${names.map((c) => `@${c}`).join(', ')})`);
    const sets = names
      .filter((c) => c !== 'id')
      .map((c) => `${c} = @${c}`)
      .join(', ');
    this.replaceStmt = db.prepare(`UPDATE models SET ${sets} WHERE id = @id`);
  }

  async get(id: string) {
    return parseRow<Model>(this.byId.get(id));
  }

  async list(query: ModelQuery) {
    const params: Params = {};
    return selectDocuments<Model>(this.db, 'models', modelWhere(query, params), params, query);
  }

  async insert(model: Model) {
    this.insertStmt.run(modelColumns(model));
  }

  async replace(model: Model) {
    this.replaceStmt.run(modelColumns(model));
  }

  async delete(ids: readonly string[]) {
    if (ids.length === 0) return 0;
    const params: Params = {};
    return this.db.prepare(`DELETE FROM models WHERE id IN (${placeholders(ids, params, 'm')})`).run(params).changes;
  }
}

function inList(column: string, values: readonly string[] | undefined, params: Params, prefix: string): string[] {
  if (!values) return [];
  return [values.length > 0 ? `${column} IN (${placeholders(values, params, prefix)})` : '0'];
}

function modelWhere(query: ModelQuery, params: Params): string[] {
  const where: string[] = [];
  where.push(...inList('id', query.ids, params, 'id'));
  if (query.namePattern !== undefined) {
    params.namePattern = query.namePattern;
    where.push('regexp(@namePattern, name)');
  }
  where.push(...inList('project', query.projects, params, 'pr'));
  where.push(...inList('task', query.tasks, params, 'tk'));
  where.push(...inList('uri', query.uris, params, 'ur'));
  where.push(...listCondition('framework', query.frameworks, params, 'fw'));
  where.push(...tagCondition('$.tags', query.tags, params, 'tg', 'models'));
  where.push(...tagCondition('$.system_tags', query.systemTags, params, 'sy', 'models'));
  if (query.ready !== undefined) where.push(query.ready ? 'ready = 1' : 'ready = 0');
  if (query.users && query.users.length > 0) where.push(`user IN (${placeholders(query.users, params, 'u')})`);
  if (query.searchText) {
    params.searchText = `%${query.searchText.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    where.push(
      `(id LIKE @searchText ESCAPE '\\' OR name LIKE @searchText ESCAPE '\\' OR json_extract(data, '$.comment') LIKE @searchText ESCAPE '\\')`,
    );
  }
  if (!query.includeHidden) {
    where.push(`NOT EXISTS (SELECT 1 FROM json_each(models.data, '$.system_tags') WHERE value = 'hidden')`);
  }
  return where;
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
  plot_data: Buffer | null;
}

/** A row of other_events as read back. */
interface OtherRow {
  type: OtherEventRecord['type'];
  id: string;
  iter: number | null;
  metric: string;
  variant: string;
  timestamp: number;
  data: string;
  plot_data: Buffer | null;
}

const LOG_COLUMNS = `'log' AS type, event_id AS id, timestamp, level, worker, msg`;
const OTHER_COLUMNS = 'type, event_id AS id, iter, metric, variant, timestamp, data, plot_data';

/** The iteration of single values; they are stored with the points of their series but left out of summaries. */
const SINGLE = SINGLE_VALUE_ITERATION;

/** plot_str of at least this many characters is stored zlib-compressed, as ClearML does. */
export const PLOT_COMPRESSION_THRESHOLD = 100_000;

const DEBUG_IMAGE = `'training_debug_image'`;

class SqliteEvents implements EventRepository {
  /** The hot path of scalars: ingest and charts. */
  private readonly scalars;
  private readonly seriesOfTaskStmt;
  private readonly latestStmt;
  private readonly insertLogStmt;
  private readonly upsertOtherStmt;
  private readonly capStmt;
  private readonly imageRangeStmt;
  private readonly countLogsStmt;
  private readonly logChunkStmt;
  private readonly deleteStmts;
  private readonly deleteSeriesStmt;
  /** Statements built from a query's shape (filters present or not), prepared once per shape. */
  private readonly prepared = new Map<string, Database.Statement>();

  constructor(private readonly db: Db) {
    this.scalars = new SqliteScalarRows(db);
    this.seriesOfTaskStmt = db.prepare('SELECT id, metric, variant FROM event_series WHERE task = ? ORDER BY metric, variant');
    this.latestStmt = db.prepare('SELECT iter, value, timestamp FROM scalar_events WHERE series = ? ORDER BY iter DESC LIMIT ?');
    this.insertLogStmt = db.prepare(
      `INSERT INTO log_events (task, event_id, timestamp, level, worker, msg)
       VALUES (@task, @id, @timestamp, @level, @worker, @msg) ON CONFLICT (task, event_id) DO NOTHING`,
    );
    this.upsertOtherStmt = db.prepare(
      `INSERT INTO other_events (task, event_id, type, iter, metric, variant, timestamp, data, plot_data)
       VALUES (@task, @id, @type, @iter, @metric, @variant, @timestamp, @data, @plot_data)
       ON CONFLICT (task, event_id) DO UPDATE SET type = excluded.type, iter = excluded.iter, metric = excluded.metric,
         variant = excluded.variant, timestamp = excluded.timestamp, data = excluded.data, plot_data = excluded.plot_data`,
    );
    const sampleOf = `task = @task AND type = ${DEBUG_IMAGE} AND metric = @metric AND variant = @variant`;
    this.capStmt = db.prepare(
      `DELETE FROM other_events WHERE ${sampleOf} AND iter < (
         SELECT iter FROM (SELECT DISTINCT iter FROM other_events WHERE ${sampleOf} AND iter IS NOT NULL ORDER BY iter DESC
         LIMIT 1 OFFSET @skip))`,
    );
    this.imageRangeStmt = db.prepare(`SELECT MIN(iter) AS min, MAX(iter) AS max FROM other_events WHERE ${sampleOf} AND iter IS NOT NULL`);
    this.countLogsStmt = db.prepare('SELECT COUNT(*) FROM log_events WHERE task = ?').pluck();
    this.logChunkStmt = db.prepare(
      `SELECT ${LOG_COLUMNS}, seq FROM log_events WHERE task = @task AND (timestamp > @timestamp OR (timestamp = @timestamp AND seq > @seq))
       ORDER BY timestamp, seq LIMIT @limit`,
    );
    this.deleteStmts = [
      db.prepare('DELETE FROM scalar_summaries WHERE series IN (SELECT id FROM event_series WHERE task = ?)'),
      db.prepare('DELETE FROM scalar_events WHERE series IN (SELECT id FROM event_series WHERE task = ?)'),
      db.prepare('DELETE FROM log_events WHERE task = ?'),
      db.prepare('DELETE FROM other_events WHERE task = ?'),
    ];
    this.deleteSeriesStmt = db.prepare('DELETE FROM event_series WHERE task = ?');
  }

  /** A statement for SQL that depends on the query's shape, prepared on first use. */
  private statement(sql: string): Database.Statement {
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.prepared.set(sql, stmt);
    }
    return stmt;
  }

  async appendScalars(task: string, slices: readonly ScalarSlice[]) {
    return appendScalars(this.scalars, task, slices);
  }

  async listSeries(task: string) {
    return this.seriesOfTaskStmt.all(task) as SeriesRecord[];
  }

  async charts(query: ChartQuery) {
    return readCharts(this.scalars, query);
  }

  async latestPoints(series: number, count: number) {
    return this.latestStmt.all(series, count) as ScalarPoint[];
  }

  async singleValues(tasks: readonly string[], metrics?: MetricVariants[]) {
    if (tasks.length === 0) return [];
    const params: Params = {};
    const metric = metricCondition(metrics, params, { metric: 'e.metric', variant: 'e.variant' });
    const sql = `SELECT e.task, e.metric, e.variant, s.value, s.timestamp FROM event_series e
      JOIN scalar_events s ON s.series = e.id AND s.iter = ${SINGLE}
      WHERE e.task IN (${placeholders(tasks, params, 't')})${metric ? ` AND (${metric})` : ''}
      ORDER BY e.task, e.metric, e.variant`;
    return this.db.prepare(sql).all(params) as SingleValueRecord[];
  }

  async taskMetrics(task: string, type?: EventType) {
    if (type === 'log') return [];
    const parts: string[] = [];
    if (type === undefined || type === 'training_stats_scalar') {
      parts.push(
        `SELECT metric FROM event_series e WHERE e.task = @task
         AND EXISTS (SELECT 1 FROM scalar_events s WHERE s.series = e.id AND s.iter > ${SINGLE})`,
      );
    }
    if (type !== 'training_stats_scalar') {
      parts.push(`SELECT metric FROM other_events WHERE task = @task${type ? ' AND type = @type' : ''}`);
    }
    const sql = `SELECT DISTINCT metric FROM (${parts.join(' UNION ALL ')})`;
    const names = this.statement(sql).pluck().all(type ? { task, type } : { task }) as string[];
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
    for (const [i, e] of events.entries()) {
      let data = e.data;
      const plotData = compressed[i] ?? null;
      if (plotData) {
        const { plot_str: _plot, ...rest } = data;
        data = rest;
      }
      this.upsertOtherStmt.run({
        task: e.task,
        id: e.id,
        type: e.type,
        iter: e.iter,
        metric: e.metric,
        variant: e.variant,
        timestamp: e.timestamp,
        data: JSON.stringify(data),
        plot_data: plotData,
      });
    }
  }

  async capDebugImages(task: string, metric: string, variant: string, keep: number) {
    return this.capStmt.run({ task, metric, variant, skip: keep - 1 }).changes;
  }

  async logPage(query: LogPageQuery) {
    const { task, limit, descending, fromTimestamp, search } = query;
    const direction = descending ? 'DESC' : 'ASC';
    const matches = search !== undefined ? ' AND tasklane_icontains(msg, @search)' : '';
    const from = fromTimestamp !== undefined ? ` AND timestamp ${descending ? '<' : '>'} @from` : '';
    const searched = search !== undefined ? { search: search.toLowerCase() } : {};
    const params = { task, limit, ...(fromTimestamp !== undefined ? { from: fromTimestamp } : {}), ...searched };
    const rows = this.statement(
      `SELECT ${LOG_COLUMNS}, seq FROM log_events WHERE task = @task${from}${matches}
       ORDER BY timestamp ${direction}, seq ${direction} LIMIT @limit`,
    ).all(params) as (LogEventRecord & { seq: number })[];
    const last = rows.at(-1);
    if (!last || rows.length < limit) return rows.map((row) => toLogRecord(task, row));
    // The rest of the lines that share the last timestamp, so that the next page (strictly past it) misses none.
    const tail = this.statement(
      `SELECT ${LOG_COLUMNS} FROM log_events WHERE task = @task AND timestamp = @timestamp AND seq ${descending ? '<' : '>'} @seq${matches}
       ORDER BY seq ${direction}`,
    ).all({ task, timestamp: last.timestamp, seq: last.seq, ...searched }) as LogEventRecord[];
    return [...rows, ...tail].map((row) => toLogRecord(task, row));
  }

  async countLogs(task: string, search?: string) {
    if (search === undefined) return this.countLogsStmt.get(task) as number;
    return this.statement('SELECT COUNT(*) FROM log_events WHERE task = @task AND tasklane_icontains(msg, @search)')
      .pluck()
      .get({ task, search: search.toLowerCase() }) as number;
  }

  async forEachLog(task: string, chunk: (events: LogEventRecord[]) => void | Promise<void>) {
    const limit = 1000;
    let after = { timestamp: -Infinity, seq: 0 };
    for (;;) {
      const rows = this.logChunkStmt.all({ task, ...after, limit }) as (LogEventRecord & { seq: number })[];
      if (rows.length > 0) await chunk(rows.map((row) => toLogRecord(task, row)));
      if (rows.length < limit) return;
      const last = rows.at(-1)!;
      after = { timestamp: last.timestamp, seq: last.seq };
    }
  }

  async listEvents(query: EventListQuery): Promise<EventRecord[]> {
    const params: Params = { task: query.task, limit: query.limit, offset: query.offset };
    const union = eventUnion(query, params);
    if (union === undefined) return [];
    const direction = query.descending ? 'DESC' : 'ASC';
    const sql = `SELECT type, id, timestamp, iter, metric, variant, value, level, worker, msg, data, plot_data FROM (${union})
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

  async plotPage(query: PlotQuery) {
    const params: Params = { task: query.task, iters: query.iters };
    const metric = metricCondition(query.metrics, params, { metric: 'metric', variant: 'variant' });
    // DENSE_RANK numbers the iterations of each plot from its latest; plots without an iteration rank last.
    const ranked = `WITH ranked AS (
        SELECT rowid AS ord, ${OTHER_COLUMNS}, DENSE_RANK() OVER (PARTITION BY metric, variant ORDER BY iter DESC) AS rank
        FROM other_events WHERE task = @task AND type = 'plot'${metric ? ` AND (${metric})` : ''})`;
    const total = this.db.prepare(`${ranked} SELECT COUNT(*) FROM ranked WHERE rank <= @iters`).pluck().get(params) as number;
    const rows = this.db
      .prepare(
        `${ranked} SELECT type, id, iter, metric, variant, timestamp, data, plot_data FROM ranked WHERE rank <= @iters
         ORDER BY timestamp, metric, variant, iter, ord LIMIT @limit OFFSET @offset`,
      )
      .all({ ...params, limit: query.limit, offset: query.offset }) as OtherRow[];
    return { events: rows.map((row) => toOtherRecord(query.task, row)), total };
  }

  async debugImageIterations(scope: DebugImageScope, range: { before?: number; after?: number }, limit: number) {
    const params: Params = { task: scope.task, limit };
    const metric = metricCondition(scope.metrics, params, { metric: 'metric', variant: 'variant' });
    let bound = '';
    if (range.before !== undefined) {
      params.before = range.before;
      bound = ' AND iter < @before';
    } else if (range.after !== undefined) {
      params.after = range.after;
      bound = ' AND iter > @after';
    }
    const sql = `SELECT DISTINCT iter FROM other_events WHERE task = @task AND type = ${DEBUG_IMAGE} AND iter IS NOT NULL${bound}
      ${metric ? ` AND (${metric})` : ''} ORDER BY iter ${range.after !== undefined ? 'ASC' : 'DESC'} LIMIT @limit`;
    return this.db.prepare(sql).pluck().all(params) as number[];
  }

  async debugImagesAt(scope: DebugImageScope, iters: readonly number[]) {
    if (iters.length === 0) return [];
    const params: Params = { task: scope.task };
    const metric = metricCondition(scope.metrics, params, { metric: 'metric', variant: 'variant' });
    const sql = `SELECT ${OTHER_COLUMNS} FROM other_events WHERE task = @task AND type = ${DEBUG_IMAGE}
      AND iter IN (${placeholders(iters, params, 'i')})${metric ? ` AND (${metric})` : ''}
      ORDER BY iter DESC, metric, variant, timestamp, rowid`;
    return (this.db.prepare(sql).all(params) as OtherRow[]).map((row) => toOtherRecord(scope.task, row));
  }

  async debugImageRange(task: string, metric: string, variant: string) {
    const row = this.imageRangeStmt.get({ task, metric, variant }) as { min: number | null; max: number | null };
    return row.min === null || row.max === null ? undefined : { min: row.min, max: row.max };
  }

  async debugImageAtOrBefore(task: string, metric: string, variant: string, iteration?: number) {
    const bound = iteration !== undefined ? ' AND iter <= @iteration' : '';
    const row = this.statement(
      `SELECT ${OTHER_COLUMNS} FROM other_events WHERE task = @task AND type = ${DEBUG_IMAGE} AND metric = @metric
       AND variant = @variant AND iter IS NOT NULL${bound} ORDER BY iter DESC, timestamp DESC, rowid DESC LIMIT 1`,
    ).get({ task, metric, variant, ...(iteration !== undefined ? { iteration } : {}) }) as OtherRow | undefined;
    return row ? toOtherRecord(task, row) : undefined;
  }

  async debugImageNeighbour(
    scope: DebugImageScope,
    from: DebugImagePosition,
    earlier: boolean,
    where: 'sameIteration' | 'otherIteration',
  ) {
    const params: Params = { task: scope.task, iter: from.iter, metric: from.metric, variant: from.variant };
    const metric = metricCondition(scope.metrics, params, { metric: 'metric', variant: 'variant' });
    const direction = earlier ? 'DESC' : 'ASC';
    const position =
      where === 'sameIteration'
        ? `iter = @iter AND (metric, variant) ${earlier ? '<' : '>'} (@metric, @variant)`
        : `iter ${earlier ? '<' : '>'} @iter`;
    // Several samples of one iteration and variant (other keys): the newest.
    const sql = `SELECT ${OTHER_COLUMNS} FROM other_events WHERE task = @task AND type = ${DEBUG_IMAGE} AND ${position}
      ${metric ? ` AND (${metric})` : ''}
      ORDER BY iter ${direction}, metric ${direction}, variant ${direction}, timestamp DESC, rowid DESC LIMIT 1`;
    const row = this.db.prepare(sql).get(params) as OtherRow | undefined;
    return row ? toOtherRecord(scope.task, row) : undefined;
  }

  async deleteForTask(task: string) {
    let deleted = 0;
    const [summaries, ...events] = this.deleteStmts;
    summaries!.run(task);
    for (const stmt of events) deleted += stmt.run(task).changes;
    this.deleteSeriesStmt.run(task);
    return deleted;
  }
}

function toLogRecord(task: string, row: LogEventRecord): LogEventRecord {
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

/** Variants of one metrics-filter entry bound one parameter each; longer lists are bound as one JSON array. */
const MAX_INLINE_FILTER_VARIANTS = 8;

/** `(metric = ? AND variant IN (...)) OR ...` over the given columns; undefined when there is no filter. */
function metricCondition(
  metrics: MetricVariants[] | undefined,
  params: Params,
  columns: { metric: string; variant: string },
): string | undefined {
  if (metrics === undefined) return undefined;
  if (metrics.length === 0) return '0';
  return metrics
    .map(({ metric, variants }, i) => {
      params[`m${i}`] = metric;
      // All but the shortest lists of variants go as one JSON array each: SQLite takes seconds to prepare a statement
      // of a hundred IN lists of a hundred parameters (a metrics filter may list 10,000 variants).
      const variantPart =
        variants && variants.length > 0
          ? ` AND ${columns.variant} IN (${placeholders(variants, params, `m${i}v`, MAX_INLINE_FILTER_VARIANTS)})`
          : '';
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
      `SELECT ${LOG_COLUMNS}, NULL AS iter, '' AS metric, '' AS variant, NULL AS value, NULL AS data, NULL AS plot_data, seq AS ord
       FROM log_events WHERE task = @task`,
    );
  }
  if (wants('training_stats_scalar')) {
    const metric = metricCondition(query.metrics, params, { metric: 'e.metric', variant: 'e.variant' });
    parts.push(
      `SELECT 'training_stats_scalar' AS type, NULL AS id, s.timestamp, NULL AS level, NULL AS worker, NULL AS msg, s.iter,
         e.metric, e.variant, s.value, NULL AS data, NULL AS plot_data, 0 AS ord
       FROM scalar_events s JOIN event_series e ON e.id = s.series WHERE e.task = @task${metric ? ` AND (${metric})` : ''}`,
    );
  }
  const others = (['training_stats_vector', 'training_debug_image', 'plot'] as const).filter(wants);
  if (others.length > 0) {
    const metric = metricCondition(query.metrics, params, { metric: 'metric', variant: 'variant' });
    parts.push(
      `SELECT type, event_id AS id, timestamp, NULL AS level, NULL AS worker, NULL AS msg, iter, metric, variant,
         NULL AS value, data, plot_data, rowid AS ord
       FROM other_events WHERE task = @task AND type IN (${placeholders(others, params, 'ot')})${metric ? ` AND (${metric})` : ''}`,
    );
  }
  return parts.length > 0 ? parts.join('\nUNION ALL\n') : undefined;
}
