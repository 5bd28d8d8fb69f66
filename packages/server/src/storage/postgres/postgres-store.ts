import type pg from 'pg';
import { sql, type Kysely, type Transaction } from 'kysely';
import { TasklaneError } from '@tasklane/protocol';
import { SqlEvents } from '../events.js';
import { POSTGRES_DIALECT } from '../sql/dialect.js';
import { databaseOutageOf, isUnstorableText, type DatabaseOutage } from '../sql/errors.js';
import type { Database } from '../sql/schema.js';
import { SqlModels } from '../models.js';
import { SqlProjects } from '../projects.js';
import { SqlQueues, SqlWorkers } from '../queues.js';
import type { Repositories, Store, TransactionOptions } from '../store.js';
import { SqlTasks } from '../tasks.js';
import { SqlUsers } from '../users.js';
import { PostgresEventRows } from './postgres-event-rows.js';
import { SerialLock } from '../serial-lock.js';
import { migratePostgres } from './migrate.js';
import { connectPostgres, redactDatabaseUrl, type PostgresPoolOptions } from './pool.js';

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
    await endPool(db, pool);
    throw error;
  }
  return new PostgresStore(db, pool, redactDatabaseUrl(url));
}

/**
 * Ends the Kysely instance and its pool: Kysely's destroy() ends the pool only once Kysely has run a query through
 * it, so a store closed before any (a CLI command that found nothing to do) would leave a connection open.
 */
async function endPool(db: Kysely<Database>, pool: pg.Pool): Promise<void> {
  await db.destroy();
  if (!pool.ended) await pool.end();
}

/** The database went away or came back (see {@link watchDatabaseAvailability}). */
export type DatabaseAvailabilityChange =
  | { isAvailable: false; url: string; reason: string; cause: string }
  | { isAvailable: true; url: string; unavailableMs: number };

/** How long a client should wait before it sends a request the database could not serve again (`Retry-After`). */
export const DATABASE_RETRY_AFTER_SEC = 5;

/**
 * Calls `listener` each time the store's database goes away (the first request or probe that fails for it) and each
 * time it is back (the first that succeeds after), so the server logs one line for each rather than one per request.
 * Answers false for a store that has no database to lose (SQLite's file).
 */
export function watchDatabaseAvailability(store: Store, listener: (change: DatabaseAvailabilityChange) => void): boolean {
  if (!(store instanceof PostgresStore)) return false;
  store.watchAvailability(listener);
  return true;
}

/** Attempts of a unit of work that PostgreSQL aborted to keep transactions serializable (or to break a deadlock). */
const MAX_ATTEMPTS = 8;

/** How many connections that broke while idle a unit of work tries before it answers that the database is away. */
const STALE_CONNECTION_RETRIES = 3;

/** SQLSTATEs after which running the whole unit of work again is right: serialization_failure, deadlock_detected. */
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * The store on PostgreSQL. Unlike SQLite's, its units of work run side by side, on a pool's connections, from several
 * server processes. Write transactions are SERIALIZABLE, so each unit of work still sees the others as if they ran one
 * at a time (what the services were written against); when PostgreSQL cannot order two of them it aborts one
 * (40001) and the store runs that unit again, from the start — which is why a unit of work must only touch the store.
 * Read-only work runs REPEATABLE READ, READ ONLY: one snapshot, never aborted, and a write in it fails. Work whose
 * writes are all guarded by row locks it takes (a queue's pop, `guardedByRowLocks`) runs READ COMMITTED.
 */
class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private isClosed = false;
  /**
   * Write units of this process, one at a time (as the Store promises, and as SQLite's store runs them). PostgreSQL's
   * serializable isolation locks index pages, not keys, so two units changing different tasks whose ids share a page
   * collide (40001); with many units of one process in flight at once they kept colliding with each other, re-runs
   * included, until some gave up (8 parallel tasks.started through two processes answered 500s). One at a time per
   * process, a unit collides only with the other processes' units, and a re-run gets through.
   */
  private readonly writes = new SerialLock();
  /** When the database went away (the first failure for that), or undefined while it serves. */
  private unavailableSince: number | undefined;
  private readonly listeners: ((change: DatabaseAvailabilityChange) => void)[] = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly pool: pg.Pool,
    /** The database's URL, password hidden. */
    private readonly url: string,
  ) {}

  async transaction<T>(work: (repos: Repositories) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.isClosed) throw new TasklaneError('INTERNAL', 'The PostgreSQL store is closed.');
    let staleRetries = 0;
    for (let attempt = 1; ; attempt += 1) {
      const builder = options.readOnly
        ? this.db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only')
        : this.db.transaction().setIsolationLevel(options.guardedByRowLocks ? 'read committed' : 'serializable');
      // Whether the unit of work had finished: a failure after that came from COMMIT (or the ROLLBACK that followed).
      let isWorkDone = false;
      // Whether the unit of work had begun: a failure before that came from BEGIN, and nothing of the unit was sent.
      let isWorkStarted = false;
      try {
        const execute = () =>
          builder.execute(async (trx) => {
            isWorkStarted = true;
            const value = await work(postgresRepositories(trx));
            isWorkDone = true;
            return value;
          });
        // Reads (never aborted) and units guarded by their own row locks (a queue's pop) need not wait for the writes.
        const result = options.readOnly || options.guardedByRowLocks ? await execute() : await this.writes.run(execute);
        this.noteAvailable();
        return result;
      } catch (error) {
        const outage = databaseOutageOf(error);
        // A connection that broke while idle in the pool (the database restarted) is lent before the pool hears of
        // it; BEGIN fails on it with nothing sent, so the unit runs again on another connection, a fresh one if need be.
        if (outage?.reason === 'connection_lost' && !isWorkStarted && staleRetries < STALE_CONNECTION_RETRIES) {
          staleRetries += 1;
          continue;
        }
        if (outage !== undefined) throw this.unavailable(outage, error, options.readOnly ? undefined : isWorkDone ? 'unknown' : 'not_applied');
        if (isUnstorableText(error)) {
          throw new TasklaneError(
            'INVALID_INPUT',
            'A text of this request holds a character the database cannot store (the NUL character, U+0000); nothing was ' +
              'applied. Remove it and send the request again.',
            {},
            { cause: error },
          );
        }
        const code = (error as { code?: unknown } | null)?.code;
        if (typeof code !== 'string' || !RETRYABLE.has(code)) throw error;
        if (attempt === MAX_ATTEMPTS) {
          // Other processes kept changing what this unit reads: nothing of it applied, and sending it again is right.
          throw new TasklaneError(
            'DATABASE_UNAVAILABLE',
            `The database could not apply this request alongside other changes to the same data (${MAX_ATTEMPTS} tries); ` +
              'nothing of it was applied. Send it again.',
            { reason: 'contention', retry_after_sec: 1, write_outcome: 'not_applied' },
            { cause: error },
          );
        }
        // A short, growing, jittered pause, so that the units that collided do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(5 * 2 ** attempt, 250)));
      }
    }
  }

  async transactionIfIdle<T>(name: string, work: (repos: Repositories) => Promise<T>): Promise<{ value: T } | undefined> {
    return this.transaction(async (repos) => {
      // A transaction-level advisory lock: released by COMMIT or ROLLBACK, so a re-run of the unit claims it again.
      const { rows } = await sql<{ claimed: boolean }>`SELECT pg_try_advisory_xact_lock(${ROUND_LOCK_SPACE}::integer, hashtext(${name})) AS claimed`.execute(
        TRANSACTION_OF.get(repos)!,
      );
      return rows[0]?.claimed === true ? { value: await work(repos) } : undefined;
    });
  }

  async schemaVersion(): Promise<number> {
    if (this.isClosed) throw new TasklaneError('INTERNAL', 'The PostgreSQL store is closed.');
    for (let attempt = 0; ; attempt += 1) {
      try {
        const row = await this.db
          .selectFrom('schema_migrations')
          .select((eb) => eb.fn.max('version').as('version'))
          .executeTakeFirst();
        this.noteAvailable();
        return Number(row?.version ?? 0);
      } catch (error) {
        const outage = databaseOutageOf(error);
        // A read: on a connection that broke while idle, asked again (see transaction).
        if (outage?.reason === 'connection_lost' && attempt < STALE_CONNECTION_RETRIES) continue;
        throw outage === undefined ? error : this.unavailable(outage, error, undefined);
      }
    }
  }

  watchAvailability(listener: (change: DatabaseAvailabilityChange) => void): void {
    this.listeners.push(listener);
  }

  /**
   * The error a request gets while the database is away, noting that it is (once). A connection is never re-tried
   * here: a unit of work whose COMMIT may have been applied must not run twice, and the others are cheap to send again.
   * `writeOutcome`: whether a write was surely not applied, or may have been (the connection broke during COMMIT).
   */
  private unavailable(outage: DatabaseOutage, cause: unknown, writeOutcome: 'not_applied' | 'unknown' | undefined): TasklaneError {
    if (this.unavailableSince === undefined) {
      this.unavailableSince = Date.now();
      this.emit({ isAvailable: false, url: this.url, reason: outage.reason, cause: outage.text });
    }
    const outcome =
      writeOutcome === 'unknown'
        ? ' The connection broke while this change was being committed: it may or may not have been applied; read the data again before sending it once more.'
        : writeOutcome === 'not_applied'
          ? ' Nothing of this request was applied.'
          : '';
    return new TasklaneError(
      'DATABASE_UNAVAILABLE',
      `The server's database is unavailable (${outage.text}).${outcome} Try again in ${DATABASE_RETRY_AFTER_SEC} s; the server log says more.`,
      { reason: outage.reason, retry_after_sec: DATABASE_RETRY_AFTER_SEC, ...(writeOutcome !== undefined ? { write_outcome: writeOutcome } : {}) },
      { cause },
    );
  }

  private noteAvailable(): void {
    if (this.unavailableSince === undefined) return;
    const unavailableMs = Date.now() - this.unavailableSince;
    this.unavailableSince = undefined;
    this.emit({ isAvailable: true, url: this.url, unavailableMs });
  }

  private emit(change: DatabaseAvailabilityChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure (a log stream) must not change what the request gets
      }
    }
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await endPool(this.db, this.pool);
  }
}

/**
 * The first key of the advisory locks that `transactionIfIdle` claims ("TLRD"); the second is the hash of the claim's
 * name. Two-key locks never meet the migrations' one-key lock (migrate.ts).
 */
const ROUND_LOCK_SPACE = 1414287940;

/** The transaction each unit of work's repositories run on (for the advisory lock of `transactionIfIdle`). */
const TRANSACTION_OF = new WeakMap<Repositories, Transaction<Database>>();

/** The repositories of one transaction, on its connection. */
function postgresRepositories(trx: Transaction<Database>): Repositories {
  const repos: Repositories = {
    users: new SqlUsers(trx, POSTGRES_DIALECT),
    projects: new SqlProjects(trx, POSTGRES_DIALECT),
    tasks: new SqlTasks(trx, POSTGRES_DIALECT),
    models: new SqlModels(trx, POSTGRES_DIALECT),
    queues: new SqlQueues(trx, POSTGRES_DIALECT),
    workers: new SqlWorkers(trx, POSTGRES_DIALECT),
    events: new SqlEvents(trx, POSTGRES_DIALECT, new PostgresEventRows(trx)),
  };
  TRANSACTION_OF.set(repos, trx);
  return repos;
}
