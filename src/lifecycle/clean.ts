// Clean, as a workflow: only what is this project's and reclaimable (its stopped containers and the
// dangling images built for its compose projects), under every environment's lock, never
// `docker system prune`.
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import { dockerClient, dockerReason } from '../effects/docker.js';
import { acquireLock, type Lock } from '../effects/lock.js';
import type { LoadedStack } from '../model/stack.js';
import { composeProjectName } from '../model/environment.js';

const STOPPED = new Set(['exited', 'created', 'dead']);

/** Something clean would remove. */
export interface Reclaimable {
  readonly kind: 'container' | 'image';
  readonly name: string;
  readonly sizeBytes: number;
}

export interface CleanView {
  /** What would go; shown before asking. */
  preview(candidates: readonly Reclaimable[]): void;
  /** Resolves to go on; throws to stop with nothing removed. */
  confirm(items: number): Promise<void>;
}

export interface CleanOutcome {
  readonly removed: readonly Reclaimable[];
  readonly failed: readonly { readonly item: Reclaimable; readonly error: string }[];
}

/** Bytes a container wrote (listed with size: true; older type definitions lack the field). */
function sizeRw(container: object): number {
  return (container as { SizeRw?: number }).SizeRw ?? 0;
}

export async function cleanProject(
  stack: LoadedStack,
  io: { readonly env: NodeJS.ProcessEnv },
  view: CleanView,
): Promise<CleanOutcome> {
  const environments = Object.keys(stack.file.environments);
  const projects = new Set(environments.map((env) => composeProjectName(stack.file, env)));
  // An environment that is starting has containers in `created` state that are about to run: hold
  // every environment's lock, so none is starting (or being wiped) while we look and remove.
  const locks: Lock[] = [];
  try {
    for (const env of environments) locks.push(await acquireLock(stack.root, env, 'clean'));
    return await cleanLocked(stack.file.project.name, projects, io, view);
  } finally {
    for (const lock of locks) await lock.release();
  }
}

interface Removal extends Reclaimable {
  remove(): Promise<unknown>;
}

async function cleanLocked(
  project: string,
  projects: ReadonlySet<string>,
  io: { readonly env: NodeJS.ProcessEnv },
  view: CleanView,
): Promise<CleanOutcome> {
  const docker = dockerClient(io.env);
  const containers = (
    await docker.listContainers({
      all: true,
      size: true,
      filters: { label: [`${LABELS.project}=${project}`] },
    })
  ).filter((c) => STOPPED.has(c.State) && projects.has(c.Labels[COMPOSE_LABELS.project] ?? ''));
  const images = (await docker.listImages({ filters: { dangling: ['true'] } })).filter((image) =>
    projects.has(image.Labels?.[COMPOSE_LABELS.project] ?? ''),
  );
  const candidates: Removal[] = [
    ...containers.map((c) => ({
      kind: 'container' as const,
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      sizeBytes: sizeRw(c),
      remove: () => docker.getContainer(c.Id).remove({ v: false }),
    })),
    ...images.map((image) => ({
      kind: 'image' as const,
      name: image.Id.replace(/^sha256:/, '').slice(0, 12),
      sizeBytes: Math.max(0, image.Size),
      remove: () => docker.getImage(image.Id).remove(),
    })),
  ];
  view.preview(candidates);
  if (candidates.length === 0) return { removed: [], failed: [] };
  await view.confirm(candidates.length);
  // Containers first: an image is only removable once no container uses it.
  const removed: Reclaimable[] = [];
  const failed: { item: Reclaimable; error: string }[] = [];
  for (const kind of ['container', 'image'] as const) {
    const batch = candidates.filter((item) => item.kind === kind);
    const settled = await Promise.allSettled(batch.map((item) => item.remove()));
    settled.forEach((result, i) => {
      const { kind: itemKind, name, sizeBytes } = batch[i] as Removal;
      const item = { kind: itemKind, name, sizeBytes };
      if (result.status === 'fulfilled') removed.push(item);
      else failed.push({ item, error: dockerReason(result.reason) });
    });
  }
  return { removed, failed };
}
