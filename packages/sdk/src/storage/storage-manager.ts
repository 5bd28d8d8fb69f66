import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { TasklaneError } from '@tasklane/protocol';
import { loadSdkConfig } from '../config.js';
import { fileServerDriver } from './file-server-driver.js';
import { folderDriver } from './folder-driver.js';
import { CACHE_META_NAME, LocalCache, folderBytes } from './local-cache.js';
import { s3Driver } from './s3-driver.js';
import type { DriverContext, StorageDriver } from './storage-driver.js';
import { parseStorageUrl, siblingUrl, type StorageConfig, type StorageLocation } from './storage-url.js';
import { isTemporaryName, temporaryName } from './temporary-name.js';
import { TransferMeter, type ProgressListener } from './transfer-meter.js';
import { extractZip } from './zip.js';

/** Options every StorageManager call takes. */
export interface StorageOptions {
  /**
   * The SDK settings to use (files host and its credentials, cache folder and size, S3 endpoint). A task passes its
   * own. @default loadSdkConfig()
   */
  config?: StorageConfig;
  /** Extra headers for requests to the configured file server (never sent elsewhere). */
  headers?: Record<string, string>;
  /** Cancels the transfer; the call then rejects with the signal's reason and leaves no partial file. */
  signal?: AbortSignal;
}

/** Options of transfers: uploads and downloads. */
export interface TransferOptions extends StorageOptions {
  /**
   * Receives progress reports of transfers of 4 MiB or more (or of unknown size): at most one per
   * `progressIntervalMs`, then a last one with `isDone: true`. It must not throw.
   */
  onProgress?: ProgressListener;
  /** Least time between two progress reports. @default 1000 */
  progressIntervalMs?: number;
}

/** Options of {@link StorageManager.downloadFile}. */
export interface DownloadOptions extends TransferOptions {
  /**
   * The SHA-256 (hex) the file must have. A download that does not match is deleted (what was at the local path
   * stays) and the call fails with a `TasklaneError` whose `details.reason` is `'sha256_mismatch'`.
   */
  expectedSha256?: string;
}

/** Options of {@link StorageManager.getLocalCopy}. */
export interface GetLocalCopyOptions extends DownloadOptions {
  /** Treat the file as a zip archive and answer the folder it extracts to. @default false */
  extract?: boolean;
}

/** What an upload stored. */
export interface UploadResult {
  /** The canonical URL of the stored file (as `list` answers it); store this one. */
  uri: string;
  /** Bytes uploaded. */
  size: number;
  /** Hex SHA-256 of the bytes uploaded (computed while they were read, in one pass). */
  sha256: string;
}

/** What a download wrote. */
export interface DownloadResult {
  /** Absolute path of the local file. */
  path: string;
  size: number;
  /** Hex SHA-256 of the bytes received. */
  sha256: string;
}

const DRIVERS = {
  'file-server': fileServerDriver,
  folder: folderDriver,
  s3: s3Driver,
} as const satisfies Record<StorageLocation['kind'], StorageDriver<never>>;

function driverFor(location: StorageLocation): StorageDriver {
  return DRIVERS[location.kind] as StorageDriver;
}

function configOf(options: StorageOptions): StorageConfig {
  return options.config ?? loadSdkConfig();
}

function contextOf(options: StorageOptions, config: StorageConfig): DriverContext {
  return { config, headers: options.headers ?? {}, signal: options.signal };
}

function meterFor(direction: 'upload' | 'download', url: string, totalBytes: number | undefined, options: TransferOptions): TransferMeter {
  return new TransferMeter(direction, url, totalBytes, options.onProgress, options.progressIntervalMs ?? 1000);
}

/** A local file name for a URL's last segment; never empty, `.`, `..` or holding a separator. */
function localName(location: StorageLocation): string {
  const raw = location.kind === 'folder' ? basename(location.path) : (location.key.split('/').at(-1) ?? '');
  const name = raw.replace(/[\\/\0]/g, '_').slice(0, 200);
  if (name === '' || name === '.' || name === '..') return 'file';
  // Never the name of the entry's record or of a temporary file, which the cache treats apart.
  return name === CACHE_META_NAME || isTemporaryName(name) ? `_${name}` : name;
}

/** The folder an archive `name` extracts to, beside it: `weights.zip` → `weights`. */
function extractedName(name: string): string {
  const stem = name.replace(/\.zip$/i, '');
  return stem === name || stem === '' ? `${name}.extracted` : stem;
}

function mismatch(url: string, expectedSha256: string, actualSha256: string, isCopy = true): TasklaneError {
  return new TasklaneError(
    'INTERNAL',
    `The file at ${url} is not the one recorded: its SHA-256 is ${actualSha256}, expected ${expectedSha256}. ` +
      `It was changed or damaged after upload${isCopy ? '; the bad copy was not kept' : ''}. Upload it again, or fetch it without a hash check.`,
    { url, reason: 'sha256_mismatch', expectedSha256, actualSha256 },
  );
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function localFileSize(localPath: string): Promise<number> {
  try {
    const info = await stat(localPath);
    if (!info.isFile()) throw new TasklaneError('INVALID_INPUT', `Cannot upload ${localPath}: it is a folder, not a file (zip it first).`, { path: localPath });
    return info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TasklaneError('FILE_NOT_FOUND', `Cannot upload ${localPath}: no such file.`, { path: localPath }, { cause: error });
    }
    throw error;
  }
}

/**
 * Downloads into a temporary file beside `targetPath`, checks the hash when one is expected, then renames it into
 * place: a bad or broken download never replaces what was there.
 */
async function downloadTo(location: StorageLocation, targetPath: string, options: DownloadOptions, config: StorageConfig): Promise<DownloadResult> {
  const temp = join(dirname(targetPath), temporaryName(basename(targetPath)));
  const meter = meterFor('download', location.url, undefined, options);
  try {
    await driverFor(location).download(location, temp, meter, contextOf(options, config));
    const sha256 = meter.finish();
    const expected = options.expectedSha256?.toLowerCase();
    if (expected !== undefined && sha256 !== expected) throw mismatch(location.url, expected, sha256);
    await rename(temp, targetPath);
    return { path: targetPath, size: meter.bytes, sha256 };
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Moves files between this machine and storage. The URL chooses the backend:
 * - the file server: `http(s)://` URLs (under the configured files host, the SDK's credentials are sent);
 * - a local or shared folder: `file:///abs/path/...` or a plain absolute path;
 * - S3 or an S3-compatible server: `s3://bucket/prefix/key` (credentials from the usual AWS environment variables and
 *   files; a custom endpoint from `TASKLANE_S3_ENDPOINT`, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`).
 *
 * Everything streams (memory stays small whatever the file size), writes go to temporary names renamed into place,
 * and errors are `TasklaneError`s (`FILE_NOT_FOUND`, `UNAUTHORIZED`, `SERVER_UNREACHABLE`, `INVALID_INPUT`, ...).
 * Build URLs with {@link joinUrl} and {@link destinationFor}.
 *
 * @example
 * const base = destinationFor(undefined, loadSdkConfig()); // the file server
 * const { uri, sha256 } = await StorageManager.uploadFile('./model.bin', joinUrl(base, 'proj', 'train.3f2c', 'models', 'model.bin'));
 * const local = await StorageManager.getLocalCopy(uri, { expectedSha256: sha256 });
 */
export class StorageManager {
  private constructor() {}

  /**
   * Uploads a local file to `remoteUrl` (replacing what is there), hashing it on the way. Answers the stored URL in
   * its canonical spelling, the size and the SHA-256.
   */
  static async uploadFile(localPath: string, remoteUrl: string, options: TransferOptions = {}): Promise<UploadResult> {
    const config = configOf(options);
    const location = parseStorageUrl(remoteUrl, config);
    const size = await localFileSize(localPath);
    const meter = meterFor('upload', location.url, size, options);
    await driverFor(location).upload(resolve(localPath), size, location, meter, contextOf(options, config));
    const sha256 = meter.finish();
    return { uri: location.url, size, sha256 };
  }

  /**
   * Downloads `remoteUrl` to `localPath` (parent folders are created; an existing file is replaced only once the
   * download is complete and, with `expectedSha256`, verified). Answers the path, size and SHA-256.
   */
  static async downloadFile(remoteUrl: string, localPath: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    const config = configOf(options);
    const location = parseStorageUrl(remoteUrl, config);
    const target = resolve(localPath);
    await mkdir(dirname(target), { recursive: true });
    return downloadTo(location, target, options, config);
  }

  /**
   * A local path holding the file at `remoteUrl`, from the download cache (`<stateDir>/cache`, bounded by
   * `cacheMaxBytes`, least recently used copies evicted) or downloaded into it. With `expectedSha256` the copy is
   * verified; with `extract` the zip is extracted and the folder's path answered. A file in a local folder
   * (`file://`, absolute path) is answered in place, not copied (verified when a hash is given).
   *
   * The answered path stays valid until the cache evicts it: copy it elsewhere to keep it longer.
   */
  static async getLocalCopy(remoteUrl: string, options: GetLocalCopyOptions = {}): Promise<string> {
    const config = configOf(options);
    const location = parseStorageUrl(remoteUrl, config);
    const expected = options.expectedSha256?.toLowerCase();
    if (location.kind === 'folder' && !options.extract) {
      const info = await stat(location.path).catch(() => undefined);
      if (!info?.isFile()) throw new TasklaneError('FILE_NOT_FOUND', `No file at ${location.url}.`, { url: location.url });
      if (expected !== undefined) {
        const actual = await sha256OfFile(location.path);
        if (actual !== expected) throw mismatch(location.url, expected, actual, false);
      }
      return location.path;
    }

    const cache = new LocalCache(join(config.stateDir, 'cache'), config.cacheMaxBytes);
    const entryDir = cache.entryDir(location.url);
    const name = localName(location);
    const filePath = join(entryDir, name);
    let meta = await cache.readMeta(entryDir);
    const isHit =
      meta !== undefined &&
      meta.url === location.url &&
      meta.name === name &&
      (expected === undefined || meta.sha256 === expected) &&
      (await stat(filePath).then((s) => s.isFile() && s.size === meta!.size, () => false));

    if (!isHit) {
      await mkdir(entryDir, { recursive: true });
      const result = await downloadTo(location, filePath, options, config).catch(async (error: unknown) => {
        // A failed first download leaves no empty entry behind (rmdir keeps another process's files).
        if (meta === undefined) await rmdir(entryDir).catch(() => undefined);
        throw error;
      });
      // An earlier extraction stays recorded with the hash of its archive, so a changed archive is extracted anew.
      meta = { url: location.url, name, size: result.size, sha256: result.sha256, ...(meta?.extracted ? { extracted: meta.extracted } : {}) };
      await cache.writeMeta(entryDir, meta);
    } else {
      await cache.touch(entryDir);
    }

    let answer = filePath;
    let hasGrown = !isHit;
    if (options.extract) {
      const folderName = extractedName(name);
      const folderPath = join(entryDir, folderName);
      const isExtracted =
        meta!.extracted?.sha256 === meta!.sha256 && meta!.extracted.name === folderName && (await stat(folderPath).then((s) => s.isDirectory(), () => false));
      if (!isExtracted) {
        hasGrown = true;
        const isStale = meta!.extracted !== undefined;
        const bytes = await extractInto(filePath, entryDir, folderPath, isStale);
        meta = { ...meta!, extracted: { name: folderName, sha256: meta!.sha256, bytes } };
        await cache.writeMeta(entryDir, meta);
      }
      answer = folderPath;
    }
    if (hasGrown) await cache.evict(entryDir);
    return answer;
  }

  /**
   * Every file under `prefixUrl` taken as a folder (recursive), as URLs in the prefix's backend and spelling, sorted.
   * The root of a backend (the files host, `s3://bucket`) lists everything. A missing folder lists nothing.
   */
  static async list(prefixUrl: string, options: StorageOptions = {}): Promise<string[]> {
    const config = configOf(options);
    const location = parseStorageUrl(prefixUrl, config, { allowRoot: true });
    const keys = await driverFor(location).list(location, contextOf(options, config));
    return keys.map((key) => siblingUrl(location, key));
  }

  /** Deletes the file at `remoteUrl`; answers whether there was one. */
  static async delete(remoteUrl: string, options: StorageOptions = {}): Promise<boolean> {
    const config = configOf(options);
    const location = parseStorageUrl(remoteUrl, config);
    return driverFor(location).delete(location, contextOf(options, config));
  }
}

/**
 * Extracts `archive` into `folderPath` through a temporary folder renamed into place, so a concurrent reader sees
 * all of it or none. A stale folder (from an older archive) is replaced; a folder another process finished first is
 * kept. Answers the bytes extracted.
 */
async function extractInto(archive: string, entryDir: string, folderPath: string, isStale: boolean): Promise<number> {
  const temp = join(entryDir, temporaryName(basename(folderPath)));
  try {
    const { bytes } = await extractZip(archive, temp);
    if (isStale) await rm(folderPath, { recursive: true, force: true });
    try {
      await rename(temp, folderPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      // Another process extracted the same archive meanwhile.
      return folderBytes(folderPath);
    }
    return bytes;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
