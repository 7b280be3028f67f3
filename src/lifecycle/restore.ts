// Restore of one environment's data from a backup set: the set verified first, what depends on the
// data stopped, each artifact put back (PostgreSQL in one transaction into the running server,
// Redis and volumes with their service stopped), and the services started again by the caller.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../errors.js';
import { restoreS3Objects } from '../effects/backup/s3-objects.js';
import { restoreQdrantSnapshots } from '../effects/backup/qdrant.js';
import type { Artifact, BackupManifest } from '../effects/backup/manifest.js';
import {
  copyIn,
  pgRestore,
  RDB_TO_AOF_SCRIPT,
  redisFiles,
  runHelper,
  startContainers,
  stopContainers,
} from '../effects/backup/services.js';
import type { TierStore } from '../effects/backup/tiers.js';
import { restoreVolume, type VolumeRestoreState } from '../effects/backup/volume-restore.js';
import type { SecretStore } from '../generate/secrets.js';
import { COMPOSE_LABELS } from '../labels.js';
import type { EnvironmentModel } from '../model/environment.js';
import { dependentsOf, postgresLogin, qdrantApi, s3Api } from '../plan/backup.js';
import type { StackFile } from '../schema/types.js';
import { dockerClient } from '../effects/docker.js';
import { projectContainers } from '../effects/containers.js';
import { manifestServices } from '../effects/backup/manifest.js';
import { acquireLock } from '../effects/lock.js';
import { resolveRun } from './run.js';
import type { LoadedStack } from '../model/stack.js';
import {
  BACKUP_KEY_ENV,
  findBackup,
  openProjectTiers,
  runningContainerOf,
  s3Endpoint,
  verifyBackup,
  type ArtifactProblem,
  serviceContainers,
  storeValue,
  type BackupContext,
} from './backup-sets.js';
import { restoreConfig, type ConfigSecretsOutcome } from './restore-config.js';

export interface RestoreRequest {
  readonly envName: string;
  /** A backup id, a unique prefix of one, or `latest`. */
  readonly from: string;
  /** The services named (the config only when named); every data service of the set when empty. */
  readonly services: readonly string[];
  readonly dryRun: boolean;
  /** A config restore takes the backup's secret values even where the live ones differ. */
  readonly takeBackupSecrets: boolean;
  /** The caller holds the environment's lock (an upgrade rolling back). */
  readonly lockHeld?: boolean;
}

/** What a restore would do, shown before it does it. */
export interface RestorePreview {
  readonly id: string;
  readonly created: string;
  readonly environment: string;
  readonly tier: string;
  readonly restore: readonly { service: string; type: string; bytes: number }[];
  /** Running dependents stopped meanwhile, then started again. */
  readonly stopped: readonly string[];
}

/** What a person sees while a restore runs. */
export interface RestoreView {
  tierSkipped(tier: string, reason: StackctlError): void;
  /** The set failed verification: nothing is touched. */
  damaged(problems: readonly { location: string; problem: string }[]): void;
  preview(preview: RestorePreview): void;
  /** Resolves to go on; throws (E_REFUSED, E_INTERRUPTED) to stop with nothing changed. */
  confirm(question: string): Promise<void>;
  /** Data is being replaced (after the question). */
  begin(): void;
  restored(artifact: Artifact): void;
  configSecrets(outcome: ConfigSecretsOutcome): void;
  /** Nothing more is replaced (done, failed or interrupted). */
  end(): void;
  /** Starts these services again and waits for them to be healthy (under the restore's lock). */
  startAgain(services: readonly string[]): Promise<void>;
}

export type RestoreOutcome =
  | { readonly kind: 'previewed'; readonly preview: RestorePreview }
  | {
      readonly kind: 'restored';
      readonly preview: RestorePreview;
      /** The services started again (data services and their dependents). */
      readonly started: readonly string[];
      readonly configSecrets: ConfigSecretsOutcome | undefined;
    };

/**
 * Restores a backup set into an environment under its lock: verified first (a damaged set touches
 * nothing), previewed, confirmed; the running dependents stopped, the artifacts put back, and the
 * services started again. A failure part-way says what was restored, what not, and what is left
 * stopped (what depends on the data must not run on data only partly restored).
 */
export async function restoreEnvironment(
  stack: LoadedStack,
  request: RestoreRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
  view: RestoreView,
): Promise<RestoreOutcome> {
  const { envName } = request;
  const run = await resolveRun(stack, { envName });
  const { store } = run;
  const tiers = await openProjectTiers(stack, {
    first: envName,
    onSkipped: (tier, reason) => view.tierSkipped(tier, reason),
  });
  const { tier, manifest } = await findBackup(tiers, request.from, envName);
  if (manifest.environment !== envName)
    throw new StackctlError(
      'E_USAGE',
      `backup ${manifest.id} is of ${manifest.environment}, not ${envName}`,
      {
        hint: `restore it into ${manifest.environment}, or pick a backup of ${envName} (stackctl backup list ${envName})`,
      },
    );
  const inSet = manifestServices(manifest);
  for (const service of request.services)
    if (!inSet.includes(service))
      throw new StackctlError('E_USAGE', `backup ${manifest.id} holds no ${service}`, {
        hint: `it holds: ${inSet.join(', ')}`,
      });
  // The config (schema, env files, secrets) comes back only when asked for by name.
  const chosen =
    request.services.length > 0 ? [...request.services] : inSet.filter((service) => service !== 'config');
  const artifacts = manifest.artifacts.filter((artifact) => chosen.includes(artifact.service));
  const model = run.model(undefined);
  const dataServices = chosen.filter((service) => service !== 'config');
  const docker = dockerClient(io.env);
  // Only the dependents that run are stopped, and started again after.
  const running = new Map<string, string[]>();
  for (const service of dependentsOf(model, dataServices)) {
    const ids = (await projectContainers(docker, model.project, service))
      .filter((container) => container.status === 'running')
      .map((container) => container.id);
    if (ids.length > 0) running.set(service, ids);
  }
  const dependents = [...running.keys()];
  const preview: RestorePreview = {
    id: manifest.id,
    created: manifest.created,
    environment: envName,
    tier: tier.name,
    restore: artifacts.map((artifact) => ({
      service: artifact.service,
      type: artifact.type,
      bytes: artifact.bytes,
    })),
    stopped: dependents,
  };
  const lock =
    request.dryRun || request.lockHeld === true
      ? undefined
      : await acquireLock(stack.root, envName, 'restore');
  try {
    await refuseDamaged(tier, manifest, chosen, view);
    view.preview(preview);
    if (request.dryRun) return { kind: 'previewed', preview };
    await view.confirm(`Replace the data of ${dataServices.join(', ') || 'the config'} in ${envName}?`);
    let configSecrets: ConfigSecretsOutcome | undefined;
    const restored: string[] = [];
    view.begin();
    try {
      await stopContainers([...running.values()].flat(), { env: io.env, signal: io.signal });
      await restoreArtifacts(
        {
          model,
          file: stack.file,
          tier,
          manifest,
          artifacts,
          store,
          takeBackupSecrets: request.takeBackupSecrets,
          onConfigSecrets: (outcome) => {
            configSecrets = outcome;
            view.configSecrets(outcome);
          },
          onStep: (artifact) => {
            restored.push(`${artifact.service} ${artifact.type}`);
            view.restored(artifact);
          },
        },
        { root: stack.root, docker, env: io.env, signal: io.signal },
      );
    } catch (error) {
      throw restoreFailure(error, { envName, id: manifest.id, artifacts, restored, dependents, io });
    } finally {
      view.end();
    }
    // Started again and waited for, as start does.
    const started = dataServices.length > 0 ? [...dataServices, ...dependents] : [];
    if (started.length > 0) await view.startAgain(started);
    return { kind: 'restored', preview, started, configSecrets };
  } finally {
    await lock?.release();
  }
}

async function refuseDamaged(
  tier: TierStore,
  manifest: BackupManifest,
  services: readonly string[],
  view: RestoreView,
): Promise<void> {
  const problems: ArtifactProblem[] = await verifyBackup(tier, manifest, services);
  if (problems.length === 0) return;
  view.damaged(
    problems.map((problem) => ({
      location: tier.location(manifest, problem.artifact.file),
      problem: problem.problem,
    })),
  );
  throw new StackctlError('E_RUNTIME', `backup ${manifest.id} failed verification: nothing was restored`, {
    hint: 'restore another backup (stackctl backup list)',
  });
}

/** The error of a restore that failed part-way: what was restored, what not, what is left stopped. */
function restoreFailure(
  error: unknown,
  state: {
    envName: string;
    id: string;
    artifacts: readonly Artifact[];
    restored: readonly string[];
    dependents: readonly string[];
    io: { readonly signal: AbortSignal };
  },
): unknown {
  const left = state.artifacts
    .map((a) => `${a.service} ${a.type}`)
    .filter((name) => !state.restored.includes(name));
  const summary = `restored: ${state.restored.join(', ') || 'nothing'}; not restored: ${left.join(', ')}${state.dependents.length > 0 ? `; left stopped: ${state.dependents.join(', ')}` : ''}`;
  const detail = error instanceof StackctlError ? `: ${error.message}` : '';
  if (state.io.signal.aborted)
    return new StackctlError(
      'E_INTERRUPTED',
      `interrupted: restore of ${state.id} stopped (${summary})${detail}`,
      {
        hint: `run the restore again, or start what is stopped: stackctl start ${state.envName}`,
      },
    );
  if (error instanceof StackctlError)
    return new StackctlError('E_RUNTIME', `${error.message} (${summary})`, {
      hint: error.hint ?? `fix the cause, then run the restore again`,
    });
  return error;
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
