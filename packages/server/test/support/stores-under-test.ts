import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '@tasklane/server';
import { openStore } from '../../src/storage/open-store.js';
import { postgresSkipReason, testPostgres } from '../../../../test/support/postgres.js';

/** One of the stores a repository test body runs on (`describe.each(storesUnderTest(...))`). */
export interface StoreUnderTest {
  /** For the test titles; says why PostgreSQL is skipped where it is. */
  name: string;
  isAvailable: boolean;
  /**
   * Whether a second store on the same database can run in this process. Not on SQLite: a second connection waiting
   * for the file's write lock blocks the one thread that would let the first commit. (Processes sharing a SQLite file
   * are store-durability.int.test.ts's.)
   */
  hasConcurrentStores: boolean;
  /** A fresh empty database, by URL (to open further stores on it, as other server processes would). */
  newDatabase(): Promise<{ url: string; cleanup(): Promise<void> }>;
  /** A store on a fresh empty database. */
  open(): Promise<{ store: Store; cleanup(): Promise<void> }>;
}

/**
 * SQLite (a file in a temp folder named after `tempPrefix`) and PostgreSQL (a new database on the run's throwaway
 * cluster, test/support/postgres.ts). Where PostgreSQL is unavailable, prints one line naming `file` and why, and the
 * PostgreSQL entry is marked unavailable.
 */
export function storesUnderTest(file: string, tempPrefix: string): StoreUnderTest[] {
  const postgres = testPostgres();
  if (!postgres) process.stdout.write(`${file}: PostgreSQL skipped: ${postgresSkipReason()}\n`);
  const withStore = (newDatabase: StoreUnderTest['newDatabase']) => async () => {
    const { url, cleanup } = await newDatabase();
    return { store: await openStore(url), cleanup };
  };
  const sqliteDatabase = async () => {
    const dir = await mkdtemp(join(tmpdir(), `tasklane-${tempPrefix}-`));
    return { url: `sqlite://${join(dir, 'db.sqlite')}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
  };
  const postgresDatabase = async () => {
    const url = await postgres!.newDatabase();
    return { url, cleanup: () => postgres!.dropDatabase(url) };
  };
  return [
    { name: 'SQLite', isAvailable: true, hasConcurrentStores: false, newDatabase: sqliteDatabase, open: withStore(sqliteDatabase) },
    {
      name: postgres ? 'PostgreSQL' : `PostgreSQL (skipped: ${postgresSkipReason()})`,
      isAvailable: postgres !== undefined,
      hasConcurrentStores: true,
      newDatabase: postgresDatabase,
      open: withStore(postgresDatabase),
    },
  ];
}
