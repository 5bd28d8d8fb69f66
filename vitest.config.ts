import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { findPostgresBinaries, PG_URL_ENV } from './test/support/postgres.js';

// Tests import the packages' TypeScript sources (the "@tasklane/source" export condition), so no build is needed
// for unit and integration tests; e2e tests run the built CLI.
const conditions = ['@tasklane/source'];

/**
 * Integration test files the PostgreSQL run leaves out: those that run their own body on both stores already
 * (storesUnderTest), those on the run's PostgreSQL whatever the project (testPostgres()), and those about the SQLite
 * file itself.
 */
const POSTGRES_EXCLUDED = [
  'packages/server/test/events-store.int.test.ts',
  'packages/server/test/postgres-patterns.int.test.ts',
  'packages/server/test/tasks-models-store.int.test.ts',
  'packages/server/test/projects-queues-workers-store.int.test.ts',
  'packages/server/test/postgres-store.int.test.ts',
  'packages/server/test/s3-file-store.int.test.ts',
  'packages/server/test/store-durability.int.test.ts',
  'packages/server/test/poison-repair.int.test.ts',
  'packages/server/test/queue-handout.int.test.ts',
];

/**
 * The same integration suite again with every test server on PostgreSQL (packages/server/test/support/test-server.ts),
 * where there is one: a throwaway cluster of the installed binaries, or TASKLANE_TEST_PG_URL. Where there is none,
 * one line says the suite runs on SQLite only, and why.
 */
function postgresProjects(): TestProjectInlineConfiguration[] {
  const why =
    process.env.TASKLANE_TEST_PG === 'off'
      ? 'TASKLANE_TEST_PG=off'
      : !process.env[PG_URL_ENV] && findPostgresBinaries() === undefined
        ? 'no PostgreSQL binaries found (install the postgresql package, or set TASKLANE_TEST_PG_URL)'
        : undefined;
  if (why !== undefined) {
    // Once: the workers load this file again, with the environment of the run.
    if (process.env.TASKLANE_TEST_PG_NOTED === undefined) process.stdout.write(`Integration suite on SQLite only: PostgreSQL skipped, ${why}.\n`);
    process.env.TASKLANE_TEST_PG_NOTED = '1';
    return [];
  }
  return [
    {
      extends: true,
      test: {
        name: 'integration-postgres',
        include: ['packages/*/test/**/*.test.ts'],
        exclude: POSTGRES_EXCLUDED,
        env: { TASKLANE_TEST_STORE: 'postgres' },
        globalSetup: ['./test/support/postgres-global-setup.ts'],
      },
    },
  ];
}

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // `npm run test:unit` / `test:int` pick one (--project); a run of chosen files runs the projects they belong to.
    projects: [
      { extends: true, test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts'],
          // One throwaway PostgreSQL cluster for the run, started only when integration tests run (test/support/postgres.ts).
          globalSetup: ['./test/support/postgres-global-setup.ts'],
        },
      },
      ...postgresProjects(),
      // The multi-process tests run several servers on one PostgreSQL (testPostgres()).
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'], globalSetup: ['./test/support/postgres-global-setup.ts'] } },
    ],
  },
});
