// A service's pod on Kubernetes: its storage (claims, shared claims, config files, host paths) and
// its container's environment, with every secret a reference to the environment's Secret.
import { posix } from 'node:path';
import type { StackFile } from '../../schema/types.js';
import {
  secretHolding,
  unescapeCompose,
  type ComposeResources,
  type ComposeService,
} from '../compose-document.js';
import { dnsLabel, type Manifest } from './manifest.js';

/** The extended resource the NVIDIA device plugin advertises. */
export const K8S_GPU_RESOURCE = 'nvidia.com/gpu';
/** Where a secret the image reads from a file is mounted. */
const SECRET_FILE_DIR = '/run/secrets';

/** Requested size of a volume claim by the kind of data it holds. */
const CLAIM_SIZES: Readonly<Record<string, string>> = {
  db: '20Gi',
  models: '100Gi',
  cache: '5Gi',
  logs: '20Gi',
  app: '5Gi',
  'test-results': '5Gi',
};

export function claimSize(file: StackFile, volume: string): string {
  return CLAIM_SIZES[file.volumes[volume]?.data ?? 'app'] ?? '5Gi';
}

export interface PodStorage {
  readonly mounts: Manifest[];
  readonly volumes: Manifest[];
  /** Claims of its own (the workload is then a StatefulSet). */
  readonly claimTemplates: Manifest[];
  /** Generated config files it mounts (absolute paths): a ConfigMap <service>-config. */
  readonly configFiles: string[];
  readonly notes: string[];
}

/**
 * Where each mount of a service comes from on a cluster: a named volume of its own is a claim
 * template, one several services share a claim of its own, a generated file a ConfigMap key, a host
 * path outside the project a hostPath, anything else an empty folder (with a note).
 */
export function podStorage(
  name: string,
  service: ComposeService,
  context: {
    file: StackFile;
    root: string;
    shared: ReadonlySet<string>;
    mountedFiles: ReadonlyMap<string, string>;
  },
): PodStorage {
  const storage: PodStorage = { mounts: [], volumes: [], claimTemplates: [], configFiles: [], notes: [] };
  for (const [index, mount] of (service.volumes ?? []).entries()) {
    const source = mount.source ?? '';
    const readOnly = mount.read_only === true ? { readOnly: true } : {};
    if (mount.type === 'volume' && source) {
      const volumeName = dnsLabel(source);
      storage.mounts.push({ name: volumeName, mountPath: mount.target, ...readOnly });
      if (context.shared.has(source))
        storage.volumes.push({ name: volumeName, persistentVolumeClaim: { claimName: volumeName } });
      else
        storage.claimTemplates.push({
          metadata: { name: volumeName },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: claimSize(context.file, source) } },
          },
        });
      continue;
    }
    const volumeName = `mount-${index}`;
    if (mount.type === 'bind' && context.mountedFiles.has(source)) {
      const key = posix.basename(source);
      storage.configFiles.push(source);
      storage.mounts.push({ name: volumeName, mountPath: mount.target, subPath: key, readOnly: true });
      storage.volumes.push({
        name: volumeName,
        configMap: { name: `${name}-config`, items: [{ key, path: key }] },
      });
      continue;
    }
    storage.mounts.push({ name: volumeName, mountPath: mount.target, ...readOnly });
    if (mount.type === 'bind' && posix.isAbsolute(source) && !isInside(context.root, source)) {
      const socket = source.endsWith('.sock');
      storage.volumes.push({
        name: volumeName,
        hostPath: { path: source, type: socket ? 'Socket' : 'Directory' },
      });
      storage.notes.push(
        socket
          ? `${name} mounts the socket ${source} from the node (hostPath): nodes whose runtime is containerd or CRI-O have no Docker socket`
          : `${name} mounts ${source} from the node (hostPath): it must exist on the node it runs on`,
      );
      continue;
    }
    storage.volumes.push({ name: volumeName, emptyDir: {} });
    if (mount.type === 'bind')
      storage.notes.push(
        `${name} mounts ${posix.relative(context.root, source) || source} from the project: it starts empty on a cluster (give it a volume or bake it into the image)`,
      );
  }
  return storage;
}

export interface ContainerEnvironment {
  /** In order: secret variables other values refer to first (Kubernetes expands $(NAME) from earlier ones). */
  readonly env: Manifest[];
  readonly command?: string[];
  readonly args?: string[];
  /** Secret keys mounted as files under /run/secrets (the image reads <VARIABLE>_FILE). */
  readonly secretFiles: { key: string; path: string }[];
}

/**
 * The container's environment, command and arguments with no secret value in them: a value that is
 * a secret becomes a reference to the Secret's key, or a mounted file where the image reads one; a
 * value that embeds a secret refers to it as $(NAME).
 */
export function containerEnvironment(
  service: ComposeService,
  options: {
    secrets: ReadonlyMap<string, string>;
    secretName: string;
    /** Environment key -> the variable the image reads a file path from. */
    fileVariables: Readonly<Record<string, string>>;
  },
): ContainerEnvironment {
  const { secrets } = options;
  const secretRef = (key: string): Manifest => ({ secretKeyRef: { name: options.secretName, key } });
  const referenced = new Set<string>();
  const refer = (text: string): string => {
    const referred = referSecrets(text, secrets);
    for (const variable of referred.variables) referenced.add(variable);
    return referred.text;
  };
  const secretFiles: { key: string; path: string }[] = [];
  const direct: Manifest[] = [];
  const plain: Manifest[] = [];
  for (const [key, raw] of Object.entries(service.environment ?? {})) {
    if (raw === null) continue;
    const exact = secretHolding(unescapeCompose(raw), secrets);
    const fileVariable = options.fileVariables[key];
    if (exact !== undefined && fileVariable !== undefined) {
      const path = exact.toLowerCase();
      secretFiles.push({ key: exact, path });
      plain.push({ name: fileVariable, value: `${SECRET_FILE_DIR}/${path}` });
    } else if (exact !== undefined) {
      direct.push({ name: key, valueFrom: secretRef(exact) });
    } else {
      plain.push({ name: key, value: refer(raw) });
    }
  }
  const command = service.entrypoint?.map(refer);
  const args = service.command?.map(refer);
  const referencedFirst = [...referenced]
    .filter((variable) => !direct.some((entry) => entry['name'] === variable))
    .sort()
    .map((variable) => ({ name: variable, valueFrom: secretRef(variable) }));
  return {
    env: [...referencedFirst, ...direct, ...plain],
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    secretFiles,
  };
}

/** The volume and mount that put secret keys as files under /run/secrets. */
export function secretFileVolume(
  secretName: string,
  items: readonly { key: string; path: string }[],
): { volume: Manifest; mount: Manifest } {
  return {
    volume: { name: 'secret-files', secret: { secretName, items, defaultMode: 0o400 } },
    mount: { name: 'secret-files', mountPath: SECRET_FILE_DIR, readOnly: true },
  };
}

/** Requests from compose's reservations, limits from its limits, and the profile's GPUs in both. */
export function containerResources(
  resources: { limits?: ComposeResources; reservations?: ComposeResources } | undefined,
  gpus: number,
): Manifest | undefined {
  const convert = (values: ComposeResources | undefined): Record<string, string> => {
    const out: Record<string, string> = {};
    if (values?.cpus !== undefined && Number(values.cpus) > 0) out['cpu'] = String(Number(values.cpus));
    if (values?.memory !== undefined && Number(values.memory) > 0)
      out['memory'] = String(Number(values.memory));
    return out;
  };
  const limits = convert(resources?.limits);
  const requests = convert(resources?.reservations);
  if (gpus > 0) {
    limits[K8S_GPU_RESOURCE] = String(gpus);
    requests[K8S_GPU_RESOURCE] = String(gpus);
  }
  if (Object.keys(limits).length === 0 && Object.keys(requests).length === 0) return undefined;
  return {
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
  };
}

/** A compose string for Kubernetes, every secret in it replaced by $(NAME), and the names it refers to. */
function referSecrets(
  raw: string,
  secrets: ReadonlyMap<string, string>,
): { text: string; variables: string[] } {
  // Kubernetes expands $(NAME) in env, command and args: a literal $( is written $$(.
  let text = unescapeCompose(raw).replaceAll('$(', '$$$$(');
  const variables: string[] = [];
  for (const [variable, secret] of [...secrets].sort((a, b) => b[1].length - a[1].length)) {
    if (secret === '' || !text.includes(secret)) continue;
    text = text.split(secret).join(`$(${variable})`);
    variables.push(variable);
  }
  return { text, variables };
}

function isInside(root: string, path: string): boolean {
  const relative = posix.relative(root, path);
  return relative !== '' && !relative.startsWith('..') && !posix.isAbsolute(relative);
}
