// Whether a create step would change anything, judged without running compose. After a stop the
// containers exist; `compose up --no-start` would only confirm them, and it is a compose process
// (a few hundred ms, and CPU the first containers need) on the critical path of every start.
import { createHash } from 'node:crypto';
import type { EffectiveService } from './effective.js';
import type { CreateStep } from './start.js';

/** What compose left for each service after a create step: the step's key and its containers. */
export type CreationRecord = Readonly<
  Record<string, { readonly key: string; readonly containers: readonly string[] }>
>;

/** A service container as the engine lists it. */
export interface ListedContainer {
  readonly id: string;
  readonly service: string;
  readonly state: string;
  /** The image ID it was created from. */
  readonly imageId: string;
}

/**
 * The key of a create step: compose's resolved configuration (every file, the overlay, the env
 * file), the compose version (its config hash may change between versions) and the step's own
 * arguments (with --no-deps, compose's hash depends on which services are created together).
 */
export function creationKey(configDigest: string, composeVersion: string, step: CreateStep): string {
  return createHash('sha256')
    .update([configDigest, composeVersion, ...step.args].join('\0'))
    .digest('hex');
}

/** A digest of compose's resolved configuration document. */
export function configDigest(document: unknown): string {
  return createHash('sha256').update(JSON.stringify(document)).digest('hex');
}

/**
 * True when compose would leave every container of the step as it is: each service's containers
 * are exactly the ones recorded after a compose run with the same key, none is being removed, and
 * each runs the image its reference names now (a re-tagged or rebuilt image makes compose recreate
 * it). Services compose would pull or build for (pull_policy always or build, no image named) and
 * images that are missing always go to compose.
 */
export function stepUnchanged(
  step: CreateStep,
  key: string,
  record: CreationRecord,
  listed: readonly ListedContainer[],
  effective: ReadonlyMap<string, EffectiveService>,
  imageIds: ReadonlyMap<string, string | undefined>,
): boolean {
  return step.services.every((service) => {
    const recorded = record[service];
    const config = effective.get(service);
    if (recorded === undefined || recorded.key !== key || config?.image === undefined) return false;
    if (config.pullPolicy === 'always' || config.pullPolicy === 'build') return false;
    const imageId = imageIds.get(config.image);
    if (imageId === undefined) return false;
    const mine = listed.filter((container) => container.service === service);
    const ids = new Set(mine.map((container) => container.id));
    return (
      mine.length === recorded.containers.length &&
      recorded.containers.every((id) => ids.has(id)) &&
      mine.every(
        (container) =>
          ['created', 'exited', 'running'].includes(container.state) && container.imageId === imageId,
      )
    );
  });
}

/** The record after a compose run of the step: its services' containers as compose left them. */
export function recordStep(
  record: CreationRecord,
  step: CreateStep,
  key: string,
  listed: readonly ListedContainer[],
): CreationRecord {
  const next: Record<string, { key: string; containers: readonly string[] }> = { ...record };
  for (const service of step.services) {
    next[service] = {
      key,
      containers: listed.filter((container) => container.service === service).map((c) => c.id),
    };
  }
  return next;
}
