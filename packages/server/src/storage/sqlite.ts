import { TasklaneError } from '@tasklane/protocol';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqlEvents } from './events.js';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import { compilePattern } from './patterns.js';
import { SerialLock } from './serial-lock.js';
import { SqliteEventRows } from './sqlite-event-rows.js';
import { SQLITE_DIALECT } from './sql/dialect.js';
import { sqliteKysely } from './sql/sqlite-kysely.js';
import { SqlModels } from './models.js';
import { SqlProjects } from './projects.js';
import { SqlQueues, SqlWorkers } from './queues.js';
import { SqlTasks } from './tasks.js';
import { SqlUsers } from './users.js';
import type { Repositories, Store, TransactionOptions } from './store.js';

type Db = Database.Database;

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
  try {
    migrate(db, SQLITE_MIGRATIONS, file);
  } catch (error) {
    db.close();
    throw error;
  }
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

function migrate(db: Db, migrations: readonly Migration[], file: string): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  // A newer Tasklane migrated this file: this one would misread what it does not know. Refused before any change.
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `The SQLite database ${file} has schema version ${newest}, newer than this Tasklane server knows (${known}): a newer ` +
        'Tasklane migrated it. Run that version (or a later one), or point the server at another data dir.',
      { schema_version: newest, known_version: known },
    );
  }
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
      tasks: new SqlTasks(kysely, SQLITE_DIALECT),
      models: new SqlModels(kysely, SQLITE_DIALECT),
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

  async transactionIfIdle<T>(_name: string, work: (repos: Repositories) => Promise<T>): Promise<{ value: T }> {
    // Units of work already run one at a time, in this process (the lock) and across processes on the file (BEGIN
    // IMMEDIATE): a second round waits for the first and then sees what it did.
    return { value: await this.transaction(work) };
  }

  async schemaVersion(): Promise<number> {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
    return row.v ?? 0;
  }

  async close(): Promise<void> {
    await this.lock.run(async () => this.db.close());
  }
}
