// Backup, verify and restore of one environment's data, across tiers. The plan (which artifacts,
// which tier, what expires) is made by src/plan/backup.ts; this module carries it out.
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../errors.js';
import { SecretStoreSchema, serializeSecretStore, type SecretStore } from '../generate/secrets.js';
import { dotenvLine } from '../generate/dotenv.js';
import { readSecretStore } from '../effects/secret-store.js';
import type { EnvironmentModel } from '../model/environment.js';
import { backupId, postgresLogin, qdrantApi, s3Api, type BackupStep, type S3Api } from '../plan/backup.js';
import { restoreS3Objects, s3ObjectsArchive, type S3Endpoint } from '../effects/backup/s3-objects.js';
import { qdrantSnapshots, restoreQdrantSnapshots } from '../effects/backup/qdrant.js';
import type { BackupDef, StackFile } from '../schema/types.js';
import { STACKCTL_VERSION } from '../version.js';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { ensureDirectory, readRegularFile, writeFileAtomic } from '../effects/files.js';
import { decrypt, encrypt } from '../effects/backup/encryption.js';
import { type Artifact, type BackupManifest } from '../effects/backup/manifest.js';
import {
  copyIn,
  copyOut,
  pgDump,
  pgRestore,
  RDB_TO_AOF_SCRIPT,
  redisFiles,
  redisSnapshot,
  runHelper,
  startContainers,
  stopContainers,
  type ExecContext,
  type StreamedCommand,
} from '../effects/backup/services.js';
import { measuring, openTier, type TierCredentials, type TierStore } from '../effects/backup/tiers.js';
import { restoreVolume, type VolumeRestoreState } from '../effects/backup/volume-restore.js';
import { COMPOSE_LABELS } from '../labels.js';

/** The environment variable that gives the config encryption key when the store cannot (disaster recovery). */
export const BACKUP_KEY_ENV = 'STACKCTL_BACKUP_KEY';

export interface BackupContext extends ExecContext {
  readonly root: string;
  readonly docker: Docker;
}

/** The value of a secret store entry, or undefined. */
function storeValue(store: SecretStore | undefined, name: string | undefined): string | undefined {
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

export interface BackupInput {
  readonly file: StackFile;
  readonly model: EnvironmentModel;
  readonly schemaHash: string;
  readonly steps: readonly BackupStep[];
  readonly tier: TierStore;
  readonly store: SecretStore | undefined;
  /** Files of the config artifact, relative to the project root. */
  readonly configFiles: readonly string[];
  readonly now: Date;
  readonly onProgress?: (step: BackupStep, bytes: number) => void;
  readonly onStep?: (step: BackupStep, artifact: Artifact) => void;
  /** A service is being stopped for a consistent volume copy... */
  readonly onServiceStopping?: (service: string) => void;
  /** ...and runs again. */
  readonly onServiceStarted?: (service: string) => void;
}

/** Makes one backup set; on any failure nothing of it stays in the tier. */
export async function createBackup(input: BackupInput, ctx: BackupContext): Promise<BackupManifest> {
  const { model, tier } = input;
  const id = backupId(input.now, randomBytes(3).toString('hex'));
  const writer = await tier.begin(model.name, id);
  const artifacts: Artifact[] = [];
  try {
    for (const step of input.steps) {
      const write = async (source: Readable): Promise<{ bytes: number; sha256: string }> =>
        writer.write(step.file, source, (bytes) => input.onProgress?.(step, bytes));
      let artifact: Artifact;
      if (step.method === 'config') {
        const key = storeValue(input.store, input.file.backup?.encryptionKey) ?? ctx.env[BACKUP_KEY_ENV];
        if (key === undefined || key === '')
          throw new StackctlError(
            'E_USAGE',
            'a config backup holds the secret store and must be encrypted, but there is no key',
            {
              hint: 'declare backup.encryptionKey (a secret variable) in the schema and run stackctl generate ENV',
            },
          );
        const bundle = await configBundle(ctx.root, input.configFiles);
        const written = await write(Readable.from([encrypt(bundle, key)]));
        artifact = { service: step.service, type: step.type, file: step.file, ...written, encrypted: true };
      } else {
        const command = await openSource(step, input, ctx);
        try {
          const written = await write(command.stream.stdout);
          await command.stream.done;
          artifact = {
            service: step.service,
            type: step.type,
            file: step.file,
            ...written,
            ...(step.method === 'volume' ? { volume: step.mount.volume } : {}),
          };
        } finally {
          await command.release();
        }
      }
      artifacts.push(artifact);
      input.onStep?.(step, artifact);
    }
    const manifest: BackupManifest = {
      version: 1,
      id,
      environment: model.name,
      project: model.project,
      tier: tier.name,
      created: input.now.toISOString(),
      stackctl: STACKCTL_VERSION,
      schemaHash: input.schemaHash,
      artifacts,
    };
    await writer.commit(manifest);
    return manifest;
  } catch (error) {
    await writer.abort().catch(() => undefined);
    throw error;
  }
}

async function serviceContainers(
  ctx: BackupContext,
  model: EnvironmentModel,
  service: string,
): Promise<ContainerSummary[]> {
  return projectContainers(ctx.docker, model.project, service);
}

async function runningContainerOf(
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

/** The stream of one artifact, and what to undo after (restart a service stopped for the copy). */
async function openSource(
  step: Exclude<BackupStep, { method: 'config' }>,
  input: BackupInput,
  ctx: BackupContext,
): Promise<{ stream: StreamedCommand; release: () => Promise<void> }> {
  const { model } = input;
  if (step.method === 'postgres') {
    const container = await runningContainerOf(ctx, model, step.service);
    return { stream: pgDump(container.id, step, ctx), release: () => Promise.resolve() };
  }
  if (step.method === 'qdrant') {
    // Online: Qdrant snapshots its collections itself while it serves.
    const stream = await qdrantSnapshots({
      url: step.url,
      apiKey: storeValue(input.store, step.apiKeyVariable),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    return { stream, release: () => Promise.resolve() };
  }
  if (step.method === 's3') {
    // Online: the objects are read through the S3 API while the server serves.
    const stream = await s3ObjectsArchive(s3Endpoint(step.api, input.store, ctx));
    return { stream, release: () => Promise.resolve() };
  }
  if (step.method === 'redis') {
    const container = await runningContainerOf(ctx, model, step.service);
    const password = storeValue(input.store, step.passwordVariable);
    return {
      stream: await redisSnapshot(container.id, step.type, password, ctx),
      release: () => Promise.resolve(),
    };
  }
  // A consistent copy: the service is stopped while its volume is read, and started again after.
  const containers = await serviceContainers(ctx, model, step.service);
  const [first] = containers;
  if (!first)
    throw new StackctlError(
      'E_RUNTIME',
      `${step.service} has no container in ${model.name}, so its volume cannot be read`,
      {
        hint: `start it first: stackctl start ${model.name}`,
      },
    );
  const wasRunning = containers
    .filter((container) => container.status === 'running')
    .map((container) => container.id);
  // Not cut short by an interrupt: a stop cancelled half-way would leave the service down with
  // nothing to start it again.
  input.onServiceStopping?.(step.service);
  try {
    await stopContainers(wasRunning, { env: ctx.env });
  } catch (error) {
    await startContainers(wasRunning, { env: ctx.env }).catch(() => undefined);
    throw error;
  }
  return {
    stream: copyOut(first.id, step.mount.target, ctx),
    // Started again even after an interrupt: a backup must not leave a service down.
    release: async () => {
      await startContainers(wasRunning, { env: ctx.env });
      input.onServiceStarted?.(step.service);
    },
  };
}

/** Where and as whom an S3 objects backup connects: keys from the model and the secret store. */
function s3Endpoint(api: S3Api, store: SecretStore | undefined, ctx: ExecContext): S3Endpoint {
  const accessKeyId =
    'value' in api.accessKey ? api.accessKey.value : storeValue(store, api.accessKey.secret);
  const secretAccessKey = storeValue(store, api.secretKeyVariable);
  if (accessKeyId === undefined || secretAccessKey === undefined)
    throw new StackctlError('E_USAGE', `the keys of ${api.url} are not in the secret store`, {
      hint: `run stackctl generate for the environment (${api.secretKeyVariable})`,
    });
  return { url: api.url, accessKeyId, secretAccessKey, ...(ctx.signal ? { signal: ctx.signal } : {}) };
}

/** Every file of the config artifact, as JSON with base64 contents. */
async function configBundle(root: string, files: readonly string[]): Promise<Buffer> {
  const entries: { path: string; mode: number; content: string }[] = [];
  for (const path of files) {
    const content = await readRegularFile(join(root, path));
    if (content === undefined) continue;
    const mode = (await stat(join(root, path))).mode & 0o777;
    entries.push({ path, mode, content: content.toString('base64') });
  }
  return Buffer.from(JSON.stringify({ version: 1, files: entries }));
}

/** The files a config backup of an environment holds (relative to the root). */
export async function configFilesOf(
  root: string,
  schemaPath: string,
  environment: string,
): Promise<string[]> {
  const files = [schemaPath, `.env.${environment}`, posix.join('secrets', `.env.${environment}.json`)];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(join(root, folder), { withFileTypes: true }).catch(() => [])) {
      const path = posix.join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && !entry.name.includes('.stackctl-tmp')) files.push(path);
    }
  };
  await walk('compose');
  await walk(posix.join('configs', environment));
  await walk('env-templates');
  return files;
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

/** Finds a backup set by id in any tier. */
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
      .sort((a, b) => b.manifest.created.localeCompare(a.manifest.created))[0];
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

export interface RestoreInput {
  readonly model: EnvironmentModel;
  readonly file: StackFile;
  readonly tier: TierStore;
  readonly manifest: BackupManifest;
  readonly artifacts: readonly Artifact[];
  readonly store: SecretStore | undefined;
  /** A config restore takes the backup's secret values even where the live ones differ. */
  readonly takeBackupSecrets?: boolean;
  readonly onStep?: (artifact: Artifact) => void;
  readonly onConfigSecrets?: (outcome: ConfigSecretsOutcome) => void;
}

/**
 * Restores artifacts into the environment's services. The caller has verified the set and stopped
 * the services that depend on what is restored; PostgreSQL is restored into the running server
 * (one transaction), Redis and volumes with the service stopped, then started again.
 */
export async function restoreArtifacts(input: RestoreInput, ctx: BackupContext): Promise<void> {
  const { model } = input;
  for (const artifact of input.artifacts) {
    const source = (): Promise<Readable> => input.tier.read(input.manifest, artifact.file);
    const resolved = model.services.find((service) => service.name === artifact.service);
    const definition = resolved?.definition;
    if (artifact.type === 'config') {
      const secrets = await restoreConfig(
        ctx.root,
        model.name,
        await source(),
        storeValue(input.store, input.file.backup?.encryptionKey) ?? ctx.env[BACKUP_KEY_ENV],
        input.takeBackupSecrets === true,
        input.manifest.id,
      );
      input.onConfigSecrets?.(secrets);
    } else if (artifact.type === 'full' || artifact.type === 'schema' || artifact.type === 'data') {
      const container = await runningContainerOf(ctx, model, artifact.service);
      const login = resolved ? postgresLogin(model, resolved) : { database: 'postgres', user: 'postgres' };
      await pgRestore(container.id, { ...login, type: artifact.type }, await source(), ctx);
    } else if (artifact.type === 'rdb' || artifact.type === 'aof') {
      const container = await runningContainerOf(ctx, model, artifact.service);
      const password = storeValue(input.store, definition?.backup?.password);
      const files = await redisFiles(container.id, password, ctx);
      await stopContainers([container.id], ctx);
      try {
        // Emptied first: a restored RDB is loaded only when no AOF is there to take precedence.
        const owner = await runHelper(
          container.id,
          container.image,
          'cd "$1" && rm -rf -- "$2" "$3" && stat -c %u:%g .',
          [files.dir, files.appenddirname, files.dbfilename],
          helperLabels(input),
          ctx,
        );
        const [uid = 0, gid = 0] = owner.split(':').map(Number);
        const tar =
          artifact.type === 'rdb'
            ? await singleFileTar(files.dbfilename, artifact.bytes, { uid, gid }, await source())
            : await source();
        await copyIn(container.id, files.dir, tar, ctx);
        if (artifact.type === 'rdb' && files.appendonly)
          await runHelper(
            container.id,
            container.image,
            RDB_TO_AOF_SCRIPT,
            [files.dir, files.dbfilename, files.appenddirname, owner],
            helperLabels(input),
            ctx,
          );
      } finally {
        await startContainers([container.id], { env: ctx.env });
      }
    } else if (artifact.type === 'snapshot') {
      if (!resolved)
        throw new StackctlError(
          'E_RUNTIME',
          `${model.name} has no service ${artifact.service} to restore into`,
        );
      const api = qdrantApi(model, resolved);
      await restoreQdrantSnapshots(
        {
          url: api.url,
          apiKey: storeValue(input.store, api.apiKeyVariable),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        },
        await source(),
      );
    } else if (artifact.type === 'objects') {
      if (!resolved)
        throw new StackctlError(
          'E_RUNTIME',
          `${model.name} has no service ${artifact.service} to restore into`,
        );
      await restoreS3Objects(s3Endpoint(s3Api(model, resolved), input.store, ctx), await source());
    } else if (artifact.type === 'volume') {
      const restored = await restoreVolumeArtifact(input, artifact, await source(), ctx);
      if (restored.state === 'kept')
        throw new StackctlError(
          ctx.signal?.aborted === true ? 'E_INTERRUPTED' : 'E_RUNTIME',
          `${artifact.service} volume not restored (${restored.reason}): ${artifact.volume ?? 'its volume'} kept its previous content`,
        );
    }
    input.onStep?.(artifact);
  }
}

/** The Docker volume an environment's volume key names: its external mapping, else compose's. */
async function dockerVolumeOf(
  ctx: BackupContext,
  model: EnvironmentModel,
  key: string,
): Promise<string | undefined> {
  const external = model.definition.externalVolumes?.[key];
  if (external !== undefined) return external;
  const { Volumes } = await ctx.docker.listVolumes({
    filters: { label: [`${COMPOSE_LABELS.project}=${model.project}`, `${COMPOSE_LABELS.volume}=${key}`] },
  });
  return Volumes?.[0]?.Name;
}

/**
 * A volume artifact, put back into the volume by name with the services using it stopped, and
 * those started again after. Interrupted, the volume keeps what it had (see restoreVolume).
 */
async function restoreVolumeArtifact(
  input: RestoreInput,
  artifact: Artifact,
  archive: Readable,
  ctx: BackupContext,
): Promise<VolumeRestoreState> {
  const { model } = input;
  const containers = await serviceContainers(ctx, model, artifact.service);
  const [first] = containers;
  const volume =
    artifact.volume === undefined ? undefined : await dockerVolumeOf(ctx, model, artifact.volume);
  if (!first || volume === undefined)
    throw new StackctlError(
      'E_RUNTIME',
      `${artifact.service} has no container or no volume ${artifact.volume ?? ''} in ${model.name}`,
      { hint: `create it first: stackctl start ${model.name} --service ${artifact.service}` },
    );
  const wasRunning = containers
    .filter((container) => container.status === 'running')
    .map((container) => container.id);
  try {
    await stopContainers(wasRunning, { env: ctx.env });
    return await restoreVolume(
      volume,
      first.image,
      archive,
      randomBytes(4).toString('hex'),
      helperLabels(input),
      ctx,
    );
  } finally {
    await startContainers(wasRunning, { env: ctx.env });
  }
}

function helperLabels(input: RestoreInput): { project: string; environment: string; composeProject: string } {
  return {
    project: input.file.project.name,
    environment: input.model.name,
    composeProject: input.model.project,
  };
}

/** A tar stream of one file (the RDB), with the header docker cp needs. */
async function singleFileTar(
  name: string,
  size: number,
  owner: { uid: number; gid: number },
  content: Readable,
): Promise<Readable> {
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack.bind(tar);
  const archive = pack();
  const entry = archive.entry({ name, size, mode: 0o600, ...owner });
  pipeline(content, entry)
    .then(() => archive.finalize())
    .catch((error: unknown) => archive.destroy(error as Error));
  return Readable.from(archive as AsyncIterable<Buffer>);
}

/** What a config restore did with the secrets the backup held differently from the live store. */
export interface ConfigSecretsOutcome {
  /** Names whose current value was kept (what the running services and their data use). */
  readonly kept: readonly string[];
  /** With --secrets-from-backup: names whose live value the backup's replaced. */
  readonly replaced?: readonly string[];
  /** Where the values not used were saved (0600), relative to the root: the backup's, or the live ones it replaced. */
  readonly savedTo?: string;
}

/**
 * Puts the config files of a backup back. The secret store is merged, not replaced: a value that
 * changed since the backup (a rotation, already applied inside PostgreSQL or Redis and in every
 * container) keeps its current value, in the store and in the env file, unless `takeBackupSecrets`;
 * the backup's values are saved aside, never lost, and named in the outcome.
 */
async function restoreConfig(
  root: string,
  environment: string,
  sealed: Readable,
  key: string | undefined,
  takeBackupSecrets: boolean,
  restoreId: string,
): Promise<ConfigSecretsOutcome> {
  if (key === undefined || key === '')
    throw new StackctlError('E_USAGE', 'no key to open the config backup', {
      hint: `set ${BACKUP_KEY_ENV} to the BACKUP_ENCRYPTION_KEY the backup was made with`,
    });
  const chunks: Buffer[] = [];
  for await (const chunk of sealed) chunks.push(chunk as Buffer);
  const bundle = JSON.parse(decrypt(Buffer.concat(chunks), key).toString()) as {
    files: { path: string; mode: number; content: string }[];
  };
  const storePath = posix.join('secrets', `.env.${environment}.json`);
  const envPath = `.env.${environment}`;
  const current = await readSecretStore(root, environment);
  const contents = new Map(
    bundle.files.map((entry) => [entry.path, Buffer.from(entry.content, 'base64').toString('utf8')]),
  );
  let outcome: ConfigSecretsOutcome = { kept: [] };
  const restoredText = contents.get(storePath);
  if (restoredText !== undefined && current !== undefined) {
    const restored = SecretStoreSchema.parse(JSON.parse(restoredText));
    const changed = Object.keys(current.secrets)
      .filter((name) => restored.secrets[name]?.value !== current.secrets[name]?.value)
      .sort();
    if (changed.length > 0 && takeBackupSecrets) {
      // The live values the backup's replace are saved aside all the same: never lost.
      const savedTo = posix.join('.stackctl', 'replaced-secrets', `${environment}-${restoreId}.json`);
      await ensureDirectory(join(root, savedTo, '..'), 0o700);
      const live = Object.fromEntries(changed.map((name) => [name, current.secrets[name]]));
      await writeFileAtomic(
        join(root, savedTo),
        `${JSON.stringify({ environment, secrets: live }, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
      outcome = { kept: [], replaced: changed, savedTo };
    }
    const kept = takeBackupSecrets ? [] : changed;
    if (kept.length > 0) {
      const aside = Object.fromEntries(
        kept.filter((name) => restored.secrets[name]).map((name) => [name, restored.secrets[name]]),
      );
      const savedTo = posix.join('.stackctl', 'restored-secrets', `${environment}-${restoreId}.json`);
      await ensureDirectory(join(root, savedTo, '..'), 0o700);
      await writeFileAtomic(
        join(root, savedTo),
        `${JSON.stringify({ environment, secrets: aside }, null, 2)}\n`,
        {
          mode: 0o600,
        },
      );
      const merged: SecretStore = {
        ...restored,
        secrets: {
          ...restored.secrets,
          ...Object.fromEntries(kept.map((name) => [name, current.secrets[name]!])),
        },
      };
      contents.set(storePath, serializeSecretStore(merged));
      const envText = contents.get(envPath);
      if (envText !== undefined)
        contents.set(
          envPath,
          envText
            .split('\n')
            .map((line) => {
              const name = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
              const value =
                name !== undefined && kept.includes(name) ? current.secrets[name]?.value : undefined;
              return value === undefined || name === undefined ? line : dotenvLine(name, value);
            })
            .join('\n'),
        );
      outcome = { kept, savedTo };
    }
  }
  for (const entry of bundle.files) {
    const path = join(root, entry.path);
    if (relative(root, path).startsWith('..')) continue;
    await ensureDirectory(dirname(path), entry.path.startsWith('secrets/') ? 0o700 : 0o755);
    await writeFileAtomic(path, contents.get(entry.path) ?? '', { mode: entry.mode & 0o666 });
  }
  return outcome;
}
