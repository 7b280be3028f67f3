import { EXIT, ReportedFailure } from '../../errors.js';
import { checkNetworks, cleanUpNetworks } from '../../lifecycle/network.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment } from '../load-stack.js';
import { report } from './preflight-report.js';

export interface NetworkFlags {
  schema?: string;
  json?: boolean;
  yes?: boolean;
}

/** Subnet overlaps (the schema's own are caught by validation), with Docker networks and host routes, and orphans. */
export async function networkCheckAction(
  envName: string | undefined,
  flags: NetworkFlags,
  ctx: CommandContext,
): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  report(envName ?? 'all environments', await checkNetworks(stack, environments, ctx), flags, ctx);
}

/** Removes only stackctl networks that no container uses. */
export async function networkCleanupAction(flags: NetworkFlags, ctx: CommandContext): Promise<void> {
  const stack = await loadStack(flags.schema, ctx);
  const { orphans, removed } = await cleanUpNetworks(stack, ctx, async (found) => {
    if (flags.json !== true) {
      printLine(
        ctx.stdout,
        'Will remove these networks (their environments have no container, running or stopped):',
      );
      for (const network of found) printLine(ctx.stdout, `  network    ${network.name}`);
    }
    await confirm(ctx, `Remove ${found.length} network${found.length === 1 ? '' : 's'}?`, flags.yes === true);
  });
  if (orphans.length === 0) {
    if (flags.json === true) printJson(ctx.stdout, { removed: [] });
    else printLine(ctx.stdout, 'No orphaned stackctl network: nothing to remove.');
    return;
  }
  if (flags.json === true) printJson(ctx.stdout, { removed });
  else
    printLine(
      ctx.stdout,
      ctx.colors.green(`✔ removed ${removed.length} network${removed.length === 1 ? '' : 's'}`),
    );
  if (removed.length < orphans.length) throw new ReportedFailure(EXIT.runtime);
}
