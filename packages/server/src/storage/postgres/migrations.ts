/** One step of the PostgreSQL schema. Versions only ever grow; a released migration is never edited. */
export interface PostgresMigration {
  version: number;
  name: string;
  /** Runs in one transaction with its record in schema_migrations. */
  sql: string;
}

/**
 * Text compares byte for byte, as SQLite's does (BINARY), whatever the database's default collation: listings sort
 * the same on both stores, and `lower()` folds ASCII letters only, as SQLite's NOCASE index does.
 */
const TEXT = 'text COLLATE "C"';

/**
 * PostgreSQL schema history. Version numbers mean the same schema as on SQLite (migrations.ts): PostgreSQL starts at
 * version 10, which creates at once what SQLite versions 1–10 built step by step, so a database of either kind at
 * version N holds the same tables. A later change is one migration per store, under the same number (a test checks
 * that both lists end at the same version).
 *
 * Types, against SQLite's: documents (`data`) and tag lists are `jsonb` (the pool reads them back as JSON text, see
 * pool.ts); ids and times are text (ISO times, as on SQLite); iterations, event timestamps (epoch milliseconds),
 * counts and row ids are `bigint` (SQLite's INTEGER is 64 bits); scalar values `double precision`; flags, priorities
 * and levels `integer`, as the ints SQLite keeps. What SQLite numbers by rowid gets an identity column: `seq` of
 * queue_entries and log_events (AUTOINCREMENT there), `seq` of other_events (SQLite orders it by its implicit rowid,
 * kept by an upsert, as an identity is by ON CONFLICT DO UPDATE), `id` of event_series (INTEGER PRIMARY KEY).
 * SQLite's data repairs (versions 4, 6, 7) have nothing to repair in a new database and are left out.
 */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 10,
    name: 'the schema of SQLite versions 1-10: projects, tasks, models, queues, workers, events, users, sessions, server secrets',
    sql: `
      CREATE TABLE projects (
        id ${TEXT} PRIMARY KEY,
        name ${TEXT} NOT NULL UNIQUE,
        parent ${TEXT} REFERENCES projects(id),
        created ${TEXT} NOT NULL,
        last_update ${TEXT} NOT NULL,
        data jsonb NOT NULL
      );
      CREATE INDEX projects_parent ON projects(parent);

      CREATE TABLE tasks (
        id ${TEXT} PRIMARY KEY,
        name ${TEXT} NOT NULL,
        project ${TEXT},
        parent ${TEXT},
        type ${TEXT} NOT NULL,
        status ${TEXT} NOT NULL,
        "user" ${TEXT},
        created ${TEXT} NOT NULL,
        started ${TEXT},
        completed ${TEXT},
        last_update ${TEXT} NOT NULL,
        last_iteration bigint NOT NULL DEFAULT 0,
        tags jsonb NOT NULL DEFAULT '[]',
        system_tags jsonb NOT NULL DEFAULT '[]',
        data jsonb NOT NULL
      );
      CREATE INDEX tasks_project ON tasks(project, created);
      CREATE INDEX tasks_status ON tasks(status, last_update);
      CREATE INDEX tasks_parent ON tasks(parent);
      CREATE INDEX tasks_created ON tasks(created);
      CREATE INDEX tasks_project_update ON tasks(project, last_update, system_tags, status);

      CREATE TABLE queues (
        id ${TEXT} PRIMARY KEY,
        name ${TEXT} NOT NULL UNIQUE,
        created ${TEXT} NOT NULL,
        data jsonb NOT NULL
      );

      CREATE TABLE queue_entries (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        queue ${TEXT} NOT NULL REFERENCES queues(id) ON DELETE CASCADE,
        task ${TEXT} NOT NULL,
        added ${TEXT} NOT NULL,
        priority integer NOT NULL DEFAULT 0
      );
      CREATE INDEX queue_entries_queue ON queue_entries(queue, seq);
      CREATE INDEX queue_entries_task ON queue_entries(task);
      CREATE INDEX queue_entries_order ON queue_entries(queue, priority DESC, seq);

      CREATE TABLE workers (
        id ${TEXT} PRIMARY KEY,
        last_activity_time ${TEXT} NOT NULL,
        data jsonb NOT NULL
      );

      CREATE TABLE event_series (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task ${TEXT} NOT NULL,
        metric ${TEXT} NOT NULL,
        variant ${TEXT} NOT NULL,
        UNIQUE (task, metric, variant)
      );

      CREATE TABLE scalar_events (
        series bigint NOT NULL,
        iter bigint NOT NULL,
        value double precision NOT NULL,
        timestamp bigint NOT NULL,
        PRIMARY KEY (series, iter)
      );

      CREATE TABLE scalar_summaries (
        series bigint NOT NULL,
        level integer NOT NULL,
        bucket bigint NOT NULL,
        min_iter bigint NOT NULL,
        max_iter bigint NOT NULL,
        count bigint NOT NULL,
        sum_value double precision NOT NULL,
        min_value double precision NOT NULL,
        min_value_iter bigint NOT NULL,
        max_value double precision NOT NULL,
        max_value_iter bigint NOT NULL,
        last_value double precision NOT NULL,
        PRIMARY KEY (series, level, bucket)
      );

      CREATE TABLE log_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task ${TEXT} NOT NULL,
        event_id ${TEXT} NOT NULL,
        timestamp bigint NOT NULL,
        level ${TEXT} NOT NULL,
        worker ${TEXT},
        msg ${TEXT} NOT NULL,
        UNIQUE (task, event_id)
      );
      CREATE INDEX log_events_time ON log_events(task, timestamp, seq);

      CREATE TABLE other_events (
        seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        task ${TEXT} NOT NULL,
        event_id ${TEXT} NOT NULL,
        type ${TEXT} NOT NULL,
        iter bigint,
        metric ${TEXT} NOT NULL,
        variant ${TEXT} NOT NULL,
        timestamp bigint NOT NULL,
        data jsonb NOT NULL,
        plot_data bytea,
        PRIMARY KEY (task, event_id)
      );
      CREATE INDEX other_events_metric ON other_events(task, type, metric, variant, iter);
      CREATE INDEX other_events_time ON other_events(task, timestamp);
      CREATE INDEX other_events_iter ON other_events(task, type, iter);

      CREATE TABLE models (
        id ${TEXT} PRIMARY KEY,
        name ${TEXT} NOT NULL,
        project ${TEXT},
        task ${TEXT},
        parent ${TEXT},
        framework ${TEXT},
        uri ${TEXT} NOT NULL,
        ready integer NOT NULL,
        "user" ${TEXT},
        created ${TEXT} NOT NULL,
        last_update ${TEXT} NOT NULL,
        last_iteration bigint NOT NULL DEFAULT 0,
        data jsonb NOT NULL
      );
      CREATE INDEX models_project ON models(project, created);
      CREATE INDEX models_task ON models(task);
      CREATE INDEX models_created ON models(created);

      CREATE TABLE task_models (
        task ${TEXT} NOT NULL,
        type ${TEXT} NOT NULL,
        model ${TEXT} NOT NULL
      );
      CREATE INDEX task_models_task ON task_models(task);
      CREATE INDEX task_models_model ON task_models(model);

      CREATE TABLE users (
        id ${TEXT} PRIMARY KEY,
        name ${TEXT} NOT NULL,
        display_name ${TEXT} NOT NULL,
        role ${TEXT} NOT NULL CHECK (role IN ('admin', 'user')),
        password_hash ${TEXT},
        created ${TEXT} NOT NULL
      );
      CREATE UNIQUE INDEX users_by_name ON users(lower(name));
      CREATE TABLE credentials (
        access_key ${TEXT} PRIMARY KEY,
        user_id ${TEXT} NOT NULL,
        secret_hash ${TEXT} NOT NULL,
        label ${TEXT},
        created ${TEXT} NOT NULL,
        last_used ${TEXT},
        revoked ${TEXT}
      );
      CREATE INDEX credentials_by_user ON credentials(user_id, created);

      CREATE TABLE sessions (
        id ${TEXT} PRIMARY KEY,
        user_id ${TEXT} NOT NULL,
        created ${TEXT} NOT NULL,
        expires ${TEXT} NOT NULL,
        ended ${TEXT}
      );
      CREATE INDEX sessions_by_user ON sessions(user_id);
      CREATE INDEX sessions_by_expiry ON sessions(expires);

      -- The token-signing key, shared by every server process on the database.
      CREATE TABLE server_secrets (
        name ${TEXT} PRIMARY KEY,
        value ${TEXT} NOT NULL,
        created ${TEXT} NOT NULL
      );
    `,
  },
];
