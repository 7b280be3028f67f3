import { StackctlError, EXIT, ReportedFailure } from '../../errors.js';
import { backupEnvironment, type BackupOutcome } from '../../lifecycle/backup.js';
import {
  backupSummary,
  findBackup,
  listBackups,
  openProjectTiers,
  requireBackup,
  verifyBackup,
} from '../../lifecycle/backup-sets.js';
import { restoreEnvironment, type RestoreOutcome } from '../../lifecycle/restore.js';
import type { LoadedStack } from '../../model/stack.js';
import { ARTIFACT_TYPES, backupAges, type ArtifactType } from '../../plan/backup.js';
import { formatBytes } from '../../ui/bytes.js';
import { table } from '../../ui/table.js';
import { confirm } from '../../ui/confirm.js';
import { startProgress, type Progress } from '../../ui/progress.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';

export { requireBackup } from '../../lifecycle/backup-sets.js';

export interface BackupFlags {
  service: string[];
  allowStop?: boolean;
  includeModels?: boolean;
  type?: string;
  tier?: string;
  json?: boolean;
  schema?: string;
}

/** Told on stderr: a tier that cannot be opened yet is left out, the others are still used. */
function tierSkipped(ctx: CommandContext): (tier: string, reason: StackctlError) => void {
  return (tier, reason) =>
    printLine(ctx.stderr, ctx.colors.yellow(`⚠ backup tier ${tier} skipped: ${reason.message}`));
}

/** The project's tiers, a tier that cannot be opened said on stderr. */
export function tiersOf(stack: LoadedStack, ctx: CommandContext) {
  return openProjectTiers(stack, { onSkipped: tierSkipped(ctx) });
}

export async function backupAction(envName: string, flags: BackupFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  requireBackup(stack.file);
  if (flags.type !== undefined && !ARTIFACT_TYPES.includes(flags.type as ArtifactType))
    throw new StackctlError('E_USAGE', `unknown backup type "${flags.type}"`, {
      hint: `types: ${ARTIFACT_TYPES.join(', ')}`,
    });
  const json = flags.json === true;
  let progress: Progress | undefined;
  const stepStarted = new Map<unknown, number>();
  try {
    const outcome = await backupEnvironment(
      stack,
      {
        envName,
        services: flags.service,
        ...(flags.type === undefined ? {} : { type: flags.type as ArtifactType }),
        ...(flags.tier === undefined ? {} : { tier: flags.tier }),
        includeModels: flags.includeModels === true,
        allowStop: flags.allowStop === true,
      },
      ctx,
      {
        tierSkipped: tierSkipped(ctx),
        noContainer: (service) => {
          if (!json)
            printLine(
              ctx.stderr,
              ctx.colors.yellow(`⚠ ${service}: no container in ${envName}, not backed up`),
            );
        },
        confirmStop: (services) => confirmStop(envName, services, json, ctx),
        begin: () => {
          if (!json) progress = startProgress(ctx, `Backing up ${envName}`);
        },
        progress: (step, bytes) => {
          const since = stepStarted.get(step) ?? Date.now();
          stepStarted.set(step, since);
          const seconds = Math.max((Date.now() - since) / 1000, 0.001);
          progress?.update(
            `Backing up ${step.service} (${step.type}): ${formatBytes(bytes)}, ${formatBytes(bytes / seconds)}/s`,
          );
        },
        stepDone: (step, artifact) =>
          progress?.log(`  ✔ ${step.service} ${step.type}: ${formatBytes(artifact.bytes)}`),
      },
    );
    progress?.stop();
    printBackup(envName, outcome, json, ctx);
  } finally {
    progress?.stop();
  }
}

/** A volume copy stops its service: said before anything happens, and confirmed. */
async function confirmStop(
  envName: string,
  stopping: readonly string[],
  json: boolean,
  ctx: CommandContext,
): Promise<void> {
  const one = stopping.length === 1;
  if (!json)
    printLine(
      ctx.stderr,
      `${stopping.join(', ')} ${one ? 'is' : 'are'} stopped while ${one ? 'its volume is' : 'their volumes are'} copied, then started again`,
    );
  await confirm(ctx, `Stop ${stopping.join(', ')} for the copy?`, false).catch((error: unknown) => {
    if (error instanceof StackctlError && error.code === 'E_REFUSED' && !ctx.interactive)
      throw new StackctlError(
        'E_REFUSED',
        `backup of ${envName} would stop ${stopping.join(', ')} to copy ${one ? 'its volume' : 'their volumes'}; nothing was done`,
        {
          hint: 'pass --allow-stop (a schedule: allowStop: true in the environment’s retention policy), or back up the other services with --service',
        },
      );
    throw error;
  });
}

function printBackup(
  envName: string,
  { tier, manifest, elapsedMs }: BackupOutcome,
  json: boolean,
  ctx: CommandContext,
) {
  if (json) {
    printJson(ctx.stdout, {
      id: manifest.id,
      environment: manifest.environment,
      tier: tier.name,
      created: manifest.created,
      artifacts: manifest.artifacts.map((artifact) => ({
        service: artifact.service,
        type: artifact.type,
        path: tier.location(manifest, artifact.file),
        bytes: artifact.bytes,
        sha256: artifact.sha256,
      })),
    });
    return;
  }
  const bytes = manifest.artifacts.reduce((sum, artifact) => sum + artifact.bytes, 0);
  printLine(
    ctx.stdout,
    ctx.colors.green(
      `✔ backup ${manifest.id} of ${envName} in ${tier.name}: ${manifest.artifacts.length} artifacts, ${formatBytes(bytes)} in ${(elapsedMs / 1000).toFixed(1)}s`,
    ),
  );
  for (const artifact of manifest.artifacts)
    printLine(
      ctx.stdout,
      `  ${artifact.service} ${artifact.type}  ${formatBytes(artifact.bytes)}  ${tier.location(manifest, artifact.file)}`,
    );
}

export async function backupListAction(
  envName: string | undefined,
  flags: { json?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const backups = await listBackups(
    await openProjectTiers(stack, {
      ...(envName === undefined ? {} : { first: envName }),
      onSkipped: tierSkipped(ctx),
    }),
    envName,
  );
  const rows = backups.map((entry) => {
    const summary = backupSummary(entry);
    return {
      id: summary.id,
      environment: summary.environment,
      created: entry.manifest.created,
      tier: summary.tier,
      services: summary.services,
      bytes: entry.manifest.artifacts.reduce((sum, artifact) => sum + artifact.bytes, 0),
    };
  });
  if (flags.json === true) {
    printJson(ctx.stdout, { backups: rows });
    return;
  }
  if (rows.length === 0) {
    printLine(ctx.stdout, `no backups${envName === undefined ? '' : ` of ${envName}`}`);
    return;
  }
  const lines = table(
    [
      ['ID', 'ENVIRONMENT', 'CREATED', 'TIER', 'SIZE', 'SERVICES'],
      ...rows.map((row) => [
        row.id,
        row.environment,
        row.created.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'),
        row.tier,
        formatBytes(row.bytes),
        row.services.join(', '),
      ]),
    ],
    ctx.colors.bold,
  );
  for (const line of lines) printLine(ctx.stdout, line);
}

export async function backupStatusAction(
  envName: string | undefined,
  flags: { json?: boolean; schema?: string; now?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  requireBackup(stack.file);
  const environments =
    envName === undefined
      ? Object.keys(stack.file.environments)
      : [requireEnvironment(stack.file, envName) && envName];
  const now = parseNow(flags.now);
  const backups = await listBackups(
    await openProjectTiers(stack, {
      ...(envName === undefined ? {} : { first: envName }),
      onSkipped: tierSkipped(ctx),
    }),
    envName,
  );
  const rows = backupAges(stack.file, environments, backups.map(backupSummary), now);
  if (flags.json === true) {
    printJson(ctx.stdout, { services: rows });
    return;
  }
  for (const row of rows) {
    const age = row.ageDays === null ? 'no backup' : `${row.ageDays} days old`;
    const mark = row.status === 'ok' ? ctx.colors.green('✔') : ctx.colors.yellow('⚠');
    printLine(
      ctx.stdout,
      `${mark} ${row.environment} ${row.service} (${row.tier}): ${age}${row.keepDays ? `, kept ${row.keepDays} days` : ''}${row.last ? `  ${row.last}` : ''}`,
    );
  }
}

export function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const parsed = new Date(text);
  if (Number.isNaN(parsed.getTime()))
    throw new StackctlError('E_USAGE', `--now ${text} is not a time`, {
      hint: 'an ISO date or time, e.g. 2027-01-31 or 2027-01-31T12:00:00Z',
    });
  return parsed;
}

export async function backupVerifyAction(
  id: string,
  flags: { json?: boolean; schema?: string },
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  const { tier, manifest } = await findBackup(await tiersOf(stack, ctx), id);
  const progress = flags.json === true ? undefined : startProgress(ctx, `Verifying ${manifest.id}`);
  const problems = await verifyBackup(tier, manifest).finally(() => progress?.stop());
  if (flags.json === true)
    printJson(ctx.stdout, {
      id,
      ok: problems.length === 0,
      artifacts: manifest.artifacts.map((artifact) => ({
        service: artifact.service,
        type: artifact.type,
        path: tier.location(manifest, artifact.file),
        ok: !problems.some((problem) => problem.artifact === artifact),
        problem: problems.find((problem) => problem.artifact === artifact)?.problem ?? null,
      })),
    });
  else if (problems.length === 0)
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ ${id}: ${manifest.artifacts.length} artifacts match their sha256`),
    );
  else
    for (const problem of problems)
      printLine(
        ctx.stderr,
        ctx.colors.red(`✖ ${id}: ${tier.location(manifest, problem.artifact.file)}: ${problem.problem}`),
      );
  if (problems.length > 0) throw new ReportedFailure(EXIT.runtime);
}

export interface RestoreFlags {
  from: string;
  service: string[];
  dryRun?: boolean;
  secretsFromBackup?: boolean;
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

export async function restoreAction(
  envName: string,
  flags: RestoreFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  requireEnvironment(stack.file, envName);
  const json = flags.json === true;
  let progress: Progress | undefined;
  const outcome = await restoreEnvironment(
    stack,
    {
      envName,
      from: flags.from,
      services: flags.service,
      dryRun: flags.dryRun === true,
      takeBackupSecrets: flags.secretsFromBackup === true,
    },
    ctx,
    {
      tierSkipped: tierSkipped(ctx),
      damaged: (problems) => {
        for (const problem of problems)
          printLine(ctx.stderr, ctx.colors.red(`✖ ${problem.location}: ${problem.problem}`));
      },
      preview: (preview) => {
        if (json) return;
        printLine(ctx.stdout, `Restore ${preview.id} (${preview.created}) into ${envName}:`);
        for (const artifact of preview.restore)
          printLine(
            ctx.stdout,
            `  ${artifact.service} ${artifact.type}  ${formatBytes(artifact.bytes)}  (replaces what ${artifact.service} holds now)`,
          );
        if (preview.stopped.length > 0)
          printLine(ctx.stdout, `  stopped meanwhile, then started again: ${preview.stopped.join(', ')}`);
        if (flags.dryRun === true) printLine(ctx.stdout, 'dry run: nothing changed');
      },
      confirm: (question) => confirm(ctx, question, flags.yes === true),
      begin: () => {
        if (!json) progress = startProgress(ctx, `Restoring ${envName}`);
      },
      restored: (artifact) => progress?.log(`  ✔ ${artifact.service} ${artifact.type} restored`),
      configSecrets: (outcome) => {
        if (outcome.replaced !== undefined && outcome.replaced.length > 0)
          progress?.log(
            `  · took the backup's ${outcome.replaced.join(', ')}; the live values they replaced are in ${outcome.savedTo ?? ''} (a database keeps its own password: start checks it)`,
          );
        if (outcome.kept.length > 0)
          progress?.log(
            `  · kept the live ${outcome.kept.join(', ')} (changed since the backup; running services and their data use them); the backup's values are in ${outcome.savedTo ?? ''}`,
          );
      },
      end: () => progress?.stop(),
      startAgain: async (services) => {
        const { startAction } = await import('./start.js');
        await startAction(
          envName,
          {
            stack: [],
            service: [...services],
            timeout: '10m',
            wait: true,
            settle: '0s',
            ...(flags.schema === undefined ? {} : { schema: flags.schema }),
          },
          // With --json, start's own output would break the one JSON document: it goes to stderr.
          json ? { ...ctx, stdout: ctx.stderr } : ctx,
          { lockHeld: true, withoutPreflight: true },
        );
      },
    },
  );
  printRestore(envName, outcome, json, ctx);
}

function printRestore(envName: string, outcome: RestoreOutcome, json: boolean, ctx: CommandContext): void {
  if (outcome.kind === 'previewed') {
    if (json) printJson(ctx.stdout, { ...previewJson(outcome.preview), dryRun: true });
    return;
  }
  const { configSecrets } = outcome;
  if (json)
    printJson(ctx.stdout, {
      ...previewJson(outcome.preview),
      restored: true,
      ...(configSecrets && configSecrets.kept.length > 0
        ? { secretsKept: configSecrets.kept, backupSecretsSavedTo: configSecrets.savedTo }
        : {}),
      ...(configSecrets?.replaced && configSecrets.replaced.length > 0
        ? { secretsReplaced: configSecrets.replaced, liveSecretsSavedTo: configSecrets.savedTo }
        : {}),
    });
  else
    printLine(
      ctx.stdout,
      ctx.colors.green(
        `✔ ${envName}: restored ${outcome.preview.id}${outcome.started.length > 0 ? `; ${outcome.started.join(', ')} healthy` : ''}`,
      ),
    );
}

/** The preview as --json has always printed it (without the creation time). */
function previewJson(preview: RestoreOutcome['preview']) {
  const { id, environment, tier, restore, stopped } = preview;
  return { id, environment, tier, restore, stopped };
}
