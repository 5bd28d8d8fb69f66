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
];
