import { LABELS } from '../labels.js';
import type Docker from 'dockerode';
import { StackctlError } from '../errors.js';
import { dockerStatusCode } from './docker.js';
import type { Inventory, SwarmObject } from '../model/inventory.js';

/** What a wipe removes: a plan's containers, volumes, networks and swarm objects. */
type Removal = Pick<Inventory, 'containers' | 'volumes' | 'networks' | 'swarm'>;

/** How long a wipe waits for swarm to take down the tasks of the services it removed. */
const SWARM_TASKS_GONE_MS = 60_000;

/** Every container, volume and network carrying this project's stackctl label (sizes where Docker knows them). */
export async function readInventory(docker: Docker, project: string): Promise<Inventory> {
  const label = `${LABELS.project}=${project}`;
  const [everyContainer, volumeList, networks, usage, swarm] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listVolumes({ filters: { label: [label] } }),
    docker.listNetworks({ filters: { label: [label] } }),
    docker.df().catch(() => undefined) as Promise<
      { Volumes?: { Name: string; UsageData?: { Size: number } }[] } | undefined
    >,
    swarmObjects(docker, label),
  ]);
  const isOurs = (labels: Record<string, string> | undefined): boolean =>
    labels?.[LABELS.project] === project;
  const containers = everyContainer.filter((container) => isOurs(container.Labels));
  const volumeMounts = (container: Docker.ContainerInfo): string[] =>
    container.Mounts.filter((mount) => mount.Type === 'volume' && mount.Name !== undefined).map(
      (mount) => mount.Name as string,
    );
  const sizes = new Map((usage?.Volumes ?? []).map((volume) => [volume.Name, volume.UsageData?.Size]));
  const networkDetails = await Promise.all(
    networks.map(
      (network) =>
        docker.getNetwork(network.Id).inspect() as Promise<{
          Id: string;
          Name: string;
          Labels?: Record<string, string>;
          Containers?: Record<string, unknown>;
        }>,
    ),
  );
  return {
    containers: containers.map((container) => ({
      id: container.Id,
      name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
      labels: container.Labels,
      volumes: volumeMounts(container),
      state: container.State,
    })),
    others: everyContainer
      .filter((container) => !isOurs(container.Labels))
      .map((container) => ({
        id: container.Id,
        name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
        volumes: volumeMounts(container),
      })),
    volumes: (volumeList.Volumes ?? []).map((volume) => ({
      name: volume.Name,
      labels: volume.Labels ?? {},
      sizeBytes: (() => {
        const size = sizes.get(volume.Name);
        return size === undefined || size < 0 ? undefined : size;
      })(),
    })),
    networks: networkDetails.map((network) => ({
      id: network.Id,
      name: network.Name,
      labels: network.Labels ?? {},
      // A swarm network's load balancer endpoint (lb-<network>) is the network's own, not a container.
      containers: Object.keys(network.Containers ?? {}).filter((id) => !id.startsWith('lb-')),
    })),
    swarm,
  };
}

/** Services, secrets and configs with this label; none when the engine manages no swarm. */
async function swarmObjects(docker: Docker, label: string): Promise<SwarmObject[]> {
  const filters = { label: [label] };
  type Listed = { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } };
  const as = (kind: SwarmObject['kind'], list: Listed[]): SwarmObject[] =>
    list.map((item) => ({
      kind,
      id: item.ID,
      name: item.Spec?.Name ?? item.ID,
      labels: item.Spec?.Labels ?? {},
    }));
  try {
    const [services, secrets, configs] = await Promise.all([
      docker.listServices({ filters }) as Promise<Listed[]>,
      docker.listSecrets({ filters }) as Promise<Listed[]>,
      docker.listConfigs({ filters }) as Promise<Listed[]>,
    ]);
    return [...as('service', services), ...as('secret', secrets), ...as('config', configs)];
  } catch (error) {
    if (dockerStatusCode(error) === 503) return []; // not a swarm manager
    throw error;
  }
}

/**
 * Removes the planned resources: swarm services first (and waits until swarm took their tasks
 * down, or it would start them again), then containers (forced), volumes, networks, and the
 * swarm secrets and configs no service uses any more.
 */
export async function removePlanned(docker: Docker, plan: Removal, signal?: AbortSignal): Promise<void> {
  const removed: string[] = [];
  const refused: { what: string; reason: string }[] = [];
  // Every removal is tried; what Docker refuses (a container outside the project took a volume or
  // a network between the check and now) is collected, and the wipe says exactly what is left.
  const attempt = async (what: string, remove: () => Promise<unknown>): Promise<void> => {
    try {
      await remove();
      removed.push(what);
    } catch (error) {
      if (dockerStatusCode(error) === 404) return;
      const message = ((error as { json?: { message?: string } }).json?.message ?? (error as Error).message)
        .split('\n')[0]
        ?.trim();
      refused.push({ what, reason: message ?? 'refused' });
    }
  };
  const services = plan.swarm.filter((item) => item.kind === 'service');
  await Promise.all(
    services.map((service) =>
      attempt(`service ${service.name}`, () => docker.getService(service.id).remove()),
    ),
  );
  if (services.length > 0)
    await tasksGone(
      docker,
      services.map((service) => service.id),
      signal,
    );
  signal?.throwIfAborted();
  await Promise.all(
    plan.containers.map((c) =>
      attempt(`container ${c.name}`, () => docker.getContainer(c.id).remove({ force: true, v: false })),
    ),
  );
  signal?.throwIfAborted();
  await Promise.all(
    plan.volumes.map((v) => attempt(`volume ${v.name}`, () => docker.getVolume(v.name).remove())),
  );
  signal?.throwIfAborted();
  await Promise.all(
    plan.networks.map((n) => attempt(`network ${n.name}`, () => docker.getNetwork(n.id).remove())),
  );
  for (const item of plan.swarm) {
    if (item.kind === 'secret')
      await attempt(`secret ${item.name}`, () => docker.getSecret(item.id).remove());
    if (item.kind === 'config')
      await attempt(`config ${item.name}`, () => docker.getConfig(item.id).remove());
  }
  const [first, ...more] = refused;
  if (first)
    throw new StackctlError(
      'E_RUNTIME',
      `wipe removed ${removed.length} of ${removed.length + refused.length} items; Docker refused ${first.what} (${first.reason})${more.length > 0 ? ` and ${more.map((item) => item.what).join(', ')}` : ''}`,
      {
        hint: 'something outside this project started using it during the wipe (docker ps -a shows what); remove that, then wipe again',
      },
    );
}

async function tasksGone(docker: Docker, serviceIds: readonly string[], signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + SWARM_TASKS_GONE_MS;
  for (;;) {
    // Several label filters are AND'ed: ask for every swarm task container, pick these services'.
    const left = await docker.listContainers({
      all: true,
      filters: { label: ['com.docker.swarm.service.id'] },
    });
    const remaining = left.filter((c) => serviceIds.includes(c.Labels['com.docker.swarm.service.id'] ?? ''));
    if (remaining.length === 0 || Date.now() > deadline) return;
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
