import { EXIT, ReportedFailure } from '../../errors.js';
import { cleanProject } from '../../lifecycle/clean.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack } from '../load-stack.js';

export interface CleanFlags {
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

/**
 * Removes only what is this project's and reclaimable: its stopped containers and the dangling
 * images built for its compose projects. Never `docker system prune`.
 */
export async function cleanAction(flags: CleanFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const project = stack.file.project.name;
  const outcome = await cleanProject(stack, ctx, {
    preview: (candidates) => {
      if (flags.json === true) return;
      if (candidates.length === 0) {
        printLine(ctx.stdout, `Nothing of ${project} to clean.`);
        return;
      }
      const bytes = candidates.reduce((sum, item) => sum + item.sizeBytes, 0);
      printLine(ctx.stdout, `Reclaimable from ${project}: ${(bytes / 1e6).toFixed(1)} MB`);
      for (const item of candidates) {
        const label = item.kind === 'container' ? 'stopped container' : 'dangling image   ';
        const size = item.kind === 'image' ? ` (${(item.sizeBytes / 1e6).toFixed(1)} MB)` : '';
        printLine(ctx.stdout, `  ${label}  ${item.name}${size}`);
      }
      printLine(
        ctx.stdout,
        '  (build cache carries no project labels, so stackctl leaves it to `docker builder prune`)',
      );
    },
    confirm: (count) =>
      confirm(ctx, `Remove ${count === 1 ? 'this item' : `these ${count} items`}?`, flags.yes === true),
  });
  const { removed, failed } = outcome;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      removed: removed.map(({ kind, name, sizeBytes }) => ({ kind, name, sizeBytes })),
      failed: failed.map(({ item, error }) => ({ kind: item.kind, name: item.name, error })),
      reclaimedBytes: removed.reduce((sum, item) => sum + item.sizeBytes, 0),
    });
  } else if (removed.length + failed.length > 0) {
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ removed ${removed.length} item${removed.length === 1 ? '' : 's'}`),
    );
    for (const { item, error } of failed)
      printLine(ctx.stderr, ctx.colors.red(`✖ ${item.kind} ${item.name} was not removed: ${error}`));
  }
  if (failed.length > 0) throw new ReportedFailure(EXIT.runtime);
}
