// A volume copy put back into the volume itself, by name: never through a path inside a service's
// container, which may have moved since the backup (the copy would land in the container's own
// filesystem and the volume be left empty). The old content stays until the new is complete:
// the copy is extracted into a hidden folder of the volume, counted against what the archive
// held, and only then swapped in by renames. Interrupted or failed before the swap, the volume
// keeps what it had.
import { execa } from 'execa';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../../errors.js';
import { LABELS } from '../../labels.js';
import { dockerCliEnvironment } from '../docker.js';
import type { ExecContext, HelperLabels } from './services.js';

const MOUNT = '/stackctl-volume';

/** What the archive held: its entries (folders, files, links) and the bytes of its files. */
export interface ArchiveCount {
  readonly entries: number;
  readonly bytes: number;
}

export type VolumeRestoreState =
  /** The new content is in place. */
  | { readonly state: 'restored'; readonly count: ArchiveCount }
  /** Nothing changed: the volume holds what it held before. */
  | { readonly state: 'kept'; readonly reason: string };

/** Checked, then swapped: the new content's single top folder must hold what the archive did. */
const SWAP_SCRIPT = [
  'set -e',
  'cd "$1"',
  'new=".stackctl-restore-$2"; old=".stackctl-old-$2"',
  'top=$(find "$new" -mindepth 1 -maxdepth 1)',
  '[ -n "$top" ] && [ -d "$top" ] && [ "$(find "$new" -mindepth 1 -maxdepth 1 | wc -l)" -eq 1 ] || { echo "the copy has no single top folder" >&2; exit 3; }',
  'entries=$(find "$top" | wc -l)',
  'bytes=$(find "$top" -type f -exec stat -c %s {} + | awk \'{ s += $1 } END { printf "%d", s }\')',
  '[ "$entries" -eq "$3" ] && [ "$bytes" -eq "$4" ] || { echo "the copy holds $entries entries and $bytes bytes, the archive $3 and $4" >&2; exit 4; }',
  'mkdir "$old"',
  'find . -mindepth 1 -maxdepth 1 ! -name "$new" ! -name "$old" -exec mv -- {} "$old"/ \\;',
  'find "$top" -mindepth 1 -maxdepth 1 -exec mv -- {} . \\;',
  'chown "$(stat -c %u:%g "$top")" . && chmod "$(stat -c %a "$top")" .',
  'rm -rf -- "$new" "$old"',
].join('\n');

function run(args: string[], ctx: ExecContext, options: { input?: Readable; cancellable: boolean }) {
  const child = execa('docker', args, {
    env: dockerCliEnvironment(ctx.env),
    reject: false,
    ...(options.cancellable && ctx.signal ? { cancelSignal: ctx.signal } : {}),
    stdin: options.input ? 'pipe' : 'ignore',
  });
  if (options.input && child.stdin) pipeline(options.input, child.stdin).catch(() => child.stdin?.destroy());
  return child;
}

const lastLine = (text: unknown): string =>
  (typeof text === 'string' ? text : '').trim().split('\n').filter(Boolean).at(-1) ?? '';

/** Counts a tar stream's entries and file bytes as it passes through, unchanged. */
async function counting(): Promise<{ through: Transform; count: () => Promise<ArchiveCount> }> {
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  let entries = 0;
  let bytes = 0;
  const sizes = new Map<string, number>();
  extract.on('entry', (header, stream, next) => {
    entries += 1;
    const name = header.name.replace(/\/+$/, '');
    if (header.type === 'file' || header.type === 'contiguous-file') {
      bytes += header.size ?? 0;
      sizes.set(name, header.size ?? 0);
    } else if (header.type === 'link') bytes += sizes.get((header.linkname ?? '').replace(/\/+$/, '')) ?? 0;
    stream.on('end', next);
    stream.resume();
  });
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  const through = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      // Passed on once the counter took it: its pace is the copy's.
      if (extract.write(chunk)) done(null, chunk);
      else extract.once('drain', () => done(null, chunk));
    },
    flush(done) {
      extract.end(Buffer.alloc(0));
      done();
    },
  });
  return { through, count: async () => (await finished, { entries, bytes }) };
}

/**
 * Replaces a volume's content with a `docker cp` archive of it (one top folder). The service using
 * the volume must be stopped. Runs one-off containers of `image` (sh, find, mv, stat, awk) as
 * root on no network, labelled as stackctl's.
 */
export async function restoreVolume(
  volume: string,
  image: string,
  archive: Readable,
  restoreId: string,
  labels: HelperLabels,
  ctx: ExecContext,
): Promise<VolumeRestoreState> {
  const labelArgs = [
    '--label',
    `${LABELS.project}=${labels.project}`,
    '--label',
    `${LABELS.environment}=${labels.environment}`,
    '--label',
    `${LABELS.stack}=restore`,
  ];
  const helper = (script: string, args: string[], cancellable: boolean) =>
    run(
      [
        'run',
        '--rm',
        ...labelArgs,
        '--network',
        'none',
        '--user',
        '0',
        '-v',
        `${volume}:${MOUNT}`,
        '--entrypoint',
        'sh',
        image,
        '-c',
        script,
        'stackctl-restore',
        ...args,
      ],
      ctx,
      { cancellable },
    );
  const staging = `${MOUNT}/.stackctl-restore-${restoreId}`;
  const prepared = await helper(
    'set -e; cd "$1"; for old in .stackctl-old-*; do [ -e "$old" ] && { echo "$old is left from an interrupted restore: look into it before restoring again" >&2; exit 5; }; done; rm -rf .stackctl-restore-*; mkdir "$2"',
    [MOUNT, staging],
    true,
  );
  if (prepared.exitCode !== 0)
    return ctx.signal?.aborted === true
      ? { state: 'kept', reason: 'interrupted before the copy began' }
      : Promise.reject(
          new StackctlError('E_RUNTIME', `preparing volume ${volume} failed: ${lastLine(prepared.stderr)}`, {
            hint: `it runs a one-off container of the service's image (${image.slice(0, 40)}), which needs sh, find, mv and stat`,
          }),
        );
  const cleanUp = async (): Promise<void> => {
    await helper('rm -rf -- "$1"', [staging], false);
  };
  // The copy goes into a created (never started) container that mounts the volume.
  const created = await run(
    ['create', ...labelArgs, '--network', 'none', '-v', `${volume}:${MOUNT}`, '--entrypoint', 'sh', image],
    ctx,
    { cancellable: false },
  );
  if (created.exitCode !== 0) {
    await cleanUp();
    throw new StackctlError(
      'E_RUNTIME',
      `could not create a helper for volume ${volume}: ${lastLine(created.stderr)}`,
    );
  }
  const holder = String(created.stdout).trim();
  try {
    const counter = await counting();
    pipeline(archive, counter.through).catch(() => undefined);
    const copy = await run(['cp', '-', `${holder}:${staging}`], ctx, {
      input: counter.through,
      cancellable: true,
    });
    if (copy.exitCode !== 0 || copy.isCanceled || ctx.signal?.aborted === true) {
      await cleanUp();
      if (ctx.signal?.aborted === true) return { state: 'kept', reason: 'interrupted during the copy' };
      throw new StackctlError('E_RUNTIME', `copying into volume ${volume} failed: ${lastLine(copy.stderr)}`, {
        hint: `volume ${volume} kept its previous content`,
      });
    }
    const count = await counter.count();
    // Renames only, and never cut short: once begun, the swap is let finish.
    const swapped = await helper(
      SWAP_SCRIPT,
      [MOUNT, restoreId, String(count.entries), String(count.bytes)],
      false,
    );
    if (swapped.exitCode !== 0) {
      await cleanUp();
      throw new StackctlError(
        'E_RUNTIME',
        `the restored copy of volume ${volume} is not whole: ${lastLine(swapped.stderr)}`,
        {
          hint: `volume ${volume} kept its previous content; verify the backup (stackctl backup verify)`,
        },
      );
    }
    return { state: 'restored', count };
  } finally {
    await run(['rm', '-f', holder], ctx, { cancellable: false });
  }
}
