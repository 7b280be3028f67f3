// What a backup of an environment consists of, and what retention removes: pure functions over
// the schema and the resolved environment. The effects (dumps, copies, tiers) live in
// src/effects/backup/.
import { StackctlError } from '../errors.js';
import { resolveEnvironment, type EnvironmentModel, type ResolvedService } from '../model/environment.js';
import { interpolate } from '../schema/interpolate.js';
import { dependencyNames } from '../schema/values.js';
import type { BackupDef, RetentionPolicyDef, StackFile } from '../schema/types.js';

export const ARTIFACT_TYPES = [
  'full',
  'schema',
  'data',
  'rdb',
  'aof',
  'snapshot',
  'objects',
  'volume',
  'config',
] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

/** The pseudo-service config backups are listed under. */
export const CONFIG_SERVICE = 'config';

/** Volume kinds whose content can be rebuilt, so they are not backed up. */
const REBUILDABLE_KINDS = new Set(['cache']);
/** Model weights: many GB that can be downloaded again; backed up only when asked (--include-models). */
const DOWNLOADABLE_KINDS = new Set(['models']);

/** What a backup leaves out by default. */
export interface BackupScope {
  /** Back up volumes of kind models too. */
  readonly includeModels?: boolean;
}

const skipped = (file: StackFile, volume: string, scope: BackupScope): boolean => {
  const kind = file.volumes[volume]?.data ?? '';
  return REBUILDABLE_KINDS.has(kind) || (DOWNLOADABLE_KINDS.has(kind) && scope.includeModels !== true);
};

export interface VolumeMount {
  /** The volume's key in the schema (compose prefixes it with the project). */
  readonly volume: string;
  /** Where the service mounts it. */
  readonly target: string;
}

/** One artifact to make: which service, how, and the file it becomes. */
export type BackupStep =
  | {
      readonly service: string;
      readonly method: 'postgres';
      readonly type: 'full' | 'schema' | 'data';
      readonly file: string;
      readonly database: string;
      readonly user: string;
    }
  | {
      readonly service: string;
      readonly method: 'redis';
      readonly type: 'rdb' | 'aof';
      readonly file: string;
      /** The secret variable holding the password, when Redis has one. */
      readonly passwordVariable: string | undefined;
    }
  | {
      readonly service: string;
      readonly method: 'qdrant';
      readonly type: 'snapshot';
      readonly file: string;
      /** Its HTTP API, variables applied. */
      readonly url: string;
      /** The secret variable holding its API key, when it has one. */
      readonly apiKeyVariable: string | undefined;
    }
  | {
      readonly service: string;
      readonly method: 's3';
      readonly type: 'objects';
      readonly file: string;
      readonly api: S3Api;
    }
  | {
      readonly service: string;
      readonly method: 'volume';
      readonly type: 'volume';
      readonly file: string;
      readonly mount: VolumeMount;
    }
  | { readonly service: string; readonly method: 'config'; readonly type: 'config'; readonly file: string };

export interface BackupRequest {
  /** The services to back up (`config` for the config); empty: every service with data, and the config. */
  readonly services: readonly string[];
  /** Named by the user: a service that cannot be backed up as asked is an error, not skipped. */
  readonly explicit?: boolean;
  readonly type: ArtifactType | undefined;
  readonly includeModels?: boolean;
}

const METHOD_TYPES = {
  postgres: ['full', 'schema', 'data'],
  redis: ['rdb', 'aof'],
  qdrant: ['snapshot'],
  s3: ['objects'],
  volume: ['volume'],
} as const;

/** The named volumes a service mounts, and where. */
export function namedVolumeMounts(file: StackFile, service: ResolvedService): VolumeMount[] {
  const mounts: VolumeMount[] = [];
  for (const mount of service.definition.volumes ?? []) {
    const [source = '', target] = mount.split(':');
    if (target === undefined || !file.volumes[source]) continue;
    mounts.push({ volume: source, target });
  }
  return mounts;
}

/** How a service's data is backed up: its declared method, else a volume copy when it holds data. */
export function backupMethod(
  file: StackFile,
  service: ResolvedService,
  scope: BackupScope = {},
): 'postgres' | 'redis' | 'qdrant' | 's3' | 'volume' | 'none' {
  const declared = service.definition.backup?.method;
  if (declared !== undefined) return declared;
  const holdsData = namedVolumeMounts(file, service).some((mount) => !skipped(file, mount.volume, scope));
  return holdsData ? 'volume' : 'none';
}

/** The services of an environment that hold data worth backing up, in the environment's order. */
export function servicesWithData(
  file: StackFile,
  model: EnvironmentModel,
  scope: BackupScope = {},
): ResolvedService[] {
  return model.services.filter(
    (service) => service.kind === 'service' && backupMethod(file, service, scope) !== 'none',
  );
}

/** The S3 API an objects backup or restore uses: its URL, the access key's value, the secret key's variable. */
export interface S3Api {
  readonly url: string;
  /** The access key, when a plain variable holds it; else the secret variable that does. */
  readonly accessKey: { readonly value: string } | { readonly secret: string };
  readonly secretKeyVariable: string;
}

export function s3Api(model: EnvironmentModel, service: ResolvedService): S3Api {
  const backup = service.definition.backup;
  const accessVariable = backup?.accessKey ?? '';
  const plain = model.values.get(accessVariable);
  return {
    url: interpolate(backup?.url ?? '', model.values).value,
    accessKey: plain !== undefined ? { value: plain } : { secret: accessVariable },
    secretKeyVariable: backup?.secretKey ?? '',
  };
}

/** The Qdrant API a snapshot backup or restore of a service uses, variables applied. */
export function qdrantApi(
  model: EnvironmentModel,
  service: ResolvedService,
): { url: string; apiKeyVariable: string | undefined } {
  const backup = service.definition.backup;
  return { url: interpolate(backup?.url ?? '', model.values).value, apiKeyVariable: backup?.apiKey };
}

/** The database and role a PostgreSQL backup or restore of a service uses, variables applied. */
export function postgresLogin(
  model: EnvironmentModel,
  service: ResolvedService,
): { database: string; user: string } {
  const backup = service.definition.backup;
  const values = (text: string): string => interpolate(text, model.values).value;
  return { database: values(backup?.database ?? 'postgres'), user: values(backup?.user ?? 'postgres') };
}

/** The artifacts of one backup set. Throws a usage error for a service or type that cannot be backed up. */
export function planBackup(file: StackFile, model: EnvironmentModel, request: BackupRequest): BackupStep[] {
  const scope: BackupScope = { includeModels: request.includeModels === true };
  const candidates = servicesWithData(file, model, scope);
  const known = new Set(model.services.map((service) => service.name));
  const explicit = request.explicit !== false;
  for (const name of explicit ? request.services : []) {
    if (name === CONFIG_SERVICE) continue;
    if (!known.has(name))
      throw new StackctlError('E_USAGE', `${model.name} has no service "${name}"`, {
        hint: `services with data: ${candidates.map((s) => s.name).join(', ') || 'none'}`,
      });
    if (!candidates.some((service) => service.name === name))
      throw new StackctlError('E_USAGE', `${name} holds no data to back up in ${model.name}`, {
        hint: servicesWithData(file, model, { includeModels: true }).some((service) => service.name === name)
          ? `its volumes hold model weights, which can be downloaded again: pass --include-models to back them up`
          : `declare services.${name}.backup in the schema, or back up one of: ${candidates.map((s) => s.name).join(', ')}`,
      });
  }
  const chosen =
    request.services.length > 0
      ? candidates.filter((service) => request.services.includes(service.name))
      : candidates;
  const steps: BackupStep[] = [];
  for (const service of chosen) {
    const method = backupMethod(file, service, scope);
    if (method === 'none') continue;
    const types: readonly ArtifactType[] = METHOD_TYPES[method];
    const type = request.type ?? types[0];
    if (type === undefined || !types.includes(type)) {
      if (explicit && request.services.includes(service.name))
        throw new StackctlError('E_USAGE', `${service.name} cannot be backed up as --type ${type}`, {
          hint: `types of a ${method} backup: ${types.join(', ')}`,
        });
      continue;
    }
    const backup = service.definition.backup;
    if (method === 'postgres' && (type === 'full' || type === 'schema' || type === 'data')) {
      steps.push({
        service: service.name,
        method,
        type,
        file: `${service.name}.${type}.dump`,
        ...postgresLogin(model, service),
      });
    } else if (method === 'redis' && (type === 'rdb' || type === 'aof')) {
      steps.push({
        service: service.name,
        method,
        type,
        file: type === 'rdb' ? `${service.name}.rdb` : `${service.name}.aof.tar`,
        passwordVariable: backup?.password,
      });
    } else if (method === 'qdrant' && type === 'snapshot') {
      steps.push({
        service: service.name,
        method,
        type,
        file: `${service.name}.snapshots.tar`,
        ...qdrantApi(model, service),
      });
    } else if (method === 's3' && type === 'objects') {
      steps.push({
        service: service.name,
        method,
        type,
        file: `${service.name}.objects.tar`,
        api: s3Api(model, service),
      });
    } else if (method === 'volume') {
      for (const mount of namedVolumeMounts(file, service)) {
        if (skipped(file, mount.volume, scope)) continue;
        steps.push({
          service: service.name,
          method,
          type: 'volume',
          file: `${service.name}.${mount.volume}.tar`,
          mount,
        });
      }
    }
  }
  const wantsConfig =
    (request.type === undefined || request.type === 'config') &&
    (request.services.length === 0 || request.services.includes(CONFIG_SERVICE));
  if (wantsConfig)
    steps.push({ service: CONFIG_SERVICE, method: 'config', type: 'config', file: 'config.enc' });
  if (steps.length === 0)
    throw new StackctlError('E_USAGE', `nothing in ${model.name} to back up as --type ${request.type}`, {
      hint: `types: ${ARTIFACT_TYPES.join(', ')}`,
    });
  return steps;
}

/** The tier a backup goes to: --tier, else the policy's, else the schema's default. */
export function chooseTier(backup: BackupDef, environment: string, flag: string | undefined): string {
  const name = flag ?? backup.retention?.[environment]?.tier ?? backup.defaultTier;
  if (!backup.tiers[name])
    throw new StackctlError('E_USAGE', `unknown backup tier "${name}"`, {
      hint: `tiers: ${Object.keys(backup.tiers).join(', ')}`,
    });
  return name;
}

/**
 * A backup set's id: its UTC creation time to the millisecond and a random part, so ids sort by
 * time and two backups in the same millisecond never collide.
 */
export function backupId(now: Date, random: string): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace('.', '')}-${random}`;
}

/** What retention knows of a backup set. */
export interface BackupSummary {
  readonly id: string;
  readonly environment: string;
  readonly tier: string;
  readonly created: Date;
  readonly services: readonly string[];
  /** Services whose artifacts in this set failed verification (missing, wrong size or hash). */
  readonly damaged?: readonly string[];
}

export interface RetentionDecision {
  readonly backup: BackupSummary;
  readonly expired: boolean;
  /** Why it stays or goes, in words. */
  readonly reason: string;
}

const DAY_MS = 86_400_000;

/** How many days a service's backups are kept under a policy. */
export function keepDays(policy: RetentionPolicyDef, service: string): number {
  return policy.services?.[service] ?? policy.days;
}

/**
 * Which backup sets of one environment a policy expires as of `now`. A set expires when every
 * service in it is older than that service's retention; the newest set holding a sound copy of a
 * service (one not known to be damaged) is never expired, whatever its age, so no service is ever
 * left without a backup that restores. Pure.
 */
/**
 * The sets to verify before retention decides: for each service, newest first, until one is found
 * sound (`isSound` is asked in that order and may read the tier). Returns the damaged services
 * per set id. Sets past that first sound one are not read.
 */
export async function findDamaged(
  backups: readonly BackupSummary[],
  isSound: (backup: BackupSummary, service: string) => Promise<boolean>,
): Promise<Map<string, string[]>> {
  const damaged = new Map<string, string[]>();
  const services = [...new Set(backups.flatMap((backup) => backup.services))];
  const newestFirst = [...backups].sort(
    (a, b) => b.created.getTime() - a.created.getTime() || (a.id < b.id ? 1 : -1),
  );
  for (const service of services)
    for (const backup of newestFirst.filter((candidate) => candidate.services.includes(service))) {
      if (await isSound(backup, service)) break;
      damaged.set(`${backup.tier}/${backup.id}`, [
        ...(damaged.get(`${backup.tier}/${backup.id}`) ?? []),
        service,
      ]);
    }
  return damaged;
}

export function evaluateRetention(
  backups: readonly BackupSummary[],
  policy: RetentionPolicyDef,
  now: Date,
): RetentionDecision[] {
  const newest = new Map<string, BackupSummary>();
  for (const backup of backups) {
    for (const service of backup.services) {
      if (backup.damaged?.includes(service)) continue;
      const current = newest.get(service);
      if (
        !current ||
        backup.created > current.created ||
        (backup.created.getTime() === current.created.getTime() && backup.id > current.id)
      )
        newest.set(service, backup);
    }
  }
  return [...backups]
    .sort((a, b) => a.created.getTime() - b.created.getTime() || (a.id < b.id ? -1 : 1))
    .map((backup) => {
      const ageDays = (now.getTime() - backup.created.getTime()) / DAY_MS;
      const newestOf = backup.services.filter((service) => newest.get(service) === backup);
      const damaged = backup.damaged?.length ? ` (damaged: ${backup.damaged.join(', ')})` : '';
      if (newestOf.length > 0)
        return { backup, expired: false, reason: `newest sound backup of ${newestOf.join(', ')}${damaged}` };
      const kept = backup.services.filter((service) => ageDays <= keepDays(policy, service));
      if (kept.length > 0)
        return {
          backup,
          expired: false,
          reason:
            kept.map((service) => `${service} kept ${keepDays(policy, service)} days`).join(', ') + damaged,
        };
      return {
        backup,
        expired: true,
        reason: `${Math.floor(ageDays)} days old, past ${[...new Set(backup.services.map((service) => keepDays(policy, service)))].join('/')} days${damaged}`,
      };
    });
}

/** Every service that depends on one of these, directly or not (they are stopped during a restore). */
export function dependentsOf(model: EnvironmentModel, services: readonly string[]): string[] {
  const found = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const service of model.services) {
      if (found.has(service.name) || services.includes(service.name)) continue;
      const deps = dependencyNames(service.definition);
      if (deps.some((dep) => services.includes(dep) || found.has(dep))) {
        found.add(service.name);
        grew = true;
      }
    }
  }
  return model.services.map((service) => service.name).filter((name) => found.has(name));
}

/** How recent one service's newest backup is in one tier, against the environment's policy. */
export interface BackupAge {
  readonly environment: string;
  readonly service: string;
  readonly tier: string;
  readonly last: string | null;
  readonly ageDays: number | null;
  readonly keepDays: number;
  readonly status: 'ok' | 'overdue' | 'never';
}

/**
 * Per environment, service with data (and the config) and tier: the newest backup and its age. A
 * tier with no backup of the service is listed only when it is the environment's tier.
 */
export function backupAges(
  file: StackFile,
  environments: readonly string[],
  backups: readonly BackupSummary[],
  now: Date,
): BackupAge[] {
  const backup = file.backup;
  if (!backup) return [];
  const rows: BackupAge[] = [];
  for (const env of environments) {
    const policy = backup.retention?.[env];
    const model = resolveEnvironment(file, env);
    const services = [...servicesWithData(file, model).map((service) => service.name), CONFIG_SERVICE];
    for (const service of services) {
      for (const tier of Object.keys(backup.tiers)) {
        const last = backups
          .filter(
            (entry) => entry.tier === tier && entry.environment === env && entry.services.includes(service),
          )
          .at(-1);
        const ageDays = last ? (now.getTime() - last.created.getTime()) / 86_400_000 : null;
        const keep = policy ? keepDays(policy, service) : 0;
        if (!last && tier !== (policy?.tier ?? backup.defaultTier)) continue;
        rows.push({
          environment: env,
          service,
          tier,
          last: last?.id ?? null,
          ageDays: ageDays === null ? null : Math.round(ageDays * 10) / 10,
          keepDays: keep,
          status: !last ? 'never' : policy && ageDays !== null && ageDays > keep ? 'overdue' : 'ok',
        });
      }
    }
  }
  return rows;
}
