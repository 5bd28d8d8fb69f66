import { createHash, type Hash } from 'node:crypto';

/** One progress report of an upload or download. */
export interface TransferProgress {
  direction: 'upload' | 'download';
  /** The remote URL. */
  url: string;
  /** Bytes moved so far. */
  transferredBytes: number;
  /** The file's size, when known (a download without `Content-Length` does not know it). */
  totalBytes: number | undefined;
  /** True on the last report, sent once the transfer has finished. */
  isDone: boolean;
}

/** Called with progress reports of a transfer; must not throw (an exception is ignored). */
export type ProgressListener = (progress: TransferProgress) => void;

/** Transfers smaller than this report no progress. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/**
 * Counts and hashes the bytes of one transfer, and reports progress to a listener at most every `intervalMs`
 * (and once at the end) when the transfer is at least {@link PROGRESS_MIN_BYTES} (or of unknown size).
 *
 * @internal
 */
export class TransferMeter {
  private hash: Hash = createHash('sha256');
  private lastReportAt = Date.now();
  bytes = 0;

  constructor(
    private readonly direction: 'upload' | 'download',
    private readonly url: string,
    private totalBytes: number | undefined,
    private readonly onProgress: ProgressListener | undefined,
    private readonly intervalMs: number,
  ) {}

  /** Sets the total once it is known (a download learns it from the reply). */
  setTotal(totalBytes: number | undefined): void {
    this.totalBytes = totalBytes;
  }

  /** Counts from zero again: the transfer is sent once more from its start (after a refused token). */
  restart(): void {
    this.hash = createHash('sha256');
    this.bytes = 0;
  }

  /** Adds a chunk to the count and the hash. */
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
    this.report(this.bytes, false);
  }

  /** Adds a chunk to the count and the hash without reporting progress (the caller reports through {@link reportTransferred}). */
  count(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /**
   * Reports a byte count that is not the hashed one, e.g. the bytes an S3 upload has acknowledged (parts are
   * read, hence hashed, ahead of their upload).
   */
  reportTransferred(bytes: number): void {
    this.report(bytes, false);
  }

  /** The hex SHA-256 of everything counted; sends the final progress report. */
  finish(): string {
    this.report(this.bytes, true);
    return this.hash.digest('hex');
  }

  private report(transferredBytes: number, isDone: boolean): void {
    if (!this.onProgress) return;
    const totalBytes = this.totalBytes ?? (isDone ? this.bytes : undefined);
    if (totalBytes !== undefined && totalBytes < PROGRESS_MIN_BYTES) return;
    const now = Date.now();
    if (!isDone && now - this.lastReportAt < this.intervalMs) return;
    this.lastReportAt = now;
    try {
      this.onProgress({ direction: this.direction, url: this.url, transferredBytes, totalBytes, isDone });
    } catch {
      // A progress printer must never break a transfer.
    }
  }
}
