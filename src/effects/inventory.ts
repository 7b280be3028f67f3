import { LABELS } from '../labels.js';
import type Docker from 'dockerode';
import { dockerStatusCode } from './docker.js';
import type { Inventory } from '../model/inventory.js';

/** What a wipe removes: a plan's containers, volumes and networks. */
type Removal = Pick<Inventory, 'containers' | 'volumes' | 'networks'>;

/** Every container, volume and network carrying this project's stackctl label (sizes where Docker knows them). */
export async function readInventory(docker: Docker, project: string): Promise<Inventory> {
  const label = `${LABELS.project}=${project}`;
  const [everyContainer, volumeList, networks, usage] = await Promise.all([
    docker.listContainers({ all: true }),
    docker.listVolumes({ filters: { label: [label] } }),
    docker.listNetworks({ filters: { label: [label] } }),
    docker.df().catch(() => undefined) as Promise<
      { Volumes?: { Name: string; UsageData?: { Size: number } }[] } | undefined
    >,
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
      containers: Object.keys(network.Containers ?? {}),
    })),
  };
}

/** Removes the planned resources: containers (forced), then volumes, then networks. */
export async function removePlanned(docker: Docker, plan: Removal, signal?: AbortSignal): Promise<void> {
  await Promise.all(
    plan.containers.map((c) =>
      docker.getContainer(c.id).remove({ force: true, v: false }).catch(ignoreMissing),
    ),
  );
  signal?.throwIfAborted();
  await Promise.all(plan.volumes.map((v) => docker.getVolume(v.name).remove().catch(ignoreMissing)));
  signal?.throwIfAborted();
  await Promise.all(plan.networks.map((n) => docker.getNetwork(n.id).remove().catch(ignoreMissing)));
}

function ignoreMissing(error: unknown): void {
  if (dockerStatusCode(error) === 404) return;
  throw error;
}
