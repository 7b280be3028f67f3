import { COMPOSE_LABELS, LABELS, SWARM_LABELS } from '../labels.js';
import { composeProjectName } from '../model/environment.js';
import type { Inventory, Labels } from '../model/inventory.js';
import type { DataKind, StackFile } from '../schema/types.js';

export type { Inventory } from '../model/inventory.js';

export interface WipeScope {
  readonly file: StackFile;
  /** Environments to wipe. */
  readonly environments: readonly string[];
  readonly stacks: readonly string[];
  readonly data: readonly DataKind[];
}

export interface WipePlan {
  readonly containers: Inventory['containers'];
  readonly volumes: Inventory['volumes'];
  readonly networks: Inventory['networks'];
  /** Swarm services (their task containers go with them), and secrets and configs of whole environments. */
  readonly swarm: Inventory['swarm'];
  /**
   * What a container outside this project holds on to (a volume it mounts, a network it is on).
   * Docker would refuse those removals half-way, so a plan with blockers removes nothing.
   */
  readonly blockers: readonly WipeBlocker[];
}

export interface WipeBlocker {
  readonly resource: 'volume' | 'network';
  readonly name: string;
  /** The container outside the project that uses it. */
  readonly usedBy: string;
}

/**
 * Picks exactly what a wipe removes. A resource is a candidate only when it carries both this
 * project's stackctl label and the compose project label of a chosen environment: resources of
 * other compose projects, and unlabelled ones with look-alike names, are never touched. Pure.
 */
export function planWipe(inventory: Inventory, scope: WipeScope): WipePlan {
  const projects = new Set(scope.environments.map((env) => composeProjectName(scope.file, env)));
  // A compose project, or a swarm stack (named after the compose project it was rendered from).
  const ours = (labels: Labels): boolean =>
    labels[LABELS.project] === scope.file.project.name &&
    (projects.has(labels[COMPOSE_LABELS.project] ?? '') ||
      projects.has(labels[SWARM_LABELS.namespace] ?? ''));
  const volumeKey = (volume: Inventory['volumes'][number]): string => {
    const namespace = volume.labels[SWARM_LABELS.namespace];
    return (
      volume.labels[COMPOSE_LABELS.volume] ??
      (namespace && volume.name.startsWith(`${namespace}_`) ? volume.name.slice(namespace.length + 1) : '')
    );
  };

  const volumeNames = volumesInScope(scope);
  const volumes = inventory.volumes.filter(
    (volume) =>
      ours(volume.labels) &&
      (volumeNames === undefined || volumeNames.has(volumeKey(volume))) &&
      (scope.data.length === 0 || scope.data.includes((volume.labels[LABELS.data] ?? '') as DataKind)),
  );
  const doomedVolumes = new Set(volumes.map((volume) => volume.name));

  const containers = inventory.containers.filter((container) => {
    if (!ours(container.labels)) return false;
    // A volume in use cannot be removed: containers that mount a doomed volume go too (start recreates them).
    if (container.volumes.some((volume) => doomedVolumes.has(volume))) return true;
    if (scope.data.length > 0) return false;
    return scope.stacks.length === 0 || scope.stacks.includes(container.labels[LABELS.stack] ?? '');
  });
  const doomedContainers = new Set(containers.map((container) => container.id));
  // Swarm would start a removed task container again: its service goes with it.
  const doomedServices = new Set(containers.map((container) => container.labels[SWARM_TASK_SERVICE] ?? ''));
  const wholeEnvironments = scope.stacks.length === 0 && scope.data.length === 0;
  const swarm = inventory.swarm.filter((item) => {
    if (!ours(item.labels)) return false;
    if (item.kind !== 'service') return wholeEnvironments;
    if (doomedServices.has(item.id)) return true;
    if (scope.data.length > 0) return false;
    return scope.stacks.length === 0 || scope.stacks.includes(item.labels[LABELS.stack] ?? '');
  });

  const othersById = new Map(inventory.others.map((container) => [container.id, container.name]));
  const networks =
    scope.data.length > 0
      ? []
      : inventory.networks.filter(
          (network) =>
            ours(network.labels) &&
            (scope.stacks.length === 0 || scope.stacks.includes(network.labels[LABELS.stack] ?? '')) &&
            // A network still used by one of this project's containers that stays is not part of the wipe.
            network.containers.every((id) => doomedContainers.has(id) || othersById.has(id)),
        );

  const blockers: WipeBlocker[] = [];
  const staying = [...inventory.containers.filter((c) => !doomedContainers.has(c.id)), ...inventory.others];
  for (const volume of volumes) {
    for (const user of staying.filter((container) => container.volumes.includes(volume.name)))
      blockers.push({ resource: 'volume', name: volume.name, usedBy: user.name });
  }
  for (const network of networks) {
    for (const id of network.containers.filter((id) => othersById.has(id)))
      blockers.push({ resource: 'network', name: network.name, usedBy: othersById.get(id) ?? id });
  }
  return { containers, volumes, networks, swarm, blockers };
}

/** The label swarm puts on a task's container: the service it belongs to. */
const SWARM_TASK_SERVICE = 'com.docker.swarm.service.id';

/** With --stack: the volumes only that stack's services use (undefined: no stack filter). */
function volumesInScope(scope: WipeScope): Set<string> | undefined {
  if (scope.stacks.length === 0) return undefined;
  const usedBy = new Map<string, Set<string>>();
  for (const service of Object.values(scope.file.services)) {
    for (const mount of service.volumes ?? []) {
      const source = mount.split(':')[0] ?? '';
      if (!Object.hasOwn(scope.file.volumes, source)) continue;
      const stacks = usedBy.get(source) ?? new Set<string>();
      stacks.add(service.stack);
      usedBy.set(source, stacks);
    }
  }
  return new Set(
    [...usedBy]
      .filter(([, stacks]) => [...stacks].every((stack) => scope.stacks.includes(stack)))
      .map(([name]) => name),
  );
}

export function isEmptyPlan(plan: WipePlan): boolean {
  return (
    plan.containers.length === 0 &&
    plan.volumes.length === 0 &&
    plan.networks.length === 0 &&
    plan.swarm.length === 0
  );
}
