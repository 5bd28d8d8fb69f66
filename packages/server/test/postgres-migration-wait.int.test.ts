// Starting on PostgreSQL: a server starting while another process holds the migration lock says it waits, then starts
// once the lock is let go (instead of sitting silent, not listening); a database user that may not create tables is
// told what to grant.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadServerConfig, startServer } from '@tasklane/server';
import { postgresSkipReason, testPostgres } from '../../../test/support/postgres.js';
import { onPostgres } from './support/test-server.js';

/** storage/postgres/migrate.ts's lock key. */
const MIGRATION_LOCK_KEY = '8386673614594253413';
const postgres = testPostgres();

// Runs once (in the SQLite run of the integration files): it makes its own database either way.
describe.skipIf(onPostgres || !postgres)(`a server waiting for the migration lock${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, () => {
  it('logs that it waits, and starts when the holder lets go', async () => {
    const dbUrl = await postgres!.newDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'tasklane-migration-wait-'));
    const holder = new pg.Client({ connectionString: dbUrl });
    await holder.connect();
    const lines: string[] = [];
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const starting = startServer(loadServerConfig({}, { port: 0, dbUrl, logLevel: 'info', dataDir }), {
        logStream: { write: (line: string) => lines.push(line) },
      });
      let started = false;
      void starting.then(() => (started = true), () => {});
      const deadline = Date.now() + 10_000;
      while (!lines.some((line) => line.includes('waiting for another Tasklane process')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(lines.join('')).toContain('waiting for another Tasklane process to finish migrating the database');
      await new Promise((r) => setTimeout(r, 300));
      expect(started).toBe(false);
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const server = await starting;
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      await server.close();
    } finally {
      await holder.end();
      await postgres!.dropDatabase(dbUrl);
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('tells a database user that may not create tables what to grant, the password hidden', async () => {
    const dbUrl = await postgres!.newDatabase();
    const dataDir = await mkdtemp(join(tmpdir(), 'tasklane-no-privilege-'));
    const role = `tl_guest_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: dbUrl });
    await admin.connect();
    try {
      // Not the database's owner: since PostgreSQL 15 it may not create tables in public.
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'guest-password-123'`);
      const url = new URL(dbUrl);
      url.username = role;
      url.password = 'guest-password-123';
      const error = await startServer(loadServerConfig({}, { port: 0, dbUrl: url.toString(), logLevel: 'silent', dataDir })).then(
        (server) => server.close().then(() => undefined),
        (caught: Error) => caught,
      );
      expect(error?.message).toMatch(/^The database user may not create Tasklane's tables \(permission denied for schema public\)\. Make it the database's owner/);
      expect(error?.message).not.toContain('guest-password-123');
    } finally {
      await admin.end();
      await postgres!.dropDatabase(dbUrl);
      const cleanup = new pg.Client({ connectionString: postgres!.url });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${role}`);
      await cleanup.end();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
