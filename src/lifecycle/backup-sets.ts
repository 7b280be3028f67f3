// Backup sets where they are kept: the tiers opened (S3 keys from the secret stores), a set found
// by id, prefix or `latest`, listed, and read back against its manifest. Shared by backup, restore
// and retention.
import type Docker from 'dockerode';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../errors.js';
import type { SecretStore } from '../generate/secrets.js';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { manifestServices, type Artifact, type BackupManifest } from '../effects/backup/manifest.js';
import type { S3Endpoint } from '../effects/backup/s3-objects.js';
import type { ExecContext } from '../effects/backup/services.js';
import { measuring, openTier, type TierCredentials, type TierStore } from '../effects/backup/tiers.js';
import { readSecretStore } from '../effects/secret-store.js';
import type { EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import type { BackupSummary, S3Api } from '../plan/backup.js';
import type { BackupDef, StackFile } from '../schema/types.js';
import { compareText } from '../text.js';

/** The environment variable that gives the config encryption key when the store cannot (disaster recovery). */
export const BACKUP_KEY_ENV = 'STACKCTL_BACKUP_KEY';

export interface BackupContext extends ExecContext {
  readonly root: string;
  readonly docker: Docker;
}

/** The value of a secret store entry, or undefined. */
export function storeValue(store: SecretStore | undefined, name: string | undefined): string | undefined {
  return name === undefined ? undefined : store?.secrets[name]?.value;
}

export interface OpenTiersOptions {
  /** Open this tier only; it failing to open is an error. */
  readonly only?: string;
  /** Told of each tier that could not be opened (no keys yet): the others are still used. */
  readonly onSkipped?: (tier: string, reason: StackctlError) => void;
}

/** Opens the tiers of the schema (S3 credentials from the given stores, first that has them). */
export async function openTiers(
  backup: BackupDef,
  root: string,
  stores: readonly (SecretStore | undefined)[],
  options: OpenTiersOptions = {},
): Promise<TierStore[]> {
  const tiers: TierStore[] = [];
  for (const [name, def] of Object.entries(backup.tiers)) {
    if (options.only !== undefined && name !== options.only) continue;
    const opened = openTier(name, def, root, (): Promise<TierCredentials> => {
      if (def.type !== 's3') throw new Error('not an S3 tier');
      const { accessKeyId, secretAccessKey } = def.credentials;
      const holder = stores.find(
        (store) => storeValue(store, accessKeyId) && storeValue(store, secretAccessKey),
      );
      const id = storeValue(holder, accessKeyId);
      const key = storeValue(holder, secretAccessKey);
      if (id === undefined || key === undefined)
        throw new StackctlError(
          'E_USAGE',
          `backup tier ${name} needs ${accessKeyId} and ${secretAccessKey} in the secret store`,
          {
            hint: `printf %s "$KEY" | stackctl secrets set ENV ${accessKeyId} (and the same for ${secretAccessKey})`,
          },
        );
      return Promise.resolve({ accessKeyId: id, secretAccessKey: key });
    });
    try {
      tiers.push(await opened);
    } catch (error) {
      if (options.only !== undefined || !(error instanceof StackctlError)) throw error;
      options.onSkipped?.(name, error);
    }
  }
  return tiers;
}

export async function serviceContainers(
  ctx: BackupContext,
  model: EnvironmentModel,
  service: string,
): Promise<ContainerSummary[]> {
  return projectContainers(ctx.docker, model.project, service);
}

export async function runningContainerOf(
  ctx: BackupContext,
  model: EnvironmentModel,
  service: string,
): Promise<ContainerSummary> {
  const running = (await serviceContainers(ctx, model, service)).find(
    (container) => container.status === 'running',
  );
  if (!running)
    throw new StackctlError(
      'E_RUNTIME',
      `${service} is not running in ${model.name}: its data is read from the running service`,
      {
        hint: `start it first: stackctl start ${model.name}`,
      },
    );
  return running;
}

/** Where and as whom an S3 objects backup connects: keys from the model and the secret store. */
export function s3Endpoint(api: S3Api, store: SecretStore | undefined, ctx: ExecContext): S3Endpoint {
  const accessKeyId =
    'value' in api.accessKey ? api.accessKey.value : storeValue(store, api.accessKey.secret);
  const secretAccessKey = storeValue(store, api.secretKeyVariable);
  if (accessKeyId === undefined || secretAccessKey === undefined)
    throw new StackctlError('E_USAGE', `the keys of ${api.url} are not in the secret store`, {
      hint: `run stackctl generate for the environment (${api.secretKeyVariable})`,
    });
  return { url: api.url, accessKeyId, secretAccessKey, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

export interface ArtifactProblem {
  readonly artifact: Artifact;
  readonly problem: string;
}

/** Re-reads every artifact of a set against its size and sha256. */
export async function verifyBackup(
  tier: TierStore,
  manifest: BackupManifest,
  only?: readonly string[],
): Promise<ArtifactProblem[]> {
  const problems: ArtifactProblem[] = [];
  for (const artifact of manifest.artifacts) {
    if (only !== undefined && !only.includes(artifact.service)) continue;
    let source: Readable;
    try {
      source = await tier.read(manifest, artifact.file);
    } catch (error) {
      problems.push({ artifact, problem: error instanceof StackctlError ? 'not a regular file' : 'missing' });
      continue;
    }
    const meter = measuring();
    // Drained into nothing: only the size and the hash matter.
    await pipeline(source, meter, new Writable({ write: (_chunk, _encoding, done) => done() }));
    const { bytes, sha256 } = meter.result();
    if (bytes !== artifact.bytes)
      problems.push({ artifact, problem: `${bytes} bytes, the manifest says ${artifact.bytes}` });
    else if (sha256 !== artifact.sha256)
      problems.push({
        artifact,
        problem: `sha256 ${sha256.slice(0, 12)}…, the manifest says ${artifact.sha256.slice(0, 12)}…`,
      });
  }
  return problems;
}

/**
 * A backup by id, by a prefix of one (unique among the sets), or `latest`: the newest set of the
 * environment (every environment's newest without one).
 */
export async function findBackup(
  tiers: readonly TierStore[],
  id: string,
  environment?: string,
): Promise<{ tier: TierStore; manifest: BackupManifest }> {
  const every: { tier: TierStore; manifest: BackupManifest }[] = [];
  for (const tier of tiers) for (const manifest of await tier.list()) every.push({ tier, manifest });
  const list = environment === undefined ? 'stackctl backup list' : `stackctl backup list ${environment}`;
  if (id === 'latest') {
    const newest = every
      .filter((entry) => environment === undefined || entry.manifest.environment === environment)
      .sort((a, b) => compareText(b.manifest.created, a.manifest.created))[0];
    if (!newest)
      throw new StackctlError(
        'E_USAGE',
        `no backup${environment === undefined ? '' : ` of ${environment}`} yet`,
        {
          hint:
            environment === undefined
              ? 'stackctl backup ENV makes one'
              : `stackctl backup ${environment} makes one`,
        },
      );
    return newest;
  }
  const exact = every.find((entry) => entry.manifest.id === id);
  if (exact) return exact;
  const ids = [
    ...new Set(every.filter((entry) => entry.manifest.id.startsWith(id)).map((e) => e.manifest.id)),
  ];
  if (ids.length === 1) return every.find((entry) => entry.manifest.id === ids[0]) as (typeof every)[number];
  if (ids.length > 1)
    throw new StackctlError('E_USAGE', `backup id "${id}" is the start of ${ids.length} backups`, {
      hint: `give more of it: ${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`,
    });
  throw new StackctlError('E_USAGE', `no backup ${id}`, {
    hint: `${list} shows the backups there are (or use --from latest)`,
  });
}

/** The schema's backup section, or a usage error saying how to declare one. */
export function requireBackup(file: StackFile): BackupDef {
  if (!file.backup)
    throw new StackctlError('E_USAGE', 'the schema declares no backup tiers', {
      hint: 'add a backup section (tiers, defaultTier, retention): see docs/schema.md',
    });
  return file.backup;
}

/**
 * The project's tiers, with S3 keys from every environment's store (`first`'s looked at first); a
 * tier that cannot be opened yet (no keys) is passed to onSkipped and left out.
 */
export async function openProjectTiers(
  stack: LoadedStack,
  options: OpenTiersOptions & { readonly first?: string } = {},
): Promise<TierStore[]> {
  const names = [
    ...new Set([
      ...(options.first === undefined ? [] : [options.first]),
      ...Object.keys(stack.file.environments),
    ]),
  ];
  const stores = await Promise.all(names.map((name) => readSecretStore(stack.root, name)));
  return openTiers(requireBackup(stack.file), stack.root, stores, options);
}

export interface TieredBackup {
  readonly tier: TierStore;
  readonly manifest: BackupManifest;
}

/** Every set in these tiers (of one environment when named), oldest first. */
export async function listBackups(
  tiers: readonly TierStore[],
  environment?: string,
): Promise<TieredBackup[]> {
  const out: TieredBackup[] = [];
  for (const tier of tiers) for (const manifest of await tier.list(environment)) out.push({ tier, manifest });
  return out.sort((a, b) => (a.manifest.id < b.manifest.id ? -1 : 1));
}

/** A set as the plan's retention and age rules read it. */
export function backupSummary({ tier, manifest }: TieredBackup): BackupSummary {
  return {
    id: manifest.id,
    environment: manifest.environment,
    tier: tier.name,
    created: new Date(manifest.created),
    services: manifestServices(manifest),
  };
}
