import { resolve } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
import { redactDatabaseUrl } from './postgres/pool.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/**
 * Opens the store a database URL names, its schema brought up to date: `sqlite://<file>` (relative to the working
 * folder; `sqlite://:memory:` for a database in memory) or `postgres://user:password@host:5432/database` (also
 * `postgresql://`; `options` size its pool and bound the wait for it at start).
 */
export async function openStore(dbUrl: string, options: PostgresStoreOptions = {}): Promise<Store> {
  if (dbUrl.startsWith('sqlite://')) {
    const path = dbUrl.slice('sqlite://'.length);
    return openSqliteStore(path === ':memory:' ? path : resolve(path));
  }
  if (dbUrl.startsWith('postgres://') || dbUrl.startsWith('postgresql://')) return openPostgresStore(dbUrl, options);
  throw new TasklaneError(
    'INVALID_INPUT',
    `Unknown database URL ${JSON.stringify(redactDatabaseUrl(dbUrl))}: expected sqlite://<file> or postgres://user:password@host:5432/database.`,
  );
}
