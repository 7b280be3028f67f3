// Where backup sets are kept: a folder (local, or any mounted path) or an S3 bucket. A set is
// written under a temporary name (a .partial folder; for S3, artifacts without a manifest) and
// becomes a backup only when its manifest is written, last: an interrupted backup never looks whole.
import { constants, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../../errors.js';
import type { BackupTierDef } from '../../schema/types.js';
import { isProcessAlive, readRegularText, writeFileAtomic } from '../files.js';
import { MANIFEST_FILE, parseManifest, type BackupManifest } from './manifest.js';

import type { Leftover, SetWriter, TierCredentials, TierStore } from './tier-store.js';
import { measuring } from './tier-store.js';

export type { Leftover, SetWriter, TierCredentials, TierStore, WrittenArtifact } from './tier-store.js';
export { measuring } from './tier-store.js';

/** The store of a tier. S3 credentials come from the secret store (never the command line). */
export async function openTier(
  name: string,
  def: BackupTierDef,
  root: string,
  credentials: () => Promise<TierCredentials>,
): Promise<TierStore> {
  if (def.type === 's3') {
    // The SDK warns on every run that its releases of 2027 will want Node 22; the ones this build
    // ships support Node 20, which engines states: the warning is noise in every backup's output.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    const { S3Tier } = await import('./s3-tier.js');
    return new S3Tier(name, def, await credentials());
  }
  const folder = def.type === 'local' ? resolve(root, def.path ?? 'backups') : def.path;
  if (!isAbsolute(folder)) throw new Error(`tier ${name}: ${folder} is not absolute`);
  return new FolderTier(name, def.type, folder);
}

const PARTIAL = /^\.(.+)\.(\d+)\.partial$/;

/** A tier in a folder: <folder>/<env>/<id>/, written as <folder>/<env>/.<id>.<pid>.partial/ first. */
export class FolderTier implements TierStore {
  constructor(
    readonly name: string,
    readonly kind: 'local' | 'remote',
    private readonly folder: string,
  ) {}

  async begin(environment: string, id: string): Promise<SetWriter> {
    const envFolder = join(this.folder, environment);
    try {
      await mkdir(this.folder, { recursive: true, mode: 0o700 });
      await mkdir(envFolder, { recursive: true, mode: 0o700 });
      if (this.kind === 'local') await chmod(this.folder, 0o700);
    } catch (error) {
      throw new StackctlError(
        'E_RUNTIME',
        `backup tier ${this.name}: cannot write to ${this.folder}: ${String((error as Error).message)}`,
        {
          hint:
            this.kind === 'remote'
              ? 'is the remote path mounted and writable?'
              : 'check the folder and its permissions',
        },
      );
    }
    const partial = join(envFolder, `.${id}.${process.pid}.partial`);
    await mkdir(partial, { mode: 0o700 });
    const final = join(envFolder, id);
    return {
      write: async (file, source, onBytes) => {
        const meter = measuring(onBytes);
        const path = join(partial, file);
        await this.writing(file, async () => {
          await pipeline(source, meter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
          const handle = await open(path, 'r');
          await handle.sync().finally(() => handle.close());
        });
        return meter.result();
      },
      commit: async (manifest) => {
        await this.writing(MANIFEST_FILE, async () => {
          await writeFileAtomic(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {
            mode: 0o600,
          });
          await rename(partial, final);
        });
      },
      abort: async () => {
        await rm(partial, { recursive: true, force: true });
      },
    };
  }

  /** A write into the tier; the file system's refusal (full, read-only, gone) as one line. */
  private async writing(file: string, write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === undefined || error instanceof StackctlError) throw error;
      const reason =
        code === 'ENOSPC' || code === 'EDQUOT'
          ? 'the disk is full'
          : code === 'EROFS'
            ? 'the file system is read-only'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : (error as Error).message;
      throw new StackctlError(
        'E_RUNTIME',
        `backup tier ${this.name}: writing ${file} into ${this.folder} failed: ${reason} (${code})`,
        {
          hint:
            code === 'ENOSPC' || code === 'EDQUOT'
              ? `free space there (stackctl retention cleanup removes expired sets), or back up to another tier with --tier`
              : 'check the folder, its mount and its permissions',
          cause: error,
        },
      );
    }
  }

  async list(environment?: string): Promise<BackupManifest[]> {
    const environments = environment === undefined ? await names(this.folder) : [environment];
    const out: BackupManifest[] = [];
    for (const env of environments) {
      for (const id of await names(join(this.folder, env))) {
        if (id.startsWith('.')) continue;
        const manifest = parseManifest(
          (await readRegularText(join(this.folder, env, id, MANIFEST_FILE)).catch(() => undefined)) ?? '',
        );
        if (manifest && manifest.id === id && manifest.environment === env)
          out.push({ ...manifest, tier: this.name });
      }
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async read(manifest: BackupManifest, file: string): Promise<Readable> {
    const path = this.location(manifest, file);
    // Opened without blocking and checked on the handle: a FIFO put in an artifact's place would
    // hang every reader (verify, restore) where Ctrl-C cannot reach.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = await handle.stat().catch(async (error: unknown) => {
      await handle.close();
      throw error;
    });
    if (!info.isFile()) {
      await handle.close();
      throw new StackctlError('E_RUNTIME', `${path} is not a regular file`, {
        hint: 'the backup set was tampered with; restore another one',
      });
    }
    return handle.createReadStream();
  }

  async remove(manifest: BackupManifest): Promise<void> {
    // Renamed away first, so a removal cut short never leaves a set that looks whole.
    const folder = join(this.folder, manifest.environment, manifest.id);
    const doomed = join(this.folder, manifest.environment, `.${manifest.id}.${process.pid}.partial`);
    await rename(folder, doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  location(manifest: BackupManifest, file: string): string {
    return join(this.folder, manifest.environment, manifest.id, file);
  }

  leftovers(): Promise<Leftover[]> {
    return this.partialSets();
  }

  private async partialSets(): Promise<Leftover[]> {
    const out: Leftover[] = [];
    for (const env of await names(this.folder)) {
      for (const entry of await names(join(this.folder, env))) {
        const pid = PARTIAL.exec(entry)?.[2];
        if (pid !== undefined && !isProcessAlive(Number(pid)))
          out.push({ environment: env, location: join(this.folder, env, entry) });
      }
    }
    return out;
  }

  async removeLeftover(leftover: Leftover): Promise<void> {
    await rm(leftover.location, { recursive: true, force: true });
  }
}

async function names(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  } catch {
    return [];
  }
}
