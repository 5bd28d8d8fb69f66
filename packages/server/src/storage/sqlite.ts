import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Model,
  type Task,
  type TaskStatus,
} from '@tasklane/protocol';
import { SqlEvents } from './events.js';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import { compilePattern } from './patterns.js';
import { SerialLock } from './serial-lock.js';
import { SqliteEventRows } from './sqlite-event-rows.js';
import { SQLITE_DIALECT } from './sql/dialect.js';
import { sqliteKysely } from './sql/sqlite-kysely.js';
import { SqlProjects } from './projects.js';
import { SqlQueues, SqlWorkers } from './queues.js';
import { SqlUsers } from './users.js';
import type {
  ListFilter,
  ModelQuery,
  ModelRepository,
  ProjectTaskStats,
  Repositories,
  Store,
  TaskMetricsUpdate,
  TaskModelUse,
  TaskQuery,
  TaskRepository,
  TransactionOptions,
} from './store.js';

type Db = Database.Database;
type Params = Record<string, unknown>;

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
      events: new SqlEvents(sqliteKysely(db), SQLITE_DIALECT, new SqliteEventRows(db)),
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
