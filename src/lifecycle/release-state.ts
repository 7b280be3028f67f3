// What an environment runs, service by service (image ID, registry digests, compose's config hash),
// and putting a recorded state back exactly: the image tags pointed at the recorded image IDs, the
// recorded generated files written back, every service that differs rolled back and waited for,
// what the release added removed, and data restored from its snapshot when asked.
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { projectContainers, type ContainerSummary } from '../effects/containers.js';
import { writeFileAtomic } from '../effects/files.js';
import { imageIdentity, tagImage, tagsOf, untagImage } from '../effects/images.js';
import { readReleaseFile, readReleases } from '../effects/releases.js';
import { join } from 'node:path';
import type { ReleaseRecord, ServiceImage } from '../plan/release.js';
import { keepRepository, staleKeepTags } from '../plan/release.js';
import { dependencyOrder } from '../plan/upgrade.js';
import type { ComposeSession } from './compose-session.js';
import { removeService, rollService, type RolledService, type RolloutTiming } from './rollout.js';
import { compareText } from '../text.js';

const CONFIG_HASH_LABEL = 'com.docker.compose.config-hash';

/** Every service of the environment that has containers, as it runs now. */
export async function captureState(session: ComposeSession): Promise<Record<string, ServiceImage>> {
  const containers = await projectContainers(session.docker, session.model.project);
  const byService = new Map<string, ContainerSummary[]>();
  for (const container of containers)
    byService.set(container.service, [...(byService.get(container.service) ?? []), container]);
  const state: Record<string, ServiceImage> = {};
  for (const [service, list] of [...byService].sort(([a], [b]) => compareText(a, b))) {
    const first = list[0];
    if (!first) continue;
    const identity = await imageIdentity(session.docker, first.image);
    state[service] = {
      reference: first.imageRef,
      imageId: first.image,
      repoDigests: identity?.repoDigests ?? [],
      configHash: first.labels[CONFIG_HASH_LABEL],
      containers: list.length,
      keepTag: undefined,
    };
  }
  return state;
}

/** Whether a service runs as recorded: same image ID and configuration hash on every container. */
export async function runsAsRecorded(
  session: ComposeSession,
  service: string,
  recorded: ServiceImage,
): Promise<boolean> {
  const containers = await projectContainers(session.docker, session.model.project, service);
  return (
    containers.length === recorded.containers &&
    containers.every(
      (container) =>
        container.status === 'running' || (container.status === 'exited' && container.exitCode === 0),
    ) &&
    containers.every(
      (container) =>
        container.image === recorded.imageId && container.labels[CONFIG_HASH_LABEL] === recorded.configHash,
    )
  );
}

/** Who makes a release: user@host. */
export function releaseAuthor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid (a container): unknown
  }
  return `${user}@${hostname()}`;
}

export function randomSuffix(): string {
  return randomBytes(2).toString('hex');
}

/** Points each recorded reference at the recorded image again (by ID; nothing is pulled). */
export async function restoreTags(
  session: ComposeSession,
  before: Readonly<Record<string, ServiceImage>>,
): Promise<void> {
  for (const recorded of Object.values(before)) {
    if (recorded.imageId === undefined) continue;
    const now = await imageIdentity(session.docker, recorded.reference);
    if (now?.id !== recorded.imageId) await tagImage(session.docker, recorded.imageId, recorded.reference);
  }
}

/** Writes the release's saved copies of the generated files back; the replaced ones are kept beside. */
export async function restoreFiles(session: ComposeSession, record: ReleaseRecord): Promise<void> {
  const modes = new Map(session.prepared.plan.files.map((file) => [file.path, file.mode]));
  for (const path of record.files) {
    const content = await readReleaseFile(session.stack.root, record.environment, record.id, path);
    await writeFileAtomic(join(session.stack.root, path), content, { mode: modes.get(path) ?? 0o600 });
  }
}

export interface PriorView {
  rollingBack(service: string): void;
  rolledBack(rolled: RolledService): void;
  removed(service: string): void;
}

/**
 * Puts the environment back on `record.before`: tags, files, then every service that does not run
 * as recorded (in dependency order) rolled back onto them and waited for; services the release
 * added are removed. `session` must read the restored files (opened after restoreFiles, or on them).
 */
export async function rollBackServices(
  session: ComposeSession,
  record: ReleaseRecord,
  timing: RolloutTiming,
  signal: AbortSignal,
  view: PriorView,
): Promise<string[]> {
  const order = dependencyOrder(session.model, session.effective);
  const touched: string[] = [];
  const services = [...new Set([...order, ...record.plan.map((step) => step.service)])];
  for (const service of services) {
    const recorded = record.before[service];
    if (!recorded) {
      if (
        (await projectContainers(session.docker, session.model.project, service)).length > 0 &&
        record.plan.some((step) => step.service === service)
      ) {
        await removeService(session, service, signal);
        view.removed(service);
        touched.push(service);
      }
      continue;
    }
    if (await runsAsRecorded(session, service, recorded)) continue;
    view.rollingBack(service);
    view.rolledBack(await rollService(session, service, 'stop-first', timing, signal));
    touched.push(service);
  }
  return touched;
}

/** Removes keep-tags of releases older than the newest few. */
export async function pruneKeepTags(session: ComposeSession): Promise<void> {
  const tags = await tagsOf(session.docker, keepRepository(session.model.project));
  const ids = (await readReleases<ReleaseRecord>(session.stack.root, session.model.name)).map(
    (record) => record.id,
  );
  for (const tag of staleKeepTags(tags, ids)) await untagImage(session.docker, tag);
}
