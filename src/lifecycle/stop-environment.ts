// Stop and restart, as workflows: an environment's containers (and its swarm services, found by
// their labels) stopped in the start graph's reverse order under the environment's lock; a restart
// checks the host first, so nothing is stopped when the start could not follow.
import type Docker from 'dockerode';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { dockerClient } from '../effects/docker.js';
import { acquireLock } from '../effects/lock.js';
import { swarmNode } from '../effects/swarm.js';
import { LABELS } from '../labels.js';
import { composeProjectName } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import type { Check } from '../preflight/checks.js';
import { effectiveReader } from './effective-config.js';
import { assessHost } from './preflight.js';
import { resolveRun } from './run.js';
import type { StartIo } from './start-types.js';
import { stopInGraphOrder, type StoppedContainer } from './stop.js';
import { stopOnSwarm } from './swarm.js';

export interface StopIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** What a person sees while services stop. */
export interface StopView {
  stopping(service: string): void;
  stopped(container: StoppedContainer): void;
  swarmStopping(services: readonly string[]): void;
}

export interface StopOutcome {
  readonly stopped: readonly StoppedContainer[];
  /** Swarm services scaled to 0. */
  readonly swarmStopped: readonly string[];
}

/** Stops one environment (only these stacks when given) under its lock; nothing is removed. */
export async function stopEnvironment(
  stack: LoadedStack,
  envName: string,
  request: { readonly stacks: readonly string[]; readonly seconds?: number },
  io: StopIo,
  view: StopView,
): Promise<StopOutcome> {
  const lock = await acquireLock(stack.root, envName, `stop ${envName}`);
  try {
    const docker = dockerClient(io.env);
    const containers = await selectedContainers(docker, stack, envName, request.stacks, []);
    const stopped = await stopInGraphOrder(docker, stack.file, containers, {
      ...(request.seconds === undefined ? {} : { seconds: request.seconds }),
      signal: io.signal,
      onStopping: (service) => view.stopping(service),
      onStopped: (container) => view.stopped(container),
    });
    // A swarm deployment of the environment, found by its labels, stops the same way.
    const swarmStopped =
      (await swarmNode(docker)).manager === true
        ? await stopOnSwarm(docker, stack.file, envName, {
            stacks: request.stacks,
            signal: io.signal,
            onStopping: (services) => view.swarmStopping(services),
          })
        : [];
    return { stopped, swarmStopped };
  } finally {
    await lock.release();
  }
}

async function selectedContainers(
  docker: Docker,
  stack: LoadedStack,
  envName: string,
  stacks: readonly string[],
  services: readonly string[],
): Promise<ContainerSummary[]> {
  return (await projectContainers(docker, composeProjectName(stack.file, envName))).filter(
    (c) =>
      (stacks.length === 0 || stacks.includes(c.labels[LABELS.stack] ?? '')) &&
      (services.length === 0 || services.includes(c.service)),
  );
}

export interface RestartRequest {
  readonly envName: string;
  readonly stacks: readonly string[];
  readonly services: readonly string[];
  readonly gpu?: GpuMode;
  /** Check the host first (not with --skip-preflight or --dry-run). */
  readonly checkHost: boolean;
  readonly skipChecks: readonly string[];
  /** Its swarm services too. */
  readonly swarm: boolean;
  readonly dryRun: boolean;
}

export interface RestartView extends StopView {
  /** The host checks that did not pass; `failed` when one of them stops the restart. */
  preflight(findings: readonly Check[], failed: boolean): void;
  /** With dryRun: the running containers that would be stopped. */
  wouldStop(containers: readonly ContainerSummary[]): void;
  /** Starts the selection again (a start, waited for), under the lock this restart holds. */
  start(options: { readonly lockHeld: boolean; readonly checked: boolean }): Promise<void>;
}

/**
 * Restarts the selection: the host checked first (a failed check stops here, nothing stopped),
 * the running containers stopped in graph order, then started again through the normal start.
 */
export async function restartEnvironment(
  stack: LoadedStack,
  request: RestartRequest,
  io: StartIo,
  view: RestartView,
): Promise<'restarted' | 'preflight-failed'> {
  const { envName } = request;
  if (request.checkHost) {
    const assessment = await assessHost(await resolveRun(stack, request), io, {
      generatesFiles: true,
      skipChecks: request.skipChecks,
      readEffective: effectiveReader(stack, io),
    });
    const findings = assessment.checks.filter((check) => check.status !== 'pass');
    const failed = findings.some((check) => check.status === 'fail');
    view.preflight(findings, failed);
    if (failed) return 'preflight-failed';
  }
  const docker = dockerClient(io.env);
  const lock = request.dryRun ? undefined : await acquireLock(stack.root, envName, `restart ${envName}`);
  try {
    const containers = (
      await selectedContainers(docker, stack, envName, request.stacks, request.services)
    ).filter((c) => c.status === 'running');
    if (request.dryRun) view.wouldStop(containers);
    else {
      if (request.swarm)
        await stopOnSwarm(docker, stack.file, envName, {
          stacks: request.stacks,
          signal: io.signal,
          onStopping: (services) => view.swarmStopping(services),
        });
      await stopInGraphOrder(docker, stack.file, containers, {
        signal: io.signal,
        onStopping: (service) => view.stopping(service),
        onStopped: (container) => view.stopped(container),
      });
    }
    await view.start({ lockHeld: lock !== undefined, checked: request.checkHost });
    return 'restarted';
  } finally {
    await lock?.release();
  }
}
