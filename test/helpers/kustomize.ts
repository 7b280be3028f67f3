// What `kubectl apply -k DIR` would send, for the subset of Kustomize stackctl's exports use:
// resources (files and folders with a kustomization.yaml), namespace, labels, configMapGenerator and
// strategic merge patches (maps merge; lists of named entries merge by name). Written apart from
// stackctl's renderer so the files on disk are checked, not the renderer's own idea of them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IDaemonSet, IDeployment, IStatefulSet } from 'kubernetes-models/apps/v1';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

/** Any Kubernetes object, by what every one has. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export type Workload = IDeployment | IStatefulSet | IJob | IDaemonSet;

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'];

/** The workload of a service in a build, or a failure naming it. */
export function workloadOf(built: readonly Manifest[], name: string): Workload {
  const found = built.find((m) => WORKLOAD_KINDS.includes(m.kind) && m.metadata.name === name);
  if (!found) throw new Error(`no workload ${name}`);
  return found as unknown as Workload;
}

export function podSpecOf(workload: Workload): IPodSpec {
  const spec = workload.spec?.template.spec;
  if (!spec) throw new Error(`${workload.metadata?.name} has no pod spec`);
  return spec;
}

export function mainContainer(workload: Workload): IContainer {
  const container = podSpecOf(workload).containers[0];
  if (!container) throw new Error(`${workload.metadata?.name} has no container`);
  return container;
}

/** A build's objects of one kind, typed as the caller knows that kind. */
export function ofKind<T>(built: readonly Manifest[], kind: string): T[] {
  return built.filter((m) => m.kind === kind) as unknown as T[];
}

interface Kustomization {
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  resources?: string[];
  configMapGenerator?: { name: string; files: string[] }[];
  patches?: { path: string }[];
}

async function readDocuments(path: string): Promise<Manifest[]> {
  return parseAllDocuments(await readFile(path, 'utf8'))
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

export async function kustomizeBuild(folder: string): Promise<Manifest[]> {
  const [kustomization] = (await readDocuments(
    join(folder, 'kustomization.yaml'),
  )) as unknown as Kustomization[];
  if (!kustomization) throw new Error(`no kustomization in ${folder}`);
  const out: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(folder, resource);
    if (/\.ya?ml$/.test(resource)) out.push(...(await readDocuments(path)));
    else out.push(...(await kustomizeBuild(path)));
  }
  for (const generator of kustomization.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const entry of generator.files) {
      const [key, from] = entry.split('=') as [string, string];
      data[key] = await readFile(join(folder, from), 'utf8');
    }
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data });
  }
  for (const patch of kustomization.patches ?? []) {
    for (const doc of await readDocuments(join(folder, patch.path))) {
      const index = out.findIndex((m) => m.kind === doc.kind && m.metadata?.name === doc.metadata?.name);
      if (index < 0)
        throw new Error(`patch ${patch.path} matches no resource (${doc.kind} ${doc.metadata?.name})`);
      out[index] = merge(out[index], doc) as Manifest;
    }
  }
  return out.map((manifest) => {
    const labels = Object.assign({}, ...(kustomization.labels ?? []).map((entry) => entry.pairs)) as Record<
      string,
      string
    >;
    const metadata = { ...manifest.metadata, labels: { ...manifest.metadata.labels, ...labels } };
    if (kustomization.namespace && manifest.kind !== 'Namespace')
      metadata.namespace = kustomization.namespace;
    return { ...manifest, metadata };
  });
}

type Value = unknown;
const nameOf = (item: Value): unknown => (item as { name?: unknown } | null)?.name;
const isMap = (value: Value): value is Record<string, Value> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function merge(base: Value, patch: Value): Value {
  if (Array.isArray(base) && Array.isArray(patch)) {
    const patches = patch as Value[];
    if (!patches.every((item) => typeof nameOf(item) === 'string')) return patch;
    const out = (base as Value[]).map((item) => {
      const update = patches.find((other) => nameOf(other) === nameOf(item));
      return update === undefined ? item : merge(item, update);
    });
    for (const item of patches)
      if (!(base as Value[]).some((other) => nameOf(other) === nameOf(item))) out.push(item);
    return out;
  }
  if (isMap(base) && isMap(patch)) {
    const out: Record<string, Value> = { ...base };
    for (const [key, value] of Object.entries(patch))
      out[key] = key in base ? merge(base[key], value) : value;
    return out;
  }
  return patch;
}

/** Validates a manifest against the Kubernetes OpenAPI schema of its kind; throws naming what is wrong. */
export async function validateManifest(manifest: Manifest): Promise<void> {
  const models: Record<string, () => Promise<new (data: never) => { validate(): void }>> = {
    'v1/Namespace': async () => (await import('kubernetes-models/v1')).Namespace,
    'v1/Service': async () => (await import('kubernetes-models/v1')).Service,
    'v1/Secret': async () => (await import('kubernetes-models/v1')).Secret,
    'v1/ConfigMap': async () => (await import('kubernetes-models/v1')).ConfigMap,
    'v1/PersistentVolumeClaim': async () => (await import('kubernetes-models/v1')).PersistentVolumeClaim,
    'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1')).Deployment,
    'apps/v1/StatefulSet': async () => (await import('kubernetes-models/apps/v1')).StatefulSet,
    'apps/v1/DaemonSet': async () => (await import('kubernetes-models/apps/v1')).DaemonSet,
    'batch/v1/Job': async () => (await import('kubernetes-models/batch/v1')).Job,
    'networking.k8s.io/v1/NetworkPolicy': async () =>
      (await import('kubernetes-models/networking.k8s.io/v1')).NetworkPolicy,
    'external-secrets.io/v1beta1/ExternalSecret': async () =>
      (await import('@kubernetes-models/external-secrets/external-secrets.io/v1beta1')).ExternalSecret,
  };
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const model = models[key];
  if (!model) throw new Error(`no schema for ${key}`);
  const Model = await model();
  new Model(manifest as never).validate();
}
