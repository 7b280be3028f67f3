import type Docker from 'dockerode';
import type { HostFacts, HostPathFact, PortHolderContainer, PortProbe } from '../../host/facts.js';
import { COMPOSE_LABELS, LABELS } from '../../labels.js';
import { publishedHostPorts, type EnvironmentModel } from '../../model/environment.js';
import { dockerClient } from '../docker.js';
import { nvidiaSmiRunner } from '../nvidia-smi.js';
import { probeDiskUsage, probeDocker, probeDockerNetworks, probeProjectPorts } from './docker-facts.js';
import {
  probeDisk,
  probeHostNetworks,
  probeHostPaths,
  probeMaxMapCount,
  probeMemory,
  probeNvidiaCdi,
} from './host.js';
import { hostPathsOf, type HostPath } from '../../model/host-paths.js';
import { probeGpus } from './gpus.js';
import { probeInitScripts } from './init-scripts.js';
import { portHolder, tryBind } from './ports.js';

export interface ProbeOptions {
  readonly env: NodeJS.ProcessEnv;
  /** The project folder: relative bind mounts and build contexts are under it. */
  readonly root: string;
  readonly needGpu: boolean;
  readonly signal?: AbortSignal;
  /**
   * What compose will really use (the effective configuration, overlay applied), when it was read:
   * its bind sources and build contexts, and its published ports. Without it, the schema's.
   */
  readonly effective?: {
    readonly hostPaths: readonly HostPath[];
    readonly ports: readonly WantedPort[];
  };
}

type WantedPort = ReturnType<typeof publishedHostPorts>[number];

/** Gathers everything preflight needs about the host, probing in parallel. */
export async function gatherHostFacts(model: EnvironmentModel, options: ProbeOptions): Promise<HostFacts> {
  const docker = dockerClient(options.env);
  const dockerFacts = await probeDocker(docker, options.env);
  const reachable = dockerFacts.daemon.reachable;
  const dataRoot = dockerFacts.daemon.reachable ? dockerFacts.daemon.dataRoot : '/var/lib/docker';
  // Memory and disk are measured where the containers run: this machine, unless the daemon is on
  // another host, where only what the daemon reports is known.
  const remote = !dockerFacts.host.startsWith('unix://');
  const daemonMemory = dockerFacts.daemon.reachable ? dockerFacts.daemon.memTotalBytes : undefined;

  const [
    gpus,
    memory,
    disk,
    ports,
    dockerNetworks,
    hostNetworks,
    diskUsage,
    maxMapCount,
    nvidiaCdi,
    hostPaths,
  ] = await Promise.all([
    options.needGpu ? probeGpus(nvidiaSmiRunner({ env: options.env, signal: options.signal })) : undefined,
    remote
      ? daemonMemory === undefined
        ? undefined
        : { totalBytes: daemonMemory, availableBytes: undefined }
      : probeMemory(),
    remote
      ? { path: dataRoot, error: `the daemon runs on another host (${dockerFacts.host})` }
      : probeDisk(dataRoot),
    probePorts(model, options.effective?.ports ?? publishedHostPorts(model), reachable ? docker : undefined),
    reachable ? probeDockerNetworks(docker).catch(() => undefined) : undefined,
    probeHostNetworks(),
    reachable ? probeDiskUsage(docker) : undefined,
    probeMaxMapCount(),
    probeNvidiaCdi(),
    probeHostPaths(options.root, options.effective?.hostPaths ?? hostPathsOf(model)).then((paths) =>
      reachable ? withImagePresence(docker, paths) : paths,
    ),
  ]);
  const initScripts = await probeInitScripts(
    model,
    options.root,
    hostPaths,
    reachable ? docker : undefined,
    options.env,
  );
  return {
    docker: dockerFacts,
    initScripts,
    gpus,
    memory,
    disk,
    ports,
    dockerNetworks,
    hostNetworks,
    diskUsage,
    maxMapCount,
    nvidiaCdi,
    hostPaths,
  };
}

/** Host ports published by running containers, with who they are (asked only when a port is taken). */
async function publishedPorts(docker: Docker): Promise<Map<number, PortHolderContainer>> {
  const holders = new Map<number, PortHolderContainer>();
  for (const container of await docker.listContainers()) {
    const labels = container.Labels ?? {};
    for (const port of container.Ports) {
      if (port.PublicPort === undefined) continue;
      holders.set(port.PublicPort, {
        name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
        composeProject: labels[COMPOSE_LABELS.project],
        stackctlProject: labels[LABELS.project],
        environment: labels[LABELS.environment],
      });
    }
  }
  return holders;
}

/** For a missing build context with an image named: whether compose can use that image instead. */
async function withImagePresence(docker: Docker, paths: HostPathFact[]): Promise<HostPathFact[]> {
  return Promise.all(
    paths.map(async (entry) =>
      entry.kind === 'build' && !entry.exists && entry.image !== undefined
        ? {
            ...entry,
            imagePresent: await docker
              .getImage(entry.image)
              .inspect()
              .then(
                () => true,
                () => false,
              ),
          }
        : entry,
    ),
  );
}

async function probePorts(
  model: EnvironmentModel,
  wanted: readonly WantedPort[],
  docker: Docker | undefined,
): Promise<PortProbe[]> {
  const own = docker
    ? await probeProjectPorts(docker, model.project).catch(() => new Set<number>())
    : new Set<number>();
  let publishers: Promise<Map<number, PortHolderContainer>> | undefined;
  return Promise.all(
    wanted.map(async (port): Promise<PortProbe> => {
      const result = await tryBind(port.hostIp, port.port, port.protocol);
      if (result.free) return { ...port, status: 'free' };
      if (result.code === 'EADDRINUSE' && own.has(port.port)) return { ...port, status: 'own' };
      if (result.code === 'EADDRINUSE') {
        publishers ??= docker ? publishedPorts(docker).catch(() => new Map()) : Promise.resolve(new Map());
        const holderContainer = (await publishers).get(port.port);
        if (holderContainer) return { ...port, status: 'in-use', holderContainer };
        return { ...port, status: 'in-use', holder: await portHolder(port.port, port.protocol) };
      }
      return { ...port, status: 'error', error: `${result.code}: ${result.message}` };
    }),
  );
}
