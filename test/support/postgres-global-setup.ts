import { PG_SKIPPED_ENV, PG_URL_ENV, findPostgresBinaries, startPostgresCluster, type PostgresCluster } from './postgres.js';

/**
 * vitest global setup of the integration tests: one throwaway PostgreSQL cluster for the whole run, its URL handed to
 * the test files (started after this) in TASKLANE_TEST_PG_URL; each test file makes its own database on it. A URL
 * set already is used as it is (no cluster); TASKLANE_TEST_PG=off, or no PostgreSQL installed, skips PostgreSQL with
 * one line saying so.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env[PG_URL_ENV]) {
    process.stdout.write(`PostgreSQL: using ${PG_URL_ENV} (${redact(process.env[PG_URL_ENV])})\n`);
    return undefined;
  }
  if (process.env.TASKLANE_TEST_PG === 'off') return skip('TASKLANE_TEST_PG=off');
  const binDir = findPostgresBinaries();
  if (binDir === undefined) {
    return skip(
      'no PostgreSQL binaries found (initdb, postgres in /usr/lib/postgresql/N/bin, TASKLANE_TEST_PG_BIN or PATH); ' +
        'install the postgresql package, or set TASKLANE_TEST_PG_URL',
    );
  }
  const cluster: PostgresCluster = await startPostgresCluster({ binDir });
  process.env[PG_URL_ENV] = cluster.url;
  process.stdout.write(`PostgreSQL: throwaway cluster from ${binDir} on ${new URL(cluster.url).host}, up in ${cluster.startupMs} ms\n`);
  return () => cluster.stop();
}

function skip(reason: string): undefined {
  process.env[PG_SKIPPED_ENV] = reason;
  process.stdout.write(`PostgreSQL: skipped, ${reason}\n`);
  return undefined;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'not a URL';
  }
}
