// `stackctl rollback` and `stackctl releases`: an environment put back on what it ran before a
// release (the newest not yet undone, or one named), by image ID, configuration and generated
// files; and the history of its releases. A release left in progress (stackctl killed part-way) is
// rolled back as a failed upgrade is: data it may have written restored from its snapshot when
// confirmed. A release that succeeded keeps its data unless --restore-data is given.
import { acquireLock } from '../effects/lock.js';
import { readReleases, writeRelease } from '../effects/releases.js';
import { StackctlError } from '../errors.js';
import type { LoadedStack } from '../model/stack.js';
import { releaseId, releaseToUndo, type ReleaseRecord } from '../plan/release.js';
import type { ComposeSessionIo } from './compose-session.js';
import { openComposeSession } from './compose-session.js';
import { captureState, randomSuffix, releaseAuthor } from './release-state.js';
import type { RolloutTiming } from './rollout.js';
import { rollBackRelease, type UpgradeOutcome, type UpgradeView } from './upgrade.js';

export interface RollbackRequest {
  readonly envName: string;
  /** A release id (or a unique prefix); the newest not yet undone when undefined. */
  readonly to: string | undefined;
  /** Restore the snapshot of the data a succeeded release wrote (its data since is lost). */
  readonly restoreData: boolean;
  readonly yes: boolean;
  readonly timing: RolloutTiming;
  readonly command: string;
}

export async function rollbackEnvironment(
  stack: LoadedStack,
  request: RollbackRequest,
  io: ComposeSessionIo,
  view: UpgradeView,
): Promise<UpgradeOutcome> {
  const lock = await acquireLock(stack.root, request.envName, 'rollback');
  try {
    const records = await readReleases<ReleaseRecord>(stack.root, request.envName);
    const target = releaseToUndo(records, request.to);
    if (!target)
      throw new StackctlError(
        'E_USAGE',
        request.to === undefined
          ? `${request.envName} has no release to roll back`
          : `${request.envName} has no release ${request.to}`,
        { hint: `its releases: stackctl releases ${request.envName}` },
      );
    const interrupted = target.state === 'in-progress' || target.state === 'rollback-failed';
    const session = await openComposeSession(stack, request.envName, io, { filesOnDisk: true });
    await view.confirm(
      `Put ${request.envName} back on what it ran before release ${target.id} (${target.plan.map((step) => step.service).join(', ')})?`,
    );
    let record: ReleaseRecord = {
      id: releaseId(new Date(), randomSuffix()),
      environment: request.envName,
      createdAt: new Date().toISOString(),
      by: releaseAuthor(),
      command: request.command,
      state: 'in-progress',
      of: target.id,
      plan: target.plan,
      before: await captureState(session),
      files: [],
      started: [],
      downtimeMs: {},
    };
    await writeRelease(stack.root, record);
    const outcome = await rollBackRelease(
      stack,
      { ...target, started: interrupted ? target.started : target.plan.map((step) => step.service) },
      {
        timing: request.timing,
        restoreData: async (touched) =>
          (interrupted || request.restoreData) && (request.yes || (await view.confirmDataRestore(touched))),
      },
      io,
      view,
      async (changes) => {
        if (interrupted) await writeRelease(stack.root, { ...target, ...changes });
      },
    );
    const ok = outcome.kind === 'rolled-back';
    record = {
      ...record,
      state: ok ? 'rollback' : 'rollback-failed',
      finishedAt: new Date().toISOString(),
      ...(outcome.kind === 'rolled-back' || outcome.kind === 'rollback-failed'
        ? { rollback: outcome.record.rollback ?? { restoredData: [], keptData: [] } }
        : {}),
    };
    await writeRelease(stack.root, record);
    return ok ? { kind: 'rolled-back', record } : { kind: 'rollback-failed', record };
  } finally {
    await lock.release();
  }
}

export async function listReleases(stack: LoadedStack, envName: string): Promise<ReleaseRecord[]> {
  return readReleases<ReleaseRecord>(stack.root, envName);
}
