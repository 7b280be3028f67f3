// The project's networks: overlaps of each environment's subnets with Docker networks and host
// routes (gathered, then judged by preflight's subnet checks), and orphans (networks whose
// environment has no container at all), removed only when asked.
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import { dockerClient, dockerStatusCode } from '../effects/docker.js';
import { probeDockerNetworks } from '../effects/probe/docker-facts.js';
import { probeHostNetworks } from '../effects/probe/host.js';
import type { LoadedStack } from '../model/stack.js';
import { composeProjectName, resolveEnvironment } from '../model/environment.js';
import { subnetChecks, type Check } from '../preflight/checks.js';
import type { StackFile } from '../schema/types.js';

interface Io {
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Networks of this project whose compose project has no container at all. Docker lists only running
 * containers on a network, so an unattached network of a stopped environment is not an orphan: its
 * stopped containers still refer to it and could not start without it.
 */
export async function orphanedNetworks(io: Io, file: StackFile): Promise<{ id: string; name: string }[]> {
  const project = file.project.name;
  const projects = new Set(Object.keys(file.environments).map((env) => composeProjectName(file, env)));
  const docker = dockerClient(io.env);
  const [networks, containers] = await Promise.all([
    docker.listNetworks({ filters: { label: [`${LABELS.project}=${project}`] } }),
    docker.listContainers({ all: true, filters: { label: [COMPOSE_LABELS.project] } }),
  ]);
  const inUse = new Set(containers.map((container) => container.Labels[COMPOSE_LABELS.project] ?? ''));
  const candidates = networks.filter((network) => {
    const composeProject = network.Labels?.[COMPOSE_LABELS.project] ?? '';
    return projects.has(composeProject) && !inUse.has(composeProject);
  });
  const details = await Promise.all(
    candidates.map(
      (network) =>
        docker.getNetwork(network.Id).inspect() as Promise<{
          Id: string;
          Name: string;
          Containers?: Record<string, unknown>;
        }>,
    ),
  );
  return details
    .filter((network) => Object.keys(network.Containers ?? {}).length === 0)
    .map((network) => ({ id: network.Id, name: network.Name }));
}

/** Subnet checks of the environments (the schema's own overlaps are caught by validation), and the orphans. */
export async function checkNetworks(
  stack: LoadedStack,
  environments: readonly string[],
  io: Io,
): Promise<Check[]> {
  const [dockerNetworks, hostNetworks, orphans] = await Promise.all([
    probeDockerNetworks(dockerClient(io.env)),
    probeHostNetworks(),
    orphanedNetworks(io, stack.file),
  ]);
  const checks: Check[] = [
    {
      id: 'schema',
      status: 'pass',
      message: 'address pools are valid, private and distinct (stackctl validate)',
      fix: '',
    },
  ];
  for (const env of environments) {
    const model = resolveEnvironment(stack.file, env);
    for (const check of subnetChecks(model, dockerNetworks, hostNetworks)) {
      checks.push({
        ...check,
        id: `${env}.${check.id}`,
        message: check.status === 'pass' ? `${env}: ${check.message}` : check.message,
      });
    }
  }
  checks.push(
    orphans.length === 0
      ? {
          id: 'orphans',
          status: 'pass',
          message: 'no stackctl network is left without an environment',
          fix: '',
        }
      : {
          id: 'orphans',
          status: 'warn',
          message: `networks of environments that have no container left: ${orphans.map((n) => n.name).join(', ')}`,
          fix: 'stackctl network cleanup removes them (only these)',
        },
  );
  return checks;
}

/**
 * Removes the orphaned networks once `confirm` resolves; a network a container joined since the
 * check is left alone. Returns the orphans found and the names removed.
 */
export async function cleanUpNetworks(
  stack: LoadedStack,
  io: Io,
  confirm: (orphans: readonly { name: string }[]) => Promise<void>,
): Promise<{ orphans: readonly { name: string }[]; removed: string[] }> {
  const orphans = await orphanedNetworks(io, stack.file);
  if (orphans.length === 0) return { orphans, removed: [] };
  await confirm(orphans);
  const docker = dockerClient(io.env);
  const removed: string[] = [];
  for (const network of orphans) {
    try {
      await docker.getNetwork(network.id).remove();
      removed.push(network.name);
    } catch (error) {
      if (dockerStatusCode(error) !== 403) throw error;
    }
  }
  return { orphans, removed };
}
