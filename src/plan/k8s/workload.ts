// A service as Kubernetes runs it: the workload and Service of the base (what no environment
// changes), and the patch an environment's overlay applies (image, command, environment, replicas,
// resources, probes, GPUs, start order).
import { LABELS } from '../../labels.js';
import type { ComposeService } from '../compose-document.js';
import { replicasOf } from '../compose-document.js';
import type { Manifest } from './manifest.js';
import { K8S_GPU_RESOURCE, type ContainerEnvironment, type PodStorage } from './pod.js';
import type { ContainerPort } from './ports.js';
import type { ProbeSet } from './probes.js';

/** The node label GPU feature discovery sets on nodes with NVIDIA GPUs. */
export const K8S_GPU_NODE_LABEL = 'nvidia.com/gpu.present';
/** Image of the init containers that wait for a dependency's port. */
export const WAIT_IMAGE = 'busybox:1.36';

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'Job' | 'DaemonSet';

export interface ServiceShape {
  readonly name: string;
  readonly stack: string;
  /** app.kubernetes.io/part-of: the project. */
  readonly partOf: string;
  readonly job: boolean;
  /** A GPU monitor (`gpu: monitor`): one pod on every GPU node, requesting no GPU. */
  readonly gpuMonitor: boolean;
  /** The image the base names (each overlay sets the environment's own). */
  readonly image: string;
  readonly ports: readonly ContainerPort[];
  readonly storage: PodStorage;
}

export function workloadKind(shape: ServiceShape): WorkloadKind {
  if (shape.job) return 'Job';
  if (shape.gpuMonitor) return 'DaemonSet';
  return shape.storage.claimTemplates.length > 0 ? 'StatefulSet' : 'Deployment';
}

/** The base's manifests of a service: its workload, and a Service for its ports (or a headless one). */
export function baseManifests(shape: ServiceShape): { workload: Manifest; service?: Manifest } {
  const { name, ports, storage } = shape;
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': shape.partOf };
  const labels = { ...selector, [LABELS.stack]: shape.stack };
  const container: Manifest = {
    name,
    image: shape.image,
    ...(ports.length > 0
      ? {
          ports: ports.map((port) => ({
            name: port.name,
            containerPort: port.port,
            protocol: port.protocol,
          })),
        }
      : {}),
    ...(storage.mounts.length > 0 ? { volumeMounts: storage.mounts } : {}),
  };
  const template = {
    metadata: { labels },
    spec: {
      ...(shape.job ? { restartPolicy: 'OnFailure' } : {}),
      containers: [container],
      ...(storage.volumes.length > 0 ? { volumes: storage.volumes } : {}),
    },
  };
  const metadata = { name, labels };
  const kind = workloadKind(shape);
  const workload: Manifest =
    kind === 'Job'
      ? { apiVersion: 'batch/v1', kind, metadata, spec: { backoffLimit: 3, template } }
      : kind === 'StatefulSet'
        ? {
            apiVersion: 'apps/v1',
            kind,
            metadata,
            spec: {
              serviceName: name,
              replicas: 1,
              selector: { matchLabels: selector },
              template,
              volumeClaimTemplates: storage.claimTemplates,
            },
          }
        : {
            apiVersion: 'apps/v1',
            kind,
            metadata,
            spec: {
              ...(kind === 'DaemonSet' ? {} : { replicas: 1 }),
              selector: { matchLabels: selector },
              template,
            },
          };
  if (ports.length === 0 && kind !== 'StatefulSet') return { workload };
  return {
    workload,
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels },
      spec: {
        selector,
        ...(ports.length > 0
          ? {
              ports: ports.map((port) => ({
                name: port.name,
                port: port.port,
                targetPort: port.port,
                protocol: port.protocol,
              })),
            }
          : { clusterIP: 'None' }),
      },
    },
  };
}

export interface EnvironmentSettings {
  readonly service: ComposeService;
  readonly environment: ContainerEnvironment;
  readonly resources: Manifest | undefined;
  readonly probes: ProbeSet | undefined;
  readonly gpus: number;
  /** Services it waits for, each with the port that answers once it is up. */
  readonly waitsFor: readonly { service: string; port: number }[];
}

/** The overlay's strategic merge patch of a service's workload. */
export function environmentPatch(shape: ServiceShape, settings: EnvironmentSettings): Manifest {
  const { name } = shape;
  const kind = workloadKind(shape);
  const { environment } = settings;
  const container: Manifest = {
    name,
    image: settings.service.image ?? shape.image,
    ...(environment.command ? { command: environment.command } : {}),
    ...(environment.args ? { args: environment.args } : {}),
    env: environment.env,
    ...(settings.resources ? { resources: settings.resources } : {}),
    ...(settings.probes ?? {}),
    ...capabilitiesOf(settings.service),
  };
  const initContainers = settings.waitsFor.map((dep) => ({
    name: `wait-for-${dep.service}`,
    image: WAIT_IMAGE,
    command: [
      'sh',
      '-c',
      `until nc -z ${dep.service} ${dep.port}; do echo waiting for ${dep.service}; sleep 2; done`,
    ],
  }));
  return {
    apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    metadata: { name },
    spec: {
      ...(kind === 'Job' || kind === 'DaemonSet' ? {} : { replicas: replicasOf(settings.service) }),
      template: {
        spec: {
          ...(initContainers.length > 0 ? { initContainers } : {}),
          containers: [container],
          ...(settings.gpus > 0 || shape.gpuMonitor
            ? {
                nodeSelector: { [K8S_GPU_NODE_LABEL]: 'true' },
                tolerations: [{ key: K8S_GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' }],
              }
            : {}),
        },
      },
    },
  };
}

/** compose's cap_add / cap_drop as the container's capabilities (Kubernetes names them without CAP_). */
function capabilitiesOf(service: ComposeService): { securityContext?: Manifest } {
  const names = (key: string): string[] => {
    const value = service[key];
    return Array.isArray(value) ? value.map((name) => String(name).replace(/^CAP_/, '')) : [];
  };
  const add = names('cap_add');
  const drop = names('cap_drop');
  if (add.length === 0 && drop.length === 0) return {};
  return {
    securityContext: {
      capabilities: { ...(add.length > 0 ? { add } : {}), ...(drop.length > 0 ? { drop } : {}) },
    },
  };
}
