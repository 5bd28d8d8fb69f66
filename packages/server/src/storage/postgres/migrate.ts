import type pg from 'pg';
import { TasklaneError } from '@tasklane/protocol';
import { POSTGRES_MIGRATIONS, type PostgresMigration } from './migrations.js';

/**
 * The advisory lock migrations run under: one fixed key ("tasklane" in ASCII), the same for every Tasklane process,
 * so that processes starting together on one database migrate it once, one after the other.
 */
const MIGRATION_LOCK_KEY = '8386673614594253413';

/** The oldest PostgreSQL the store is written for (tested on 15). */
const MIN_SERVER_VERSION = 120000;

/**
 * Refuses a PostgreSQL the store cannot run on, before anything is changed: older than 12, or without the ICU root
 * collation the name-pattern filters use (`und-x-icu`, present where PostgreSQL was built with ICU, as Debian's and
 * the official images are).
 */
async function checkServer(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ version: string; has_icu: boolean }>(
    "SELECT current_setting('server_version_num') AS version, EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu') AS has_icu",
  );
  const version = Number(rows[0]?.version ?? 0);
  if (version < MIN_SERVER_VERSION) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `This PostgreSQL is version ${Math.floor(version / 10000)}; Tasklane needs PostgreSQL 12 or later. Upgrade it, or use the embedded SQLite store.`,
      { server_version_num: version },
    );
  }
  if (!rows[0]?.has_icu) {
    throw new TasklaneError(
      'INVALID_INPUT',
      'This PostgreSQL has no ICU collations (the collation "und-x-icu" is missing): it was built without ICU. Tasklane ' +
        'needs them for case-insensitive name patterns; use a PostgreSQL built with ICU (Debian\'s, the official images).',
    );
  }
}

/**
 * A migration refused for want of privileges (42501, e.g. "permission denied for schema public": since PostgreSQL 15
 * only the database's owner may create tables in its public schema by default), as what to do about it.
 */
function lackOfPrivilege(error: unknown): TasklaneError | undefined {
  const cause = error instanceof TasklaneError && error.cause !== undefined ? error.cause : error;
  if ((cause as { code?: unknown } | null)?.code !== '42501') return undefined;
  return new TasklaneError(
    'INVALID_INPUT',
    `The database user may not create Tasklane's tables (${(cause as Error).message}). Make it the database's owner ` +
      '(ALTER DATABASE <database> OWNER TO <user>), or grant it CREATE and USAGE on the schema public (GRANT CREATE, ' +
      'USAGE ON SCHEMA public TO <user>, as the owner).',
    { sqlstate: '42501' },
    { cause },
  );
}

export interface MigrationOutcome {
  /** The versions this call applied, in order (none when another process had applied them). */
  applied: number[];
  /** The schema version now. */
  version: number;
}

/**
 * Brings the schema up to date: takes the migration lock (waiting for a process migrating meanwhile; `onWait` is
 * called then), applies each migration not recorded in schema_migrations in its own transaction with its record, and
 * lets go. Refuses a database whose schema is newer than these migrations know (a newer Tasklane migrated it), before
 * touching anything.
 */
export async function migratePostgres(
  pool: pg.Pool,
  options: { migrations?: readonly PostgresMigration[]; onWait?: () => void } = {},
): Promise<MigrationOutcome> {
  const migrations = [...(options.migrations ?? POSTGRES_MIGRATIONS)].sort((a, b) => a.version - b.version);
  const known = migrations.at(-1)?.version ?? 0;
  const client = await pool.connect();
  let isBroken = false;
  try {
    await checkServer(client);
    const tried = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [MIGRATION_LOCK_KEY]);
    if (!tried.rows[0]?.locked) {
      options.onWait?.();
      await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    }
    try {
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)',
      );
      const rows = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const applied = new Set(rows.rows.map((row) => row.version));
      const newest = Math.max(0, ...applied);
      if (newest > known) {
        throw new TasklaneError(
          'INVALID_INPUT',
          `This PostgreSQL database has schema version ${newest}, newer than this Tasklane server knows (${known}): a newer ` +
            'Tasklane migrated it. Run that version (or a later one), or point the server at another database.',
          { schema_version: newest, known_version: known },
        );
      }
      const done: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            migration.version,
            migration.name,
            new Date().toISOString(),
          ]);
          await client.query('COMMIT');
        } catch (cause) {
          await client.query('ROLLBACK').catch(() => {
            isBroken = true;
          });
          throw new TasklaneError(
            'INTERNAL',
            `PostgreSQL migration ${migration.version} (${migration.name}) failed, nothing of it applied: ${(cause as Error).message}`,
            { version: migration.version },
            { cause },
          );
        }
        done.push(migration.version);
      }
      return { applied: done, version: Math.max(newest, ...done) };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]).catch(() => {
        // the connection is gone, and the lock with it
        isBroken = true;
      });
    }
  } catch (error) {
    isBroken ||= !(error instanceof TasklaneError);
    throw lackOfPrivilege(error) ?? error;
  } finally {
    // A connection in an unknown state (the lock possibly still held) is closed, not returned to the pool.
    client.release(isBroken);
  }
}
