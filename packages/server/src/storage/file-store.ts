import type { Readable } from 'node:stream';
import { TasklaneError } from '@tasklane/protocol';
import { quoteKey } from './safe-path.js';

/**
 * Where the server keeps its own files (uploads to `/files`, debug samples): a folder on this machine, or a bucket
 * of S3 or an S3-compatible server, so that several server processes serve the same files.
 */
export type FilesLocation =
  | { kind: 'folder'; dir: string }
  | {
      kind: 's3';
      bucket: string;
      /** Keys go under this prefix (no leading or trailing `/`); empty for the whole bucket. */
      prefix: string;
      /** An S3-compatible server; AWS S3 itself when absent. */
      endpoint?: string;
      /** Path-style addressing (`endpoint/bucket/key`), as most S3-compatible servers need. */
      forcePathStyle: boolean;
    };

/** What the store knows of a stored file. */
export interface StoredFileInfo {
  size: number;
  modifiedAt: Date;
  /**
   * Changes whenever the file is replaced (an ETag on S3; device, inode, size and time in a folder): a read of a
   * range asks for the version whose size the range was worked out from.
   */
  version: string;
}

/** A stored file being read: what it is, and its bytes (the range asked for, else all of it). */
export interface FileRead {
  info: StoredFileInfo;
  body: Readable;
}

/** Bytes `start` to `end` of a file, both included. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Where a store writes what it has to say on its own (its clean-ups); the server's pino logger fits. */
export interface FileStoreLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/**
 * One upload of one or more files, all or nothing: each file streams to the store as it arrives, but none is
 * visible (to reads, listings, other processes) until {@link commit}; {@link discard} drops them all. A replaced
 * file is swapped whole, so readers see the old bytes or the new ones, never a mix.
 */
export interface FileUpload {
  /**
   * Streams `body` to the store under `key` (a key {@link FileStore.parseKey} answered). Fails with
   * `FILE_TOO_LARGE` beyond the upload's `maxBytes`, with `INVALID_INPUT` when the key cannot hold a file (a file
   * is on its way, a folder is there), and with `signal`'s reason when it is aborted; what it stored is dropped then.
   */
  add(key: string, body: Readable, signal?: AbortSignal): Promise<void>;
  /** Makes every file added visible, and answers their keys. */
  commit(): Promise<string[]>;
  /** Drops every file added and not yet committed; never fails (what it cannot remove is logged). */
  discard(): Promise<void>;
}

/**
 * The server's file storage behind one interface: {@link FolderFileStore} (the default, `<dataDir>/files`) and
 * {@link S3FileStore}. Keys are `/`-separated paths checked the same way for both (`parseKey`); a folder is the
 * keys under a prefix ending in `/`. Missing files are `undefined` or `false`, never an error; client mistakes are
 * `TasklaneError`s (4xx, naming the key, never a path of the server); anything else is the store's own failure.
 */
export interface FileStore {
  /** Where the files are, for the log and the start-up banner: a folder, or `s3://bucket/prefix` (no credentials). */
  readonly description: string;
  /** Checks and normalizes a key from a request (throws `INVALID_INPUT` naming what is wrong). */
  parseKey(key: string): string;
  /** Like {@link parseKey} for a folder: the empty key is the whole store. */
  parseFolder(key: string): string;
  /** Starts the store's background upkeep (the folder store's clean-up of uploads a crash cut short). */
  start(log: FileStoreLog): void;
  /** Stops the upkeep and lets go of connections. */
  close(): Promise<void>;
  /** A new upload whose files may each hold up to `maxBytes`. */
  beginUpload(options: { maxBytes: number }): FileUpload;
  /** The file at `key`, or undefined when there is none (a folder is not a file). */
  stat(key: string): Promise<StoredFileInfo | undefined>;
  /**
   * Opens the file at `key` for reading: all of it, or `range` of it (inside the file) when `range.version` is the
   * file's version still; `'changed'` when the file was replaced since that version was seen.
   */
  read(key: string, range?: ByteRange & { version: string }): Promise<FileRead | 'changed' | undefined>;
  /** Every file key under `folder` (recursive), sorted. */
  list(folder: string): Promise<string[]>;
  /** Deletes the file at `key`; false when there was none. */
  delete(key: string): Promise<boolean>;
  /** Deletes every file under `folder` (not the empty key: that would be every file). */
  deleteFolder(folder: string): Promise<void>;
}

/**
 * The store could not do its part: the bucket did not answer, refused, or failed. Requests answer 503 (try again);
 * `cause` (for the log) is the store's error.
 */
export class FileStoreUnavailableError extends Error {
  override readonly name = 'FileStoreUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

/** A file over the upload limit (the `maxFileBytes` setting). */
export function fileTooLarge(key: string, limitBytes: number): TasklaneError {
  return new TasklaneError(
    'FILE_TOO_LARGE',
    `File "${key}" is larger than this server accepts: the limit is ${limitBytes} bytes (${formatBytes(limitBytes)}), ` +
      'set by the server setting maxFileBytes (environment variable TASKLANE_MAX_FILE_BYTES). ' +
      'Upload a smaller file, raise the limit on the server, or store large files in S3 or a shared folder (output_uri).',
    { key, limit_bytes: limitBytes, setting: 'TASKLANE_MAX_FILE_BYTES' },
  );
}

/** The answer for a key with no file (a missing one, a folder, anything else that is not a file). */
export function noFileThere(): TasklaneError {
  return new TasklaneError('FILE_NOT_FOUND', 'No file at that path.');
}

/** An upload refused because of what is in the store at or above its key. */
export function cannotStore(key: string, why: string, hint: string): TasklaneError {
  return new TasklaneError('INVALID_INPUT', `Cannot store ${quoteKey(key)}: ${why}; ${hint}.`, key.length <= 120 ? { key } : {});
}

/** `key` cannot hold a file: `at`, a part of its path, is a file. */
export function blockedByFile(key: string, at: string): TasklaneError {
  return cannotStore(key, `${quoteKey(at)} is a file, so it cannot hold other files`, `upload under another path, or delete ${quoteKey(at)} first`);
}

/** `key` cannot hold a file: files are stored below it. */
export function isAFolder(key: string): TasklaneError {
  return cannotStore(key, 'it is a folder (it holds other files)', 'upload under another path');
}

/** The keys of `key`'s folders, outermost first: `a/b/c` → `a`, `a/b`. */
export function folderKeysOf(key: string): string[] {
  const parts = key.split('/');
  return parts.slice(0, -1).map((_part, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Opens the file store a location names, checking that it is there and can be used: makes the folder, or asks the
 * bucket (a missing or unreachable bucket throws naming the bucket, the endpoint and the cause). The AWS SDK is
 * loaded only for a bucket.
 */
export async function openFileStore(location: FilesLocation): Promise<FileStore> {
  if (location.kind === 'folder') {
    const { FolderFileStore } = await import('./folder-file-store.js');
    return FolderFileStore.open(location.dir);
  }
  const { S3FileStore } = await import('./s3-file-store.js');
  return S3FileStore.open(location);
}
