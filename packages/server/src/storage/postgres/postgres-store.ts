import type { Kysely, Transaction } from 'kysely';
import { TasklaneError } from '@tasklane/protocol';
import { SqlEvents } from '../events.js';
import { POSTGRES_DIALECT } from '../sql/dialect.js';
import type { Database } from '../sql/schema.js';
import { SqlModels } from '../models.js';
import { SqlProjects } from '../projects.js';
import { SqlQueues, SqlWorkers } from '../queues.js';
import type { Repositories, Store, TransactionOptions } from '../store.js';
import { SqlTasks } from '../tasks.js';
import { SqlUsers } from '../users.js';
import { PostgresEventRows } from './postgres-event-rows.js';
import { migratePostgres } from './migrate.js';
import { connectPostgres, type PostgresPoolOptions } from './pool.js';

export interface PostgresStoreOptions extends PostgresPoolOptions {
  /** Called when another process is migrating the database and this one waits for it. */
  onMigrationWait?: () => void;
}

/**
 * Opens the PostgreSQL store of a `postgres://` URL: connects (within `connectTimeoutMs`, failing with the URL,
 * password hidden, and the cause), brings the schema up to date under the migration lock, and answers the store.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const { pool, db } = await connectPostgres(url, options);
  try {
    await migratePostgres(pool, options.onMigrationWait ? { onWait: options.onMigrationWait } : {});
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new PostgresStore(db);
}

/** Attempts of a unit of work that PostgreSQL aborted to keep transactions serializable (or to break a deadlock). */
const MAX_ATTEMPTS = 8;

/** SQLSTATEs after which running the whole unit of work again is right: serialization_failure, deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * The store on PostgreSQL. Unlike SQLite's, its units of work run side by side, on a pool's connections, from several
 * server processes. Write transactions are SERIALIZABLE, so each unit of work still sees the others as if they ran one
 * at a time (what the services were written against); when PostgreSQL cannot order two of them it aborts one
 * (40001) and the store runs that unit again, from the start — which is why a unit of work must only touch the store.
 * Read-only work runs REPEATABLE READ, READ ONLY: one snapshot, never aborted, and a write in it fails.
 */
class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private isClosed = false;

  constructor(private readonly db: Kysely<Database>) {}

  async transaction<T>(work: (repos: Repositories) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.isClosed) throw new TasklaneError('INTERNAL', 'The PostgreSQL store is closed.');
    for (let attempt = 1; ; attempt += 1) {
      const builder = options.readOnly
        ? this.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only')
        : this.db.transaction().setIsolationLevel('serializable');
      try {
        return await builder.execute((trx) => work(postgresRepositories(trx)));
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if (attempt === MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
        // A short, growing, jittered pause, so that the units that collided do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * 2 ** attempt));
      }
    }
  }

  async schemaVersion(): Promise<number> {
    const row = await this.db
      .selectFrom('schema_migrations')
      .select((eb) => eb.fn.max('version').as('version'))
      .executeTakeFirst();
    return Number(row?.version ?? 0);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.db.destroy();
  }
}

/** The repositories of one transaction, on its connection. */
function postgresRepositories(trx: Transaction<Database>): Repositories {
  return {
    users: new SqlUsers(trx, POSTGRES_DIALECT),
    projects: new SqlProjects(trx, POSTGRES_DIALECT),
    tasks: new SqlTasks(trx, POSTGRES_DIALECT),
    models: new SqlModels(trx, POSTGRES_DIALECT),
    queues: new SqlQueues(trx, POSTGRES_DIALECT),
    workers: new SqlWorkers(trx, POSTGRES_DIALECT),
    events: new SqlEvents(trx, POSTGRES_DIALECT, new PostgresEventRows(trx)),
  };
}
