import { defineConfig } from 'vitest/config';

// Tests import the packages' TypeScript sources (the "@tasklane/source" export condition), so no build is needed
// for unit and integration tests; e2e tests run the built CLI.
const conditions = ['@tasklane/source'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
