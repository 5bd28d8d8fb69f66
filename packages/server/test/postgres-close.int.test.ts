// A PostgreSQL store closed leaves no connection open, even one closed before it ran a query of its own (a CLI
// command with nothing to do): Kysely's destroy() alone ends a pool only after a query through it.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '@tasklane/server';
import { postgresSkipReason, testPostgres } from '../../../test/support/postgres.js';
import { onPostgres } from './support/test-server.js';

const postgres = testPostgres();

async function connectionsOf(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tasklane-server' AND datname = current_database()",
    );
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

// Once, in the SQLite run of the integration files: it makes its own database.
describe.skipIf(onPostgres || !postgres)(`closing a PostgreSQL store${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, () => {
  it('ends its connections, whether or not it ran a query', async () => {
    const url = await postgres!.newDatabase();
    try {
      const idle = await openStore(url);
      expect(await connectionsOf(url)).toBe(1);
      await idle.close();
      expect(await connectionsOf(url)).toBe(0);
      const used = await openStore(url);
      await used.transaction((repos) => repos.users.count());
      await used.close();
      expect(await connectionsOf(url)).toBe(0);
    } finally {
      await postgres!.dropDatabase(url);
    }
  });
});
