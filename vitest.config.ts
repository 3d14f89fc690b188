import { defineConfig } from 'vitest/config';

// One run from the root: fast unit suites beside each package's source (simulated engine),
// and the end-to-end suites under test/ (real CRIU, PostgreSQL, Redis; run in child processes).
export default defineConfig({
  resolve: { conditions: ['@crac/source'] },
  ssr: { resolve: { conditions: ['@crac/source'] } },
  test: {
    projects: [
      {
        extends: true,
        // ...and the unit suites about the repository as a whole (test/*.unit.test.ts: what is published).
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts', 'test/**/*.unit.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.test.ts'],
          // Real checkpoints: one file at a time (pids, ports, the machine's 2 cores), generous timeouts.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
