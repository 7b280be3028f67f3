// `stackctl upgrade` as a workflow: new images (pull, build) and the schema's new configuration
// rolled out service by service behind a health gate, with an exact, automatic way back.
//   plan      what compose would recreate (its --dry-run), and why: a new image ID, a new config
//   snapshot  the running images kept by tag, the generated files saved, the data at risk backed up
//   roll out  in dependency order, start-first where two copies can run, each waited for and
//             watched through a settle window, then the verify checks of what changed
//   roll back on any failure (a crash loop, no health within its budget, a job exiting non-zero,
//             a failed check, Ctrl-C): the previous image IDs, files and configuration, and the
//             data the new release may have written, from the snapshot, when confirmed
// Every step is written to the release record first, so a run killed part-way can be undone.
import { applyFiles } from '../effects/apply-files.js';
import { acquireLock } from '../effects/lock.js';
import { imageIdentity, tagImage, untagImage } from '../effects/images.js';
import { saveReleaseFiles, writeRelease } from '../effects/releases.js';
import { StackctlError } from '../errors.js';
import type { LoadedStack } from '../model/stack.js';
import { servicesWithData } from '../plan/backup.js';
import { keepTagOf, releaseId, type ReleaseRecord, type ServiceImage } from '../plan/release.js';
import {
  dataAtRisk,
  dataTouched,
  dependencyOrder,
  parseDryRun,
  planRollout,
  servicesNamedByReplica,
  type DryRunAction,
  type RolloutStep,
} from '../plan/upgrade.js';
import type { CheckResult } from '../plan/verify.js';
import { dependentsOf } from '../plan/backup.js';
import { backupEnvironment } from './backup.js';
import { openComposeSession, type ComposeSession, type ComposeSessionIo } from './compose-session.js';
import { fetchImages, isPulled, type ImageChange, type ImagesView } from './images.js';
import {
  captureState,
  pruneKeepTags,
  randomSuffix,
  releaseAuthor,
  restoreFiles,
  restoreTags,
  rollBackServices,
  type PriorView,
} from './release-state.js';
import { restoreEnvironment } from './restore.js';
import { rollService, type RolledService, type RolloutTiming } from './rollout.js';
import { runChecks } from './verify.js';

export interface UpgradeRequest {
  readonly envName: string;
  /** Only these services (and nothing else) are rolled out; every changed one when empty. */
  readonly services: readonly string[];
  readonly pull: boolean;
  readonly build: boolean;
  readonly dryRun: boolean;
  /** Refuse to go on without a data snapshot (false: --no-snapshot). */
  readonly snapshot: boolean;
  /** Data restores after a failure happen without asking (--yes). */
  readonly yes: boolean;
  readonly timing: RolloutTiming;
  /** The command line, for the record (never holds a secret). */
  readonly command: string;
}

export interface UpgradeView extends ImagesView, PriorView {
  planned(plan: readonly RolloutStep[], images: readonly ImageChange[]): void;
  /** Resolves to go on; throws to stop with nothing changed. */
  confirm(question: string): Promise<void>;
  step(text: string): void;
  serviceDone(rolled: RolledService): void;
  checked(result: CheckResult): void;
  failed(reason: string): void;
  /** Whether to put back the snapshot of data the failed release may have written. */
  confirmDataRestore(services: readonly string[]): Promise<boolean>;
}

export type UpgradeOutcome =
  | { readonly kind: 'unchanged'; readonly images: readonly ImageChange[] }
  | {
      readonly kind: 'planned';
      readonly plan: readonly RolloutStep[];
      readonly images: readonly ImageChange[];
    }
  | { readonly kind: 'upgraded' | 'rolled-back' | 'rollback-failed'; readonly record: ReleaseRecord };

export async function upgradeEnvironment(
  stack: LoadedStack,
  request: UpgradeRequest,
  io: ComposeSessionIo,
  view: UpgradeView,
): Promise<UpgradeOutcome> {
  const lock = request.dryRun ? undefined : await acquireLock(stack.root, request.envName, 'upgrade');
  try {
    return await upgradeLocked(stack, request, io, view);
  } finally {
    await lock?.release();
  }
}

async function upgradeLocked(
  stack: LoadedStack,
  request: UpgradeRequest,
  io: ComposeSessionIo,
  view: UpgradeView,
): Promise<UpgradeOutcome> {
  const session = await openComposeSession(stack, request.envName, io);
  const { model } = session;
  for (const service of request.services)
    if (!session.effective.has(service))
      throw new StackctlError('E_USAGE', `${model.name} runs no service ${service}`, {
        hint: `its services: ${[...session.effective.keys()].join(', ')}`,
      });
  const id = releaseId(new Date(), randomSuffix());
  const before = await keepRunningImages(session, await captureState(session), id, request.dryRun);
  const images: ImageChange[] = [];
  try {
    for (const action of request.dryRun ? [] : imageActions(request)) {
      const services = applicable(session, action, request.services).filter((name) => name in before);
      if (services.length > 0)
        images.push(...(await fetchImages(session, action, { services, noCache: false }, view)).changes);
    }
  } catch (error) {
    await restoreTags(session, before);
    throw error instanceof StackctlError
      ? new StackctlError(error.code, `${error.message}; every image tag is back where it was`, {
          ...(error.hint === undefined ? {} : { hint: error.hint }),
        })
      : error;
  }
  const plan = (await planChanges(session, before, io.signal)).filter(
    (step) => request.services.length === 0 || request.services.includes(step.service),
  );
  view.planned(plan, images);
  if (plan.length === 0 || request.dryRun) {
    await untagKeep(session, before);
    return plan.length === 0 && !request.dryRun
      ? { kind: 'unchanged', images }
      : { kind: 'planned', plan, images };
  }
  // Refused before anything changes: data at risk and nowhere to snapshot it.
  const atRisk = dataAtRiskOf(session, plan);
  try {
    if (atRisk.length > 0 && request.snapshot && !stack.file.backup)
      throw new StackctlError(
        'E_REFUSED',
        `the upgrade could write to ${atRisk.join(', ')}, and the schema declares no backup tier to snapshot them in`,
        {
          hint: 'add a backup section to the schema, or pass --no-snapshot to go on without a way back for the data',
        },
      );
    await view.confirm(`Roll out ${plan.map((step) => step.service).join(', ')} in ${model.name}?`);
  } catch (error) {
    await restoreTags(session, before);
    await untagKeep(session, before);
    throw error;
  }

  return rollOut(session, id, plan, before, request, io, view);
}

/** The release itself: recorded first, then snapshot, files, each service, the gate; or the way back. */
async function rollOut(
  session: ComposeSession,
  id: string,
  plan: readonly RolloutStep[],
  before: Record<string, ServiceImage>,
  request: UpgradeRequest,
  io: ComposeSessionIo,
  view: UpgradeView,
): Promise<UpgradeOutcome> {
  const { stack, model } = session;
  // From here on the record says how far the release got.
  let record: ReleaseRecord = {
    id,
    environment: model.name,
    createdAt: new Date().toISOString(),
    by: releaseAuthor(),
    command: request.command,
    state: 'in-progress',
    plan,
    before,
    files: await saveReleaseFiles(stack.root, model.name, id, [
      ...session.prepared.plan.files.map((file) => file.path).filter((path) => !path.startsWith('secrets/')),
      'compose/local.override.yml',
    ]),
    started: [],
    downtimeMs: {},
  };
  await writeRelease(stack.root, record);
  const save = async (changes: Partial<ReleaseRecord>): Promise<void> => {
    record = { ...record, ...changes };
    await writeRelease(stack.root, record);
  };

  try {
    await save({ snapshot: await snapshotData(session, plan, request, io, view) });
    view.step('Writing the generated files');
    await applyFiles(stack.root, io.cwd, session.prepared.plan.files, { check: false, signal: io.signal });
    for (const step of plan) {
      view.step(`${step.service}: ${step.strategy} (${step.reasons.join(', ')})`);
      await save({ started: [...record.started, step.service] });
      const rolled = await rollService(session, step.service, step.strategy, request.timing, io.signal);
      await save({ downtimeMs: { ...record.downtimeMs, [step.service]: rolled.downtimeMs } });
      view.serviceDone(rolled);
    }
    await gate(session, plan, io.signal, view);
    await save({
      state: 'succeeded',
      after: await captureState(session),
      finishedAt: new Date().toISOString(),
    });
    await pruneKeepTags(session);
    return { kind: 'upgraded', record };
  } catch (error) {
    const reason = io.signal.aborted ? 'interrupted (Ctrl-C)' : (error as Error).message;
    view.failed(reason);
    await save({ failure: reason });
    return rollBackRelease(
      stack,
      record,
      {
        timing: request.timing,
        restoreData: async (touched) => request.yes || (await view.confirmDataRestore(touched)),
      },
      io,
      view,
      save,
    );
  }
}

function imageActions(request: UpgradeRequest): ('pull' | 'build')[] {
  return [...(request.pull ? (['pull'] as const) : []), ...(request.build ? (['build'] as const) : [])];
}

/** The services an image action applies to among the named ones (all when none is named). */
function applicable(session: ComposeSession, action: 'pull' | 'build', named: readonly string[]): string[] {
  return [...session.effective.entries()]
    .filter(
      ([name, service]) =>
        (named.length === 0 || named.includes(name)) &&
        (action === 'build' ? service.build : isPulled(service)),
    )
    .map(([name]) => name);
}

/** Tags every running image with a keep-tag of this release (not in a dry run): a pull cannot orphan it. */
async function keepRunningImages(
  session: ComposeSession,
  state: Record<string, ServiceImage>,
  id: string,
  dryRun: boolean,
): Promise<Record<string, ServiceImage>> {
  if (dryRun) return state;
  const kept: Record<string, ServiceImage> = {};
  for (const [service, recorded] of Object.entries(state)) {
    const keepTag = keepTagOf(session.model.project, id, service);
    if (recorded.imageId !== undefined) await tagImage(session.docker, recorded.imageId, keepTag);
    kept[service] = { ...recorded, keepTag };
  }
  return kept;
}

async function untagKeep(session: ComposeSession, state: Record<string, ServiceImage>): Promise<void> {
  for (const recorded of Object.values(state))
    if (recorded.keepTag) await untagImage(session.docker, recorded.keepTag);
}

/** What compose would recreate with the new files and images, and why. */
async function planChanges(
  session: ComposeSession,
  before: Readonly<Record<string, ServiceImage>>,
  signal: AbortSignal,
): Promise<RolloutStep[]> {
  // Only what runs is upgraded; a service not started yet is start's to create.
  const order = dependencyOrder(session.model, session.effective).filter((service) => service in before);
  // One dry run per service, as the rollout runs them: compose recreates the dependents of a
  // service named in the same `up` even when nothing of theirs changed.
  const composeAction = new Map<string, DryRunAction>();
  const prefix = `${session.model.project}-`;
  await inBatches(order, 4, async (service) => {
    const dry = await session.compose(
      ['--dry-run', 'up', '--detach', '--no-deps', '--pull', 'never', '--no-build', service],
      { signal },
    );
    if (dry.exitCode !== 0)
      throw new StackctlError(
        'E_RUNTIME',
        `docker compose --dry-run up ${service} failed: ${dry.output.trim().split('\n').at(-1) ?? ''}`,
        { hint: 'a missing image? pull or build it first (--pull, --build)' },
      );
    for (const [name, action] of parseDryRun(dry.output)) {
      const owner = /^(.*)-\d+$/.exec(name.startsWith(prefix) ? name.slice(prefix.length) : name)?.[1];
      if (owner === service && (action !== 'keep' || !composeAction.has(service)))
        composeAction.set(service, action);
    }
  });
  const imageChanged = new Set<string>();
  for (const service of order) {
    const recorded = before[service];
    if (!recorded?.imageId) continue;
    const now = await imageIdentity(session.docker, session.imageOf(service));
    if (now !== undefined && now.id !== recorded.imageId) imageChanged.add(service);
  }
  const configChanged = new Set<string>();
  for (const [service, action] of composeAction)
    if (action === 'recreate' && !imageChanged.has(service)) configChanged.add(service);
  return planRollout({
    order,
    effective: session.effective,
    composeAction,
    imageChanged,
    configChanged,
    namedByReplica: servicesNamedByReplica(session.model),
  });
}

/** Backs up the data services the rollout may write to; refuses without a backup policy unless told. */
async function snapshotData(
  session: ComposeSession,
  plan: readonly RolloutStep[],
  request: UpgradeRequest,
  io: ComposeSessionIo,
  view: UpgradeView,
): Promise<ReleaseRecord['snapshot']> {
  const { stack, model } = session;
  const atRisk = dataAtRiskOf(session, plan);
  if (atRisk.length === 0) return { skipped: 'no data service is recreated or written by what is' };
  if (!request.snapshot || !stack.file.backup)
    return { skipped: `--no-snapshot (data at risk: ${atRisk.join(', ')})` };
  view.step(`Snapshot of ${atRisk.join(', ')}`);
  const outcome = await backupEnvironment(
    stack,
    { envName: model.name, services: atRisk, includeModels: false, allowStop: true, lockHeld: true },
    io,
    {
      tierSkipped: () => undefined,
      noContainer: () => undefined,
      confirmStop: () => Promise.resolve(),
      begin: () => undefined,
      progress: () => undefined,
      stepDone: () => undefined,
    },
  );
  return { backupId: outcome.manifest.id, tier: outcome.tier.name, services: atRisk };
}

/** The data services the rollout may write to: recreated, or depended on by what is. */
function dataAtRiskOf(session: ComposeSession, plan: readonly RolloutStep[]): string[] {
  const withData = servicesWithData(session.stack.file, session.model).map((service) => service.name);
  return dataAtRisk(
    session.model,
    plan.map((step) => step.service),
    withData,
  ).filter((service) => session.effective.has(service));
}

/** The health gate after the rollout: the verify checks of what changed and what depends on it. */
async function gate(
  session: ComposeSession,
  plan: readonly RolloutStep[],
  signal: AbortSignal,
  view: UpgradeView,
): Promise<void> {
  const changed = plan.map((step) => step.service);
  const services = [...new Set([...changed, ...dependentsOf(session.model, changed)])];
  const results = await runChecks(session.model, session.run.store, services, session.docker, signal, view);
  const failed = results.filter((result) => result.status !== 'passed');
  if (failed.length > 0)
    throw new StackctlError(
      'E_RUNTIME',
      `verify failed: ${failed.map((result) => `${result.service} ${result.name}: ${result.detail ?? result.status}`).join('; ')}`,
    );
}

/**
 * Puts the environment back on the release's `before`, with a signal of its own (Ctrl-C may be
 * what stopped the rollout). Data is restored only where the new release may have written it, and
 * only when confirmed.
 */
export async function rollBackRelease(
  stack: LoadedStack,
  record: ReleaseRecord,
  how: {
    readonly timing: RolloutTiming;
    /** Whether to restore the snapshot of these data services (the release may have written them). */
    readonly restoreData: (touched: readonly string[]) => Promise<boolean>;
  },
  io: ComposeSessionIo,
  view: UpgradeView,
  save: (changes: Partial<ReleaseRecord>) => Promise<void>,
): Promise<UpgradeOutcome> {
  const rollbackIo = { ...io, signal: new AbortController().signal };
  const restoredData: string[] = [];
  const keptData: string[] = [];
  try {
    const planned = await openComposeSession(stack, record.environment, rollbackIo);
    await restoreTags(planned, record.before);
    await restoreFiles(planned, record);
    const session = await openComposeSession(stack, record.environment, rollbackIo, { filesOnDisk: true });
    await rollBackServices(session, record, how.timing, rollbackIo.signal, view);
    const snapshot = record.snapshot;
    if (snapshot && 'backupId' in snapshot) {
      const touched = dataTouched(session.model, record.started, snapshot.services);
      const restore = touched.length > 0 && (await how.restoreData(touched));
      if (restore) {
        await restoreEnvironment(
          stack,
          {
            envName: record.environment,
            from: snapshot.backupId,
            services: touched,
            dryRun: false,
            takeBackupSecrets: false,
            lockHeld: true,
          },
          rollbackIo,
          restoreView(session, how.timing, rollbackIo.signal, view),
        );
        restoredData.push(...touched);
      } else keptData.push(...touched);
    }
    await save({
      state: 'rolled-back',
      rollback: { restoredData, keptData },
      finishedAt: new Date().toISOString(),
    });
    return {
      kind: 'rolled-back',
      record: { ...record, state: 'rolled-back', rollback: { restoredData, keptData } },
    };
  } catch (error) {
    const message = (error as Error).message;
    await save({
      state: 'rollback-failed',
      rollback: { restoredData, keptData, error: message },
      finishedAt: new Date().toISOString(),
    });
    return {
      kind: 'rollback-failed',
      record: { ...record, state: 'rollback-failed', rollback: { restoredData, keptData, error: message } },
    };
  }
}

function restoreView(
  session: ComposeSession,
  timing: RolloutTiming,
  signal: AbortSignal,
  view: UpgradeView,
): Parameters<typeof restoreEnvironment>[3] {
  return {
    tierSkipped: () => undefined,
    damaged: () => undefined,
    preview: () => undefined,
    confirm: () => Promise.resolve(),
    begin: () => view.step('Restoring data from the snapshot'),
    restored: () => undefined,
    configSecrets: () => undefined,
    end: () => undefined,
    startAgain: async (services) => {
      for (const service of dependencyOrder(session.model, session.effective).filter((name) =>
        services.includes(name),
      ))
        view.rolledBack(await rollService(session, service, 'stop-first', timing, signal));
    },
  };
}

/** Runs `work` for every item, at most `size` at once. */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}
