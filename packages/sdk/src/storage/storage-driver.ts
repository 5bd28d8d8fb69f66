import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { TasklaneError } from '@tasklane/protocol';
import type { StorageConfig, StorageLocation } from './storage-url.js';
import type { TransferMeter } from './transfer-meter.js';

/** What every driver call gets besides its location. @internal */
export interface DriverContext {
  config: StorageConfig;
  /** Extra headers for file-server requests. */
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
}

/**
 * One storage backend. Drivers move bytes and count them through the meter (which hashes them); the manager does
 * temporary names, renames, hash checks and the cache.
 *
 * @internal
 */
export interface StorageDriver<TLocation extends StorageLocation = StorageLocation> {
  /** Uploads the file at `localPath` (`size` bytes) to the location, feeding every byte read to `meter`. */
  upload(localPath: string, size: number, location: TLocation, meter: TransferMeter, context: DriverContext): Promise<void>;
  /** Writes the object to `targetPath` (created or truncated), feeding every byte to `meter`. */
  download(location: TLocation, targetPath: string, meter: TransferMeter, context: DriverContext): Promise<void>;
  /** Every key (file-server, S3) or absolute path (folder) under the location taken as a folder, sorted. */
  list(location: TLocation, context: DriverContext): Promise<string[]>;
  /** Deletes the object; answers whether there was one. */
  delete(location: TLocation, context: DriverContext): Promise<boolean>;
}

/**
 * Streams chunks into a file through the meter, with backpressure. On failure or abort it settles only once the file
 * is closed, so a caller that then removes the file cannot race a write stream still opening it. @internal
 */
export async function writeChunksToFile(
  source: AsyncIterable<Uint8Array>,
  targetPath: string,
  meter: TransferMeter,
  signal: AbortSignal | undefined,
): Promise<void> {
  const file = createWriteStream(targetPath);
  try {
    await pipeline(
      source,
      async function* count(chunks: AsyncIterable<Uint8Array>) {
        for await (const chunk of chunks) {
          meter.update(chunk);
          yield chunk;
        }
      },
      file,
      signal ? { signal } : {},
    );
  } catch (error) {
    if (!file.closed) await new Promise<void>((settle) => file.once('close', () => settle()).destroy());
    throw error;
  }
}

/**
 * The first `size` bytes of a file, in chunks: an upload sends exactly the size it announced even if the file grows
 * meanwhile (a file that shrank ends early, which the caller detects by counting). @internal
 */
export async function* fileChunks(localPath: string, size: number, chunkBytes = 256 * 1024): AsyncGenerator<Buffer> {
  if (size === 0) return;
  for await (const chunk of createReadStream(localPath, { start: 0, end: size - 1, highWaterMark: chunkBytes })) yield chunk as Buffer;
}

/** The error of a local file whose size changed between the upload's start and its end. @internal */
export function changedWhileUploading(localPath: string, sizeBefore: number, bytesRead: number): TasklaneError {
  return new TasklaneError('INVALID_INPUT', `${localPath} changed while it was uploaded (${sizeBefore} bytes before, ${bytesRead} read); upload it again.`, {
    path: localPath,
  });
}
