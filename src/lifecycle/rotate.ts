// Secret rotation, as a workflow: what it will do to what runs (asked before confirming), then,
// under the environment's lock, each credential a running service keeps in its data changed inside
// it, the new values written, and the services that use them recreated through a start.
import type { FileResult } from '../effects/apply-files.js';
import { applyFiles } from '../effects/apply-files.js';
import { projectContainers } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import {
  applyInService,
  liveRotation,
  readPendingRotations,
  runningContainer,
  writePendingRotations,
  type LiveRotation,
} from '../effects/rotation.js';
import type { LoadedStack } from '../model/stack.js';
import { backupSecrets, readSecretStore } from '../effects/secret-store.js';
import { acquireLock } from '../effects/lock.js';
import { StackctlError } from '../errors.js';
import { chooseSecrets, type SecretSelection } from '../plan/secret-selection.js';
import { rotateSecrets, type SecretStore } from '../generate/secrets.js';
import type { EnvironmentModel } from '../model/environment.js';
import { resolveRun } from './run.js';
import { findVariableReferences, interpolate } from '../schema/interpolate.js';
import { cryptoRandom, prepareGeneration } from './generation.js';
import { refreshStateMetrics } from './state-metrics.js';

export interface RotationIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** What a rotation will do to what runs now. */
export interface RotationEffects {
  /** Services a credential is changed in (a database role, Redis requirepass). */
  readonly liveIn: readonly string[];
  /** Running services recreated because their environment names a rotated value. */
  readonly recreated: readonly string[];
}

export async function rotationEffects(
  stack: LoadedStack,
  model: EnvironmentModel,
  chosen: readonly string[],
  io: Pick<RotationIo, 'env'>,
): Promise<RotationEffects> {
  const running = new Set(
    (await projectContainers(dockerClient(io.env), model.project).catch(() => []))
      .filter((c) => c.status === 'running')
      .map((c) => c.service),
  );
  const liveIn = [
    ...new Set(
      chosen
        .map((name) => stack.file.variables[name]?.rotation)
        .filter((rotation) => rotation?.service !== undefined && rotation.method !== 'manual')
        .map((rotation) => rotation?.service ?? '')
        .filter((service) => running.has(service)),
    ),
  ];
  const recreated = model.services
    .filter((service) => running.has(service.name))
    .filter((service) =>
      Object.values(service.definition.environment ?? {}).some(
        (value) =>
          typeof value === 'string' && findVariableReferences(value).some((ref) => chosen.includes(ref.name)),
      ),
    )
    .map((service) => service.name);
  return { liveIn, recreated };
}

export interface RotationOutcome {
  readonly rotated: readonly string[];
  /** The previous store, backed up (0600). */
  readonly backup: string;
  readonly files: readonly FileResult[];
  /** Rotations applied inside a running service. */
  readonly applied: readonly string[];
  /** Rotations left for the next start (the service was not running). */
  readonly pending: readonly LiveRotation[];
  /** The running services recreated with the new values. */
  readonly recreated: readonly string[];
}

/**
 * Rotates under the environment's lock (the caller holds it). A credential a running service keeps
 * in its data is changed inside that service first; only then are the new values written and the
 * services that use them recreated by `recreate` (a start of those services, waited for). A service
 * that is not running gets the change at the next start.
 */
export async function rotateLocked(
  stack: LoadedStack,
  model: EnvironmentModel,
  store: SecretStore,
  chosen: readonly string[],
  io: RotationIo,
  recreate: (services: readonly string[]) => Promise<void>,
): Promise<RotationOutcome> {
  const now = new Date();
  const env = model.name;
  const rotated = rotateSecrets(stack.file, store, chosen, cryptoRandom, now);
  const docker = dockerClient(io.env);
  const live = chosen.flatMap((name) => {
    const def = stack.file.variables[name];
    const role =
      def?.rotation?.role === undefined ? undefined : interpolate(def.rotation.role, model.values).value;
    const rotation = liveRotation(name, def?.rotation, role);
    return rotation && model.services.some((service) => service.name === rotation.service) ? [rotation] : [];
  });
  const applied: string[] = [];
  const pending: LiveRotation[] = [];
  for (const rotation of live) {
    const container = await runningContainer(docker, model.project, rotation.service);
    const values = {
      previous: store.secrets[rotation.name]?.value ?? '',
      next: rotated.store.secrets[rotation.name]?.value ?? '',
    };
    if (container === undefined) {
      // Redis takes requirepass from its environment at every start; a database role does not.
      if (rotation.method === 'postgres') pending.push(rotation);
      continue;
    }
    await applyInService(container, rotation, values, io.env, io.signal);
    applied.push(rotation.name);
  }
  // The backup holds the whole previous store, so every old value can be restored together.
  const backup = await backupSecrets(stack.root, env, store, now.toISOString());
  const prepared = await prepareGeneration(stack, [env], {
    createSecrets: true,
    replaceStores: new Map([[env, rotated.store]]),
    now,
  });
  const files = prepared.plan.files.filter(
    (file) =>
      file.path.startsWith('secrets/') ||
      file.path.startsWith('.env.') ||
      file.path.startsWith('k8s-secrets-'),
  );
  const results = await applyFiles(stack.root, io.cwd, files, { check: false, signal: io.signal });
  await refreshStateMetrics(stack, env, rotated.store);
  if (pending.length > 0) {
    const already = await readPendingRotations(stack.root, env);
    await writePendingRotations(stack.root, env, [
      ...already.filter((entry) => !pending.some((next) => next.name === entry.name)),
      ...pending,
    ]);
  }
  // Running services pick up the new values only when recreated: start does exactly that for the
  // services whose configuration changed, in dependency order, and waits until they are healthy.
  const affected = (await rotationEffects(stack, model, chosen, io)).recreated;
  if (affected.length > 0) await recreate(affected);
  return { rotated: chosen, backup, files: results, applied, pending, recreated: affected };
}

export interface RotationRequest {
  readonly envName: string;
  readonly selection: SecretSelection;
}

/** What a person sees while secrets rotate. */
export interface RotationView {
  /** A chosen secret only a person can rotate (kept in a service's data with no live change). */
  manualOnly(name: string, steps: string): void;
  /** Resolves to go on; throws (E_REFUSED, E_INTERRUPTED) to stop with nothing changed. */
  confirm(chosen: readonly string[], effects: RotationEffects): Promise<void>;
  /** Recreates the running services that use the new values (a start of them, waited for). */
  recreate(services: readonly string[]): Promise<void>;
}

/**
 * Rotates the chosen secrets of an environment: the manual ones named and left, what the rest will
 * do to what runs asked about, then, under the environment's lock and from the store as it is then
 * (another rotation may have finished meanwhile), rotateLocked. Undefined when nothing was chosen.
 */
export async function rotateEnvironmentSecrets(
  stack: LoadedStack,
  request: RotationRequest,
  io: RotationIo,
  view: RotationView,
): Promise<RotationOutcome | undefined> {
  const env = request.envName;
  const run = await resolveRun(stack, { envName: env });
  const model = run.model(run.likelyGpu.selection);
  const store = run.store;
  if (!store)
    throw new StackctlError('E_USAGE', `${env} has no secrets yet`, {
      hint: `run: stackctl generate ${env}`,
    });
  const requested = chooseSecrets(stack.file.variables, store, request.selection, Date.now());
  // Secrets a service keeps in its data with no way to change them live: refused, with the steps.
  const manual = requested.filter((name) => stack.file.variables[name]?.rotation?.method === 'manual');
  const chosen = requested.filter((name) => !manual.includes(name));
  for (const name of manual) view.manualOnly(name, stack.file.variables[name]?.rotation?.steps ?? '');
  if (chosen.length === 0) {
    if (manual.length > 0)
      throw new StackctlError(
        'E_REFUSED',
        `nothing rotated: ${manual.join(', ')} can only be rotated by hand`,
        {
          hint: 'follow the steps above',
        },
      );
    return undefined;
  }
  await view.confirm(chosen, await rotationEffects(stack, model, chosen, io));
  // Like every command that changes an environment: a start running now must not see half of it.
  const lock = await acquireLock(stack.root, env, `secrets rotate ${env}`);
  try {
    const current = (await readSecretStore(stack.root, env)) ?? store;
    return await rotateLocked(stack, model, current, chosen, io, (services) => view.recreate(services));
  } finally {
    await lock.release();
  }
}
