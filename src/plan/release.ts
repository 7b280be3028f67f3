// What a release record holds: what an environment ran before an upgrade (exact image IDs,
// compose's configuration hash, the generated files), what the upgrade changed and how it ended.
// Pure: the types, the id, and what a rollback must put back.
import type { RolloutStep } from './upgrade.js';

export type ReleaseState =
  /** The upgrade is running (or was killed part-way: `rollback` puts the prior state back). */
  | 'in-progress'
  | 'succeeded'
  /** It failed and the environment is back on the state before it. */
  | 'rolled-back'
  /** It failed and going back failed too: the record says what is where. */
  | 'rollback-failed'
  /** A rollback of an earlier release, by `stackctl rollback`. */
  | 'rollback';

/** One service as it ran: enough to put exactly it back. */
export interface ServiceImage {
  /** The reference compose's configuration names (image: or <project>-<service> for a build). */
  readonly reference: string;
  /** The image ID its containers ran; undefined when it had no container. */
  readonly imageId: string | undefined;
  readonly repoDigests: readonly string[];
  /** compose's com.docker.compose.config-hash of its container. */
  readonly configHash: string | undefined;
  readonly containers: number;
  /** The tag stackctl put on imageId so it stays on the engine for a rollback. */
  readonly keepTag: string | undefined;
}

export interface ReleaseRecord {
  readonly id: string;
  readonly environment: string;
  readonly createdAt: string;
  readonly finishedAt?: string;
  /** user@host and the command line (no secret is ever on it). */
  readonly by: string;
  readonly command: string;
  readonly state: ReleaseState;
  readonly plan: readonly RolloutStep[];
  readonly before: Readonly<Record<string, ServiceImage>>;
  readonly after?: Readonly<Record<string, ServiceImage>>;
  /** Generated files saved before anything changed (paths relative to the project). */
  readonly files: readonly string[];
  readonly snapshot?:
    | { readonly backupId: string; readonly tier: string; readonly services: readonly string[] }
    | { readonly skipped: string };
  /** Services the rollout started, in order (a rollback puts back at least these). */
  readonly started: readonly string[];
  /** Per service, how long it did not serve (stop-first) or 0 (start-first). */
  readonly downtimeMs: Readonly<Record<string, number>>;
  readonly failure?: string;
  /** What the rollback did (state rolled-back or rollback-failed). */
  readonly rollback?: {
    readonly restoredData: readonly string[];
    readonly keptData: readonly string[];
    readonly error?: string;
  };
  /** A `rollback` record: the release it went back from. */
  readonly of?: string;
}

/** Sortable by time, unique enough for one project: 20261207T031500Z-3fa2. */
export function releaseId(now: Date, random: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${random}`;
}

/** The repository of the keep-tags of one compose project: stackctl-rollback/<project>. */
export function keepRepository(project: string): string {
  return `stackctl-rollback/${project}`;
}

export function keepTagOf(project: string, releaseIdValue: string, service: string): string {
  return `${keepRepository(project)}:${releaseIdValue}.${service}`;
}

/** Releases whose keep-tags are kept: the newest few, so a rollback several steps back still works. */
export const KEPT_RELEASES = 5;

/** The keep-tags no longer needed: those of releases older than the newest KEPT_RELEASES. */
export function staleKeepTags(tags: readonly string[], releaseIds: readonly string[]): string[] {
  const kept = new Set([...releaseIds].sort().slice(-KEPT_RELEASES));
  return tags.filter((tag) => {
    const id = /:([^.:]+)\.[^:]+$/.exec(tag)?.[1];
    return id !== undefined && !kept.has(id);
  });
}

/** The release `rollback` goes back from: the newest upgrade that is not already undone. */
export function releaseToUndo(records: readonly ReleaseRecord[], id?: string): ReleaseRecord | undefined {
  if (id !== undefined) return records.find((record) => record.id === id || record.id.startsWith(id));
  const undone = new Set(records.filter((record) => record.of !== undefined).map((record) => record.of));
  return [...records]
    .reverse()
    .find(
      (record) =>
        record.of === undefined &&
        !undone.has(record.id) &&
        (record.state === 'succeeded' ||
          record.state === 'in-progress' ||
          record.state === 'rollback-failed'),
    );
}
