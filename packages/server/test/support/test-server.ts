import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from 'tasklane/client';
import {
  loadServerConfig,
  openStore,
  startServer,
  type AppDependencies,
  type RunningServer,
  type ServerConfigInput,
  type Store,
} from '@tasklane/server';
import { postgresSkipReason, testPostgres } from '../../../../test/support/postgres.js';

/**
 * Which store the test servers of this run use: `TASKLANE_TEST_STORE=postgres` (vitest.config.ts's
 * `integration-postgres` project) puts each on a fresh database of the run's PostgreSQL; SQLite in the server's data
 * dir otherwise.
 */
export const TEST_STORE: 'sqlite' | 'postgres' = process.env.TASKLANE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
/** For `describe.skipIf(onPostgres)` around what only an SQLite file has (its bytes, its pragmas, other processes on it). */
export const onPostgres = TEST_STORE === 'postgres';

export interface TestDatabase {
  /** `sqlite://<dir>/tasklane.sqlite` (the server's default place) or a fresh PostgreSQL database's URL. */
  dbUrl: string;
  /** Opens another store on it (to seed users before a server starts, or to look underneath one). */
  openStore(): Promise<Store>;
  /** Drops the PostgreSQL database (an SQLite file goes with its folder). */
  drop(): Promise<void>;
}

/** The database of a test server whose data dir is `dir`, on this run's store. */
export async function newTestDatabase(dir: string): Promise<TestDatabase> {
  if (TEST_STORE === 'sqlite') {
    const dbUrl = `sqlite://${join(dir, 'tasklane.sqlite')}`;
    return { dbUrl, openStore: () => openStore(dbUrl), drop: async () => {} };
  }
  const postgres = testPostgres();
  if (!postgres) throw new Error(`TASKLANE_TEST_STORE=postgres but there is no PostgreSQL: ${postgresSkipReason()}`);
  const dbUrl = await postgres.newDatabase();
  return { dbUrl, openStore: () => openStore(dbUrl, { maxConnections: 2 }), drop: () => postgres.dropDatabase(dbUrl) };
}

export interface TestDataDir {
  dataDir: string;
  /** Its database on this run's store (`database.dbUrl`). */
  dbUrl: string;
  database: TestDatabase;
  /** Drops the database and deletes the folder. */
  remove(): Promise<void>;
}

/**
 * A temporary data dir and a database on this run's store, for a test that starts (and restarts) servers itself:
 * `loadServerConfig({}, { dataDir, dbUrl, ... })`.
 */
export async function newTestDataDir(prefix = 'tasklane-test-'): Promise<TestDataDir> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const database = await newTestDatabase(dataDir).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    dataDir,
    dbUrl: database.dbUrl,
    database,
    remove: async () => {
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServer {
  url: string;
  dir: string;
  /** The server's database URL (its own unless the overrides named one). */
  dbUrl: string;
  server: RunningServer;
  /** A client that also checks every reply against its response schema. */
  api: ApiClient;
  close(): Promise<void>;
}

/**
 * Starts the real server on an ephemeral port with a temporary data dir, on this run's store (a fresh database)
 * unless the overrides name a `dbUrl`. `seed` runs on the store before the server opens it (users, keys); `deps`
 * go to the server as they are (a `logStream` to read its log, a clock).
 */
export async function startTestServer(
  overrides: ServerConfigInput = {},
  seed?: (store: Store) => Promise<void>,
  deps: AppDependencies = {},
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-test-'));
  const database = overrides.dbUrl === undefined ? await newTestDatabase(dir) : undefined;
  const dbUrl = overrides.dbUrl ?? database!.dbUrl;
  try {
    if (seed) {
      const store = database ? await database.openStore() : await openStore(dbUrl);
      try {
        await seed(store);
      } finally {
        await store.close();
      }
    }
    const config = loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'silent', dbPoolSize: 4, ...overrides, dbUrl });
    const server = await startServer(config, deps);
    const api = new ApiClient({ baseUrl: server.url, validateResponses: true });
    return {
      url: server.url,
      dir,
      dbUrl,
      server,
      api,
      close: async () => {
        await server.close();
        await database?.drop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await database?.drop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Sends a raw request and answers the HTTP status and parsed JSON (for envelope and bad-input tests). */
export async function rawCall(
  url: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}
