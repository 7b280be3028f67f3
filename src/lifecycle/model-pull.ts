// `models pull` as a workflow: the environment's model downloaded from the hub into the volume its
// vLLM service mounts as the Hugging Face cache, in huggingface_hub's layout, so vLLM starts
// offline. Each file grows as blobs/<etag>.incomplete in the volume (a later pull resumes it with a
// range request), is checked against the hub's sha256 (or git blob id), and only then appears under
// its name; the snapshot links and the branch's ref come last.
import { createHash } from 'node:crypto';
import {
  readRevisionFiles,
  resolveUrl,
  streamHubFile,
  HubError,
  type HubOptions,
} from '../effects/model-source.js';
import { acquireLock } from '../effects/lock.js';
import type { VolumeShell } from '../effects/volume-shell.js';
import { writePulledModel } from '../effects/state.js';
import { StackctlError } from '../errors.js';
import type { HubFile } from '../host/hf-model.js';
import type { LoadedStack } from '../model/stack.js';
import { blobName, filesToPull, repoFolder, safeRepoPath } from '../plan/hf-cache.js';
import { DEFAULT_HF_ENDPOINT } from './models.js';
import { cacheContextOf, hubFolder, openCacheShell, type CacheContext } from './model-cache.js';

export interface ModelPullRequest {
  readonly envName: string;
  /** org/name[@revision]; undefined for the environment's VLLM_MODEL. */
  readonly model: string | undefined;
}

export interface ModelPullIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly signal: AbortSignal;
}

/** What a person sees while a model downloads. */
export interface ModelPullView {
  /** What will be fetched: every file, those already complete, and the bytes still to come. */
  planned(plan: { repo: string; sha: string; files: number; present: number; bytesToFetch: number }): void;
  /** Bytes arrived (called often; the view throttles). */
  progress(update: { file: string; doneBytes: number; totalBytes: number }): void;
  /** A file is complete and checked. */
  fileDone(file: string, bytes: number): void;
  /** A download broke off and is tried again from where it stopped. */
  retrying(file: string, reason: string): void;
}

export interface ModelPullOutcome {
  readonly repo: string;
  readonly revision: string;
  readonly sha: string;
  readonly volume: string;
  readonly files: readonly {
    readonly name: string;
    readonly size: number;
    readonly state: 'present' | 'downloaded';
  }[];
  readonly downloadedBytes: number;
}

const ATTEMPTS = 4;

/** Pulls under the environment's lock, and records what the cache now holds for the next start. */
export async function pullModel(
  stack: LoadedStack,
  request: ModelPullRequest,
  io: ModelPullIo,
  view: ModelPullView,
): Promise<ModelPullOutcome> {
  const context = await cacheContextOf(stack, request.envName, io);
  if (!context)
    throw new StackctlError(
      'E_USAGE',
      `environment ${request.envName} runs no vLLM service: there is no cache to fill`,
      {
        hint: 'pull for an environment that runs vLLM',
      },
    );
  const name = request.model ?? context.vllmModel ?? '';
  const id = hubModelId(name);
  if (!id)
    throw new StackctlError(
      'E_USAGE',
      `${name || 'the model'} is not a Hugging Face model id (org/name): nothing to pull`,
      {
        hint: name.startsWith('/')
          ? 'a folder the service mounts is used as it is'
          : 'name it as org/name[@revision]',
      },
    );
  const lock = await acquireLock(stack.root, request.envName, `models pull ${request.envName}`);
  try {
    const outcome = await fillCache(context, id, io, view);
    await recordPull(stack.root, request.envName, outcome);
    return outcome;
  } finally {
    await lock.release();
  }
}

/** org/name and the revision (main when none is given) of a hub id, `org/name[@revision]`. */
export function hubModelId(name: string): { repo: string; revision: string } | undefined {
  const id = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(name);
  return id?.[1] ? { repo: id[1], revision: id[2] ?? 'main' } : undefined;
}

export async function recordPull(root: string, envName: string, outcome: ModelPullOutcome): Promise<void> {
  await writePulledModel(root, envName, {
    repo: outcome.repo,
    revision: outcome.revision,
    sha: outcome.sha,
    volume: outcome.volume,
    pulledAt: new Date().toISOString(),
  });
}

/**
 * Downloads what the cache volume lacks of `repo` at `revision` and links the snapshot. The caller
 * holds the environment's lock (a pull, or a start).
 */
export async function fillCache(
  context: CacheContext,
  id: { readonly repo: string; readonly revision: string },
  io: ModelPullIo,
  view: ModelPullView,
): Promise<ModelPullOutcome> {
  const { repo, revision } = id;
  const mount = context.mount;
  if (!mount)
    throw new StackctlError(
      'E_USAGE',
      `${context.service} mounts no volume at its Hugging Face cache (HF_HOME)`,
      {
        hint: `mount a named volume at /root/.cache/huggingface in ${context.service}`,
      },
    );
  const hub: HubOptions = {
    endpoint: io.env['HF_ENDPOINT'] || DEFAULT_HF_ENDPOINT,
    token: context.hfToken ?? (io.env['HF_TOKEN'] || undefined),
    signal: io.signal,
  };
  const { sha, files } = await asUserError(readRevisionFiles(repo, revision, hub));
  const wanted = filesToPull(files);
  for (const file of wanted)
    if (!safeRepoPath(file.name) || !/^[0-9a-f]{40,64}$/.test(blobName(file)))
      throw new StackctlError('E_RUNTIME', `the hub lists ${file.name} without a usable name or checksum`, {
        hint: 'check HF_ENDPOINT: it must be a Hugging Face hub',
      });
  const shell = await openCacheShell(context.model, mount, 'model-pull', io);
  try {
    const base = `${hubFolder(mount)}/${repoFolder(repo)}`;
    const sizes = await blobSizes(shell, base);
    const missing = wanted.filter((file) => sizes.get(blobName(file)) !== file.size);
    const bytesToFetch = missing.reduce(
      (sum, file) => sum + file.size - Math.min(file.size, sizes.get(`${blobName(file)}.incomplete`) ?? 0),
      0,
    );
    view.planned({ repo, sha, files: wanted.length, present: wanted.length - missing.length, bytesToFetch });
    let done = 0;
    for (const file of missing) {
      done += await download(shell, base, repo, sha, file, hub, view, (bytes) => {
        view.progress({ file: file.name, doneBytes: done + bytes, totalBytes: bytesToFetch });
      });
      view.fileDone(file.name, file.size);
    }
    await link(shell, base, sha, revision, wanted);
    return {
      repo,
      revision,
      sha,
      volume: mount.volumeName,
      files: wanted.map((file) => ({
        name: file.name,
        size: file.size,
        state: missing.includes(file) ? 'downloaded' : 'present',
      })),
      downloadedBytes: done,
    };
  } finally {
    await shell.close();
  }
}

/** Sizes of the blobs (and partial blobs) already in the volume, by blob name. */
async function blobSizes(shell: VolumeShell, base: string): Promise<Map<string, number>> {
  const listed = await shell.run(
    'cd "$1" 2>/dev/null || exit 0; for f in blobs/*; do [ -f "$f" ] && echo "$(stat -c %s "$f") ${f#blobs/}"; done; exit 0',
    [base],
  );
  const sizes = new Map<string, number>();
  for (const line of listed.stdout.split('\n')) {
    const match = /^(\d+) (.+)$/.exec(line.trim());
    if (match?.[2]) sizes.set(match[2], Number(match[1]));
  }
  return sizes;
}

const APPEND = 'mkdir -p "$(dirname "$1")" && cat >> "$1"';
const SIZE = 'stat -c %s "$1" 2>/dev/null || echo 0';
const SHA256 = 'sha256sum "$1" | cut -d " " -f 1';
const FINISH = 'mv -f "$1" "$2"';
const DISCARD = 'rm -f "$1"';

/** Downloads one file into blobs/<etag>.incomplete (resuming it), checks it, and renames it. */
async function download(
  shell: VolumeShell,
  base: string,
  repo: string,
  sha: string,
  file: HubFile,
  hub: HubOptions,
  view: ModelPullView,
  onBytes: (bytes: number) => void,
): Promise<number> {
  const blob = `${base}/blobs/${blobName(file)}`;
  const partial = `${blob}.incomplete`;
  const url = resolveUrl(hub.endpoint, repo, sha, file.name);
  let fetched = 0;
  for (let attempt = 1; ; attempt += 1) {
    let have = Number((await shell.run(SIZE, [partial])).stdout.trim()) || 0;
    if (have > file.size) {
      await shell.run(DISCARD, [partial]);
      have = 0;
    }
    const gitBlob = file.sha256 === undefined ? createHash('sha1').update(`blob ${file.size}\0`) : undefined;
    if (gitBlob && have > 0) {
      // A git-kept file is small: fetched again whole, its hash needs every byte.
      await shell.run(DISCARD, [partial]);
      have = 0;
    }
    try {
      if (have < file.size)
        await shell.run(APPEND, [partial], async (write) => {
          await streamHubFile(url, have, hub, async (chunk) => {
            gitBlob?.update(chunk);
            await write(chunk);
            fetched += chunk.length;
            onBytes(fetched);
          });
        });
    } catch (error) {
      if (hub.signal.aborted || !(error instanceof HubError) || attempt >= ATTEMPTS) throw userError(error);
      view.retrying(file.name, error.message);
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      continue;
    }
    const size = Number((await shell.run(SIZE, [partial])).stdout.trim()) || 0;
    if (size < file.size && attempt < ATTEMPTS) {
      view.retrying(file.name, `${size} of ${file.size} bytes arrived`);
      continue;
    }
    const actual = gitBlob ? gitBlob.digest('hex') : (await shell.run(SHA256, [partial])).stdout.trim();
    const expected = blobName(file);
    if (size !== file.size || actual !== expected) {
      await shell.run(DISCARD, [partial]);
      throw new StackctlError(
        'E_RUNTIME',
        `${repo}/${file.name} does not match the hub's checksum (${size} of ${file.size} bytes, ${file.sha256 ? 'sha256' : 'git blob'} ${actual.slice(0, 16)}… instead of ${expected.slice(0, 16)}…): refused, nothing of it kept`,
        { hint: 'pull again; if it repeats, the hub or a proxy between serves other bytes than it lists' },
      );
    }
    await shell.run(FINISH, [partial, blob]);
    return fetched;
  }
}

/** The snapshot's links to the blobs, and the branch's ref: what makes the model visible to vLLM. */
async function link(
  shell: VolumeShell,
  base: string,
  sha: string,
  revision: string,
  files: readonly HubFile[],
): Promise<void> {
  const args = files.flatMap((file) => {
    const depth = file.name.split('/').length - 1;
    return [file.name, `${'../'.repeat(2 + depth)}blobs/${blobName(file)}`];
  });
  const script = [
    'set -e',
    'base="$1"; sha="$2"; ref="$3"; shift 3',
    'while [ $# -gt 0 ]; do',
    '  path="$base/snapshots/$sha/$1"; mkdir -p "$(dirname "$path")"',
    '  ln -sfn "$2" "$path.stackctl-link" && mv -f "$path.stackctl-link" "$path"',
    '  shift 2',
    'done',
    '[ -n "$ref" ] && mkdir -p "$base/refs" && printf %s "$sha" > "$base/refs/.$ref.tmp" && mv -f "$base/refs/.$ref.tmp" "$base/refs/$ref"',
    'exit 0',
  ].join('\n');
  const ref = /^[0-9a-f]{40}$/.test(revision) || revision.includes('/') ? '' : revision;
  const result = await shell.run(script, [base, sha, ref, ...args]);
  if (result.exitCode !== 0)
    throw new StackctlError(
      'E_RUNTIME',
      `cannot link the snapshot in the cache volume: ${result.stderr.trim()}`,
      {
        hint: 'the volume may be full or read-only',
      },
    );
}

async function asUserError<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw userError(error);
  }
}

/** A hub failure as the user's error, with what to do about it; anything else as it was. */
function userError(error: unknown): unknown {
  if (!(error instanceof HubError)) return error;
  const hint =
    error.status === 401 || error.status === 403
      ? 'store a token with read access: stackctl secrets set ENV HF_TOKEN (from stdin)'
      : error.status === 404
        ? 'check the model id and revision (HF_ENDPOINT for a mirror)'
        : 'check the network (HF_ENDPOINT for a mirror); run the pull again to resume';
  return new StackctlError('E_RUNTIME', error.message, { hint });
}
