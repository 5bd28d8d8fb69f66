/** One step of the schema. Versions only ever grow; a released migration is never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
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
];
