import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Docker-backed suites share one engine; keep them from starving each other on 2 cores.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
