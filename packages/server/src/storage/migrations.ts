import type Database from 'better-sqlite3';
import { capJsonDepth } from '@tasklane/protocol';

/** One step of the schema. Versions only ever grow; a released migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Work SQL cannot do, run after `sql` in the same transaction. */
  run?: (db: Database.Database) => void;
}

/** The tables that keep a JSON document per row in `data`. */
const DOCUMENT_TABLES = ['projects', 'tasks', 'queues', 'workers', 'models', 'other_events'] as const;

/**
 * Rewrites the documents that SQLite's JSON functions cannot read — values nested deeper than its limit of 1,000,
 * which servers before the request edge limited depth stored as they came — with every part deeper than 64 levels
 * kept as its JSON text. One such row made every query that reads documents (search, sorting by hyperparameter,
 * projects.get_hyper_parameters) fail for every client. Nothing is lost: the deep part is still there, as text.
 */
function repairUnreadableDocuments(db: Database.Database): void {
  for (const table of DOCUMENT_TABLES) {
    const rows = db.prepare(`SELECT rowid, data FROM ${table} WHERE json_valid(data) = 0`).all() as { rowid: number; data: string }[];
    const update = db.prepare(`UPDATE ${table} SET data = ? WHERE rowid = ?`);
    for (const row of rows) {
      let value: unknown;
      try {
        value = JSON.parse(row.data);
      } catch {
        continue; // not JSON at all: nothing of ours wrote it, and nothing here can read it either
      }
      update.run(JSON.stringify(capJsonDepth(value)), row.rowid);
    }
  }
}

/** Iterations per block of each summary level, as migration 3 created them (storage/scalar-summaries.ts). */
const MIGRATION_3_BLOCK_SIZES = [32, 256, 2048, 16_384, 131_072, 1_048_576];

/**
 * Fills the summaries of one level from the points stored before migration 3: per block, count, sum, first and
 * last iteration, last value, and the lowest and highest point (ties to the earliest iteration). Single values
 * (iteration -2^31) are not summarized. The bucket is a floor division, also for negative iterations.
 */
function backfillSummaries(level: number, blockSize: number): string {
  const bucket = `CASE WHEN iter >= 0 THEN iter / ${blockSize} ELSE (iter - ${blockSize - 1}) / ${blockSize} END`;
  return `
    INSERT INTO scalar_summaries (series, level, bucket, min_iter, max_iter, count, sum_value, min_value, min_value_iter,
      max_value, max_value_iter, last_value)
    SELECT series, ${level}, bucket, MIN(iter), MAX(iter), COUNT(*), TOTAL(value), MIN(value), MIN(low_iter), MAX(value),
      MIN(high_iter), MIN(last_value)
    FROM (
      SELECT series, iter, value, bucket,
        FIRST_VALUE(iter) OVER (PARTITION BY series, bucket ORDER BY value ASC, iter ASC) AS low_iter,
        FIRST_VALUE(iter) OVER (PARTITION BY series, bucket ORDER BY value DESC, iter ASC) AS high_iter,
        FIRST_VALUE(value) OVER (PARTITION BY series, bucket ORDER BY iter DESC) AS last_value
      FROM (SELECT series, iter, value, ${bucket} AS bucket FROM scalar_events WHERE iter > -2147483648)
    )
    GROUP BY series, bucket;`;
}

/** SQLite schema history. Each migration runs in its own transaction together with its record. */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'projects, tasks, queues, workers',
    sql: `
      CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        parent TEXT REFERENCES projects(id),
        created TEXT NOT NULL,
        last_update TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE INDEX projects_parent ON projects(parent);

      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        project TEXT,
        parent TEXT,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        user TEXT,
        created TEXT NOT NULL,
        started TEXT,
        completed TEXT,
        last_update TEXT NOT NULL,
        last_iteration INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL
      );
      CREATE INDEX tasks_project ON tasks(project, created);
      CREATE INDEX tasks_status ON tasks(status, last_update);
      CREATE INDEX tasks_parent ON tasks(parent);
      CREATE INDEX tasks_created ON tasks(created);

      CREATE TABLE queues (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        data TEXT NOT NULL
      );

      CREATE TABLE queue_entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        added TEXT NOT NULL
      );
      CREATE INDEX queue_entries_queue ON queue_entries(queue, seq);
      CREATE INDEX queue_entries_task ON queue_entries(task);

      CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        last_activity_time TEXT NOT NULL,
        data TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'events: scalar series, console lines, other events',
    // Scalars are the bulk: a narrow WITHOUT ROWID table keyed by a small integer series id (task/metric/variant in
    // event_series) nearly doubles insert speed over text keys. other_events keeps a rowid because its rows (plots)
    // can be large.
    sql: `
      CREATE TABLE event_series (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        metric TEXT NOT NULL,
        variant TEXT NOT NULL,
        UNIQUE (task, metric, variant)
      );

      CREATE TABLE scalar_events (
        series INTEGER NOT NULL,
        iter INTEGER NOT NULL,
        value REAL NOT NULL,
        timestamp INTEGER NOT NULL,
        PRIMARY KEY (series, iter)
      ) WITHOUT ROWID;

      CREATE TABLE log_events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        task TEXT NOT NULL,
        event_id TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        level TEXT NOT NULL,
        worker TEXT,
        msg TEXT NOT NULL,
        UNIQUE (task, event_id)
      );
      CREATE INDEX log_events_time ON log_events(task, timestamp, seq);

      CREATE TABLE other_events (
        task TEXT NOT NULL,
        event_id TEXT NOT NULL,
        type TEXT NOT NULL,
        iter INTEGER,
        metric TEXT NOT NULL,
        variant TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (task, event_id)
      );
      CREATE INDEX other_events_metric ON other_events(task, type, metric, variant, iter);
      CREATE INDEX other_events_time ON other_events(task, timestamp);
    `,
  },
  {
    version: 3,
    name: 'events: scalar summaries for charts, compressed plots',
    // scalar_summaries: per series, level and block of iterations, what a chart needs (see scalar-summaries.ts);
    // `level` is an index into the block sizes above. plot_data: plot_str of 100,000 characters or more, zlib
    // compressed (ClearML compresses them too); plot_str is then left out of `data`.
    sql: `
      CREATE TABLE scalar_summaries (
        series INTEGER NOT NULL,
        level INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        min_iter INTEGER NOT NULL,
        max_iter INTEGER NOT NULL,
        count INTEGER NOT NULL,
        sum_value REAL NOT NULL,
        min_value REAL NOT NULL,
        min_value_iter INTEGER NOT NULL,
        max_value REAL NOT NULL,
        max_value_iter INTEGER NOT NULL,
        last_value REAL NOT NULL,
        PRIMARY KEY (series, level, bucket)
      ) WITHOUT ROWID;
      ${MIGRATION_3_BLOCK_SIZES.map((size, level) => backfillSummaries(level, size)).join('\n')}

      ALTER TABLE other_events ADD COLUMN plot_data BLOB;
      CREATE INDEX other_events_iter ON other_events(task, type, iter);
    `,
  },
  {
    version: 4,
    name: 'models, and which tasks use them',
    // task_models mirrors the models.input/models.output lists of each task (the task row stays the truth; the task
    // repository rewrites a task's rows with the task), so that "which tasks use model X" is an index lookup rather
    // than a scan of every task's JSON. Rows of tasks stored before this migration are filled in here.
    sql: `
      CREATE TABLE models (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        project TEXT,
        task TEXT,
        parent TEXT,
        framework TEXT,
        uri TEXT NOT NULL,
        ready INTEGER NOT NULL,
        user TEXT,
        created TEXT NOT NULL,
        last_update TEXT NOT NULL,
        last_iteration INTEGER NOT NULL DEFAULT 0,
        data TEXT NOT NULL
      );
      CREATE INDEX models_project ON models(project, created);
      CREATE INDEX models_task ON models(task);
      CREATE INDEX models_created ON models(created);

      CREATE TABLE task_models (
        task TEXT NOT NULL,
        type TEXT NOT NULL,
        model TEXT NOT NULL
      );
      CREATE INDEX task_models_task ON task_models(task);
      CREATE INDEX task_models_model ON task_models(model);
      INSERT INTO task_models (task, type, model)
        SELECT tasks.id, 'input', json_extract(ref.value, '$.model')
        FROM tasks, json_each(tasks.data, '$.models.input') AS ref
        WHERE json_extract(ref.value, '$.model') IS NOT NULL
        UNION ALL
        SELECT tasks.id, 'output', json_extract(ref.value, '$.model')
        FROM tasks, json_each(tasks.data, '$.models.output') AS ref
        WHERE json_extract(ref.value, '$.model') IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'queue priority',
    // Higher priority leaves the queue first; equal priorities keep their arrival order (seq).
    sql: `
      ALTER TABLE queue_entries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX queue_entries_order ON queue_entries(queue, priority DESC, seq);
    `,
  },
  {
    version: 6,
    name: 'task tags as columns, listing index',
    // The web UI lists one project's tasks, archived ones left out, newest update first, a page at a time. With the
    // tags only inside the JSON document, every such page parsed every task of the project (~0.8 s at 100,000 tasks).
    // Tags in their own columns, and an index that holds the listing order and the system tags, make the first page
    // an index walk and the per-project counts an index scan.
    sql: `
      ALTER TABLE tasks ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE tasks ADD COLUMN system_tags TEXT NOT NULL DEFAULT '[]';
      UPDATE tasks SET tags = COALESCE(json_extract(data, '$.tags'), '[]'),
        system_tags = COALESCE(json_extract(data, '$.system_tags'), '[]');
      CREATE INDEX tasks_project_update ON tasks(project, last_update, system_tags, status);
    `,
  },
  {
    version: 7,
    name: 'documents nested too deep for SQLite made readable',
    sql: '',
    run: repairUnreadableDocuments,
  },
  {
    version: 8,
    name: 'users and key pairs',
    // Passwords and secrets are stored as salted scrypt hashes only. A key pair is never deleted, only revoked (also
    // when its user is removed), so a client using it is told why it stopped working; users_by_name makes names
    // unique ignoring case, so "Alice" cannot be created beside "alice".
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        display_name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('admin', 'user')),
        password_hash TEXT,
        created TEXT NOT NULL
      );
      CREATE UNIQUE INDEX users_by_name ON users(name COLLATE NOCASE);
      CREATE TABLE credentials (
        access_key TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        label TEXT,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked TEXT
      );
      CREATE INDEX credentials_by_user ON credentials(user_id, created);
    `,
  },
  {
    version: 9,
    name: 'web sign-in sessions',
    // A web sign-in's token names its session; signing out (or a new password) ends the session, and with it every
    // token of it, copies included. Rows past their expiry are deleted as new sessions start.
    sql: `
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created TEXT NOT NULL,
        expires TEXT NOT NULL,
        ended TEXT
      );
      CREATE INDEX sessions_by_user ON sessions(user_id);
      CREATE INDEX sessions_by_expiry ON sessions(expires);
    `,
  },
  {
    version: 10,
    name: 'server secrets',
    // The token-signing key lives in the database, so every server process on it signs and checks tokens alike
    // (it was a file in each data dir; a server takes that file's key on first start, so tokens stay valid).
    sql: `
      CREATE TABLE server_secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created TEXT NOT NULL
      );
    `,
  },
];

/** @internal The block sizes migration 3 summarized with; they must equal SUMMARY_BLOCK_SIZES (a test checks). */
export const MIGRATION_3_SUMMARY_BLOCK_SIZES: readonly number[] = MIGRATION_3_BLOCK_SIZES;
