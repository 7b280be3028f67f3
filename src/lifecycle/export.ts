// `export swarm` and `export k8s`: an environment resolved as a start would resolve it, rendered for a
// cluster and written, deploying nothing.
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ensureDirectory, writeFileAtomic } from '../effects/files.js';
import type { LoadedStack } from '../effects/schema-file.js';
import { renderKustomize, type K8sExport } from '../plan/k8s/kustomize.js';
import type { SecretStoreRef } from '../plan/k8s/secrets.js';
import type { GpuMode } from '../plan/gpu-layout.js';
import type { SwarmStack } from '../plan/swarm.js';
import { resolveForCluster, type ClusterSource } from './cluster.js';
import type { EngineLookup, StartIo, StartRequest, StartView } from './start.js';
import { swarmFileText, swarmKnowsStartInterval, swarmStackOf } from './swarm.js';

export interface ExportRequest {
  readonly envName: string;
  readonly gpu?: GpuMode;
  /** A file (swarm) or folder (k8s), relative to the working directory. */
  readonly out: string;
}

/** Nothing of a start is shown while exporting. */
const QUIET: StartView = {
  preflight: () => undefined,
  progress: () => undefined,
  serviceChanged: () => undefined,
  stackReady: () => undefined,
  note: () => undefined,
  transfer: () => undefined,
  composeOutput: () => undefined,
};

async function resolved(
  stack: LoadedStack,
  request: ExportRequest,
  engine: EngineLookup,
  io: StartIo,
): Promise<ClusterSource> {
  const startRequest: StartRequest = {
    envName: request.envName,
    stacks: [],
    services: [],
    ...(request.gpu ? { gpu: request.gpu } : {}),
    timeoutMs: 0,
    settleMs: 0,
    wait: false,
    preflight: 'skip',
    dryRun: false,
  };
  const source = await resolveForCluster(stack, startRequest, engine, io, QUIET);
  if (source.kind !== 'ready') throw new Error('an export runs no preflight');
  return source;
}

export async function exportSwarm(
  stack: LoadedStack,
  request: ExportRequest,
  engine: EngineLookup,
  io: StartIo,
): Promise<{ path: string; swarm: SwarmStack }> {
  const swarm = swarmStackOf(
    await resolved(stack, request, engine, io),
    stack.root,
    await swarmKnowsStartInterval(engine, io.env),
  );
  const path = resolve(io.cwd, request.out);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, swarmFileText(swarm));
  return { path, swarm };
}

export interface KubernetesOptions {
  /** Refer to the secrets through an ExternalSecret of this store instead of writing their values. */
  readonly externalSecrets?: SecretStoreRef;
}

export async function exportKubernetes(
  stack: LoadedStack,
  request: ExportRequest,
  options: KubernetesOptions,
  engine: EngineLookup,
  io: StartIo,
): Promise<{ folder: string; rendered: K8sExport }> {
  const source = await resolved(stack, request, engine, io);
  const rendered = renderKustomize({
    file: stack.file,
    model: source.model,
    effective: source.effective,
    secrets: source.secrets,
    mountedFiles: source.mountedFiles,
    root: stack.root,
    graph: source.plan.graph,
    ...(options.externalSecrets ? { externalSecrets: options.externalSecrets } : {}),
  });
  const folder = resolve(io.cwd, request.out);
  await mkdir(folder, { recursive: true });
  // A folder that holds secret values is the owner's only; its parents are made first.
  const folders = new Map<string, number>();
  for (const file of rendered.files) {
    const inside = dirname(file.path);
    const mode = file.mode === 0o600 ? 0o700 : (folders.get(inside) ?? 0o755);
    folders.set(inside, mode);
  }
  for (const [inside, mode] of [...folders].sort(([a], [b]) => a.length - b.length))
    await ensureDirectory(join(folder, inside), mode);
  for (const file of rendered.files)
    await writeFileAtomic(join(folder, file.path), file.content, { mode: file.mode });
  return { folder, rendered };
}
