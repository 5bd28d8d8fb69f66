// A server starting while another process holds PostgreSQL's migration lock says it waits, then starts once the lock
// is let go (instead of sitting silent, not listening).
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
});
