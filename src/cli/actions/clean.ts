import { dockerClient } from '../../effects/docker.js';
import { composeProjectName } from '../../model/environment.js';
import { STACKCTL_PROJECT_LABEL, COMPOSE_PROJECT } from '../../plan/wipe.js';
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
  const project = stack.file.project.name;
  const projects = new Set(
    Object.keys(stack.file.environments).map((env) => composeProjectName(stack.file, env)),
  );
  const docker = dockerClient(ctx.env);
  const containers = (
    await docker.listContainers({
      all: true,
      size: true,
      filters: { label: [`${STACKCTL_PROJECT_LABEL}=${project}`] },
    })
  ).filter((c) => STOPPED.has(c.State) && projects.has(c.Labels[COMPOSE_PROJECT] ?? ''));
  const images = (await docker.listImages({ filters: { dangling: ['true'] } })).filter((image) =>
    projects.has(image.Labels?.[COMPOSE_PROJECT] ?? ''),
  );
  const containerBytes = containers.reduce((sum, c) => sum + sizeRw(c), 0);
  const imageBytes = images.reduce((sum, image) => sum + Math.max(0, image.Size), 0);
  const items = {
    containers: containers.map((c) => ({
      name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
      sizeBytes: sizeRw(c),
    })),
    images: images.map((image) => ({
      id: image.Id.replace(/^sha256:/, '').slice(0, 12),
      sizeBytes: image.Size,
    })),
    reclaimableBytes: containerBytes + imageBytes,
  };
  const count = containers.length + images.length;
  if (flags.json !== true) {
    if (count === 0) {
      printLine(ctx.stdout, `Nothing of ${project} to clean.`);
      return;
    }
    printLine(ctx.stdout, `Reclaimable from ${project}: ${(items.reclaimableBytes / 1e6).toFixed(1)} MB`);
    for (const c of items.containers) printLine(ctx.stdout, `  stopped container  ${c.name}`);
    for (const image of items.images)
      printLine(ctx.stdout, `  dangling image     ${image.id} (${(image.sizeBytes / 1e6).toFixed(1)} MB)`);
    printLine(
      ctx.stdout,
      '  (build cache carries no project labels, so stackctl leaves it to `docker builder prune`)',
    );
  }
  if (count > 0) {
    await confirm(ctx, `Remove ${count === 1 ? 'this item' : `these ${count} items`}?`, flags.yes === true);
    await Promise.all(
      containers.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ v: false })
          .catch(() => undefined),
      ),
    );
    await Promise.all(
      images.map((image) =>
        docker
          .getImage(image.Id)
          .remove()
          .catch(() => undefined),
      ),
    );
  }
  if (flags.json === true) printJson(ctx.stdout, { removed: items });
  else printLine(ctx.stdout, ctx.colors.green(`✔ removed ${count} item${count === 1 ? '' : 's'}`));
}
