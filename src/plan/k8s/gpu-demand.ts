// What the GPU services of an environment ask of a cluster in all, and what one node can hold:
// requests are per pod, so replicas multiply them, and a pod waits Pending when no node has them.
import type { EnvironmentModel } from '../../model/environment.js';
import { asComposeDocument, replicasOf } from '../compose-document.js';
import type { Manifest } from './manifest.js';
import { K8S_GPU_RESOURCE } from './pod.js';

/** The GPUs the reference workstation has (two RTX 3090s): the node size the note measures against. */
export const REFERENCE_NODE_GPUS = 2;

export interface GpuDemand {
  readonly pods: readonly { readonly service: string; readonly replicas: number; readonly each: number }[];
  readonly total: number;
}

export function gpuDemand(effective: unknown, model: EnvironmentModel, gpuCount: number): GpuDemand {
  const services = asComposeDocument(effective).services ?? {};
  const pods = model.services
    .filter((service) => service.gpu && services[service.name] !== undefined && gpuCount > 0)
    .map((service) => {
      const definition = services[service.name];
      return { service: service.name, replicas: definition ? replicasOf(definition) : 1, each: gpuCount };
    });
  return { pods, total: pods.reduce((sum, pod) => sum + pod.replicas * pod.each, 0) };
}

/** How many of the pods one node of `nodeGpus` GPUs (each shared `sharing` ways) can hold, largest first. */
export function podsThatFit(
  demand: GpuDemand,
  nodeGpus: number,
  sharing: number,
): { fit: number; pods: number } {
  const requests = demand.pods
    .flatMap((pod) => Array<number>(pod.replicas).fill(pod.each))
    .sort((a, b) => b - a);
  let free = nodeGpus * sharing;
  let fit = 0;
  for (const request of requests)
    if (request <= free) {
      free -= request;
      fit += 1;
    }
  return { fit, pods: requests.length };
}

/** The note an export prints: the total, and what a two-GPU node schedules. */
export function gpuDemandNote(demand: GpuDemand, sharing: number | undefined): string | undefined {
  if (demand.total === 0) return undefined;
  const parts = demand.pods.map((pod) =>
    pod.replicas === 1 ? `${pod.service} ${pod.each}` : `${pod.service} ${pod.replicas} x ${pod.each}`,
  );
  const { fit, pods } = podsThatFit(demand, REFERENCE_NODE_GPUS, sharing ?? 1);
  const head = `GPU services request ${demand.total} ${K8S_GPU_RESOURCE} in all (${parts.join(', ')}); the cluster needs the NVIDIA device plugin`;
  if (sharing !== undefined)
    return `${head}. With --gpu-sharing ${sharing} each GPU is advertised ${sharing} times (NVIDIA time-slicing, no memory isolation: size vLLM's gpu-memory-utilization for it): a node with ${REFERENCE_NODE_GPUS} GPUs schedules ${fit} of these ${pods} pods; apply cluster/nvidia-time-slicing.yaml as its header says`;
  return fit >= pods
    ? `${head}: a node with ${REFERENCE_NODE_GPUS} GPUs schedules all ${pods}`
    : `${head}: a node with ${REFERENCE_NODE_GPUS} GPUs schedules ${fit} of these ${pods} pods, the rest stay Pending; share GPUs with --gpu-sharing N (time-slicing), lower the replicas, or add GPU nodes`;
}

/** The NVIDIA device plugin's time-slicing configuration (GPU operator: devicePlugin.config). */
export function timeSlicingConfig(sharing: number): Manifest {
  const config = [
    'version: v1',
    'flags:',
    '  migStrategy: none',
    'sharing:',
    '  timeSlicing:',
    '    resources:',
    `      - name: ${K8S_GPU_RESOURCE}`,
    `        replicas: ${sharing}`,
    '',
  ].join('\n');
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'time-slicing-config' },
    data: { any: config },
  };
}
