import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { TasklaneError } from '@tasklane/protocol';
import { changedWhileUploading, fileChunks, writeChunksToFile, type StorageDriver } from './storage-driver.js';
import type { StorageConfig, StorageLocation } from './storage-url.js';

type S3Location = Extract<StorageLocation, { kind: 's3' }>;

/** Part size of multipart uploads; memory held by one upload is about `S3_PART_BYTES * S3_QUEUE_SIZE`. */
const S3_PART_BYTES = 8 * 1024 * 1024;
const S3_QUEUE_SIZE = 4;
/** The region used when none is configured (AWS_REGION, ~/.aws/config): S3-compatible servers mostly ignore it. */
const FALLBACK_REGION = 'us-east-1';

type S3Sdk = typeof import('@aws-sdk/client-s3');

const clients = new Map<string, Promise<{ client: S3Client; sdk: S3Sdk }>>();

/**
 * One client per endpoint and addressing style, made on first use. The AWS SDK is loaded only here, so a script
 * that never touches S3 never pays for it. Credentials and region come from the AWS SDK's usual chain (environment,
 * `~/.aws/credentials`, `~/.aws/config`, instance roles).
 */
function s3Client(config: Pick<StorageConfig, 's3Endpoint' | 's3ForcePathStyle'>): Promise<{ client: S3Client; sdk: S3Sdk }> {
  const cacheKey = `${config.s3Endpoint ?? ''}|${config.s3ForcePathStyle}`;
  let made = clients.get(cacheKey);
  if (!made) {
    made = (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const options = {
        ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}),
        forcePathStyle: config.s3ForcePathStyle,
        followRegionRedirects: true,
      };
      const client = new sdk.S3Client(options);
      try {
        await client.config.region();
        return { client, sdk };
      } catch {
        client.destroy();
        return { client: new sdk.S3Client({ ...options, region: FALLBACK_REGION }), sdk };
      }
    })();
    made.catch(() => clients.delete(cacheKey));
    clients.set(cacheKey, made);
  }
  return made;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/** A TasklaneError saying what failed and what to check, keeping the AWS error as its cause. */
function s3Error(error: unknown, action: string, location: S3Location, config: Pick<StorageConfig, 's3Endpoint'>): unknown {
  if (error instanceof TasklaneError || (error as Error).name === 'AbortError') return error;
  const name = (error as Error).name;
  const message = (error as Error).message;
  const where = config.s3Endpoint ? `the S3 endpoint ${config.s3Endpoint}` : 'AWS S3';
  const details = { url: location.url, awsError: name };
  if (name === 'NoSuchBucket') {
    return new TasklaneError('FILE_NOT_FOUND', `Cannot ${action}: the bucket "${location.bucket}" does not exist at ${where}.`, details, { cause: error });
  }
  if (isNotFound(error)) return new TasklaneError('FILE_NOT_FOUND', `Cannot ${action}: no object at ${location.url}.`, details, { cause: error });
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new TasklaneError(
      'UNAUTHORIZED',
      `Cannot ${action}: no AWS credentials found (${message}). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials.`,
      details,
      { cause: error },
    );
  }
  if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden'].includes(name) || statusOf(error) === 403) {
    return new TasklaneError('UNAUTHORIZED', `Cannot ${action}: ${where} refused the credentials (${name}: ${message}).`, details, { cause: error });
  }
  const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (code && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)$/.test(code)) {
    return new TasklaneError(
      'SERVER_UNREACHABLE',
      `Cannot ${action}: ${where} did not answer (${code}). Check TASKLANE_S3_ENDPOINT / AWS_ENDPOINT_URL and the network.`,
      details,
      { cause: error },
    );
  }
  return new TasklaneError('INTERNAL', `Cannot ${action}: ${where} answered ${name}: ${message}`, details, { cause: error });
}

/** The prefix a location names when taken as a folder: `a/b` lists `a/b/...`; the bucket root lists everything. */
function folderPrefix(key: string): string {
  return key === '' || key.endsWith('/') ? key : `${key}/`;
}

/**
 * S3 and S3-compatible servers through the official AWS SDK: multipart uploads streamed from the file
 * (lib-storage's `Upload`), downloads streamed to disk.
 */
export const s3Driver: StorageDriver<S3Location> = {
  async upload(localPath, size, location, meter, context) {
    const { client } = await s3Client(context.config);
    const { Upload } = await import('@aws-sdk/lib-storage');
    async function* hashed() {
      for await (const chunk of fileChunks(localPath, size, 1024 * 1024)) {
        meter.count(chunk);
        yield chunk;
      }
      if (meter.bytes !== size) throw changedWhileUploading(localPath, size, meter.bytes);
    }
    const upload = new Upload({
      client,
      params: { Bucket: location.bucket, Key: location.key, Body: Readable.from(hashed()), ContentLength: size },
      partSize: S3_PART_BYTES,
      queueSize: S3_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (progress) => {
      if (progress.loaded !== undefined) meter.reportTransferred(progress.loaded);
    });
    const abort = () => void upload.abort().catch(() => undefined);
    context.signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      throw s3Error(error, `upload to ${location.url}`, location, context.config);
    } finally {
      context.signal?.removeEventListener('abort', abort);
    }
  },

  async download(location, targetPath, meter, context) {
    const { client, sdk } = await s3Client(context.config);
    const action = `download ${location.url}`;
    try {
      const reply = await client.send(new sdk.GetObjectCommand({ Bucket: location.bucket, Key: location.key }), { abortSignal: context.signal });
      meter.setTotal(reply.ContentLength);
      await writeChunksToFile(reply.Body as Readable, targetPath, meter, context.signal);
      if (reply.ContentLength !== undefined && meter.bytes !== reply.ContentLength) {
        throw new TasklaneError('SERVER_UNREACHABLE', `Download of ${location.url} broke off after ${meter.bytes} of ${reply.ContentLength} bytes; try again.`, {
          url: location.url,
        });
      }
    } catch (error) {
      throw s3Error(error, action, location, context.config);
    }
  },

  async list(location, context) {
    const { client, sdk } = await s3Client(context.config);
    const keys: string[] = [];
    try {
      let token: string | undefined;
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: location.bucket, Prefix: folderPrefix(location.key), ContinuationToken: token }),
          { abortSignal: context.signal },
        );
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined && !object.Key.endsWith('/')) keys.push(object.Key);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw s3Error(error, `list ${location.url}`, location, context.config);
    }
    return keys.sort();
  },

  async delete(location, context) {
    const { client, sdk } = await s3Client(context.config);
    const target = { Bucket: location.bucket, Key: location.key };
    try {
      await client.send(new sdk.HeadObjectCommand(target), { abortSignal: context.signal });
    } catch (error) {
      if (isNotFound(error) && (error as Error).name !== 'NoSuchBucket') return false;
      throw s3Error(error, `delete ${location.url}`, location, context.config);
    }
    try {
      await client.send(new sdk.DeleteObjectCommand(target), { abortSignal: context.signal });
    } catch (error) {
      throw s3Error(error, `delete ${location.url}`, location, context.config);
    }
    return true;
  },
};
