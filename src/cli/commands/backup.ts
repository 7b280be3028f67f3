import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect, examples } from '../help.js';
import type { BackupFlags, RestoreFlags } from '../actions/backup.js';
import type { RetentionFlags } from '../actions/retention.js';
import type { ScheduleFlags } from '../actions/schedule.js';

export function registerBackup(program: Command, context: () => CommandContext): void {
  const backup = program
    .command('backup')
    .description(
      "back up an environment's data (PostgreSQL, Redis, volumes) and config; list, check and verify backups",
    )
    .addHelpText(
      'after',
      examples([
        ['stackctl backup production', 'every service that holds data, and the config'],
        ['stackctl backup list production', 'the backups there are'],
        ['stackctl restore production --from 20261201T020000000Z-1a2b3c', 'bring one back'],
      ]),
    );

  // The default subcommand: `stackctl backup ENV` is `stackctl backup create ENV`.
  backup
    .command('create', { isDefault: true })
    .description("back up an environment's data and config to a tier (the default: stackctl backup ENV)")
    .argument('<env>', 'environment to back up')
    .option(
      '--service <name>',
      'only this service (repeatable; config for the encrypted config)',
      collect,
      [],
    )
    .option('--type <type>', 'full, schema or data (PostgreSQL); rdb or aof (Redis); volume; config')
    .option('--allow-stop', 'stop a service whose volume is copied without asking (scripts and schedules)')
    .option(
      '--include-models',
      'back up volumes of model weights too (left out by default: they can be downloaded again)',
    )
    .option(
      '--tier <name>',
      "where it goes (default: the environment's policy tier, else backup.defaultTier)",
    )
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"id", "environment", "tier", "created", "artifacts": [...]}')
    .addHelpText(
      'after',
      examples([
        ['stackctl backup production', 'every service that holds data, and the config'],
        ['stackctl backup production --service postgres --type schema', 'the database schema only'],
        ['stackctl backup staging --tier cloud --json', 'to the S3 tier, as JSON'],
      ]),
    )
    .action(async (env: string, flags: BackupFlags) => {
      const { backupAction } = await import('../actions/backup.js');
      await backupAction(env, flags, context());
    });

  backup
    .command('list')
    .description('the backups of every tier, oldest first')
    .argument('[env]', 'one environment (default: all)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"backups": [{"id", "environment", "created", "tier", "services", "bytes"}]}')
    .addHelpText('after', examples([['stackctl backup list production --json', 'as JSON']]))
    .action(async (env: string | undefined, flags: { json?: boolean; schema?: string }) => {
      const { backupListAction } = await import('../actions/backup.js');
      await backupListAction(env, flags, context());
    });

  backup
    .command('status')
    .description("per service and tier: the last backup and its age against the environment's policy")
    .argument('[env]', 'one environment (default: all)')
    .option('--now <time>', 'evaluate as of another time')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"services": [...]}')
    .addHelpText(
      'after',
      examples([['stackctl backup status production', 'what is backed up, and how long ago']]),
    )
    .action(async (env: string | undefined, flags: { json?: boolean; schema?: string; now?: string }) => {
      const { backupStatusAction } = await import('../actions/backup.js');
      await backupStatusAction(env, flags, context());
    });

  backup
    .command('verify')
    .description('check every artifact of a backup against its sha256 (exit 1 naming any mismatch)')
    .argument('<id>', 'backup id (stackctl backup list)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print {"id", "ok", "artifacts": [...]}')
    .addHelpText(
      'after',
      examples([['stackctl backup verify 20261201T020000000Z-1a2b3c', 'before trusting it']]),
    )
    .action(async (id: string, flags: { json?: boolean; schema?: string }) => {
      const { backupVerifyAction } = await import('../actions/backup.js');
      await backupVerifyAction(id, flags, context());
    });

  registerRestore(program, context);
  registerRetention(program, context);
  registerSchedule(program, context);
}

function registerRestore(program: Command, context: () => CommandContext): void {
  program
    .command('restore')
    .description(
      'restore a backup into an environment: verified first, previewed, confirmed, then waited for',
    )
    .argument('<env>', 'environment')
    .requiredOption(
      '--from <id>',
      'the backup to restore: its id (stackctl backup list), a unique start of it, or latest',
    )
    .option('--service <name>', 'only this service (repeatable; config only when named)', collect, [])
    .option('--dry-run', 'verify and show what would be restored and stopped; change nothing')
    .option(
      '--secrets-from-backup',
      "with the config: take the backup's secret values even where they changed since (by default the live ones are kept and the backup's saved aside)",
    )
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .option('-s, --schema <path>', 'stack file')
    .option('--json', 'print what was (or would be) restored as JSON')
    .addHelpText(
      'after',
      examples([
        ['stackctl restore production --from 20261201T020000000Z-1a2b3c --dry-run', 'see what it would do'],
        [
          'stackctl restore staging --from 20261201T020000000Z-1a2b3c --service config --yes',
          'the schema, env files and secret store (secrets rotated since keep their live values)',
        ],
        [
          'stackctl restore staging --from 20261201T020000000Z-1a2b3c --service postgres --yes',
          'the database only',
        ],
      ]),
    )
    .action(async (env: string, flags: RestoreFlags) => {
      const { restoreAction } = await import('../actions/backup.js');
      await restoreAction(env, flags, context());
    });
}

function registerRetention(program: Command, context: () => CommandContext): void {
  const retention = program
    .command('retention')
    .description('how long backups are kept, what has expired, and removing it')
    .addHelpText(
      'after',
      examples([
        ['stackctl retention status', 'every policy'],
        ['stackctl retention test production --now 2027-06-01', 'what would expire by then; removes nothing'],
        ['stackctl retention cleanup production --yes', 'remove what has expired'],
      ]),
    );
  const retentionCommand = (name: string, description: string, example: readonly [string, string]) =>
    retention
      .command(name)
      .description(description)
      .argument('[env]', 'one environment (default: all)')
      .option('--now <time>', 'evaluate the policy as of another time (ISO date or time)')
      .option('-s, --schema <path>', 'stack file')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', examples([example]));
  retentionCommand('status', "each environment's policy, and how many backups it has and has expired", [
    'stackctl retention status production',
    'one policy',
  ]).action(async (env: string | undefined, flags: RetentionFlags) => {
    const { retentionStatusAction } = await import('../actions/retention.js');
    await retentionStatusAction(env, flags, context());
  });
  retentionCommand(
    'test',
    'what cleanup would remove (expired backups, log and test-result files); removes nothing',
    ['stackctl retention test --now 2027-01-31', 'what-if'],
  ).action(async (env: string | undefined, flags: RetentionFlags) => {
    const { retentionTestAction } = await import('../actions/retention.js');
    await retentionTestAction(env, flags, context());
  });
  retentionCommand(
    'cleanup',
    'remove expired backups in every tier and expired log files; never the newest backup of a service',
    ['stackctl retention cleanup production --yes', 'without asking'],
  )
    .option('-y, --yes', 'do not ask (required without a terminal)')
    .action(async (env: string | undefined, flags: RetentionFlags) => {
      const { retentionCleanupAction } = await import('../actions/retention.js');
      await retentionCleanupAction(env, flags, context());
    });
}

function registerSchedule(program: Command, context: () => CommandContext): void {
  const schedule = program
    .command('schedule')
    .description(
      "run each environment's backups on its policy's schedule: systemd timers, or crontab without systemd",
    )
    .addHelpText(
      'after',
      examples([
        ['stackctl schedule show', 'what install would write'],
        [
          'stackctl schedule install production',
          "production's backups, then retention cleanup, on its schedule",
        ],
        ['stackctl schedule remove', 'every scheduled backup of this project'],
      ]),
    );
  const scheduleCommand = (name: string, description: string, example: readonly [string, string]) =>
    schedule
      .command(name)
      .description(description)
      .argument('[env]', 'one environment (default: all)')
      .option('--cron', 'use crontab even where systemd runs')
      .option('-s, --schema <path>', 'stack file')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', examples([example]));
  scheduleCommand('show', 'print the timers (or crontab entries) install would write', [
    'stackctl schedule show production',
    'one environment',
  ]).action(async (env: string | undefined, flags: ScheduleFlags) => {
    const { scheduleShowAction } = await import('../actions/schedule.js');
    await scheduleShowAction(env, flags, context());
  });
  scheduleCommand('install', 'install and enable them for the current user', [
    'stackctl schedule install --cron',
    'in crontab',
  ]).action(async (env: string | undefined, flags: ScheduleFlags) => {
    const { scheduleInstallAction } = await import('../actions/schedule.js');
    await scheduleInstallAction(env, flags, context());
  });
  scheduleCommand('remove', "disable and remove them (only stackctl's own entries)", [
    'stackctl schedule remove production',
    'one environment',
  ]).action(async (env: string | undefined, flags: ScheduleFlags) => {
    const { scheduleRemoveAction } = await import('../actions/schedule.js');
    await scheduleRemoveAction(env, flags, context());
  });
}
