// Backup of one environment's data into a tier: the services chosen (every one with data that has
// a container), a volume copy's stop confirmed, each artifact streamed into the tier, the set
// committed with its manifest, or nothing of it kept. The plan (which artifacts, which tier, what
// expires) is made by src/plan/backup.ts; this module carries it out.
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { Readable } from 'node:stream';
import { StackctlError } from '../errors.js';
import type { SecretStore } from '../generate/secrets.js';
import { schemaHash } from '../generate/header.js';
import { dockerClient } from '../effects/docker.js';
import { acquireLock } from '../effects/lock.js';
import { readSecretStore } from '../effects/secret-store.js';
import type { EnvironmentModel } from '../model/environment.js';
import { resolveRun } from './run.js';
import type { LoadedStack } from '../model/stack.js';
import {
  backupId,
  chooseTier,
  CONFIG_SERVICE,
  planBackup,
  servicesWithData,
  type ArtifactType,
  type BackupStep,
} from '../plan/backup.js';
import { qdrantSnapshots } from '../effects/backup/qdrant.js';
import { s3ObjectsArchive } from '../effects/backup/s3-objects.js';
import type { StackFile } from '../schema/types.js';
import { STACKCTL_VERSION } from '../version.js';
import { projectContainers } from '../effects/containers.js';
import { readRegularFile } from '../effects/files.js';
import { encrypt } from '../effects/backup/encryption.js';
import { manifestServices, type Artifact, type BackupManifest } from '../effects/backup/manifest.js';
import {
  copyOut,
  pgDump,
  redisSnapshot,
  startContainers,
  stopContainers,
  type StreamedCommand,
} from '../effects/backup/services.js';
import type { TierStore } from '../effects/backup/tiers.js';
import { refreshStateMetrics } from './state-metrics.js';
import {
  BACKUP_KEY_ENV,
  openProjectTiers,
  requireBackup,
  runningContainerOf,
  s3Endpoint,
  serviceContainers,
  storeValue,
  type BackupContext,
} from './backup-sets.js';

export interface BackupRequest {
  readonly envName: string;
  /** The services named; when empty, the config and every service with data that has a container. */
  readonly services: readonly string[];
  readonly type?: ArtifactType;
  /** The tier to write to; the environment's policy or the default tier when not given. */
  readonly tier?: string;
  readonly includeModels: boolean;
  /** Services may be stopped for a volume copy without asking. */
  readonly allowStop: boolean;
  /** The caller holds the environment's lock (an upgrade's snapshot). */
  readonly lockHeld?: boolean;
}

/** What a person sees while a backup runs. */
export interface BackupView {
  /** A tier that cannot be opened yet (no keys): the others are still used. */
  tierSkipped(tier: string, reason: StackctlError): void;
  /** A service with data has no container: it is left out. */
  noContainer(service: string): void;
  /** These running services would be stopped for a volume copy: resolves to go on, throws to stop. */
  confirmStop(services: readonly string[]): Promise<void>;
  /** The copy begins (after the question, under the lock). */
  begin(): void;
  progress(step: BackupStep, bytes: number): void;
  stepDone(step: BackupStep, artifact: Artifact): void;
}

export interface BackupOutcome {
  readonly tier: TierStore;
  readonly manifest: BackupManifest;
  readonly elapsedMs: number;
}

/** Backs up one environment under its lock; on any failure nothing of the set stays in the tier. */
export async function backupEnvironment(
  stack: LoadedStack,
  request: BackupRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
  view: BackupView,
): Promise<BackupOutcome> {
  const { envName } = request;
  const backup = requireBackup(stack.file);
  const run = await resolveRun(stack, { envName });
  const model = run.model(run.likelyGpu.selection);
  const docker = dockerClient(io.env);
  const containersOf = (service: string) => projectContainers(docker, model.project, service);
  let services = request.services;
  if (services.length === 0) {
    const present = [CONFIG_SERVICE];
    for (const service of servicesWithData(stack.file, model, { includeModels: request.includeModels })) {
      if ((await containersOf(service.name)).length > 0) present.push(service.name);
      else view.noContainer(service.name);
    }
    services = present;
  }
  const steps = planBackup(stack.file, model, {
    services: [...services],
    explicit: request.services.length > 0,
    type: request.type,
    includeModels: request.includeModels,
  });
  const tierName = chooseTier(backup, envName, request.tier);
  // A volume copy stops its service: said before anything happens, and confirmed.
  const stopping: string[] = [];
  for (const step of steps)
    if (
      step.method === 'volume' &&
      !stopping.includes(step.service) &&
      (await containersOf(step.service)).some((c) => c.status === 'running')
    )
      stopping.push(step.service);
  if (stopping.length > 0 && !request.allowStop) await view.confirmStop(stopping);
  const store = await readSecretStore(stack.root, envName);
  const lock = request.lockHeld === true ? undefined : await acquireLock(stack.root, envName, 'backup');
  try {
    view.begin();
    const [tier] = await openProjectTiers(stack, {
      first: envName,
      only: tierName,
      onSkipped: (name, reason) => view.tierSkipped(name, reason),
    });
    if (!tier) throw new Error(`tier ${tierName} did not open`);
    const started = Date.now();
    const manifest = await createBackupTelling(
      {
        file: stack.file,
        model,
        schemaHash: schemaHash(stack.schemaText),
        steps,
        tier,
        store,
        configFiles: await configFilesOf(stack.root, relative(stack.root, stack.schemaPath), envName),
        now: new Date(),
        onProgress: (step, bytes) => view.progress(step, bytes),
        onStep: (step, artifact) => view.stepDone(step, artifact),
      },
      { root: stack.root, docker, env: io.env, signal: io.signal },
    );
    await refreshStateMetrics(stack, envName, store, {
      services: manifestServices(manifest),
      at: new Date(manifest.created),
    });
    return { tier, manifest, elapsedMs: Date.now() - started };
  } finally {
    await lock?.release();
  }
}

/**
 * createBackup, with a failure that says what it left: a backup cut short by Ctrl-C says so
 * (nothing of it is kept) instead of naming the killed command, and a service stopped for a volume
 * copy and not running again is named with how to start it.
 */
async function createBackupTelling(input: BackupInput, ctx: BackupContext): Promise<BackupManifest> {
  const down = new Set<string>();
  const stopped = new Set<string>();
  try {
    return await createBackup(
      {
        ...input,
        onServiceStopping: (service) => {
          stopped.add(service);
          down.add(service);
        },
        onServiceStarted: (service) => down.delete(service),
      },
      ctx,
    );
  } catch (error) {
    const services =
      down.size > 0
        ? `left stopped: ${[...down].join(', ')} (start them: stackctl start ${input.model.name})`
        : stopped.size > 0
          ? `${[...stopped].join(', ')}, stopped for a volume copy, run again`
          : 'no service was stopped';
    if (ctx.signal?.aborted === true)
      throw new StackctlError(
        'E_INTERRUPTED',
        `interrupted: no backup of ${input.model.name} was made; what was written is removed`,
        { hint: services },
      );
    if (down.size > 0 && error instanceof StackctlError)
      throw new StackctlError(error.code, `${error.message}; ${services}`, {
        ...(error.hint !== undefined ? { hint: error.hint } : {}),
      });
    throw error;
  }
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
