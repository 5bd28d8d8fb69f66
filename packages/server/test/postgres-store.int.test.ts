// The PostgreSQL store's start (connect, migrate under the advisory lock, refuse a newer schema, fail fast with the
// password hidden) on the run's throwaway cluster (test/support/postgres.ts), and the repositories written once for
// both stores (users so far) through one test body on SQLite and on PostgreSQL.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store } from '@tasklane/server';
import { SQLITE_MIGRATIONS } from '../src/storage/migrations.js';
import { migratePostgres } from '../src/storage/postgres/migrate.js';
import { POSTGRES_MIGRATIONS } from '../src/storage/postgres/migrations.js';
import { createPostgresPool, redactDatabaseUrl } from '../src/storage/postgres/pool.js';
import { openPostgresStore } from '../src/storage/postgres/postgres-store.js';
import type { CredentialRecord, Repositories, SessionRecord, UserRecord } from '../src/storage/store.js';
import { postgresSkipReason, testPostgres, queryPostgres } from '../../../test/support/postgres.js';
import { storesUnderTest } from './support/stores-under-test.js';

const postgres = testPostgres();
const LATEST = POSTGRES_MIGRATIONS.at(-1)!.version;
if (!postgres) process.stdout.write(`postgres-store.int.test.ts: PostgreSQL parts skipped: ${postgresSkipReason()}\n`);

const query = queryPostgres;

/** The message of a rejection, with what differs per run (the cluster's port) made fixed. */
async function failureOf(promise: Promise<unknown>, port?: string): Promise<{ code: unknown; message: string }> {
  try {
    await promise;
  } catch (error) {
    const message = (error as Error).message;
    return { code: (error as { code?: unknown }).code, message: port ? message.replaceAll(`:${port}`, ':PORT') : message };
  }
  throw new Error('expected a failure');
}

describe.skipIf(!postgres)(`PostgreSQL store start${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, () => {
  const databases: string[] = [];
  const newDatabase = async () => {
    const url = await postgres!.newDatabase();
    databases.push(url);
    return url;
  };
  afterAll(async () => {
    for (const url of databases) await postgres!.dropDatabase(url);
  });

  it('ends at the same schema version as SQLite, and maps every SQLite table', async () => {
    expect(LATEST).toBe(SQLITE_MIGRATIONS.at(-1)!.version);
    const url = await newDatabase();
    const store = await openPostgresStore(url);
    try {
      expect(store.kind).toBe('postgres');
      expect(await store.schemaVersion()).toBe(LATEST);
      const tables = await query<{ name: string }>(url, "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
      const dir = await mkdtemp(join(tmpdir(), 'tasklane-pg-tables-'));
      try {
        const file = join(dir, 'db.sqlite');
        await openSqliteStore(file).close();
        const db = new Database(file, { readonly: true });
        const sqliteTables = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
          .pluck()
          .all() as string[];
        const columnsOf = (table: string) =>
          (db.prepare(`SELECT name FROM pragma_table_info(?) ORDER BY name`).pluck().all(table) as string[]);
        const pgColumns = await query<{ table: string; column: string }>(
          url,
          "SELECT table_name AS table, column_name AS column FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        );
        expect(tables.map((t) => t.name)).toEqual(sqliteTables);
        for (const table of sqliteTables) {
          const expected = columnsOf(table);
          // other_events orders by an insertion-order column of its own; SQLite's is the implicit rowid
          if (table === 'other_events') expected.push('seq');
          expect({ table, columns: pgColumns.filter((c) => c.table === table).map((c) => c.column).sort() }).toEqual({
            table,
            columns: expected.sort(),
          });
        }
        db.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await store.close();
    }
  });

  it('migrates a new database once when processes start together: they wait for the migration lock, one applies', async () => {
    const url = await newDatabase();
    // A third session holds the lock, so that both migrators are surely waiting, then lets go: they race for it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock('8386673614594253413'::bigint)");
    const pools = [createPostgresPool(url), createPostgresPool(url)];
    try {
      let waiting = 0;
      let release!: () => void;
      const bothWait = new Promise<void>((resolve) => (release = resolve));
      const onWait = () => {
        waiting += 1;
        if (waiting === 2) release();
      };
      const outcomes = Promise.all(pools.map((pool) => migratePostgres(pool, { onWait })));
      await bothWait;
      await holder.query("SELECT pg_advisory_unlock('8386673614594253413'::bigint)");
      const results = await outcomes;
      expect(results.map((r) => r.version)).toEqual([LATEST, LATEST]);
      expect(results.map((r) => r.applied).sort((a, b) => b.length - a.length)).toEqual([[LATEST], []]);
      expect(await query(url, 'SELECT version, name FROM schema_migrations')).toEqual([
        { version: LATEST, name: POSTGRES_MIGRATIONS.at(-1)!.name },
      ]);
    } finally {
      await holder.end();
      await Promise.all(pools.map((pool) => pool.end()));
    }
    // And two stores opening the same database side by side both come up, on that one migration.
    const stores = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      expect(await Promise.all(stores.map((store) => store.schemaVersion()))).toEqual([LATEST, LATEST]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('two stores opening a new database at the same moment migrate it once', async () => {
    const url = await newDatabase();
    const stores = await Promise.all([openPostgresStore(url), openPostgresStore(url), openPostgresStore(url)]);
    try {
      expect(await Promise.all(stores.map((store) => store.schemaVersion()))).toEqual([LATEST, LATEST, LATEST]);
      expect(await query(url, 'SELECT count(*)::int AS n FROM schema_migrations')).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('refuses a database whose schema is newer than it knows, and leaves it as it is', async () => {
    const url = await newDatabase();
    await (await openPostgresStore(url)).close();
    await query(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, 'from the future', '2030-01-01T00:00:00.000Z')", [
      LATEST + 1,
    ]);
    const failure = await failureOf(openPostgresStore(url));
    expect(failure.code).toBe('INVALID_INPUT');
    expect(failure.message.replaceAll(String(LATEST + 1), 'NEWER').replaceAll(String(LATEST), 'KNOWN')).toMatchInlineSnapshot(
      `"This PostgreSQL database has schema version NEWER, newer than this Tasklane server knows (KNOWN): a newer Tasklane migrated it. Run that version (or a later one), or point the server at another database."`,
    );
    expect(await query(url, 'SELECT version FROM schema_migrations ORDER BY version')).toEqual([{ version: LATEST }, { version: LATEST + 1 }]);
  });

  it('stops at once on a wrong password or a missing database, naming the URL with the password hidden', async () => {
    const url = new URL(await newDatabase());
    const port = url.port;
    const password = url.password;
    url.password = 'not-the-password';
    const started = Date.now();
    const wrongPassword = await failureOf(openPostgresStore(url.toString()), port);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(wrongPassword).toMatchInlineSnapshot(`
      {
        "code": "INVALID_INPUT",
        "message": "Cannot connect to PostgreSQL at postgres://tasklane:***@127.0.0.1:PORT/${url.pathname.slice(1)}: password authentication failed for user "tasklane". Fix the user or password in the URL.",
      }
    `);
    expect(wrongPassword.message).not.toContain('not-the-password');

    url.password = password;
    url.pathname = '/no_such_database';
    const missing = await failureOf(openPostgresStore(url.toString()), port);
    expect(missing).toMatchInlineSnapshot(`
      {
        "code": "INVALID_INPUT",
        "message": "Cannot connect to PostgreSQL at postgres://tasklane:***@127.0.0.1:PORT/no_such_database: the database "no_such_database" does not exist. Create it (createdb -O tasklane no_such_database) or fix the database name in the URL.",
      }
    `);
    expect(missing.message).not.toContain(password);
  });

  it('gives up on a port where nothing listens within its bound, saying so', async () => {
    // A port that was free a moment ago: bind one, close it.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address() as { port: number };
        server.close(() => resolve(address.port));
      });
    });
    const url = `postgres://tasklane:s3cret-value@127.0.0.1:${port}/tasklane`;
    const started = Date.now();
    const failure = await failureOf(openPostgresStore(url, { connectTimeoutMs: 1_500 }), String(port));
    const elapsedMs = Date.now() - started;
    expect(elapsedMs).toBeGreaterThanOrEqual(1_500);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(failure).toMatchInlineSnapshot(`
      {
        "code": "SERVER_UNREACHABLE",
        "message": "Cannot connect to PostgreSQL at postgres://tasklane:***@127.0.0.1:PORT/tasklane: connection refused (nothing listens at 127.0.0.1:PORT); gave up after 1.5 s. Start the database, or fix the host and port in the URL.",
      }
    `);
    expect(failure.message).not.toContain('s3cret-value');

    // A host name nobody knows (".invalid" never resolves): the same bound, the host named.
    const unknownHost = await failureOf(openPostgresStore('postgres://tasklane:s3cret-value@no-such-host.invalid/tasklane', { connectTimeoutMs: 500 }));
    expect(unknownHost.code).toBe('SERVER_UNREACHABLE');
    expect(unknownHost.message).toMatch(
      /^Cannot connect to PostgreSQL at postgres:\/\/tasklane:\*\*\*@no-such-host\.invalid\/tasklane: the host "no-such-host\.invalid" is not known \((ENOTFOUND|EAI_AGAIN)\); gave up after 0\.5 s\. Fix the host in the URL\.$/,
    );
  });

  it('re-runs a unit of work PostgreSQL aborted to keep transactions serializable', async () => {
    const url = await newDatabase();
    const store = await openPostgresStore(url);
    // Two stores, as two server processes: one store runs its write units one at a time, so they could not meet.
    const other = await openPostgresStore(url);
    try {
      // Both read the user count, then (once both have read) create "user-<count>": as if one ran after the other,
      // the second must see the first's user. PostgreSQL aborts one of them (40001); it runs again and sees it.
      let arrived = 0;
      let release!: () => void;
      const bothRead = new Promise<void>((resolve) => (release = resolve));
      let runs = 0;
      const unit = (on: typeof store) =>
        on.transaction(async (repos) => {
          runs += 1;
          const n = await repos.users.count();
          arrived += 1;
          if (arrived === 2) release();
          await bothRead;
          await repos.users.create(makeUser(`user-${n}`));
          return n;
        });
      const counts = await Promise.all([unit(store), unit(other)]);
      expect(counts.sort()).toEqual([0, 1]);
      expect(runs).toBe(3);
      const names = await store.transaction(async (repos) => (await repos.users.list()).map((u) => u.name), { readOnly: true });
      expect(names).toEqual(['user-0', 'user-1']);
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('hides passwords in URLs it shows', () => {
    expect(redactDatabaseUrl('postgres://u:p%40ss@db.example:5432/tl?sslmode=require')).toBe('postgres://u:***@db.example:5432/tl?sslmode=require');
    expect(redactDatabaseUrl('postgres://db.example/tl?user=u&password=secret')).toBe('postgres://db.example/tl?user=u&password=***');
    expect(redactDatabaseUrl('postgres://u@db.example/tl')).toBe('postgres://u@db.example/tl');
  });
});

function makeUser(name: string, overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    id: `u-${name.toLowerCase()}-${Math.random().toString(16).slice(2, 8)}`,
    name,
    display_name: name,
    role: 'user',
    password_hash: null,
    created: '2026-03-01T10:00:00.000Z',
    ...overrides,
  };
}

function makeCredential(userId: string, accessKey: string, created: string): CredentialRecord {
  return { access_key: accessKey, user_id: userId, secret_hash: `hash-of-${accessKey}`, label: null, created, last_used: null, revoked: null };
}

function makeSession(userId: string, id: string, created: string, expires: string): SessionRecord {
  return { id, user_id: userId, created, expires, ended: null };
}

const STORES = storesUnderTest('postgres-store.int.test.ts (users)', 'users');

describe.each(STORES)('users repository on $name', ({ isAvailable, open }) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    if (!isAvailable) return;
    ({ store, cleanup } = await open());
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });
  const write = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work);
  const read = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work, { readOnly: true });

  it.skipIf(!isAvailable)('creates users, finds them by name ignoring case, refuses a name taken in another case', async () => {
    const alice = makeUser('Alice', { role: 'admin', password_hash: 'scrypt$alice' });
    await write((repos) => repos.users.create(alice));
    await write((repos) => repos.users.create(makeUser('bob')));
    await write((repos) => repos.users.create(makeUser('Carol')));

    expect(await read((repos) => repos.users.byName('aLiCe'))).toEqual(alice);
    expect(await read((repos) => repos.users.byId(alice.id))).toEqual(alice);
    expect(await read((repos) => repos.users.byName('alicia'))).toBeUndefined();
    // A name beyond ASCII is found as it is written, and in another case of its ASCII letters.
    const umlaut = makeUser('Ärger-Team');
    await write((repos) => repos.users.create(umlaut));
    expect(await read((repos) => repos.users.byName('Ärger-Team'))).toEqual(umlaut);
    expect(await read((repos) => repos.users.byName('ÄRGER-team'))).toEqual(umlaut);
    await write((repos) => repos.users.remove(umlaut.id, '2026-03-01T11:00:00.000Z'));
    expect(await read((repos) => repos.users.count())).toBe(3);
    expect((await read((repos) => repos.users.list())).map((u) => u.name)).toEqual(['Alice', 'bob', 'Carol']);

    const taken = await failureOf(write((repos) => repos.users.create(makeUser('ALICE'))));
    expect(taken).toMatchInlineSnapshot(`
      {
        "code": "ALREADY_EXISTS",
        "message": "A user named "ALICE" already exists.",
      }
    `);
    expect(await read((repos) => repos.users.count())).toBe(3);

    await write((repos) => repos.users.setPassword(alice.id, 'scrypt$new'));
    expect((await read((repos) => repos.users.byName('alice')))?.password_hash).toBe('scrypt$new');
  });

  it.skipIf(!isAvailable)('keeps key pairs: the working ones oldest first, revoked ones kept and said so, last use recorded', async () => {
    const dana = makeUser('dana');
    await write((repos) => repos.users.create(dana));
    await write(async (repos) => {
      await repos.users.addCredential(makeCredential(dana.id, 'KEY-B', '2026-03-02T00:00:00.000Z'));
      await repos.users.addCredential(makeCredential(dana.id, 'KEY-A', '2026-03-03T00:00:00.000Z'));
      await repos.users.addCredential(makeCredential(dana.id, 'KEY-C', '2026-03-01T00:00:00.000Z'));
    });
    expect((await read((repos) => repos.users.activeCredentials(dana.id))).map((c) => c.access_key)).toEqual(['KEY-C', 'KEY-B', 'KEY-A']);
    expect(await write((repos) => repos.users.revokeCredential('KEY-B', '2026-03-04T00:00:00.000Z'))).toBe(true);
    expect(await write((repos) => repos.users.revokeCredential('KEY-B', '2026-03-05T00:00:00.000Z'))).toBe(false);
    expect(await write((repos) => repos.users.revokeCredential('NO-SUCH-KEY', '2026-03-05T00:00:00.000Z'))).toBe(false);
    await write((repos) => repos.users.touchCredential('KEY-A', '2026-03-06T00:00:00.000Z'));
    expect(await read((repos) => repos.users.credential('KEY-B'))).toEqual({
      ...makeCredential(dana.id, 'KEY-B', '2026-03-02T00:00:00.000Z'),
      revoked: '2026-03-04T00:00:00.000Z',
    });
    expect(await read((repos) => repos.users.credential('KEY-A'))).toEqual({
      ...makeCredential(dana.id, 'KEY-A', '2026-03-03T00:00:00.000Z'),
      last_used: '2026-03-06T00:00:00.000Z',
    });
    expect((await read((repos) => repos.users.activeCredentials(dana.id))).map((c) => c.access_key)).toEqual(['KEY-C', 'KEY-A']);
    expect(await read((repos) => repos.users.credential('NO-SUCH-KEY'))).toBeUndefined();
  });

  it.skipIf(!isAvailable)('keeps sessions: expired ones go when a new one starts, ended ones stay ended', async () => {
    const erin = makeUser('erin');
    await write((repos) => repos.users.create(erin));
    await write((repos) => repos.users.createSession(makeSession(erin.id, 's-old', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z')));
    await write((repos) => repos.users.createSession(makeSession(erin.id, 's-1', '2026-02-01T00:00:00.000Z', '2026-02-08T00:00:00.000Z')));
    await write((repos) => repos.users.createSession(makeSession(erin.id, 's-2', '2026-02-01T01:00:00.000Z', '2026-02-08T01:00:00.000Z')));
    expect(await read((repos) => repos.users.session('s-old'))).toBeUndefined();

    await write((repos) => repos.users.extendSession('s-1', '2026-02-15T00:00:00.000Z'));
    await write((repos) => repos.users.endSession('s-1', '2026-02-02T00:00:00.000Z'));
    await write((repos) => repos.users.extendSession('s-1', '2026-03-01T00:00:00.000Z'));
    await write((repos) => repos.users.endSession('s-1', '2026-02-03T00:00:00.000Z'));
    expect(await read((repos) => repos.users.session('s-1'))).toEqual({
      ...makeSession(erin.id, 's-1', '2026-02-01T00:00:00.000Z', '2026-02-15T00:00:00.000Z'),
      ended: '2026-02-02T00:00:00.000Z',
    });
    await write((repos) => repos.users.endUserSessions(erin.id, '2026-02-04T00:00:00.000Z'));
    expect((await read((repos) => repos.users.session('s-2')))?.ended).toBe('2026-02-04T00:00:00.000Z');
  });

  it.skipIf(!isAvailable)('removes a user, revoking their key pairs and ending their sessions', async () => {
    const frank = makeUser('frank');
    await write(async (repos) => {
      await repos.users.create(frank);
      await repos.users.addCredential(makeCredential(frank.id, 'KEY-F', '2026-03-01T00:00:00.000Z'));
      await repos.users.createSession(makeSession(frank.id, 's-f', '2026-03-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z'));
    });
    expect(await write((repos) => repos.users.remove(frank.id, '2026-03-07T00:00:00.000Z'))).toBe(true);
    expect(await write((repos) => repos.users.remove(frank.id, '2026-03-08T00:00:00.000Z'))).toBe(false);
    expect(await read((repos) => repos.users.byName('frank'))).toBeUndefined();
    expect((await read((repos) => repos.users.credential('KEY-F')))?.revoked).toBe('2026-03-07T00:00:00.000Z');
    expect((await read((repos) => repos.users.session('s-f')))?.ended).toBe('2026-03-07T00:00:00.000Z');
    expect((await read((repos) => repos.users.activeCredentials())).map((c) => c.access_key)).not.toContain('KEY-F');
  });

  it.skipIf(!isAvailable)('keeps none of a failed unit of work, and refuses writes in a read-only one', async () => {
    const before = await read((repos) => repos.users.count());
    const failed = await failureOf(
      write(async (repos) => {
        await repos.users.create(makeUser('grace'));
        throw new Error('the unit of work fails after its write');
      }),
    );
    expect(failed.message).toBe('the unit of work fails after its write');
    expect(await read((repos) => repos.users.byName('grace'))).toBeUndefined();
    await expect(read((repos) => repos.users.create(makeUser('heidi')))).rejects.toThrow();
    expect(await read((repos) => repos.users.count())).toBe(before);
  });
});
