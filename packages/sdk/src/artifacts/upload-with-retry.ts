import { setTimeout as sleep } from 'node:timers/promises';
import { TasklaneError } from '@tasklane/protocol';
import { StorageManager, type UploadResult } from '../storage/storage-manager.js';
import type { StorageConfig } from '../storage/storage-url.js';
import type { TransferProgress } from '../storage/transfer-meter.js';

/** Waits before the 2nd, 3rd and 4th attempts of an upload. */
export const UPLOAD_RETRY_DELAYS_MS = [1000, 2000, 4000] as const;

/** Errors that another attempt cannot fix: the input, the credentials, a file missing locally. */
function isPermanent(error: unknown): boolean {
  return error instanceof TasklaneError && ['INVALID_INPUT', 'UNAUTHORIZED', 'FILE_NOT_FOUND'].includes(error.code);
}

const MIB = 1024 * 1024;

function megabytes(bytes: number): string {
  const value = bytes / MIB;
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/** One progress line: `uploading artifact "weights" 120/500 MB`. */
export function progressLine(what: string, progress: TransferProgress): string {
  const total = progress.totalBytes === undefined ? '?' : megabytes(progress.totalBytes);
  return progress.isDone
    ? `uploaded ${what} (${megabytes(progress.transferredBytes)} MB)`
    : `uploading ${what} ${megabytes(progress.transferredBytes)}/${total} MB`;
}

export interface UploadWithRetryOptions {
  config: StorageConfig;
  /** What is uploaded, for messages: `artifact "weights"`. */
  what: string;
  /** Prints a diagnostic line (progress of big files, retries). */
  say(message: string): void;
  delaysMs?: readonly number[];
}

/**
 * Uploads a file with {@link StorageManager.uploadFile}, printing progress of big files, and tries again after
 * transient failures (1 s, 2 s, 4 s). The last error is rethrown, wrapped with what was uploaded and where.
 */
export async function uploadWithRetry(localPath: string, remoteUrl: string, options: UploadWithRetryOptions): Promise<UploadResult> {
  const delays = options.delaysMs ?? UPLOAD_RETRY_DELAYS_MS;
  let attempt = 0;
  for (;;) {
    try {
      return await StorageManager.uploadFile(localPath, remoteUrl, {
        config: options.config,
        onProgress: (progress) => options.say(progressLine(options.what, progress)),
      });
    } catch (error) {
      const delay = delays[attempt];
      attempt += 1;
      if (delay === undefined || isPermanent(error)) {
        const tries = attempt === 1 ? 'once' : `${attempt} times`;
        throw new TasklaneError(
          error instanceof TasklaneError ? error.code : 'INTERNAL',
          // The storage errors name the URL already; say it only when they do not.
          `Could not upload ${options.what}${(error as Error).message.includes(remoteUrl) ? '' : ` to ${remoteUrl}`} (tried ${tries}): ${(error as Error).message}`,
          { url: remoteUrl, attempts: attempt },
          { cause: error },
        );
      }
      options.say(`could not upload ${options.what} (attempt ${attempt}): ${(error as Error).message}; trying again in ${delay / 1000} s`);
      await sleep(delay);
    }
  }
}
