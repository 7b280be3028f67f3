import { COMPOSE_LABELS, LABELS } from '../../labels.js';
import { EXIT, ReportedFailure } from '../../errors.js';
import { dockerClient, dockerReason } from '../../effects/docker.js';
import { acquireLock, type Lock } from '../../effects/lock.js';
import { composeProjectName } from '../../model/environment.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack } from '../load-stack.js';

export interface CleanFlags {
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

const STOPPED = new Set(['exited', 'created', 'dead']);

/** Bytes a container wrote (listed with size: true; older type definitions lack the field). */
function sizeRw(container: object): number {
  return (container as { SizeRw?: number }).SizeRw ?? 0;
}

/**
 * Removes only what is this project's and reclaimable: its stopped containers and the dangling
 * images built for its compose projects. Never `docker system prune`.
 */
export async function cleanAction(flags: CleanFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const environments = Object.keys(stack.file.environments);
  const projects = new Set(environments.map((env) => composeProjectName(stack.file, env)));
  // An environment that is starting has containers in `created` state that are about to run: hold
  // every environment's lock, so none is starting (or being wiped) while we look and remove.
  const locks: Lock[] = [];
  try {
    for (const env of environments) locks.push(await acquireLock(stack.root, env, 'clean'));
    await cleanLocked(stack.file.project.name, projects, flags, ctx);
  } finally {
    for (const lock of locks) await lock.release();
  }
}

interface Removal {
  readonly kind: 'container' | 'image';
  readonly name: string;
  readonly sizeBytes: number;
  remove(): Promise<unknown>;
}

async function cleanLocked(
  project: string,
  projects: ReadonlySet<string>,
  flags: CleanFlags,
  ctx: CommandContext,
): Promise<void> {
  const docker = dockerClient(ctx.env);
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
  const reclaimableBytes = candidates.reduce((sum, item) => sum + item.sizeBytes, 0);
  if (candidates.length === 0) {
    if (flags.json === true) printJson(ctx.stdout, { removed: [], failed: [], reclaimedBytes: 0 });
    else printLine(ctx.stdout, `Nothing of ${project} to clean.`);
    return;
  }
  if (flags.json !== true) {
    printLine(ctx.stdout, `Reclaimable from ${project}: ${(reclaimableBytes / 1e6).toFixed(1)} MB`);
    for (const item of candidates) {
      const label = item.kind === 'container' ? 'stopped container' : 'dangling image   ';
      const size = item.kind === 'image' ? ` (${(item.sizeBytes / 1e6).toFixed(1)} MB)` : '';
      printLine(ctx.stdout, `  ${label}  ${item.name}${size}`);
    }
    printLine(
      ctx.stdout,
      '  (build cache carries no project labels, so stackctl leaves it to `docker builder prune`)',
    );
  }
  const count = candidates.length;
  await confirm(ctx, `Remove ${count === 1 ? 'this item' : `these ${count} items`}?`, flags.yes === true);
  // Containers first: an image is only removable once no container uses it.
  const outcomes: { item: Removal; error?: string }[] = [];
  for (const kind of ['container', 'image'] as const) {
    const batch = candidates.filter((item) => item.kind === kind);
    const settled = await Promise.allSettled(batch.map((item) => item.remove()));
    settled.forEach((result, i) => {
      const item = batch[i] as Removal;
      outcomes.push(result.status === 'fulfilled' ? { item } : { item, error: dockerReason(result.reason) });
    });
  }
  const removed = outcomes.filter((outcome) => outcome.error === undefined).map(({ item }) => item);
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  if (flags.json === true) {
    printJson(ctx.stdout, {
      removed: removed.map(({ kind, name, sizeBytes }) => ({ kind, name, sizeBytes })),
      failed: failed.map(({ item, error }) => ({ kind: item.kind, name: item.name, error })),
      reclaimedBytes: removed.reduce((sum, item) => sum + item.sizeBytes, 0),
    });
  } else {
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ removed ${removed.length} item${removed.length === 1 ? '' : 's'}`),
    );
    for (const { item, error } of failed)
      printLine(ctx.stderr, ctx.colors.red(`✖ ${item.kind} ${item.name} was not removed: ${error ?? ''}`));
  }
  if (failed.length > 0) throw new ReportedFailure(EXIT.runtime);
}
