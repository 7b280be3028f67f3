import { confirm } from '../../ui/confirm.js';
import { installedSchedules } from '../../lifecycle/schedule.js';
import {
  cleanUpRetention,
  evaluateRetentionOf,
  leftoversOf,
  retentionReport,
  type RetentionIo,
  type RetentionReport,
} from '../../lifecycle/retention.js';
import { requireBackup } from '../../lifecycle/backup-sets.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { jobsOf } from '../../lifecycle/schedule.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { parseNow } from './backup.js';

export interface RetentionFlags {
  now?: string;
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

export async function retentionStatusAction(
  envName: string | undefined,
  flags: RetentionFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const backup = requireBackup(stack.file);
  const { environments } = await evaluateRetentionOf(
    stack,
    envName,
    parseNow(flags.now),
    retentionIo(ctx),
    false,
  );
  const installed = await installedSchedules(
    stack.file.project.name,
    await jobsOf(stack, envName),
    stack.root,
    stack.schemaPath,
    ctx.env,
  );
  const rows = environments.map(({ environment, policy, decisions }) => ({
    environment,
    days: policy?.days ?? null,
    services: policy?.services ?? {},
    schedule: policy?.schedule ?? null,
    /** How the schedule is installed on this host: cron, systemd, or null (not installed). */
    installed: installed.get(environment) ?? null,
    tier: policy?.tier ?? backup.defaultTier,
    backups: decisions.length,
    expired: decisions.filter((decision) => decision.expired).length,
  }));
  if (flags.json === true) {
    printJson(ctx.stdout, { environments: rows });
    return;
  }
  for (const row of rows) {
    if (row.days === null) {
      printLine(
        ctx.stdout,
        `${row.environment}: no retention policy (backups are kept until removed by hand)`,
      );
      continue;
    }
    const overrides = Object.entries(row.services).map(([service, days]) => `${service} ${days}`);
    printLine(
      ctx.stdout,
      `${row.environment}: keep ${row.days} days${overrides.length > 0 ? ` (${overrides.join(', ')})` : ''}, ${scheduleWords(row.schedule, row.installed)} to ${row.tier}; ${row.backups} backups, ${row.expired} expired`,
    );
  }
}

/** `scheduled "0 2 * * *" (systemd timer)`, or what is missing for it to run. */
function scheduleWords(schedule: string | null, installed: 'cron' | 'systemd' | null): string {
  if (schedule === null) return 'not scheduled';
  if (installed === null)
    return `schedule "${schedule}" not installed on this host (stackctl schedule install)`;
  return `scheduled "${schedule}" (${installed === 'cron' ? 'crontab' : 'systemd timer'})`;
}

function printPlan(report: RetentionReport, ctx: CommandContext, verb: string): void {
  for (const backup of report.backups) {
    const mark = backup.expired ? ctx.colors.red(`✖ ${verb}`) : ctx.colors.green('✔ keep');
    printLine(ctx.stdout, `${mark} ${backup.environment} ${backup.id} (${backup.tier}): ${backup.reason}`);
  }
  for (const file of report.files)
    printLine(
      ctx.stdout,
      `${ctx.colors.red(`✖ ${verb}`)} ${file.environment} ${file.service}:${file.path} (expired ${file.volume} file)`,
    );
  for (const entry of report.indices)
    printLine(
      ctx.stdout,
      `${ctx.colors.red(`✖ ${verb}`)} ${entry.environment} ${entry.service} index ${entry.index} (created ${entry.created})`,
    );
  for (const leftover of report.leftovers)
    printLine(ctx.stdout, `${ctx.colors.red(`✖ ${verb}`)} ${leftover.location} (an interrupted backup)`);
}

/** What cleanup would remove, as of --now; removes nothing. */
export async function retentionTestAction(
  envName: string | undefined,
  flags: RetentionFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const { environments, tiers } = await evaluateRetentionOf(
    stack,
    envName,
    parseNow(flags.now),
    retentionIo(ctx),
    true,
  );
  const report = retentionReport(environments, await leftoversOf(tiers, envName, parseNow(flags.now)));
  if (flags.json === true) {
    printJson(ctx.stdout, { ...report, removed: false });
    return;
  }
  printPlan(report, ctx, 'would remove');
  const count =
    report.backups.filter((backup) => backup.expired).length +
    report.files.length +
    report.indices.length +
    report.leftovers.length;
  printLine(
    ctx.stdout,
    count === 0
      ? 'nothing has expired'
      : `${count} would be removed by stackctl retention cleanup; nothing was removed`,
  );
}

export async function retentionCleanupAction(
  envName: string | undefined,
  flags: RetentionFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const json = flags.json === true;
  const { report, count } = await cleanUpRetention(
    stack,
    { envName, now: parseNow(flags.now) },
    retentionIo(ctx),
    {
      plan: (report) => {
        if (!json) printPlan(report, ctx, 'remove');
      },
      confirm: (count) =>
        confirm(ctx, `Remove ${count === 1 ? 'this' : `these ${count}`}?`, flags.yes === true),
    },
  );
  if (json) printJson(ctx.stdout, { ...report, removed: true });
  else printLine(ctx.stdout, count === 0 ? 'nothing has expired' : ctx.colors.green(`✔ removed ${count}`));
}

function retentionIo(ctx: CommandContext): RetentionIo {
  return {
    env: ctx.env,
    signal: ctx.signal,
    tierSkipped: (tier, reason) =>
      printLine(ctx.stderr, ctx.colors.yellow(`⚠ backup tier ${tier} skipped: ${reason.message}`)),
  };
}
