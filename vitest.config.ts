import { defineConfig } from 'vitest/config';

// Tests import the packages' TypeScript sources (the "@tasklane/source" export condition), so no build is needed
// for unit and integration tests; e2e tests run the built CLI.
const conditions = ['@tasklane/source'];

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
      { extends: true, test: { name: 'e2e', include: ['test/**/*.test.ts'] } },
    ],
  },
});
