import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type { BackupTierDef } from '../../schema/types.js';
import type { BackupManifest } from './manifest.js';

// What every backup tier offers (a folder, S3), and the hashing stream both write through.

export interface WrittenArtifact {
  readonly bytes: number;
  readonly sha256: string;
}

/** Counts and hashes what flows through, and reports progress. */
export function measuring(onBytes?: (total: number) => void): Transform & { result(): WrittenArtifact } {
  const hash = createHash('sha256');
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      callback(null, chunk);
    },
  });
  let digest: string | undefined;
  return Object.assign(transform, {
    result: (): WrittenArtifact => ({ bytes, sha256: (digest ??= hash.digest('hex')) }),
  });
}

export interface SetWriter {
  /** Streams one artifact into the set, hashing it on the way. */
  write(file: string, source: Readable, onBytes?: (total: number) => void): Promise<WrittenArtifact>;
  /** Writes the manifest last: the set becomes a backup. */
  commit(manifest: BackupManifest): Promise<void>;
  /** Removes what was written: nothing of an unfinished set stays. */
  abort(): Promise<void>;
}

/** A leftover of a backup that never finished (its process is gone). */
export interface Leftover {
  readonly environment: string;
  readonly location: string;
}

export interface TierStore {
  readonly name: string;
  readonly kind: BackupTierDef['type'];
  begin(environment: string, id: string): Promise<SetWriter>;
  /** Complete sets only (those with a manifest), oldest first. */
  list(environment?: string): Promise<BackupManifest[]>;
  read(manifest: BackupManifest, file: string): Promise<Readable>;
  remove(manifest: BackupManifest): Promise<void>;
  /** Where an artifact lies, for people: a path or an s3:// URL. */
  location(manifest: BackupManifest, file: string): string;
  /** What interrupted backups left, as of `now` (S3 uploads count once old enough). */
  leftovers(now: Date): Promise<Leftover[]>;
  removeLeftover(leftover: Leftover): Promise<void>;
}

export interface TierCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}
