// Where a model goes so vLLM finds it offline: the Hugging Face cache layout
// (huggingface_hub's) inside the volume the vLLM service mounts as its cache, read from compose's
// effective configuration (the user's overlay included).
//
//   <HF_HOME>/hub/models--<org>--<name>/blobs/<etag>                 the files' content
//   <HF_HOME>/hub/models--<org>--<name>/snapshots/<commit>/<file>    -> ../../blobs/<etag>
//   <HF_HOME>/hub/models--<org>--<name>/refs/<revision>              the commit a branch points at

import type { HubFile } from '../host/hf-model.js';
import { isObject, namedVolumeAt, serviceOf, stringOf, trimSlash } from './volume-mounts.js';

export const DEFAULT_HF_HOME = '/root/.cache/huggingface';

export interface HfCacheMount {
  readonly service: string;
  /** The image the service runs: it has a shell, and it is on the host once the stack runs. */
  readonly image: string;
  /** The volume's key in the compose file and its name on the engine. */
  readonly volumeKey: string;
  readonly volumeName: string;
  readonly volumeLabels: Readonly<Record<string, string>>;
  /** The hub cache folder inside the volume, relative to its root ('' for the root itself). */
  readonly hubPath: string;
}

/** The cache volume of `service` in compose's effective configuration; undefined when it has none. */
export function hfCacheMountOf(document: unknown, service: string): HfCacheMount | undefined {
  const definition = serviceOf(document, service);
  if (!definition) return undefined;
  const environment = isObject(definition['environment']) ? definition['environment'] : {};
  const hfHome = trimSlash(stringOf(environment['HF_HOME']) ?? DEFAULT_HF_HOME);
  const hubCache = trimSlash(stringOf(environment['HF_HUB_CACHE']) ?? `${hfHome}/hub`);
  const mount = namedVolumeAt(document, service, hubCache);
  if (!mount) return undefined;
  return {
    service,
    image: stringOf(definition['image']) ?? '',
    volumeKey: mount.volumeKey,
    volumeName: mount.volumeName,
    volumeLabels: mount.volumeLabels,
    hubPath: hubCache.slice(mount.target.length).replace(/^\/+/, ''),
  };
}

/** The cache folder of a model repository: models--org--name. */
export function repoFolder(repo: string): string {
  return `models--${repo.split('/').join('--')}`;
}

/** The repository a cache folder holds, back from models--org--name. */
export function repoOfFolder(folder: string): string | undefined {
  const match = /^models--(.+)$/.exec(folder);
  return match?.[1]?.split('--').join('/');
}

// Weight formats vLLM does not read when the repository has safetensors.
const OTHER_WEIGHTS = /\.(bin|pt|pth|h5|msgpack|ckpt|gguf|onnx|tflite|ot)$/;

/**
 * The files vLLM needs from a repository: everything, except other weight formats (and the
 * `original/` checkpoints) when safetensors are there, as vLLM itself downloads.
 */
export function filesToPull(files: readonly HubFile[]): HubFile[] {
  const safetensors = files.some((file) => file.name.endsWith('.safetensors'));
  return files.filter(
    (file) =>
      !file.name.startsWith('.') &&
      !(safetensors && (OTHER_WEIGHTS.test(file.name) || file.name.startsWith('original/'))),
  );
}

/** The name a file's content is kept under in blobs/: its sha256 for LFS files, else its git blob id. */
export function blobName(file: HubFile): string {
  return file.sha256 ?? file.blobId ?? '';
}

/** A file name the hub gave, safe to use as a path below the snapshot (no .., no absolute path). */
export function safeRepoPath(name: string): boolean {
  return (
    name !== '' &&
    !name.startsWith('/') &&
    !name.split('/').some((part) => part === '..' || part === '.' || part === '')
  );
}
