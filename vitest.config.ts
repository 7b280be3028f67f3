import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // Docker-backed suites mostly wait on containers: two files at a time share the one engine well
    // on 2 cores (each file uses address pools and project names of its own), where vitest's default
    // (cores - 1) would run them one by one.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
