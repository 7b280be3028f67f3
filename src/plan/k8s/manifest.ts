// What every Kubernetes renderer here shares: the manifest shape, names Kubernetes accepts, YAML
// documents, and the strategic merge kustomize applies to a patch.
import { stringify } from 'yaml';
import { projectNameOf, type EnvironmentModel } from '../../model/environment.js';

export type Manifest = Record<string, unknown>;

/** The project's name without the environment (<project>-<env> is the compose project). */
export function partOf(model: EnvironmentModel): string {
  return projectNameOf(model);
}

/** The Secret every environment's namespace holds: one name, so the base refers to it for all. */
export function secretName(model: EnvironmentModel): string {
  return `${partOf(model)}-secrets`;
}

/** A DNS-1123 label from a compose name (underscores are not allowed). */
export function dnsLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

export function yamlDocuments(docs: readonly Manifest[]): string {
  return docs.map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

export function isMap(value: unknown): value is Manifest {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * A strategic merge patch as kustomize applies it to the manifests written here: maps merge, lists
 * of named entries (containers, env, volumes) merge by name, anything else is replaced.
 */
export function strategicMerge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const bases = base as unknown[];
    const patches = patch as unknown[];
    const nameOf = (item: unknown): unknown => (isMap(item) ? item['name'] : undefined);
    const named = (list: unknown[]): boolean => list.every((item) => typeof nameOf(item) === 'string');
    if (!named(bases) || !named(patches)) return patch;
    const out = bases.map((item) => {
      const update = patches.find((other) => nameOf(other) === nameOf(item));
      return update === undefined ? item : strategicMerge(item, update);
    });
    for (const item of patches) if (!bases.some((other) => nameOf(other) === nameOf(item))) out.push(item);
    return out;
  }
  if (isMap(base) && isMap(patch)) {
    const out: Manifest = { ...base };
    for (const [key, value] of Object.entries(patch))
      out[key] = key in base ? strategicMerge(base[key], value) : value;
    return out;
  }
  return patch;
}
