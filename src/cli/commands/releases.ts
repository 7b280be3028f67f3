import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { TestReportFlags, VerifyFlags } from '../actions/verify.js';
import type { ImagesFlags } from '../actions/images.js';
import type { RollbackFlags, UpgradeFlags } from '../actions/upgrade.js';

/** The commands that check and change what an environment runs: pull, build, upgrade, rollback, releases, verify. */
export function registerReleases(program: Command, context: () => CommandContext): void {
  program
    .command('pull')
    .description("pull the newest images of an environment's services (nothing running changes)")
    .argument('<env>', 'environment')
    .option('--service <name>', 'only this service (repeatable)', collect, [])
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what changed as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl pull production', 'every image that is pulled, not built'],
        ['stackctl pull production --service litellm', 'one service'],
        ['stackctl upgrade production', 'then roll them out, with automatic rollback'],
      ]) + '\nPrints each image before and after (image ID, registry digest) and what runs it.\n',
    )
    .action(async (env: string, flags: ImagesFlags) => {
      const { imagesAction } = await import('../actions/images.js');
      await imagesAction('pull', env, flags, context());
    });

  program
    .command('build')
    .description("build the images of an environment's services built from source (nothing running changes)")
    .argument('<env>', 'environment')
    .option('--service <name>', 'only this service (repeatable)', collect, [])
    .option('--no-cache', 'ignore the build cache')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what changed as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl build development', 'every service with build:'],
        ['stackctl build development --service multimodal-worker --no-cache', 'from scratch'],
        ['stackctl upgrade development --build', 'build and roll out in one go'],
      ]),
    )
    .action(async (env: string, flags: ImagesFlags) => {
      const { imagesAction } = await import('../actions/images.js');
      await imagesAction('build', env, flags, context());
    });

  registerUpgrade(program, context);
  registerVerify(program, context);
}

function registerUpgrade(program: Command, context: () => CommandContext): void {
  program
    .command('upgrade')
    .description(
      'roll new images and configuration out service by service, behind a health gate, with automatic rollback',
    )
    .argument('<env>', 'environment')
    .option('--service <name>', 'roll out only this service (repeatable)', collect, [])
    .option('--pull', 'pull newer images first')
    .option('--build', 'build the services built from source first')
    .option('--dry-run', 'show what would be recreated and why; change nothing')
    .option('-y, --yes', 'do not ask (the rollout, and restoring data after a failure)')
    .option('--no-snapshot', 'go on without a data snapshot when the schema has no backup tier')
    .option('--timeout <duration>', 'the most any one service may take to be healthy', '10m')
    .option('--settle <duration>', 'how long each service must stay healthy before the next (default 3s)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the release as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl upgrade production --pull --dry-run', 'what new images and config would recreate'],
        ['stackctl upgrade production --pull', 'snapshot, roll out, verify; roll back on failure'],
        ['stackctl upgrade development --build --service multimodal-worker', 'one service from source'],
      ]) +
        '\nEach service: start-first (no downtime) without a host port or GPU, stop-first otherwise.' +
        '\nOn any failure the previous images (by ID), files and configuration come back; data only when' +
        '\nthe failed release may have written it, and only when confirmed (or --yes).' +
        '\nExit 0 upgraded or nothing to do, 1 failed and rolled back, 4 not confirmed, 130 interrupted (rolled back).\n',
    )
    .action(async (env: string, flags: UpgradeFlags) => {
      const { upgradeAction } = await import('../actions/upgrade.js');
      await upgradeAction(env, flags, context());
    });

  program
    .command('rollback')
    .description('put an environment back on what it ran before its last release (or --to RELEASE)')
    .argument('<env>', 'environment')
    .option('--to <release>', 'undo this release (an id or a unique prefix)')
    .option('--restore-data', "also restore the release's data snapshot (what was written since is lost)")
    .option('-y, --yes', 'do not ask')
    .option('--timeout <duration>', 'the most any one service may take to be healthy', '10m')
    .option('--settle <duration>', 'how long each service must stay healthy before the next (default 3s)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the rollback as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl rollback production', 'undo the last upgrade (or one killed part-way)'],
        ['stackctl rollback production --to 20261207T0315', 'undo an earlier one'],
      ]),
    )
    .action(async (env: string, flags: RollbackFlags) => {
      const { rollbackAction } = await import('../actions/upgrade.js');
      await rollbackAction(env, flags, context());
    });

  program
    .command('releases')
    .description("an environment's release history: time, what changed, who, outcome")
    .argument('<env>', 'environment')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the records as JSON (image IDs, digests, config hashes)')
    .addHelpText(
      'after',
      examples([
        ['stackctl releases production', 'id, time, state, what changed and why, who, the command'],
        ['stackctl releases production --json', 'with image IDs, digests, configuration hashes, downtime'],
        ['stackctl rollback production --to 20261207T0315', 'go back on one of them'],
      ]),
    )
    .action(async (env: string, flags: { schema?: string; json?: boolean }) => {
      const { releasesAction } = await import('../actions/upgrade.js');
      await releasesAction(env, flags, context());
    });
}

function registerVerify(program: Command, context: () => CommandContext): void {
  program
    .command('verify')
    .description('run the end-to-end checks the schema declares (verify:) against a running environment')
    .argument('<env>', 'environment')
    .option('--service <name>', 'only the checks of this service (repeatable)', collect, [])
    .option('--junit <file>', 'also write the results as JUnit XML')
    .option(
      '--allure [dir]',
      "also write Allure results (one <uuid>-result.json per check): into DIR, or without one into the testing environment's results volume",
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl verify production', 'every check of every service, each replica'],
        ['stackctl verify staging --junit reports/verify.xml', 'for CI'],
        [
          'stackctl verify staging --allure',
          "into the testing environment's Allure results (stackctl test-report staging)",
        ],
        ['stackctl verify staging --allure allure-results', 'into a folder'],
      ]) + '\nExit 0 every check passed, 1 one failed or could not run, 2 bad input.\n',
    )
    .action(async (env: string, flags: VerifyFlags) => {
      const { verifyAction } = await import('../actions/verify.js');
      await verifyAction(env, flags, context());
    });

  program
    .command('test-report')
    .description("where the testing environment serves the report of an environment's verify results")
    .argument('<env>', 'the environment whose results (stackctl verify ENV --allure)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print it as JSON')
    .addHelpText(
      'after',
      examples([['stackctl test-report staging', 'the report URL, and how many of its checks passed']]) +
        '\nExit 0 the report service runs, 1 it does not (the command to start it is printed), 2 bad input.\n',
    )
    .action(async (env: string, flags: TestReportFlags) => {
      const { testReportAction } = await import('../actions/verify.js');
      await testReportAction(env, flags, context());
    });
}
