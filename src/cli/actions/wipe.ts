import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StackctlError } from '../../errors.js';
import { dockerClient } from '../../effects/docker.js';
import { exists } from '../../effects/files.js';
import { readInventory, removePlanned } from '../../effects/inventory.js';
import { acquireLock, type Lock } from '../../effects/lock.js';
import { backupFile } from '../../effects/secret-store.js';
import { swarmStackPath } from '../../effects/swarm-state.js';
import { displayPathOf } from '../../effects/schema-file.js';
import { isEmptyPlan, planWipe, type WipePlan } from '../../plan/wipe.js';
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

/** Wipes the chosen environments' resources (and secrets with --secrets), under their locks. */
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
  const locks: Lock[] = [];
  try {
    if (flags.dryRun !== true)
      for (const env of environments) locks.push(await acquireLock(stack.root, env, 'wipe'));
    const docker = dockerClient(ctx.env);
    const scope = { file: stack.file, environments, stacks: flags.stack, data: flags.data as DataKind[] };
    const plan = planWipe(await readInventory(docker, stack.file.project.name), scope);
    const secretFiles = flags.secrets === true ? await existingSecretFiles(stack.root, environments) : [];
    const nothing = isEmptyPlan(plan) && secretFiles.length === 0;

    if (flags.json !== true || flags.dryRun === true) preview(plan, secretFiles, environments, flags, ctx);
    refuseBlocked(plan);
    if (nothing || flags.dryRun === true) return plan;

    const count =
      plan.containers.length +
      plan.volumes.length +
      plan.networks.length +
      plan.swarm.length +
      secretFiles.length;
    await confirm(ctx, `Remove ${count === 1 ? 'this item' : `these ${count} items`}?`, flags.yes === true);
    // Look again after the question: something may have started using a volume meanwhile.
    refuseBlocked(planWipe(await readInventory(docker, stack.file.project.name), scope));
    const stamp = new Date().toISOString();
    const backups: string[] = [];
    for (const file of secretFiles) {
      const backup = await backupFile(stack.root, file, stamp);
      if (backup !== undefined) backups.push(backup);
    }
    await removePlanned(docker, plan, ctx.signal);
    // A whole environment gone from the swarm: its stack file goes too (status stops asking for it).
    if (flags.stack.length === 0 && flags.data.length === 0)
      for (const env of environments) await rm(swarmStackPath(stack.root, env), { force: true });
    for (const file of secretFiles) await rm(join(stack.root, file), { force: true });
    if (flags.json === true) {
      printJson(ctx.stdout, {
        removed: {
          containers: plan.containers.map((c) => c.name),
          volumes: plan.volumes.map((v) => v.name),
          networks: plan.networks.map((n) => n.name),
          swarm: plan.swarm.map((item) => ({ kind: item.kind, name: item.name })),
          files: secretFiles,
        },
        backups,
      });
    } else {
      printLine(ctx.stdout, ctx.colors.green(`✔ removed ${count} item${count === 1 ? '' : 's'}`));
      for (const backup of backups)
        printLine(ctx.stdout, ctx.colors.dim(`backed up (0600) in ${displayPathOf(backup, ctx.cwd)}`));
    }
    return plan;
  } finally {
    for (const lock of locks) await lock.release();
  }
}

/** A wipe that Docker would stop half-way removes nothing: name what holds on, and how to free it. */
function refuseBlocked(plan: WipePlan): void {
  const [first, ...rest] = plan.blockers;
  if (!first) return;
  const more =
    rest.length === 0
      ? ''
      : ` (and ${rest.length} more: ${rest.map((b) => `${b.resource} ${b.name} by ${b.usedBy}`).join(', ')})`;
  throw new StackctlError(
    'E_REFUSED',
    `nothing removed: ${first.resource} ${first.name} is in use by container ${first.usedBy}, which is not part of this wipe${more}`,
    {
      hint: `stop and remove that container first (docker rm -f ${first.usedBy}${rest.map((b) => ` ${b.usedBy}`).join('')}), then wipe again`,
    },
  );
}

async function existingSecretFiles(root: string, environments: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const env of environments) {
    for (const path of [`secrets/.env.${env}.json`, `.env.${env}`, `k8s-secrets-${env}.yaml`]) {
      if (await exists(join(root, path))) files.push(path);
    }
  }
  return files;
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
