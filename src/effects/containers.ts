import { COMPOSE_LABELS } from '../labels.js';
import type Docker from 'dockerode';
import type { ContainerSnapshot } from '../health/classify.js';
import { healthcheckCommand } from '../health/probe.js';
import { readLogLines } from './log-stream.js';
import { dockerReason, dockerStatusCode } from './docker.js';

export interface ContainerSummary extends ContainerSnapshot {
  readonly name: string;
  /** The image ID the container runs (a restore helper runs the same image). */
  readonly image: string;
  /** The image reference it was created from (what compose's `image:` said, or its build's name). */
  readonly imageRef: string;
  /** Its addresses on its networks (empty when it is not running). */
  readonly addresses: readonly string[];
  readonly ports: readonly { hostIp: string; hostPort: number; containerPort: number }[];
  readonly labels: Readonly<Record<string, string>>;
  /** Whether it runs with a TTY: its logs are then raw, not multiplexed. */
  readonly tty: boolean;
  /** The IDs of the networks the container is attached to (or was, when it stopped). */
  readonly networkIds: readonly string[];
  /** The healthcheck Docker runs for it (the effective one, overlays included), as docker exec runs it. */
  readonly healthcheck?: readonly string[];
}

/** The labels that select a compose project's service containers (not `compose run` one-offs). */
export function serviceContainerLabels(project: string, service?: string): string[] {
  const labels = [`${COMPOSE_LABELS.project}=${project}`, `${COMPOSE_LABELS.oneoff}=False`];
  if (service !== undefined) labels.push(`${COMPOSE_LABELS.service}=${service}`);
  return labels;
}

/** The containers of a compose project (optionally one service), as the Docker API reports them. */
export async function projectContainers(
  docker: Docker,
  project: string,
  service?: string,
): Promise<ContainerSummary[]> {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: serviceContainerLabels(project, service) },
  });
  const summaries = await Promise.all(listed.map((entry) => inspectContainer(docker, entry.Id)));
  return summaries.filter((summary): summary is ContainerSummary => summary !== undefined);
}

export async function inspectContainer(docker: Docker, id: string): Promise<ContainerSummary | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    const health = info.State.Health?.Status;
    const ports = Object.entries(info.NetworkSettings.Ports ?? {}).flatMap(([key, bindings]) =>
      (bindings ?? []).map((binding) => ({
        hostIp: binding.HostIp,
        hostPort: Number(binding.HostPort),
        containerPort: Number(key.split('/')[0]),
      })),
    );
    return {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      image: info.Image,
      imageRef: info.Config.Image,
      addresses: Object.values(info.NetworkSettings.Networks ?? {})
        .map((network) => network.IPAddress)
        .filter((address) => address !== ''),
      service: info.Config.Labels?.[COMPOSE_LABELS.service] ?? '',
      status: info.State.Status,
      health: health === 'starting' || health === 'healthy' || health === 'unhealthy' ? health : undefined,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      restartCount: info.RestartCount,
      startedAt: info.State.StartedAt,
      restartPolicy: info.HostConfig.RestartPolicy?.Name ?? '',
      ports,
      labels: info.Config.Labels ?? {},
      tty: info.Config.Tty,
      networkIds: Object.values(info.NetworkSettings.Networks ?? {}).map((network) => network.NetworkID),
      ...healthcheckOf(info.Config.Healthcheck?.Test),
    };
  } catch {
    return undefined; // removed between list and inspect
  }
}

function healthcheckOf(test: readonly string[] | undefined): { healthcheck?: string[] } {
  const command = healthcheckCommand(test);
  return command ? { healthcheck: command } : {};
}

/** The last output of a container's healthcheck, if it has one. */
export async function lastHealthOutput(docker: Docker, id: string): Promise<string | undefined> {
  try {
    const info = await docker.getContainer(id).inspect();
    const log = info.State.Health?.Log ?? [];
    const last = log[log.length - 1];
    return last === undefined ? undefined : `exit ${last.ExitCode}: ${last.Output.trim()}`;
  } catch {
    return undefined;
  }
}

/** The last lines a container wrote (stdout and stderr, in order). */
export async function tailLogs(docker: Docker, id: string, lines: number): Promise<string[]> {
  try {
    const container = docker.getContainer(id);
    const [info, raw] = await Promise.all([
      container.inspect(),
      container.logs({ stdout: true, stderr: true, tail: lines, follow: false }),
    ]);
    const out: string[] = [];
    await readLogLines(docker, raw, info.Config.Tty, (line) => out.push(line));
    return out;
  } catch {
    return [];
  }
}

/**
 * The containers attached to a network that no longer exists (removed while they were stopped):
 * Docker cannot start them again until they are recreated.
 */
export async function containersOnMissingNetworks<T extends { readonly networkIds: readonly string[] }>(
  docker: Docker,
  containers: readonly T[],
): Promise<T[]> {
  if (containers.length === 0) return [];
  const existing = new Set((await docker.listNetworks()).map((network) => network.Id));
  return containers.filter((container) => container.networkIds.some((id) => id !== '' && !existing.has(id)));
}

/** A container that Docker refused to start, with Docker's reason. */
export class LaunchError extends Error {
  constructor(
    readonly service: string,
    reason: string,
  ) {
    super(`${service} could not be started: ${reason}`);
  }
}

/** A project's service containers as one list call reports them (no inspect). */
export interface ListedServiceContainer {
  readonly id: string;
  readonly service: string;
  readonly state: string;
  readonly imageId: string;
  /** The networks it is attached to (or was, when it stopped). */
  readonly networkIds: readonly string[];
}

export async function listServiceContainers(
  docker: Docker,
  project: string,
): Promise<ListedServiceContainer[]> {
  const containers = await docker.listContainers({
    all: true,
    filters: { label: serviceContainerLabels(project) },
  });
  return containers.map((container) => ({
    id: container.Id,
    service: container.Labels[COMPOSE_LABELS.service] ?? '',
    state: container.State,
    imageId: container.ImageID,
    networkIds: Object.values(container.NetworkSettings?.Networks ?? {}).map((network) => network.NetworkID),
  }));
}

/** The ids of each service's containers that are not running (created or stopped). */
export function startableContainers(listed: readonly ListedServiceContainer[]): Map<string, string[]> {
  const byService = new Map<string, string[]>();
  for (const container of listed) {
    if (container.state === 'running') continue;
    byService.set(container.service, [...(byService.get(container.service) ?? []), container.id]);
  }
  return byService;
}

/** The image ID each reference names now, or undefined for one the engine does not have. */
export async function imageIds(
  docker: Docker,
  references: readonly string[],
): Promise<Map<string, string | undefined>> {
  const found = await Promise.all(
    [...new Set(references)].map(async (reference) => {
      try {
        const info = await docker.getImage(reference).inspect();
        return [reference, info.Id] as const;
      } catch {
        return [reference, undefined] as const;
      }
    }),
  );
  return new Map(found);
}

/** Starts a service's containers through the Docker API (one already running is fine). */
export async function startContainers(
  docker: Docker,
  service: string,
  ids: readonly string[],
): Promise<void> {
  await Promise.all(
    ids.map(async (id) => {
      try {
        await docker.getContainer(id).start();
      } catch (error) {
        if (dockerStatusCode(error) === 304) return; // already started
        throw new LaunchError(service, dockerReason(error));
      }
    }),
  );
}

/** Stops one container, giving it `seconds` (default: its own stop timeout); one already stopped is fine. */
/** How a container stopped: how long it took, how it exited, and what decided that. */
export interface StopReport {
  readonly elapsedMs: number;
  /** Its exit code after the stop (undefined when it was gone). */
  readonly exitCode?: number;
  /** The seconds Docker waited after the stop signal before SIGKILL. */
  readonly graceSeconds: number;
  readonly stopSignal: string;
  /** PID 1 as Docker started it (path and arguments). */
  readonly command: readonly string[];
  /** Docker's init (tini) runs as PID 1 and passes signals on. */
  readonly init: boolean;
}

/** Stops a container and reports how: Docker's SIGKILL after the grace period shows as exit 137. */
export async function stopContainerReporting(
  docker: Docker,
  id: string,
  seconds?: number,
): Promise<StopReport> {
  const container = docker.getContainer(id);
  const before = await container.inspect().catch(() => undefined);
  const started = Date.now();
  await stopContainer(docker, id, seconds);
  const elapsedMs = Date.now() - started;
  const after = await container.inspect().catch(() => undefined);
  const config = before?.Config as { StopSignal?: string; StopTimeout?: number } | undefined;
  return {
    elapsedMs,
    ...(after ? { exitCode: after.State.ExitCode } : {}),
    graceSeconds: seconds ?? config?.StopTimeout ?? 10,
    stopSignal: config?.StopSignal ?? 'SIGTERM',
    command: before ? [before.Path, ...before.Args] : [],
    init: before?.HostConfig.Init === true,
  };
}

export async function stopContainer(docker: Docker, id: string, seconds?: number): Promise<void> {
  try {
    await docker.getContainer(id).stop(seconds === undefined ? {} : { t: seconds });
  } catch (error) {
    if (dockerStatusCode(error) === 304 || dockerStatusCode(error) === 404) return;
    throw error;
  }
}

/**
 * Takes a container out of service for good: first off its networks (Docker's DNS stops naming it at
 * once, so callers resolving the service reach only the other copies), then stopped and removed.
 */
export async function retireContainer(docker: Docker, id: string, stopSeconds: number): Promise<void> {
  const handle = docker.getContainer(id);
  const info = await handle.inspect().catch(() => undefined);
  for (const network of Object.keys(info?.NetworkSettings.Networks ?? {}))
    await docker
      .getNetwork(network)
      .disconnect({ Container: id })
      .catch(() => undefined);
  await handle.stop({ t: stopSeconds }).catch(() => undefined);
  await handle.remove({ force: true }).catch(() => undefined);
}
