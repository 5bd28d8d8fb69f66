import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { QueueEntry, Task, TaskStatus } from '@tasklane/protocol';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import { SerialLock } from './serial-lock.js';
import type {
  ListFilter,
  ProjectRecord,
  ProjectRepository,
  QueueRecord,
  QueueRepository,
  Repositories,
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
