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
        test: { name: 'unit', include: ['packages/*/src/**/*.test.ts'] },
      },
    ],
  },
});
