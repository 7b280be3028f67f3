import type Docker from 'dockerode';
import { COMPOSE_LABELS, SWARM_LABELS } from '../../labels.js';
import { diskUsageFromApi, type DiskUsageRow, type SystemDf } from '../../host/disk-usage.js';
import type { DockerFacts, DockerNetworkFact } from '../../host/facts.js';
import { dockerCliVersion, dockerConnection, dockerReason, findCompose } from '../docker.js';

export async function probeDocker(docker: Docker, env: NodeJS.ProcessEnv): Promise<DockerFacts> {
  const [cliVersion, compose, daemon] = await Promise.all([
    dockerCliVersion(env),
    findCompose(env),
    probeDaemon(docker),
  ]);
  return {
    cli: { found: cliVersion !== null, version: cliVersion },
    host: dockerConnection(env).host,
    compose: compose === null ? null : { flavour: compose.flavour, version: compose.version },
    daemon,
  };
}

async function probeDaemon(docker: Docker): Promise<DockerFacts['daemon']> {
  try {
    await withTimeout(docker.ping(), 5_000, 'the daemon did not answer within 5 s');
    const [info, version] = await Promise.all([
      docker.info() as Promise<{
        DockerRootDir?: string;
        Runtimes?: Record<string, unknown>;
        DefaultRuntime?: string;
        MemTotal?: number;
      }>,
      docker.version(),
    ]);
    return {
      reachable: true,
      serverVersion: version.Version,
      apiVersion: version.ApiVersion,
      dataRoot: info.DockerRootDir ?? '/var/lib/docker',
      runtimes: Object.keys(info.Runtimes ?? {}),
      defaultRuntime: info.DefaultRuntime ?? 'runc',
      memTotalBytes: info.MemTotal,
    };
  } catch (error) {
    return { reachable: false, error: (error as Error).message };
  }
}

export async function probeDockerNetworks(docker: Docker): Promise<DockerNetworkFact[]> {
  const networks = await docker.listNetworks();
  return networks.map((network) => ({
    id: network.Id,
    name: network.Name,
    subnets: (network.IPAM?.Config ?? [])
      .map((config) => config.Subnet ?? '')
      .filter((subnet) => subnet !== ''),
    // A swarm stack rendered by stackctl is named after the compose project it came from.
    project: network.Labels?.[COMPOSE_LABELS.project] ?? network.Labels?.[SWARM_LABELS.namespace],
  }));
}

/** Host ports published by the running containers of one compose project. */
export async function probeProjectPorts(docker: Docker, project: string): Promise<Set<number>> {
  const containers = await docker.listContainers({
    filters: { label: [`${COMPOSE_LABELS.project}=${project}`], status: ['running', 'restarting'] },
  });
  return new Set(
    containers.flatMap((container) => container.Ports.map((port) => port.PublicPort).filter(Boolean)),
  );
}

/** What Docker stores and could reclaim, from the Engine API (what `docker system df` shows). */
export async function probeDiskUsage(docker: Docker): Promise<DiskUsageRow[] | { error: string }> {
  try {
    return diskUsageFromApi((await docker.df()) as SystemDf);
  } catch (error) {
    return { error: dockerReason(error) };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
