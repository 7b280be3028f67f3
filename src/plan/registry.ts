// Images a cluster must pull: a service compose builds from source exists only on the machine that
// built it, so an export names where it will be pushed (--registry) or refuses to pretend.
import { asComposeDocument } from './compose-document.js';

/** A built image to tag and push so a cluster can pull it. */
export interface PushTarget {
  readonly service: string;
  /** The name compose gives the image it builds (its `image`, else <project>-<service>). */
  readonly local: string;
  /** Where the cluster pulls it from. */
  readonly image: string;
}

export interface BuiltImages {
  /** Services built from source with no image a cluster could pull, when no registry is given. */
  readonly unpullable: readonly string[];
  readonly push: readonly PushTarget[];
  /** Built services the user named an image for: pushing it is theirs. */
  readonly named: readonly { readonly service: string; readonly image: string }[];
}

/** A registry reference: HOST[:PORT][/NAMESPACE...], no scheme, no tag. */
export const REGISTRY_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** The services of an effective configuration compose builds, and what the cluster pulls for each. */
export function builtImages(effective: unknown, project: string, registry: string | undefined): BuiltImages {
  const unpullable: string[] = [];
  const push: PushTarget[] = [];
  const named: { service: string; image: string }[] = [];
  for (const [service, definition] of Object.entries(asComposeDocument(effective).services ?? {})) {
    if (definition['build'] == null) continue;
    const local = definition.image ?? `${project}-${service}`;
    if (registry !== undefined) {
      const [path = local, tag = 'latest'] = splitTag(local);
      push.push({ service, local, image: `${registry}/${path.split('/').pop() ?? path}:${tag}` });
    } else if (definition.image !== undefined) named.push({ service, image: definition.image });
    else unpullable.push(service);
  }
  return { unpullable, push, named };
}

/** `name:tag` split at the tag's colon (a registry port's colon is followed by a path). */
function splitTag(reference: string): [string, string | undefined] {
  const at = reference.lastIndexOf(':');
  if (at <= reference.lastIndexOf('/')) return [reference, undefined];
  return [reference.slice(0, at), reference.slice(at + 1)];
}

/** The commands that put each built image where the cluster pulls it from. */
export function pushCommands(push: readonly PushTarget[]): string[] {
  return push.flatMap((target) => [
    `docker tag ${target.local} ${target.image}`,
    `docker push ${target.image}`,
  ]);
}
