import type { Generated } from 'kysely';
import type { CredentialRecord, SessionRecord, UserRecord } from '../store.js';

/**
 * The tables, as both stores hold them (migrations.ts for SQLite; the PostgreSQL migrations mirror them). Documents
 * (`data`) and tag lists are JSON text on SQLite and `jsonb` on PostgreSQL; both read back as JSON text (the
 * PostgreSQL pool's type parsers keep them as text), so the repositories parse them the same way. Times are ISO
 * strings, event timestamps epoch milliseconds.
 */
export interface Database {
  projects: { id: string; name: string; parent: string | null; created: string; last_update: string; data: string };
  tasks: {
    id: string;
    name: string;
    project: string | null;
    parent: string | null;
    type: string;
    status: string;
    user: string | null;
    created: string;
    started: string | null;
    completed: string | null;
    last_update: string;
    last_iteration: number;
    tags: string;
    system_tags: string;
    data: string;
  };
  task_models: { task: string; type: string; model: string };
  models: {
    id: string;
    name: string;
    project: string | null;
    task: string | null;
    parent: string | null;
    framework: string | null;
    uri: string;
    ready: number;
    user: string | null;
    created: string;
    last_update: string;
    last_iteration: number;
    data: string;
  };
  queues: { id: string; name: string; created: string; data: string };
  queue_entries: { seq: Generated<number>; queue: string; task: string; added: string; priority: number };
  workers: { id: string; last_activity_time: string; data: string };
  // Users, key pairs and sessions are stored as the repository hands them over (no document column).
  users: UserRecord;
  credentials: CredentialRecord;
  sessions: SessionRecord;
  server_secrets: { name: string; value: string; created: string };
  schema_migrations: { version: number; name: string; applied_at: string };
  /**
   * Events (events.ts). Scalars are kept by a series id (a small integer; the task, metric and variant in
   * event_series); other_events rows are ordered as inserted by SQLite's implicit rowid, by `seq` on PostgreSQL.
   */
  event_series: { id: Generated<number>; task: string; metric: string; variant: string };
  scalar_events: { series: number; iter: number; value: number; timestamp: number };
  scalar_summaries: {
    series: number;
    level: number;
    bucket: number;
    min_iter: number;
    max_iter: number;
    count: number;
    sum_value: number;
    min_value: number;
    min_value_iter: number;
    max_value: number;
    max_value_iter: number;
    last_value: number;
  };
  log_events: { seq: Generated<number>; task: string; event_id: string; timestamp: number; level: string; worker: string | null; msg: string };
  other_events: {
    task: string;
    event_id: string;
    type: string;
    iter: number | null;
    metric: string;
    variant: string;
    timestamp: number;
    data: string;
    plot_data: Buffer | null;
  };
}
