// Kubernetes manifests of an environment as a Kustomize layout, rendered from what compose resolves
// for it (the user's overlay included), so a cluster runs what a compose start would.
//
//   base/<service>/     the workload (Deployment, StatefulSet for a service holding data, Job for a
//                       one-shot job) and its Service: what does not change between environments
//   base/volumes/<v>/   a claim for a volume several services share
//   overlays/<env>/     namespace, Secret (or ExternalSecret), ConfigMaps of the generated config
//                       files, NetworkPolicies, and a patch per service with what the environment
//                       sets: image, command, environment, replicas, resources, probes, start order
//
// Pure: the caller reads compose's configuration and the mounted files, and writes the files.
import { posix } from 'node:path';
import { LABELS } from '../../labels.js';
import type { EnvironmentModel, ResolvedService } from '../../model/environment.js';
import type { StackFile } from '../../schema/types.js';
import { servicesToRun, type ComposeService } from '../compose-document.js';
import type { LaunchNode } from '../start.js';
import { dnsLabel, partOf, secretName, strategicMerge, yamlDocuments, type Manifest } from './manifest.js';
import { claimSize, containerEnvironment, containerResources, podStorage, secretFileVolume } from './pod.js';
import { gpuDemand, gpuDemandNote, timeSlicingConfig } from './gpu-demand.js';
import { networkPolicies } from './policies.js';
import { containerPorts, type ContainerPort } from './ports.js';
import { probesFromHealthcheck } from './probes.js';
import { externalSecret, secretManifest, type SecretStoreRef } from './secrets.js';
import { baseManifests, environmentPatch, K8S_GPU_NODE_LABEL, type ServiceShape } from './workload.js';

export { K8S_GPU_RESOURCE } from './pod.js';
export { K8S_GPU_NODE_LABEL, WAIT_IMAGE } from './workload.js';

export interface K8sInputs {
  readonly file: StackFile;
  readonly model: EnvironmentModel;
  /** `docker compose config --format json` of the environment. */
  readonly effective: unknown;
  /** The environment's secret values by variable name (only their names reach the manifests' env). */
  readonly secrets: ReadonlyMap<string, string>;
  /** The text of every regular file a service mounts read-only from the project, by absolute path. */
  readonly mountedFiles: ReadonlyMap<string, string>;
  readonly root: string;
  /** The start graph: what each service waits for. */
  readonly graph: readonly LaunchNode[];
  /** Reference secrets through an ExternalSecret (external-secrets.io) instead of writing values. */
  readonly externalSecrets?: SecretStoreRef;
  /** The image the cluster pulls for a service built from source (its registry copy). */
  readonly images?: ReadonlyMap<string, string>;
  /** NVIDIA time-slicing: each GPU advertised this many times (writes the device plugin's config). */
  readonly gpuSharing?: number;
}

export interface K8sFile {
  /** Relative to the export folder. */
  readonly path: string;
  readonly content: string;
  /** 0600 for files holding secret values. */
  readonly mode: number;
}

export interface K8sExport {
  readonly namespace: string;
  readonly files: readonly K8sFile[];
  /** What `kubectl apply -k overlays/<env>` creates (the base with the patches applied), with the file it comes from. */
  readonly manifests: readonly { readonly path: string; readonly manifest: Manifest }[];
  readonly notes: readonly string[];
}

/** Collects the files of the layout and what applying the overlay creates. */
class Layout {
  readonly files: K8sFile[] = [];
  readonly manifests: { path: string; manifest: Manifest }[] = [];
  readonly notes: string[] = [];

  constructor(private readonly model: EnvironmentModel) {}

  write(path: string, docs: readonly Manifest[], mode = 0o644): void {
    this.files.push({ path, content: yamlDocuments(docs), mode });
  }

  kustomization(path: string, body: Manifest): void {
    this.write(path, [{ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...body }]);
  }

  /** An object the overlay's build creates: in the namespace, with the environment's label. */
  created(from: string, manifest: Manifest): void {
    const metadata = (manifest['metadata'] ?? {}) as Manifest;
    const labels = {
      ...((metadata['labels'] ?? {}) as Record<string, string>),
      [LABELS.environment]: this.model.name,
    };
    const namespaced = manifest['kind'] === 'Namespace' ? {} : { namespace: this.model.project };
    this.manifests.push({
      path: from,
      manifest: { ...manifest, metadata: { ...metadata, ...namespaced, labels } },
    });
  }
}

export function renderKustomize(inputs: K8sInputs): K8sExport {
  const { model, file } = inputs;
  const layout = new Layout(model);
  const services = servicesToRun(inputs.effective, model);
  const overlay = `overlays/${model.name}`;
  const resources: string[] = ['namespace.yaml'];
  const patches: string[] = [];
  const configMaps: { name: string; files: string[] }[] = [];

  const shared = sharedVolumes(services);
  for (const [volume, users] of shared) {
    const claim: Manifest = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: dnsLabel(volume), labels: { 'app.kubernetes.io/part-of': partOf(model) } },
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: claimSize(file, volume) } } },
    };
    layout.write(`base/volumes/${volume}/claim.yaml`, [claim]);
    layout.created(`base/volumes/${volume}/claim.yaml`, claim);
    layout.kustomization(`base/volumes/${volume}/kustomization.yaml`, { resources: ['claim.yaml'] });
    layout.notes.push(
      `${volume} is shared by ${users.join(', ')}: its claim needs a ReadWriteMany storage class`,
    );
  }

  const gpuCount = Number(model.values.get('GPU_COUNT') ?? '0') || 0;
  const selected = new Map(model.services.map((service) => [service.name, service]));
  const graph = new Map(inputs.graph.map((node) => [node.service, node]));
  const portsOf = new Map(services.map(([name, service]) => [name, containerPorts(file, name, service)]));
  const secret = secretName(model);

  const scope: ServiceScope = { inputs, layout, overlay, selected, graph, portsOf, secret, shared, gpuCount };
  for (const [name, service] of services) {
    const rendered = renderService(scope, name, service);
    resources.push(rendered.resource);
    patches.push(rendered.patch);
    if (rendered.configMap) configMaps.push(rendered.configMap);
  }
  resources.push(...[...shared.keys()].map((volume) => `../../base/volumes/${volume}`));

  const namespace: Manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: model.project } };
  layout.write(`${overlay}/namespace.yaml`, [namespace]);
  layout.created(`${overlay}/namespace.yaml`, namespace);
  resources.push(writeSecrets(layout, overlay, inputs));
  const policies = networkPolicies(
    file,
    model,
    services.map(([name]) => name),
  );
  layout.write(`${overlay}/network-policies.yaml`, policies);
  for (const policy of policies) layout.created(`${overlay}/network-policies.yaml`, policy);
  resources.push('network-policies.yaml');
  for (const generator of configMaps)
    layout.created(`${overlay}/kustomization.yaml`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: generator.name },
      data: Object.fromEntries(
        generator.files.map((entry) => {
          const [key = '', from = ''] = entry.split('=');
          return [key, layout.files.find((text) => text.path === `${overlay}/${from}`)?.content ?? ''];
        }),
      ),
    });
  layout.kustomization(`${overlay}/kustomization.yaml`, {
    namespace: model.project,
    labels: [{ pairs: { [LABELS.environment]: model.name }, includeSelectors: false }],
    resources,
    ...(configMaps.length > 0 ? { configMapGenerator: configMaps } : {}),
    patches: patches.map((path) => ({ path })),
  });
  const gpuNote = gpuDemandNote(gpuDemand(inputs.effective, model, gpuCount), inputs.gpuSharing);
  if (gpuNote !== undefined) layout.notes.push(gpuNote);
  if (inputs.gpuSharing !== undefined)
    layout.files.push({
      path: 'cluster/nvidia-time-slicing.yaml',
      content:
        `# Written by stackctl export k8s --gpu-sharing ${inputs.gpuSharing}: the NVIDIA device plugin's time-slicing\n` +
        '# configuration, cluster-wide (not part of the overlay). With the GPU operator:\n' +
        '#   kubectl create -n gpu-operator -f cluster/nvidia-time-slicing.yaml\n' +
        `#   kubectl patch clusterpolicies.nvidia.com/cluster-policy -n gpu-operator --type merge -p '{"spec": {"devicePlugin": {"config": {"name": "time-slicing-config", "default": "any"}}}}'\n` +
        yamlDocuments([timeSlicingConfig(inputs.gpuSharing)]),
      mode: 0o644,
    });
  return { namespace: model.project, files: layout.files, manifests: layout.manifests, notes: layout.notes };
}

/** Named volumes more than one service mounts, with those services: each a claim of its own. */
function sharedVolumes(services: readonly [string, ComposeService][]): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const [name, service] of services)
    for (const mount of service.volumes ?? [])
      if (mount.type === 'volume' && mount.source)
        users.set(mount.source, [...(users.get(mount.source) ?? []), name]);
  return new Map([...users].filter(([, names]) => names.length > 1));
}

function hostLevelNotes(name: string, service: ComposeService): string[] {
  const keys = ['ipc', 'shm_size', 'privileged', 'devices', 'network_mode', 'pid'].filter(
    (key) => service[key] != null,
  );
  return keys.length > 0 ? [`${name}: ${keys.join(', ')} left out (no Kubernetes equivalent here)`] : [];
}

/** What every service of one export shares. */
interface ServiceScope {
  readonly inputs: K8sInputs;
  readonly layout: Layout;
  readonly overlay: string;
  readonly selected: ReadonlyMap<string, ResolvedService>;
  readonly graph: ReadonlyMap<string, LaunchNode>;
  readonly portsOf: ReadonlyMap<string, ContainerPort[]>;
  readonly secret: string;
  readonly shared: ReadonlyMap<string, string[]>;
  readonly gpuCount: number;
}

/** One service: its base workload and Service, its overlay patch, and its config files. */
function renderService(
  scope: ServiceScope,
  name: string,
  service: ComposeService,
): { resource: string; patch: string; configMap?: { name: string; files: string[] } } {
  const { inputs, layout, overlay, selected, graph, portsOf, secret, shared, gpuCount } = scope;
  const { model, file } = inputs;
  let configMap: { name: string; files: string[] } | undefined;
  const resolved = selected.get(name);
  const storage = podStorage(name, service, {
    file,
    root: inputs.root,
    shared: new Set(shared.keys()),
    mountedFiles: inputs.mountedFiles,
  });
  layout.notes.push(...storage.notes, ...hostLevelNotes(name, service));
  if (resolved?.gpuMonitor === true)
    layout.notes.push(
      `${name} watches GPUs: a DaemonSet on the GPU nodes (${K8S_GPU_NODE_LABEL}) that requests no GPU, so it sees them through the nodes' NVIDIA container runtime (the GPU operator makes it the default)`,
    );
  const environment = containerEnvironment(service, {
    secrets: inputs.secrets,
    secretName: secret,
    fileVariables: resolved?.definition.secretFiles ?? {},
  });
  if (environment.secretFiles.length > 0) {
    const { volume, mount } = secretFileVolume(secret, environment.secretFiles);
    storage.volumes.push(volume);
    storage.mounts.push(mount);
  }
  const declaredImage = file.services[name]?.image;
  const shape: ServiceShape = {
    name,
    stack: resolved?.stack ?? service.labels?.[LABELS.stack] ?? '',
    partOf: partOf(model),
    job: resolved?.kind === 'job',
    gpuMonitor: resolved?.gpuMonitor === true,
    // The schema's image where it names one outright; each overlay sets the environment's own.
    image:
      inputs.images?.get(name) ??
      (declaredImage !== undefined && !declaredImage.includes('$') ? declaredImage : (service.image ?? name)),
    ports: portsOf.get(name) ?? [],
    storage,
  };

  const base = baseManifests(shape);
  const baseFile = `base/${name}/${name}.yaml`;
  layout.write(baseFile, base.service ? [base.workload, base.service] : [base.workload]);
  if (base.service) layout.created(baseFile, base.service);
  layout.kustomization(`base/${name}/kustomization.yaml`, { resources: [`${name}.yaml`] });

  if (storage.configFiles.length > 0) {
    configMap = {
      name: `${name}-config`,
      files: storage.configFiles.map(
        (path) => `${posix.basename(path)}=files/${name}/${posix.basename(path)}`,
      ),
    };
    for (const path of storage.configFiles)
      layout.files.push({
        path: `${overlay}/files/${name}/${posix.basename(path)}`,
        content: inputs.mountedFiles.get(path) ?? '',
        mode: 0o644,
      });
  }

  const waits = graph.get(name)?.waitsFor ?? [];
  const unwaited = waits.filter((dep) => !portsOf.get(dep.service)?.length);
  if (unwaited.length > 0)
    layout.notes.push(
      `${name} also waits for ${unwaited.map((dep) => dep.service).join(', ')} (no port to wait on): not enforced on Kubernetes`,
    );
  const patch = environmentPatch(shape, {
    service: inputs.images?.has(name) ? { ...service, image: shape.image } : service,
    environment,
    resources: containerResources(service.deploy?.resources, resolved?.gpu === true ? gpuCount : 0),
    probes: shape.job ? undefined : probesFromHealthcheck(service.healthcheck),
    gpus: resolved?.gpu === true ? gpuCount : 0,
    waitsFor: waits.flatMap((dep) => {
      const port: ContainerPort | undefined = portsOf.get(dep.service)?.[0];
      return port ? [{ service: dep.service, port: port.port }] : [];
    }),
  });
  layout.write(`${overlay}/patches/${name}.yaml`, [patch]);
  layout.created(`${overlay}/patches/${name}.yaml`, strategicMerge(base.workload, patch) as Manifest);
  return {
    resource: `../../base/${name}`,
    patch: `patches/${name}.yaml`,
    ...(configMap ? { configMap } : {}),
  };
}

/** The environment's secrets: an ExternalSecret, or a Secret in clear kept out of git. Returns its resource. */
function writeSecrets(layout: Layout, overlay: string, inputs: K8sInputs): string {
  const { model } = inputs;
  if (inputs.externalSecrets) {
    const external = externalSecret(model, inputs.secrets, inputs.externalSecrets);
    layout.write(`${overlay}/external-secret.yaml`, [external]);
    layout.created(`${overlay}/external-secret.yaml`, external);
    return 'external-secret.yaml';
  } else {
    const values = secretManifest(model, inputs.secrets);
    layout.write(`${overlay}/secret.yaml`, [values], 0o600);
    // Every value in clear: kept out of git beside it, whatever the project's own ignore rules say.
    layout.files.push({
      path: `${overlay}/.gitignore`,
      content:
        '# Written by stackctl export k8s: secret.yaml holds every secret of the environment in clear.\nsecret.yaml\n',
      mode: 0o644,
    });
    layout.created(`${overlay}/secret.yaml`, values);
    return 'secret.yaml';
  }
}
