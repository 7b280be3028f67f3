import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The command-level and end-to-end tests, run against the single binary (STACKCTL_BIN), plus the
// checks that only make sense for it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/cli/**/*.test.ts',
      'test/schema/broken-schemas.test.ts',
      'test/schema/repository-drift.test.ts',
      'test/binary/**/*.binary-test.ts',
    ],
  },
});
