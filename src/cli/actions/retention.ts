import { manifestServices, type BackupManifest } from '../../effects/backup/manifest.js';
import { expiredLogFiles, type ExpiredFiles } from '../../lifecycle/log-files.js';
import type { Leftover, TierStore } from '../../effects/backup/tiers.js';
import { dockerClient } from '../../effects/docker.js';
import { deleteIndex, expiredIndices } from '../../effects/elasticsearch.js';
import { interpolate } from '../../schema/interpolate.js';
import { acquireLock, type Lock } from '../../effects/lock.js';
import { readSecretStore } from '../../effects/secret-store.js';
import { resolveEnvironment } from '../../model/environment.js';
import {
  evaluateRetention,
  findDamaged,
  type BackupSummary,
  type RetentionDecision,
} from '../../plan/backup.js';
import { verifyBackup } from '../../lifecycle/backup.js';
import type { RetentionPolicyDef } from '../../schema/types.js';
import { confirm } from '../../ui/confirm.js';
import { installedSchedules } from '../../lifecycle/schedule.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { jobsOf } from './schedule.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';
import { parseNow, requireBackup, tiersOf } from './backup.js';

export interface RetentionFlags {
  now?: string;
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

interface EnvironmentRetention {
  readonly environment: string;
  readonly policy: RetentionPolicyDef | undefined;
  readonly decisions: readonly (RetentionDecision & { tier: TierStore; manifest: BackupManifest })[];
  readonly logs: readonly ExpiredFiles[];
  /** Indices past indexDays in the services with indexRetention. */
  readonly indices: readonly { service: string; url: string; index: string; created: number }[];
}

async function evaluate(
  stack: LoadedStack,
  envName: string | undefined,
  now: Date,
  ctx: CommandContext,
  withLogs: boolean,
): Promise<{ environments: EnvironmentRetention[]; tiers: TierStore[] }> {
  const backup = requireBackup(stack.file);
  const names = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  const stores = await Promise.all(
    Object.keys(stack.file.environments).map((name) => readSecretStore(stack.root, name)),
  );
  const tiers = await tiersOf(stack, stores, ctx);
  const environments: EnvironmentRetention[] = [];
  for (const name of names) {
    const policy = backup.retention?.[name];
    const sets: { tier: TierStore; manifest: BackupManifest }[] = [];
    for (const tier of tiers) for (const manifest of await tier.list(name)) sets.push({ tier, manifest });
    let summaries: BackupSummary[] = sets.map(({ tier, manifest }) => ({
      id: manifest.id,
      environment: name,
      tier: tier.name,
      created: new Date(manifest.created),
      services: manifestServices(manifest),
    }));
    // Before anything may go: the newest set of each service is read back; a damaged one (its
    // file missing, cut short) does not count as the copy that lets the older ones go.
    if (withLogs && policy) {
      const setOf = (backup: BackupSummary) =>
        sets.find((entry) => entry.manifest.id === backup.id && entry.tier.name === backup.tier);
      const damaged = await findDamaged(summaries, async (backup, service) => {
        const set = setOf(backup);
        return set !== undefined && (await verifyBackup(set.tier, set.manifest, [service])).length === 0;
      });
      summaries = summaries.map((backup) => {
        const services = damaged.get(`${backup.tier}/${backup.id}`);
        return services ? { ...backup, damaged: services } : backup;
      });
    }
    const decisions = policy
      ? evaluateRetention(summaries, policy, now).map((decision) => {
          const set = sets.find(
            (entry) => entry.manifest.id === decision.backup.id && entry.tier.name === decision.backup.tier,
          );
          if (!set) throw new Error('a decision without its set');
          return { ...decision, ...set };
        })
      : [];
    const logs =
      withLogs && policy
        ? await expiredLogFiles(
            stack.file,
            resolveEnvironment(stack.file, name),
            policy.logsDays ?? policy.days,
            now,
            {
              docker: dockerClient(ctx.env),
              env: ctx.env,
              signal: ctx.signal,
            },
          )
        : [];
    const indices: EnvironmentRetention['indices'][number][] = [];
    if (withLogs && policy) {
      const model = resolveEnvironment(stack.file, name);
      const cutoff = now.getTime() - (policy.indexDays ?? policy.days) * 86_400_000;
      for (const service of model.services) {
        const store = service.definition.indexRetention;
        if (store === undefined) continue;
        const url = interpolate(store.url, model.values).value;
        for (const index of await expiredIndices(url, store.pattern ?? '*', cutoff, ctx.signal))
          indices.push({ service: service.name, url, ...index });
      }
    }
    environments.push({ environment: name, policy, decisions, logs, indices });
  }
  return { environments, tiers };
}

export async function retentionStatusAction(
  envName: string | undefined,
  flags: RetentionFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx, { orRecorded: true });
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const backup = requireBackup(stack.file);
  const { environments } = await evaluate(stack, envName, parseNow(flags.now), ctx, false);
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

function describe(
  environments: readonly EnvironmentRetention[],
  leftovers: readonly { tier: TierStore; leftover: Leftover }[],
) {
  return {
    backups: environments.flatMap(({ decisions }) =>
      decisions.map((decision) => ({
        id: decision.manifest.id,
        environment: decision.manifest.environment,
        tier: decision.tier.name,
        created: decision.manifest.created,
        expired: decision.expired,
        reason: decision.reason,
      })),
    ),
    files: environments.flatMap(({ environment, logs }) =>
      logs.flatMap((entry) =>
        entry.files.map((path) => ({ environment, service: entry.service, volume: entry.volume, path })),
      ),
    ),
    indices: environments.flatMap(({ environment, indices }) =>
      indices.map((entry) => ({
        environment,
        service: entry.service,
        index: entry.index,
        created: new Date(entry.created).toISOString(),
      })),
    ),
    leftovers: leftovers.map(({ tier, leftover }) => ({
      tier: tier.name,
      environment: leftover.environment,
      location: leftover.location,
    })),
  };
}

async function leftoversOf(tiers: readonly TierStore[], envName: string | undefined, now: Date) {
  const out: { tier: TierStore; leftover: Leftover }[] = [];
  for (const tier of tiers)
    for (const leftover of await tier.leftovers(now))
      if (envName === undefined || leftover.environment === envName) out.push({ tier, leftover });
  return out;
}

function printPlan(report: ReturnType<typeof describe>, ctx: CommandContext, verb: string): void {
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
  const { environments, tiers } = await evaluate(stack, envName, parseNow(flags.now), ctx, true);
  const report = describe(environments, await leftoversOf(tiers, envName, parseNow(flags.now)));
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
  const now = parseNow(flags.now);
  const locks: Lock[] = [];
  try {
    for (const name of envName === undefined ? Object.keys(stack.file.environments) : [envName])
      locks.push(await acquireLock(stack.root, name, 'retention cleanup'));
    const { environments, tiers } = await evaluate(stack, envName, now, ctx, true);
    const leftovers = await leftoversOf(tiers, envName, now);
    const report = describe(environments, leftovers);
    const expired = environments.flatMap(({ decisions }) => decisions.filter((decision) => decision.expired));
    const files = environments.flatMap(({ logs }) => logs);
    const indices = environments.flatMap((entry) => entry.indices);
    const count = expired.length + report.files.length + indices.length + leftovers.length;
    if (flags.json !== true) printPlan(report, ctx, 'remove');
    if (count === 0) {
      if (flags.json === true) printJson(ctx.stdout, { ...report, removed: true });
      else printLine(ctx.stdout, 'nothing has expired');
      return;
    }
    await confirm(ctx, `Remove ${count === 1 ? 'this' : `these ${count}`}?`, flags.yes === true);
    for (const decision of expired) await decision.tier.remove(decision.manifest);
    for (const { tier, leftover } of leftovers) await tier.removeLeftover(leftover);
    const { removeLogFiles } = await import('../../lifecycle/log-files.js');
    for (const entry of files) await removeLogFiles(entry, { env: ctx.env, signal: ctx.signal });
    for (const entry of indices) await deleteIndex(entry.url, entry.index, ctx.signal);
    if (flags.json === true) printJson(ctx.stdout, { ...report, removed: true });
    else printLine(ctx.stdout, ctx.colors.green(`✔ removed ${count}`));
  } finally {
    for (const lock of locks) await lock.release();
  }
}
