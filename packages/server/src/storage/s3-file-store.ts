import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { addAbortSignal, type Readable } from 'node:stream';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { TasklaneError } from '@tasklane/protocol';
import {
  FileStoreUnavailableError,
  blockedByFile,
  fileTooLarge,
  folderKeysOf,
  isAFolder,
  type ByteRange,
  type FileRead,
  type FileStore,
  type FileStoreLog,
  type FileUpload,
  type FilesLocation,
  type StoredFileInfo,
} from './file-store.js';
import { MAX_KEY_BYTES, normalizeStorageFolder, normalizeStorageKey } from './safe-path.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');
type S3Location = Extract<FilesLocation, { kind: 's3' }>;

/** The longest object key S3 takes, in UTF-8 bytes, prefix included. */
const S3_MAX_KEY_BYTES = 1024;
/** Part size of multipart uploads (at least; more when the file limit needs more than S3's 10,000 parts). */
const PART_BYTES = 8 * 1024 * 1024;
const MAX_PARTS = 10_000;
/**
 * Small files (under one part) of one upload are held in memory until the upload commits, then put whole, one
 * request each; past this many bytes held, further small files are sent at once as one-part multipart uploads, which
 * stay invisible until the commit too. It bounds the memory one upload of many small files holds.
 */
const HELD_BYTES_PER_UPLOAD = 32 * 1024 * 1024;
/** Files of one upload committed at once. */
const COMMIT_CONCURRENCY = 8;
/** DeleteObjects takes at most this many keys per request. */
const DELETE_BATCH = 1000;
/** How long the start-up check waits for the bucket. */
const START_CHECK_TIMEOUT_MS = 15_000;
/** How long a connection to S3 may take to open. */
const CONNECT_TIMEOUT_MS = 5_000;
/** How long S3 may take to answer, and a connection to it carry nothing, before it is given up. */
const SILENT_SOCKET_TIMEOUT_MS = 120_000;
/** Connections to S3 at once: each download being served holds one while it streams. */
const MAX_SOCKETS = 512;
/** The region used when none is configured (AWS_REGION, ~/.aws/config): S3-compatible servers mostly ignore it. */
const FALLBACK_REGION = 'us-east-1';

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as Error).name;
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code ?? (error as { cause?: { code?: string } }).cause?.code;
}

/** An endpoint as messages show it: without user name or password, should the URL carry them. */
function shownEndpoint(endpoint: string | undefined): string {
  if (endpoint === undefined) return 'AWS S3';
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return `the S3 endpoint ${url.href.replace(/\/$/, '')}`;
  } catch {
    return 'the configured S3 endpoint';
  }
}

function urlOf(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/**
 * The client for a location. Credentials and region come from the AWS SDK's usual chain (AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, AWS_PROFILE with ~/.aws/credentials, instance and container roles), as the SDK's.
 */
async function makeClient(sdk: S3Sdk, location: S3Location): Promise<S3Client> {
  const options = {
    ...(location.endpoint !== undefined ? { endpoint: location.endpoint } : {}),
    forcePathStyle: location.forcePathStyle,
    followRegionRedirects: true,
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // A hung S3 is given up: no answer within this time, or a connection silent this long (longer than a client of
      // ours may stall a download it is served, since the server's own idle timeout cuts such a client first).
      requestTimeout: SILENT_SOCKET_TIMEOUT_MS,
      throwOnRequestTimeout: true,
      socketTimeout: SILENT_SOCKET_TIMEOUT_MS,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
    },
  };
  const client = new sdk.S3Client(options);
  try {
    await client.config.region();
    return client;
  } catch {
    client.destroy();
    return new sdk.S3Client({ ...options, region: FALLBACK_REGION });
  }
}

/** Why the bucket cannot be used, as the message that stops the server at start. */
function startError(error: unknown, location: S3Location, timedOut: boolean): TasklaneError {
  const where = shownEndpoint(location.endpoint);
  const bucket = `the files bucket "${location.bucket}" (${urlOf(location)}) at ${where}`;
  const name = (error as Error).name;
  const message = (error as Error).message;
  const details = { bucket: location.bucket, endpoint: location.endpoint ?? null, aws_error: name };
  const endpointHint = 'Check --files-url, TASKLANE_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) and the network';
  if (timedOut) {
    return new TasklaneError('SERVER_UNREACHABLE', `Cannot use ${bucket}: it did not answer within ${START_CHECK_TIMEOUT_MS / 1000} s. ${endpointHint}.`, details, { cause: error });
  }
  if (name === 'NoSuchBucket' || statusOf(error) === 404) {
    return new TasklaneError('INVALID_INPUT', `Cannot use ${bucket}: there is no such bucket. Create it, or point --files-url (TASKLANE_FILES_URL) at one that exists.`, details, { cause: error });
  }
  if (name === 'CredentialsProviderError' || /credential/i.test(message)) {
    return new TasklaneError(
      'INVALID_INPUT',
      `Cannot use ${bucket}: no AWS credentials found (${message}). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials.`,
      details,
      { cause: error },
    );
  }
  if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden'].includes(name) || statusOf(error) === 403) {
    return new TasklaneError(
      'INVALID_INPUT',
      `Cannot use ${bucket}: the credentials were refused (${name}${statusOf(error) === 403 && name === 'Forbidden' ? '' : `: ${message}`}). ` +
        'Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and what the bucket policy lets them do.',
      details,
      { cause: error },
    );
  }
  const code = errorCode(error);
  if (code !== undefined && /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code)) {
    return new TasklaneError('SERVER_UNREACHABLE', `Cannot reach ${bucket} (${code}). ${endpointHint}.`, details, { cause: error });
  }
  return new TasklaneError('SERVER_UNREACHABLE', `Cannot use ${bucket}: ${name}: ${message}. ${endpointHint}.`, details, { cause: error });
}

/** One file of an upload, streamed to the bucket and not visible there until the upload commits. */
interface StagedObject {
  key: string;
  objectKey: string;
  /** A small file's bytes, put whole at commit. */
  held?: Buffer;
  /** A file sent as a multipart upload, completed at commit (aborted when the upload is discarded). */
  multipart?: { uploadId: string; parts: CompletedPart[] };
}

/**
 * An upload into the bucket. A file streams in parts as it arrives (a multipart upload, at most one part in flight
 * while the next is read) or, when smaller than a part, is held in memory; nothing is visible until commit, which
 * completes the multipart uploads and puts the small files. lib-storage's `Upload` (which the SDK uses) is not used
 * here: it completes an object as soon as its body ends, which would show the first files of an upload before the
 * later ones are read (or refused), and it holds every small file in memory with no bound.
 */
class S3Upload implements FileUpload {
  private readonly staged: StagedObject[] = [];
  private readonly partBytes: number;
  private heldBytes = 0;
  /** Whether a key is a file in the bucket, asked once per upload (many files of an upload share their folders). */
  private readonly isFileCache = new Map<string, Promise<boolean>>();

  constructor(
    private readonly store: S3FileStore,
    private readonly maxBytes: number,
  ) {
    this.partBytes = Math.max(PART_BYTES, Math.ceil(maxBytes / MAX_PARTS / (1024 * 1024)) * 1024 * 1024);
  }

  async add(key: string, body: Readable, signal?: AbortSignal): Promise<void> {
    // Folders and files of this upload first: a file and a file under it would both reach the bucket otherwise.
    for (const other of this.staged) {
      if (key.startsWith(`${other.key}/`)) throw blockedByFile(key, other.key);
      if (other.key.startsWith(`${key}/`)) throw isAFolder(key);
    }
    await this.assertStorable(key, signal);
    const staged: StagedObject = { key, objectKey: this.store.objectKey(key) };
    this.staged.push(staged);
    try {
      let chunks: Buffer[] = [];
      let buffered = 0;
      let total = 0;
      let inFlight: Promise<void> | undefined;
      for await (const chunk of signal ? addAbortSignal(signal, body) : body) {
        const bytes = chunk as Buffer;
        total += bytes.length;
        if (total > this.maxBytes) throw fileTooLarge(key, this.maxBytes);
        chunks.push(bytes);
        buffered += bytes.length;
        if (buffered < this.partBytes) continue;
        const data = Buffer.concat(chunks, buffered);
        const rest = data.subarray(this.partBytes);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        await inFlight;
        inFlight = this.sendPart(staged, data.subarray(0, this.partBytes), signal);
        // Awaited before the next part or at the end; until then a failure must not count as unhandled.
        inFlight.catch(() => undefined);
      }
      await inFlight;
      const rest = Buffer.concat(chunks, buffered);
      if (staged.multipart !== undefined) {
        if (rest.length > 0) await this.sendPart(staged, rest, signal);
      } else if (this.heldBytes + rest.length <= HELD_BYTES_PER_UPLOAD) {
        staged.held = rest;
        this.heldBytes += rest.length;
      } else {
        await this.sendPart(staged, rest, signal);
      }
    } catch (error) {
      this.staged.splice(this.staged.indexOf(staged), 1);
      await this.drop(staged);
      throw signal?.aborted ? signal.reason : this.store.failure(error, `store "${key}"`);
    }
  }

  /** Throws unless `key` can hold a file: no file at one of its folders, no file below it. */
  private async assertStorable(key: string, signal: AbortSignal | undefined): Promise<void> {
    const folders = folderKeysOf(key);
    const [below, ...areFiles] = await Promise.all([
      this.store.hasFilesUnder(key, signal),
      ...folders.map((folder) => {
        let known = this.isFileCache.get(folder);
        if (known === undefined) {
          known = this.store.isFile(folder, signal);
          this.isFileCache.set(folder, known);
          known.catch(() => this.isFileCache.delete(folder));
        }
        return known;
      }),
    ]);
    const blocking = folders.find((_folder, i) => areFiles[i]);
    if (blocking !== undefined) throw blockedByFile(key, blocking);
    if (below) throw isAFolder(key);
  }

  private async sendPart(staged: StagedObject, data: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const { client, sdk, bucket } = this.store.connection;
    if (staged.multipart === undefined) {
      const checksum = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED' ? { ChecksumAlgorithm: sdk.ChecksumAlgorithm.CRC32 } : {};
      const created = await client.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: staged.objectKey, ...checksum }), { abortSignal: signal });
      if (created.UploadId === undefined) throw new Error('CreateMultipartUpload answered no UploadId');
      staged.multipart = { uploadId: created.UploadId, parts: [] };
    }
    const { uploadId, parts } = staged.multipart;
    const partNumber = parts.length + 1;
    const sent = await client.send(
      new sdk.UploadPartCommand({ Bucket: bucket, Key: staged.objectKey, UploadId: uploadId, PartNumber: partNumber, Body: data, ContentLength: data.length }),
      { abortSignal: signal },
    );
    if (sent.ETag === undefined) throw new Error(`UploadPart ${partNumber} answered no ETag`);
    parts.push({
      PartNumber: partNumber,
      ETag: sent.ETag,
      ...(sent.ChecksumCRC32 !== undefined ? { ChecksumCRC32: sent.ChecksumCRC32 } : {}),
      ...(sent.ChecksumCRC32C !== undefined ? { ChecksumCRC32C: sent.ChecksumCRC32C } : {}),
      ...(sent.ChecksumCRC64NVME !== undefined ? { ChecksumCRC64NVME: sent.ChecksumCRC64NVME } : {}),
      ...(sent.ChecksumSHA1 !== undefined ? { ChecksumSHA1: sent.ChecksumSHA1 } : {}),
      ...(sent.ChecksumSHA256 !== undefined ? { ChecksumSHA256: sent.ChecksumSHA256 } : {}),
    });
  }

  async commit(): Promise<string[]> {
    const { client, sdk, bucket } = this.store.connection;
    const keys = this.staged.map((s) => s.key);
    const pending = [...this.staged];
    let failure: unknown;
    const worker = async () => {
      for (let next = pending.shift(); next !== undefined && failure === undefined; next = pending.shift()) {
        const staged = next;
        try {
          if (staged.multipart !== undefined) {
            await client.send(
              new sdk.CompleteMultipartUploadCommand({
                Bucket: bucket,
                Key: staged.objectKey,
                UploadId: staged.multipart.uploadId,
                MultipartUpload: { Parts: staged.multipart.parts },
              }),
            );
          } else {
            // No content type: the server serves by extension (never by what the bucket says); in a bucket made
            // public by mistake, an uploaded page stays a download rather than running.
            const held = staged.held ?? Buffer.alloc(0);
            await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: staged.objectKey, Body: held, ContentLength: held.length }));
            this.heldBytes -= held.length;
          }
          this.staged.splice(this.staged.indexOf(staged), 1);
        } catch (error) {
          failure ??= this.store.failure(error, `store "${staged.key}"`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(COMMIT_CONCURRENCY, pending.length) }, worker));
    if (failure !== undefined) throw failure;
    return keys;
  }

  async discard(): Promise<void> {
    await Promise.all(this.staged.splice(0).map((staged) => this.drop(staged)));
    this.heldBytes = 0;
  }

  /** Lets go of a staged file: a multipart upload is aborted (S3 would keep, and bill, its parts otherwise). */
  private async drop(staged: StagedObject): Promise<void> {
    if (staged.held !== undefined) this.heldBytes -= staged.held.length;
    staged.held = undefined;
    if (staged.multipart === undefined) return;
    const { client, sdk, bucket } = this.store.connection;
    try {
      await client.send(new sdk.AbortMultipartUploadCommand({ Bucket: bucket, Key: staged.objectKey, UploadId: staged.multipart.uploadId }));
    } catch (err) {
      // Its parts stay until a lifecycle rule ends incomplete uploads (docs/configuration.md says to set one).
      this.store.log.warn({ err, key: staged.key }, 'file store: could not abort the multipart upload of a discarded file');
    }
  }
}

const quietLog: FileStoreLog = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/**
 * Files in a bucket of S3 or an S3-compatible server, under a prefix: `--files-url s3://bucket/prefix`, so that
 * several server processes serve the same files. Keys are checked as the folder store checks them (shorter by the
 * prefix, since S3 takes 1,024 bytes in all), and the bucket keeps the folder store's rules: no file where a folder
 * of another file is, no file over a folder. Reads are ranged GetObjects (one request for a whole file), listings
 * page through ListObjectsV2, folder deletes go in DeleteObjects batches of 1,000.
 */
export class S3FileStore implements FileStore {
  log: FileStoreLog = quietLog;
  private readonly prefixBytes: number;

  private constructor(
    readonly connection: { client: S3Client; sdk: S3Sdk; bucket: string },
    private readonly location: S3Location,
  ) {
    this.prefixBytes = location.prefix === '' ? 0 : Buffer.byteLength(location.prefix) + 1;
  }

  get description(): string {
    return `${urlOf(this.location)}${this.location.endpoint !== undefined ? ` at ${shownEndpoint(this.location.endpoint).replace(/^the S3 endpoint /, '')}` : ''}`;
  }

  /** Connects to the bucket and checks it is there (HeadBucket), within 15 s; throws naming bucket, endpoint and cause. */
  static async open(location: S3Location): Promise<S3FileStore> {
    const sdk = await import('@aws-sdk/client-s3');
    const client = await makeClient(sdk, location);
    const timeout = AbortSignal.timeout(START_CHECK_TIMEOUT_MS);
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: location.bucket }), { abortSignal: timeout });
    } catch (error) {
      client.destroy();
      throw startError(error, location, timeout.aborted);
    }
    return new S3FileStore({ client, sdk, bucket: location.bucket }, location);
  }

  /** The object key of a store key. */
  objectKey(key: string): string {
    return this.location.prefix === '' ? key : `${this.location.prefix}/${key}`;
  }

  private folderPrefix(folder: string): string {
    return folder === '' ? (this.location.prefix === '' ? '' : `${this.location.prefix}/`) : `${this.objectKey(folder)}/`;
  }

  /** An S3 error as the store's failure (503 for requests), saying what it was doing; client refusals pass unchanged. */
  failure(error: unknown, action: string): unknown {
    if (error instanceof TasklaneError || error instanceof FileStoreUnavailableError) return error;
    if ((error as Error).name === 'AbortError') return error;
    const name = (error as Error).name;
    const code = errorCode(error);
    const why = code !== undefined && code !== name ? `${name} (${code})` : name;
    return new FileStoreUnavailableError(`Could not ${action} in ${this.description}: ${why}: ${(error as Error).message}`, { cause: error });
  }

  parseKey(key: string): string {
    return normalizeStorageKey(key, { maxKeyBytes: Math.min(MAX_KEY_BYTES, S3_MAX_KEY_BYTES - this.prefixBytes) });
  }

  parseFolder(key: string): string {
    return normalizeStorageFolder(key, { maxKeyBytes: Math.min(MAX_KEY_BYTES, S3_MAX_KEY_BYTES - this.prefixBytes) });
  }

  start(log: FileStoreLog): void {
    this.log = log;
  }

  async close(): Promise<void> {
    this.connection.client.destroy();
  }

  beginUpload(options: { maxBytes: number }): FileUpload {
    return new S3Upload(this, options.maxBytes);
  }

  async stat(key: string): Promise<StoredFileInfo | undefined> {
    const { client, sdk, bucket } = this.connection;
    try {
      const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: this.objectKey(key) }));
      return { size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0), version: head.ETag ?? '' };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.failure(error, `read "${key}"`);
    }
  }

  /** Whether a file is at `key` (for the upload checks). */
  async isFile(key: string, signal?: AbortSignal): Promise<boolean> {
    const { client, sdk, bucket } = this.connection;
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: this.objectKey(key) }), { abortSignal: signal });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw this.failure(error, `look at "${key}"`);
    }
  }

  /** Whether any file is stored below `key` taken as a folder. */
  async hasFilesUnder(key: string, signal?: AbortSignal): Promise<boolean> {
    const { client, sdk, bucket } = this.connection;
    try {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: this.folderPrefix(key), MaxKeys: 1 }), { abortSignal: signal });
      return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
    } catch (error) {
      throw this.failure(error, `look under "${key}"`);
    }
  }

  async read(key: string, range?: ByteRange & { version: string }): Promise<FileRead | 'changed' | undefined> {
    const { client, sdk, bucket } = this.connection;
    const ranged = range !== undefined ? { Range: `bytes=${range.start}-${range.end}`, IfMatch: range.version } : {};
    let reply;
    try {
      reply = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: this.objectKey(key), ...ranged }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      // Replaced since its size was read: the range asked for may not fit the new file.
      if (range !== undefined && ((error as Error).name === 'PreconditionFailed' || statusOf(error) === 412 || statusOf(error) === 416)) return 'changed';
      throw this.failure(error, `read "${key}"`);
    }
    const body = reply.Body as Readable | undefined;
    if (body === undefined) throw this.failure(new Error('GetObject answered no body'), `read "${key}"`);
    const total = /\/(\d+)$/.exec(reply.ContentRange ?? '')?.[1];
    const size = total !== undefined ? Number(total) : (reply.ContentLength ?? 0);
    if (range !== undefined && reply.ETag !== undefined && reply.ETag !== range.version) {
      // A server that ignores If-Match (some S3-compatible ones do) answered another version.
      body.destroy();
      return 'changed';
    }
    return { info: { size, modifiedAt: reply.LastModified ?? new Date(0), version: reply.ETag ?? '' }, body };
  }

  /** Every object key under `folder`'s prefix, as stored (prefix included). */
  private async objectKeysUnder(folder: string): Promise<string[]> {
    const { client, sdk, bucket } = this.connection;
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: this.folderPrefix(folder), ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  async list(folder: string): Promise<string[]> {
    let objectKeys;
    try {
      objectKeys = await this.objectKeysUnder(folder);
    } catch (error) {
      throw this.failure(error, `list "${folder}"`);
    }
    const start = this.folderPrefix('').length;
    const keys: string[] = [];
    for (const objectKey of objectKeys) {
      const key = objectKey.slice(start);
      // Only keys the file server can serve: not folder markers (`a/`) or other odd names put there by other tools.
      try {
        if (this.parseKey(key) === key) keys.push(key);
      } catch {
        // left out
      }
    }
    return keys.sort();
  }

  async delete(key: string): Promise<boolean> {
    if (!(await this.isFile(key))) return false;
    const { client, sdk, bucket } = this.connection;
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: this.objectKey(key) }));
    } catch (error) {
      throw this.failure(error, `delete "${key}"`);
    }
    return true;
  }

  async deleteFolder(folder: string): Promise<void> {
    if (folder === '') throw new TasklaneError('INVALID_INPUT', 'Refusing to delete every stored file: name a folder.');
    const { client, sdk, bucket } = this.connection;
    try {
      const keys = await this.objectKeysUnder(folder);
      for (let from = 0; from < keys.length; from += DELETE_BATCH) {
        const batch = keys.slice(from, from + DELETE_BATCH).map((Key) => ({ Key }));
        const reply = await client.send(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
        const failed = reply.Errors?.[0];
        if (failed !== undefined) throw new Error(`${reply.Errors!.length} of ${batch.length} objects not deleted, e.g. "${failed.Key}": ${failed.Code}: ${failed.Message}`);
      }
    } catch (error) {
      throw this.failure(error, `delete the folder "${folder}"`);
    }
  }
}
