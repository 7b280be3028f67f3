import { StackctlError } from '../../errors.js';
import { displayPathOf } from '../../model/stack.js';
import { wipeEnvironments } from '../../lifecycle/wipe.js';
import { isEmptyPlan, type WipePlan } from '../../plan/wipe.js';
import type { DataKind } from '../../schema/types.js';
import { formatBytes } from '../../ui/bytes.js';
import { confirm } from '../../ui/confirm.js';
import { printJson, printLine, type CommandContext } from '../context.js';
import { loadStack, requireEnvironment, type LoadedStack } from '../load-stack.js';

export const DATA_KINDS: readonly DataKind[] = [
  'db',
  'cache',
  'models',
  'logs',
  'test-results',
  'app',
  'metrics',
  'index',
  'queue',
];

export interface WipeFlags {
  all?: boolean;
  stack: string[];
  data: string[];
  secrets?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  schema?: string;
}

export async function wipeAction(
  envName: string | undefined,
  flags: WipeFlags,
  ctx: CommandContext,
): Promise<void> {
  if (envName === undefined && flags.all !== true) {
    throw new StackctlError('E_USAGE', 'which environment? name one, or --all for every environment', {
      hint: 'stackctl wipe development --dry-run, or stackctl wipe --all --dry-run',
    });
  }
  if (envName !== undefined && flags.all === true) {
    throw new StackctlError('E_USAGE', `give an environment or --all, not both`, {
      hint: `stackctl wipe ${envName}`,
    });
  }
  // A preview also works while the schema is being edited; removing needs a valid one.
  const stack = await loadStack(flags.schema, ctx, { orRecorded: flags.dryRun === true });
  const environments = envName === undefined ? Object.keys(stack.file.environments) : [envName];
  if (envName !== undefined) requireEnvironment(stack.file, envName);
  await wipe(stack, environments, flags, ctx);
}

/** Wipes the chosen environments' resources (and secrets with --secrets): flags to a request, printing. */
export async function wipe(
  stack: LoadedStack,
  environments: readonly string[],
  flags: WipeFlags,
  ctx: CommandContext,
): Promise<WipePlan> {
  for (const name of flags.stack) {
    if (!Object.hasOwn(stack.file.stacks, name)) {
      throw new StackctlError('E_USAGE', `unknown stack "${name}"`, {
        hint: `stacks: ${Object.keys(stack.file.stacks).join(', ')}`,
      });
    }
  }
  for (const kind of flags.data) {
    if (!DATA_KINDS.includes(kind as DataKind)) {
      throw new StackctlError('E_USAGE', `unknown data kind "${kind}"`, {
        hint: `use one of: ${DATA_KINDS.join(', ')}`,
      });
    }
  }
  const outcome = await wipeEnvironments(
    stack,
    {
      environments,
      stacks: flags.stack,
      data: flags.data as DataKind[],
      secrets: flags.secrets === true,
      dryRun: flags.dryRun === true,
    },
    ctx,
    {
      preview: (plan, files) => {
        if (flags.json !== true || flags.dryRun === true) preview(plan, files, environments, flags, ctx);
      },
      confirm: (count) =>
        confirm(ctx, `Remove ${count === 1 ? 'this item' : `these ${count} items`}?`, flags.yes === true),
    },
  );
  if (outcome.kind !== 'removed') return outcome.plan;
  const { plan, files, backups, count } = outcome;
  if (flags.json === true) {
    printJson(ctx.stdout, {
      removed: {
        containers: plan.containers.map((c) => c.name),
        volumes: plan.volumes.map((v) => v.name),
        networks: plan.networks.map((n) => n.name),
        swarm: plan.swarm.map((item) => ({ kind: item.kind, name: item.name })),
        files,
      },
      backups,
    });
  } else {
    printLine(ctx.stdout, ctx.colors.green(`✔ removed ${count} item${count === 1 ? '' : 's'}`));
    for (const backup of backups)
      printLine(ctx.stdout, ctx.colors.dim(`backed up (0600) in ${displayPathOf(backup, ctx.cwd)}`));
  }
  return plan;
}

function preview(
  plan: WipePlan,
  files: readonly string[],
  environments: readonly string[],
  flags: WipeFlags,
  ctx: CommandContext,
): void {
  if (flags.json === true) {
    printJson(ctx.stdout, {
      dryRun: true,
      containers: plan.containers.map((c) => c.name),
      volumes: plan.volumes.map((v) => ({ name: v.name, sizeBytes: v.sizeBytes ?? null })),
      networks: plan.networks.map((n) => n.name),
      swarm: plan.swarm.map((item) => ({ kind: item.kind, name: item.name })),
      files,
      blockers: plan.blockers,
    });
    return;
  }
  const scope = environments.length === 1 ? environments[0] : `${environments.length} environments`;
  if (isEmptyPlan(plan) && files.length === 0) {
    printLine(ctx.stdout, `Nothing to wipe in ${scope}: already clean.`);
    return;
  }
  printLine(ctx.stdout, `${flags.dryRun === true ? 'Would remove' : 'Will remove'} from ${scope}:`);
  for (const container of plan.containers)
    printLine(ctx.stdout, `  container  ${container.name} (${container.state})`);
  for (const volume of plan.volumes) {
    const size = volume.sizeBytes === undefined ? '' : ` (${formatBytes(volume.sizeBytes)})`;
    printLine(ctx.stdout, `  volume     ${volume.name}${size}`);
  }
  for (const network of plan.networks) printLine(ctx.stdout, `  network    ${network.name}`);
  for (const item of plan.swarm) printLine(ctx.stdout, `  swarm ${item.kind.padEnd(7)} ${item.name}`);
  for (const file of files)
    printLine(ctx.stdout, `  file       ${file} (a 0600 copy is kept in secrets/ first)`);
  for (const blocker of plan.blockers)
    printLine(ctx.stdout, `  blocked    ${blocker.resource} ${blocker.name} is in use by ${blocker.usedBy}`);
}
