// Retention, as a workflow: per environment, which backup sets have expired under its policy (the
// newest copy of each service read back first: a damaged one does not let older ones go), which
// log files and Elasticsearch indices are past their age, and interrupted backups left in a tier;
// shown, confirmed and removed under the environments' locks.
import type { BackupManifest } from '../effects/backup/manifest.js';
import type { Leftover, TierStore } from '../effects/backup/tiers.js';
import { dockerClient } from '../effects/docker.js';
import { deleteIndex, expiredIndices } from '../effects/elasticsearch.js';
import { acquireLock, type Lock } from '../effects/lock.js';
import type { StackctlError } from '../errors.js';
import { resolveEnvironment } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import {
  evaluateRetention,
  findDamaged,
  type BackupSummary,
  type RetentionDecision,
} from '../plan/backup.js';
import { interpolate } from '../schema/interpolate.js';
import type { RetentionPolicyDef } from '../schema/types.js';
import { backupSummary, openProjectTiers, requireBackup, verifyBackup } from './backup-sets.js';
import { expiredLogFiles, removeLogFiles, type ExpiredFiles } from './log-files.js';

export interface RetentionIo {
  readonly env: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** A tier that cannot be opened yet (no keys): the others are still used. */
  readonly tierSkipped: (tier: string, reason: StackctlError) => void;
}

export interface EnvironmentRetention {
  readonly environment: string;
  readonly policy: RetentionPolicyDef | undefined;
  readonly decisions: readonly (RetentionDecision & { tier: TierStore; manifest: BackupManifest })[];
  readonly logs: readonly ExpiredFiles[];
  /** Indices past indexDays in the services with indexRetention. */
  readonly indices: readonly { service: string; url: string; index: string; created: number }[];
}

export async function evaluateRetentionOf(
  stack: LoadedStack,
  envName: string | undefined,
  now: Date,
  io: RetentionIo,
  withLogs: boolean,
): Promise<{ environments: EnvironmentRetention[]; tiers: TierStore[] }> {
  const backup = requireBackup(stack.file);
  const names = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  const tiers = await openProjectTiers(stack, { onSkipped: io.tierSkipped });
  const environments: EnvironmentRetention[] = [];
  for (const name of names) {
    const policy = backup.retention?.[name];
    const sets: { tier: TierStore; manifest: BackupManifest }[] = [];
    for (const tier of tiers) for (const manifest of await tier.list(name)) sets.push({ tier, manifest });
    let summaries: BackupSummary[] = sets.map(backupSummary);
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
            { docker: dockerClient(io.env), env: io.env, signal: io.signal },
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
        for (const index of await expiredIndices(url, store.pattern ?? '*', cutoff, io.signal))
          indices.push({ service: service.name, url, ...index });
      }
    }
    environments.push({ environment: name, policy, decisions, logs, indices });
  }
  return { environments, tiers };
}

export function retentionReport(
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

export async function leftoversOf(tiers: readonly TierStore[], envName: string | undefined, now: Date) {
  const out: { tier: TierStore; leftover: Leftover }[] = [];
  for (const tier of tiers)
    for (const leftover of await tier.leftovers(now))
      if (envName === undefined || leftover.environment === envName) out.push({ tier, leftover });
  return out;
}

export type RetentionReport = ReturnType<typeof retentionReport>;

/** What a person sees while retention cleans up. */
export interface RetentionView {
  /** What is kept and what goes. */
  plan(report: RetentionReport): void;
  /** Resolves to go on; throws (E_REFUSED, E_INTERRUPTED) to stop with nothing removed. */
  confirm(count: number): Promise<void>;
}

/** Removes what has expired (of one environment, or every one), under their locks. */
export async function cleanUpRetention(
  stack: LoadedStack,
  request: { readonly envName: string | undefined; readonly now: Date },
  io: RetentionIo,
  view: RetentionView,
): Promise<{ readonly report: RetentionReport; readonly count: number }> {
  const { envName, now } = request;
  const locks: Lock[] = [];
  try {
    for (const name of envName === undefined ? Object.keys(stack.file.environments) : [envName])
      locks.push(await acquireLock(stack.root, name, 'retention cleanup'));
    const { environments, tiers } = await evaluateRetentionOf(stack, envName, now, io, true);
    const leftovers = await leftoversOf(tiers, envName, now);
    const report = retentionReport(environments, leftovers);
    const expired = environments.flatMap(({ decisions }) => decisions.filter((decision) => decision.expired));
    const files = environments.flatMap(({ logs }) => logs);
    const indices = environments.flatMap((entry) => entry.indices);
    const count = expired.length + report.files.length + indices.length + leftovers.length;
    view.plan(report);
    if (count === 0) return { report, count };
    await view.confirm(count);
    for (const decision of expired) await decision.tier.remove(decision.manifest);
    for (const { tier, leftover } of leftovers) await tier.removeLeftover(leftover);
    for (const entry of files) await removeLogFiles(entry, { env: io.env, signal: io.signal });
    for (const entry of indices) await deleteIndex(entry.url, entry.index, io.signal);
    return { report, count };
  } finally {
    for (const lock of locks) await lock.release();
  }
}
