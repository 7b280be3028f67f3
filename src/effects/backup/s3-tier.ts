// A backup tier in an S3 (or S3-compatible) bucket: <prefix>/<env>/<id>/<file>. Artifacts are
// uploaded as they are produced (multipart for large ones), the manifest last; a set without a
// manifest is not a backup, and one whose writer is gone is a leftover that cleanup removes.
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../../errors.js';
import type { BackupTierDef } from '../../schema/types.js';
import { MANIFEST_FILE, parseManifest, type BackupManifest } from './manifest.js';
import {
  measuring,
  type Leftover,
  type SetWriter,
  type TierCredentials,
  type TierStore,
} from './tier-store.js';

/** Parts of a multipart upload: S3's minimum is 5 MiB; 8 MiB keeps memory flat at a few parts. */
const PART_BYTES = 8 * 1024 * 1024;
/** An S3 set without a manifest older than this is a leftover of an interrupted backup. */
const LEFTOVER_AGE_MS = 6 * 3_600_000;

type S3Def = Extract<BackupTierDef, { type: 's3' }>;

export class S3Tier implements TierStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    readonly name: string,
    def: S3Def,
    credentials: TierCredentials,
  ) {
    const timeoutMs = (def.timeoutSeconds ?? 60) * 1000;
    const config: S3ClientConfig = {
      region: def.region ?? 'us-east-1',
      credentials,
      forcePathStyle: def.forcePathStyle ?? true,
      ...(def.endpoint === undefined ? {} : { endpoint: def.endpoint }),
      // A server that accepts and never answers must not hold the backup (and its lock) forever.
      requestHandler: {
        connectionTimeout: Math.min(timeoutMs, 10_000),
        requestTimeout: timeoutMs,
        throwOnRequestTimeout: true,
      },
      maxAttempts: 2,
    };
    this.client = new S3Client(config);
    this.bucket = def.bucket;
    this.prefix = (def.prefix ?? '').replace(/^\/+|\/+$/g, '');
  }

  private key(...parts: string[]): string {
    return posix.join(this.prefix, ...parts);
  }

  begin(environment: string, id: string): Promise<SetWriter> {
    const written: string[] = [];
    const setKey = (file: string): string => this.key(environment, id, file);
    return Promise.resolve({
      write: async (file, source, onBytes) => {
        const meter = measuring(onBytes);
        const body = new PassThrough();
        const upload = new Upload({
          client: this.client,
          params: { Bucket: this.bucket, Key: setKey(file), Body: body },
          partSize: PART_BYTES,
          queueSize: 2,
          leavePartsOnError: false,
        });
        written.push(setKey(file));
        try {
          await this.wrap(`uploading ${file}`, Promise.all([pipeline(source, meter, body), upload.done()]));
        } catch (error) {
          // The multipart upload is aborted (its parts deleted), not left behind in the bucket.
          await upload.abort().catch(() => undefined);
          throw error;
        }
        return meter.result();
      },
      commit: async (manifest) => {
        await this.wrap(
          'writing the manifest',
          this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: setKey(MANIFEST_FILE),
              Body: `${JSON.stringify(manifest, null, 2)}\n`,
              ContentType: 'application/json',
              Metadata: { writer: `${hostname()}:${process.pid}` },
            }),
          ),
        );
      },
      abort: async () => {
        await this.deleteKeys(written);
      },
    });
  }

  async list(environment?: string): Promise<BackupManifest[]> {
    const out: BackupManifest[] = [];
    for (const object of await this.objects(
      environment === undefined ? this.key('') : this.key(environment, ''),
    )) {
      if (posix.basename(object.key) !== MANIFEST_FILE) continue;
      const text = await this.text(object.key);
      const manifest = parseManifest(text);
      if (manifest && this.key(manifest.environment, manifest.id, MANIFEST_FILE) === object.key)
        out.push({ ...manifest, tier: this.name });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async read(manifest: BackupManifest, file: string): Promise<Readable> {
    const response = await this.wrap(
      `reading ${file}`,
      this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key(manifest.environment, manifest.id, file) }),
      ),
    );
    return response.Body as Readable;
  }

  async remove(manifest: BackupManifest): Promise<void> {
    // The manifest goes first: a removal cut short leaves a leftover, never a set that looks whole.
    const setPrefix = this.key(manifest.environment, manifest.id, '');
    await this.deleteKeys([this.key(manifest.environment, manifest.id, MANIFEST_FILE)]);
    await this.deleteKeys((await this.objects(setPrefix)).map((object) => object.key));
  }

  location(manifest: BackupManifest, file: string): string {
    return `s3://${this.bucket}/${this.key(manifest.environment, manifest.id, file)}`;
  }

  async leftovers(now: Date): Promise<Leftover[]> {
    const sets = new Map<string, { environment: string; newest: number; manifest: boolean }>();
    for (const object of await this.objects(this.key(''))) {
      const parts = posix.relative(this.prefix || '.', object.key).split('/');
      if (parts.length !== 3) continue;
      const [environment = '', id = ''] = parts;
      const setPrefix = this.key(environment, id, '');
      const entry = sets.get(setPrefix) ?? { environment, newest: 0, manifest: false };
      entry.newest = Math.max(entry.newest, object.modified);
      if (parts[2] === MANIFEST_FILE) entry.manifest = true;
      sets.set(setPrefix, entry);
    }
    const cutoff = now.getTime() - LEFTOVER_AGE_MS;
    const unfinished = (await this.multipartUploads()).filter((upload) => upload.initiated < cutoff);
    return [
      ...[...sets]
        .filter(([, entry]) => !entry.manifest && entry.newest < cutoff)
        .map(([location, entry]) => ({
          environment: entry.environment,
          location: `s3://${this.bucket}/${location}`,
        })),
      // Parts of an upload cut short where no abort reached the server: they cost storage, unseen.
      ...unfinished.map((upload) => ({
        environment: posix.relative(this.prefix || '.', upload.key).split('/')[0] ?? '',
        location: `s3://${this.bucket}/${upload.key}?uploadId=${upload.uploadId}`,
      })),
    ];
  }

  async removeLeftover(leftover: Leftover): Promise<void> {
    const [location = '', uploadId] = leftover.location.split('?uploadId=');
    const key = location.replace(`s3://${this.bucket}/`, '');
    if (uploadId !== undefined) {
      await this.wrap(
        'aborting an unfinished upload',
        this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
        ),
      );
      return;
    }
    await this.deleteKeys((await this.objects(key)).map((object) => object.key));
  }

  private async multipartUploads(): Promise<{ key: string; uploadId: string; initiated: number }[]> {
    const out: { key: string; uploadId: string; initiated: number }[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await this.wrap(
        'listing unfinished uploads',
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix === '' ? '' : `${this.prefix}/`,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
          }),
        ),
      );
      for (const upload of page.Uploads ?? [])
        if (upload.Key !== undefined && upload.UploadId !== undefined)
          out.push({
            key: upload.Key,
            uploadId: upload.UploadId,
            initiated: upload.Initiated?.getTime() ?? 0,
          });
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return out;
  }

  private async objects(prefix: string): Promise<{ key: string; modified: number }[]> {
    const out: { key: string; modified: number }[] = [];
    let token: string | undefined;
    do {
      const page = await this.wrap(
        'listing the bucket',
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix === '.' ? '' : prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        ),
      );
      for (const object of page.Contents ?? [])
        if (object.Key !== undefined)
          out.push({ key: object.Key, modified: object.LastModified?.getTime() ?? 0 });
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out;
  }

  private async text(key: string): Promise<string> {
    const response = await this.wrap(
      'reading a manifest',
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
    );
    return (await response.Body?.transformToString()) ?? '';
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      if (batch.length === 0) continue;
      await this.wrap(
        'deleting objects',
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
    }
  }

  /** S3 errors as one line naming the tier and bucket. */
  private async wrap<T>(what: string, promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      if (error instanceof StackctlError) throw error;
      const message = (error as Error).message || (error as { name?: string }).name || String(error);
      throw new StackctlError(
        'E_RUNTIME',
        `backup tier ${this.name} (s3://${this.bucket}): ${what} failed: ${message}`,
        {
          hint: 'check the endpoint, the bucket and the credentials (stackctl secrets set ENV NAME)',
          cause: error,
        },
      );
    }
  }
}
