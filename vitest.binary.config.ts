import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// The command-level and end-to-end tests, run against the single binary (STACKCTL_BIN), plus the
// checks that only make sense for it. The binary runs the same bundle as `npm test` does: the long
// suites that only repeat what the bundle run proved (restore faults, import history, wipe,
// live-store retention, upgrades and their rollbacks, model pulls) are left to it, so CI stays well
// under half an hour; every kind of work the binary does (the engine, compose, S3 through the AWS
// SDK, HTTP and streamed answers through fetch, JMeter fed on its standard input, terminals,
// kustomize, git bundles, nvidia-smi) keeps a suite here.
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
    exclude: [
      'test/cli/restore-faults.e2e.test.ts',
      'test/cli/import-history.e2e.test.ts',
      'test/cli/wipe.e2e.test.ts',
      'test/cli/live-store-retention.e2e.test.ts',
      'test/cli/upgrade-data.e2e.test.ts',
      'test/cli/upgrade.e2e.test.ts',
      'test/cli/models-pull.e2e.test.ts',
    ],
  },
});
