// An S3 server's objects (MinIO) backed up online through the S3 API: every bucket, every object
// streamed into one tar as <bucket>/<key>, its content type and user metadata in the entry's PAX
// header; a restore creates the buckets and puts each object back with them. The service keeps
// running throughout.
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StackctlError } from '../../errors.js';
import type { StreamedCommand } from './services.js';

export interface S3Endpoint {
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly signal?: AbortSignal;
}

const META = 'STACKCTL.meta.';
const CONTENT_TYPE = 'STACKCTL.content-type';

function client(endpoint: S3Endpoint): S3Client {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  return new S3Client({
    endpoint: endpoint.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000, throwOnRequestTimeout: true },
    maxAttempts: 2,
  });
}

function failed(endpoint: S3Endpoint, what: string, error: unknown): StackctlError {
  if (error instanceof StackctlError) return error;
  const name = (error as { name?: string }).name ?? '';
  return new StackctlError(
    'E_RUNTIME',
    `the S3 API at ${endpoint.url}: ${what} failed: ${(error as Error).message || name}`,
    {
      hint: /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/.test(name)
        ? 'the credentials are wrong: check the variables backup.accessKey and backup.secretKey name'
        : 'is the service running, and does backup.url name its published port?',
      cause: error,
    },
  );
}

/** Every object of every bucket, as a tar streamed while the server runs. */
export async function s3ObjectsArchive(endpoint: S3Endpoint): Promise<StreamedCommand> {
  const s3 = client(endpoint);
  const options = endpoint.signal ? { abortSignal: endpoint.signal } : {};
  const { Buckets } = await s3.send(new ListBucketsCommand({}), options).catch((error: unknown) => {
    throw failed(endpoint, 'listing the buckets', error);
  });
  const { default: tar } = await import('tar-stream');
  const pack = tar.pack();
  const out = new PassThrough();
  const done = (async () => {
    const packed = pipeline(pack, out);
    try {
      for (const bucket of (Buckets ?? []).map((entry) => entry.Name ?? '').filter(Boolean)) {
        // The bucket itself, so an empty one comes back too.
        pack.entry({ name: `${bucket}/`, type: 'directory', mode: 0o700 });
        let token: string | undefined;
        do {
          const page = await s3
            .send(
              new ListObjectsV2Command({
                Bucket: bucket,
                ...(token === undefined ? {} : { ContinuationToken: token }),
              }),
              options,
            )
            .catch((error: unknown) => {
              throw failed(endpoint, `listing ${bucket}`, error);
            });
          for (const object of page.Contents ?? []) {
            if (object.Key === undefined) continue;
            const got = await s3
              .send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }), options)
              .catch((error: unknown) => {
                throw failed(endpoint, `reading ${bucket}/${object.Key}`, error);
              });
            const pax: Record<string, string> = {};
            if (got.ContentType) pax[CONTENT_TYPE] = got.ContentType;
            for (const [key, value] of Object.entries(got.Metadata ?? {})) pax[`${META}${key}`] = value;
            await pipeline(
              got.Body as Readable,
              pack.entry({ name: `${bucket}/${object.Key}`, size: got.ContentLength ?? 0, mode: 0o600, pax }),
            );
          }
          token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      }
      pack.finalize();
      await packed;
    } catch (error) {
      pack.destroy(error as Error);
      out.destroy(error as Error);
      throw error;
    } finally {
      s3.destroy();
    }
  })();
  done.catch(() => undefined);
  return { stdout: out, done };
}

/** Creates the buckets of the tar and puts every object back, with its type and metadata. */
export async function restoreS3Objects(endpoint: S3Endpoint, archive: Readable): Promise<number> {
  const s3 = client(endpoint);
  const options = endpoint.signal ? { abortSignal: endpoint.signal } : {};
  const { default: tar } = await import('tar-stream');
  const extract = tar.extract();
  const made = new Set<string>();
  let objects = 0;
  const ensureBucket = async (bucket: string): Promise<void> => {
    if (made.has(bucket)) return;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }), options).catch((error: unknown) => {
      const name = (error as { name?: string }).name ?? '';
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists')
        throw failed(endpoint, `creating ${bucket}`, error);
    });
    made.add(bucket);
  };
  const puts = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name;
      const slash = name.indexOf('/');
      const bucket = slash > 0 ? name.slice(0, slash) : '';
      const key = name.slice(slash + 1);
      if (bucket === '') {
        entry.resume();
        continue;
      }
      await ensureBucket(bucket);
      if (entry.header.type === 'directory' || key === '') {
        entry.resume();
        continue;
      }
      const pax = (entry.header.pax ?? {}) as Record<string, string>;
      const metadata = Object.fromEntries(
        Object.entries(pax)
          .filter(([field]) => field.startsWith(META))
          .map(([field, value]) => [field.slice(META.length), value]),
      );
      // Streamed in parts: an object is never held whole (the SDK cannot sign a bare stream over http).
      await new Upload({
        client: s3,
        params: {
          Bucket: bucket,
          Key: key,
          Body: Readable.from(entry as AsyncIterable<Buffer>),
          ...(pax[CONTENT_TYPE] ? { ContentType: pax[CONTENT_TYPE] } : {}),
          Metadata: metadata,
        },
        partSize: 8 * 1024 * 1024,
        queueSize: 1,
        leavePartsOnError: false,
      })
        .done()
        .catch((error: unknown) => {
          throw failed(endpoint, `writing ${bucket}/${key}`, error);
        });
      objects += 1;
    }
  })();
  try {
    await Promise.all([pipeline(archive, extract), puts]);
  } finally {
    s3.destroy();
  }
  return objects;
}
