// The models in an environment's vLLM cache volume: listed (size, revisions, whether complete,
// whether the environment serves it) and removed (asked first; never the one it serves).
import { openVolumeShell, volumeExists, VOLUME_MOUNT, type VolumeShell } from '../effects/volume-shell.js';
import { acquireLock } from '../effects/lock.js';
import { StackctlError } from '../errors.js';
import { COMPOSE_LABELS, LABELS } from '../labels.js';
import { projectNameOf, type EnvironmentModel } from '../model/environment.js';
import type { LoadedStack } from '../model/stack.js';
import { hfCacheMountOf, repoFolder, repoOfFolder, type HfCacheMount } from '../plan/hf-cache.js';
import { vllmSettingsOf } from '../plan/vllm-settings.js';
import { effectiveReader } from './effective-config.js';
import { resolveRun } from './run.js';

export interface CachedModel {
  readonly repo: string;
  readonly bytes: number;
  /** Branch -> commit, from refs/. */
  readonly refs: Readonly<Record<string, string>>;
  readonly snapshots: readonly string[];
  /** Files still downloading (a pull to resume). */
  readonly partialFiles: number;
  /** The environment's vLLM serves it (VLLM_MODEL). */
  readonly inUse: boolean;
}

export interface ModelCacheListing {
  readonly env: string;
  readonly volume: string;
  /** False when the volume does not exist yet (nothing pulled, never started). */
  readonly exists: boolean;
  readonly models: readonly CachedModel[];
}

export interface ModelCacheIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** An environment's vLLM service and the cache volume it mounts, read once. */
export interface CacheContext {
  readonly model: EnvironmentModel;
  readonly service: string;
  /** What VLLM_MODEL (the service's --model) names. */
  readonly vllmModel: string | undefined;
  /** The repository the environment serves, if VLLM_MODEL names one. */
  readonly served: string | undefined;
  /** The environment's stored Hugging Face token. */
  readonly hfToken: string | undefined;
  /** Undefined when the service mounts no volume at its Hugging Face cache. */
  readonly mount: HfCacheMount | undefined;
}

/** The environment's vLLM cache; undefined when it runs no vLLM. */
export async function cacheContextOf(
  stack: LoadedStack,
  envName: string,
  io: ModelCacheIo,
): Promise<CacheContext | undefined> {
  const run = await resolveRun(stack, { envName });
  const model = run.model(run.likelyGpu.selection);
  const vllm = vllmSettingsOf(model);
  if (!vllm) return undefined;
  const document = await effectiveReader(stack, io)(model);
  return {
    model,
    service: vllm.service,
    vllmModel: vllm.model,
    served: /^([\w.-]+\/[\w.-]+)(?:@.*)?$/.exec(vllm.model ?? '')?.[1],
    hfToken: run.store?.secrets['HF_TOKEN']?.value,
    mount: document === undefined ? undefined : hfCacheMountOf(document, vllm.service),
  };
}

/** A shell on the cache volume (created with compose's labels when missing), its helper labelled as stackctl's. */
export function openCacheShell(
  model: EnvironmentModel,
  mount: HfCacheMount,
  purpose: string,
  io: ModelCacheIo,
): Promise<VolumeShell> {
  return openVolumeShell(
    mount.volumeName,
    mount.image,
    {
      volume: {
        ...mount.volumeLabels,
        [COMPOSE_LABELS.project]: model.project,
        [COMPOSE_LABELS.volume]: mount.volumeKey,
      },
      helper: {
        [LABELS.project]: projectNameOf(model),
        [LABELS.environment]: model.name,
        [LABELS.stack]: purpose,
      },
    },
    io,
  );
}

const LIST = [
  'cd "$1" 2>/dev/null || exit 0',
  'for d in models--*; do',
  '  [ -d "$d" ] || continue',
  '  size=$(find "$d/blobs" -type f ! -name "*.incomplete" -exec stat -c %s {} + 2>/dev/null | awk \'{ s += $1 } END { printf "%d", s }\')',
  '  partial=$(find "$d/blobs" -type f -name "*.incomplete" 2>/dev/null | wc -l)',
  '  refs=""; for r in "$d"/refs/*; do [ -f "$r" ] && refs="$refs${r##*/}=$(cat "$r"),"; done',
  '  snaps=$(ls "$d/snapshots" 2>/dev/null | tr "\\n" ",")',
  '  echo "$d|${size:-0}|$partial|$refs|$snaps"',
  'done',
].join('\n');

/** The models in the environment's cache volume (the volume is not created to look). */
export async function listCachedModels(
  stack: LoadedStack,
  envName: string,
  io: ModelCacheIo,
): Promise<ModelCacheListing | undefined> {
  const context = await cacheContextOf(stack, envName, io);
  const mount = context?.mount;
  if (!context || !mount) return undefined;
  const volume = mount.volumeName;
  if (!(await volumeExists(volume, io))) return { env: envName, volume, exists: false, models: [] };
  const shell = await openCacheShell(context.model, mount, 'model-cache', io);
  try {
    const listed = await shell.run(LIST, [hubFolder(mount)]);
    const models = listed.stdout
      .split('\n')
      .filter((line) => line.includes('|'))
      .flatMap((line): CachedModel[] => {
        const [folder = '', size = '0', partial = '0', refs = '', snapshots = ''] = line.split('|');
        const repo = repoOfFolder(folder);
        if (!repo) return [];
        return [
          {
            repo,
            bytes: Number(size) || 0,
            refs: Object.fromEntries(
              refs
                .split(',')
                .filter(Boolean)
                .map((entry) => entry.split('=') as [string, string]),
            ),
            snapshots: snapshots.split(',').filter(Boolean),
            partialFiles: Number(partial.trim()) || 0,
            inUse: repo === context.served,
          },
        ];
      });
    return { env: envName, volume, exists: true, models };
  } finally {
    await shell.close();
  }
}

export interface ModelRemoval {
  readonly env: string;
  readonly repo: string;
  readonly volume: string;
  readonly bytes: number;
}

/**
 * Removes a model from the environment's cache volume, under the environment's lock, after
 * `confirm` (given what will go). The model the environment serves is refused.
 */
export async function removeCachedModel(
  stack: LoadedStack,
  request: { readonly envName: string; readonly repo: string },
  io: ModelCacheIo,
  confirm: (removal: ModelRemoval) => Promise<void>,
): Promise<ModelRemoval> {
  const { envName, repo } = request;
  const context = await cacheContextOf(stack, envName, io);
  const mount = context?.mount;
  if (!context || !mount)
    throw new StackctlError('E_USAGE', `environment ${envName} has no vLLM cache volume`, {
      hint: 'name an environment that runs vLLM',
    });
  if (context.served === repo)
    throw new StackctlError('E_REFUSED', `${envName} serves ${repo} (VLLM_MODEL): it stays in the cache`, {
      hint: `switch ${envName} to another model first: stackctl models switch ${envName} ORG/NAME`,
    });
  const listing = await listCachedModels(stack, envName, io);
  const cached = listing?.models.find((entry) => entry.repo === repo);
  if (!cached)
    throw new StackctlError('E_USAGE', `${repo} is not in ${envName}'s cache volume`, {
      hint: `see what is: stackctl models list --env ${envName}`,
    });
  const removal = { env: envName, repo, volume: mount.volumeName, bytes: cached.bytes };
  await confirm(removal);
  const lock = await acquireLock(stack.root, envName, `models remove ${repo}`);
  const shell = await openCacheShell(context.model, mount, 'model-cache', io);
  try {
    const result = await shell.run('rm -rf -- "$1"', [`${hubFolder(mount)}/${repoFolder(repo)}`]);
    if (result.exitCode !== 0)
      throw new StackctlError('E_RUNTIME', `cannot remove ${repo}: ${result.stderr.trim()}`, {
        hint: 'the volume may be read-only',
      });
    return removal;
  } finally {
    await shell.close();
    await lock.release();
  }
}

/** The hub cache folder as the helper sees it. */
export function hubFolder(mount: HfCacheMount): string {
  return [VOLUME_MOUNT, mount.hubPath].filter(Boolean).join('/');
}
