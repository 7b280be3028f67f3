// Wipe, as a workflow: the environments' labelled resources listed, shown, confirmed, looked at
// again (something may have started using a volume meanwhile), secret files copied aside, removed.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StackctlError } from '../errors.js';
import { dockerClient } from '../effects/docker.js';
import { exists } from '../effects/files.js';
import { readInventory, removePlanned } from '../effects/inventory.js';
import { acquireLock, type Lock } from '../effects/lock.js';
import type { LoadedStack } from '../model/stack.js';
import { backupFile } from '../effects/secret-store.js';
import { swarmStackPath } from '../effects/swarm-state.js';
import { isEmptyPlan, planWipe, type WipePlan } from '../plan/wipe.js';
import type { DataKind } from '../schema/types.js';

export interface WipeRequest {
  readonly environments: readonly string[];
  /** Only these stacks' resources; every stack when empty. */
  readonly stacks: readonly string[];
  /** Only volumes of these kinds (and the containers that mount them); all when empty. */
  readonly data: readonly DataKind[];
  /** The environments' secret store, env file and Kubernetes secret too (each copied aside first). */
  readonly secrets: boolean;
  readonly dryRun: boolean;
}

/** What a person sees: the preview, and the question before anything goes. */
export interface WipeView {
  preview(plan: WipePlan, files: readonly string[]): void;
  /** Resolves to go on; throws (E_REFUSED, E_INTERRUPTED) to stop with nothing removed. */
  confirm(items: number): Promise<void>;
}

export type WipeOutcome =
  | { readonly kind: 'nothing' | 'previewed'; readonly plan: WipePlan; readonly files: readonly string[] }
  | {
      readonly kind: 'removed';
      readonly plan: WipePlan;
      /** Secret files removed (relative to the project). */
      readonly files: readonly string[];
      /** Their 0600 copies. */
      readonly backups: readonly string[];
      readonly count: number;
    };

/** Wipes the chosen environments' resources (and secrets when asked), under their locks. */
export async function wipeEnvironments(
  stack: LoadedStack,
  request: WipeRequest,
  io: { readonly env: NodeJS.ProcessEnv; readonly signal: AbortSignal },
  view: WipeView,
): Promise<WipeOutcome> {
  const locks: Lock[] = [];
  try {
    if (!request.dryRun)
      for (const env of request.environments) locks.push(await acquireLock(stack.root, env, 'wipe'));
    const docker = dockerClient(io.env);
    const scope = {
      file: stack.file,
      environments: request.environments,
      stacks: request.stacks,
      data: [...request.data],
    };
    const plan = planWipe(await readInventory(docker, stack.file.project.name), scope);
    const files = request.secrets ? await existingSecretFiles(stack.root, request.environments) : [];
    view.preview(plan, files);
    refuseBlocked(plan);
    if (isEmptyPlan(plan) && files.length === 0) return { kind: 'nothing', plan, files };
    if (request.dryRun) return { kind: 'previewed', plan, files };

    const count =
      plan.containers.length + plan.volumes.length + plan.networks.length + plan.swarm.length + files.length;
    await view.confirm(count);
    // Look again after the question: something may have started using a volume meanwhile.
    refuseBlocked(planWipe(await readInventory(docker, stack.file.project.name), scope));
    const stamp = new Date().toISOString();
    const backups: string[] = [];
    for (const file of files) {
      const backup = await backupFile(stack.root, file, stamp);
      if (backup !== undefined) backups.push(backup);
    }
    await removePlanned(docker, plan, io.signal);
    // A whole environment gone from the swarm: its stack file goes too (status stops asking for it).
    if (request.stacks.length === 0 && request.data.length === 0)
      for (const env of request.environments) await rm(swarmStackPath(stack.root, env), { force: true });
    for (const file of files) await rm(join(stack.root, file), { force: true });
    return { kind: 'removed', plan, files, backups, count };
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
