import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { Artifact as ArtifactRecord } from '@tasklane/protocol';
import { StorageManager } from '../storage/storage-manager.js';
import type { StorageConfig } from '../storage/storage-url.js';
import { decodeNpy, type NdArray } from './npy.js';
import { csvToRecords } from './table.js';

/**
 * An artifact of a task, as recorded on the server: read its description, or fetch it with {@link Artifact.get} and
 * {@link Artifact.getLocalCopy} (the file is downloaded to the local cache and its SHA-256 checked).
 *
 * @example
 * const task = await Task.getTask({ id });
 * const stats = await task.artifacts['stats']!.get();
 */
export class Artifact {
  /** The artifact's name (its key). */
  readonly name: string;
  /** `dict`, `string`, `custom`, `archive`, `table`, `numpy` (or a type another SDK recorded, e.g. `pandas`). */
  readonly type: string;
  /** `output` (made by the task) or `input`. */
  readonly mode: 'input' | 'output';
  /** Where the file is stored. */
  readonly uri: string;
  /** SHA-256 (hex) of the stored file. */
  readonly hash: string | undefined;
  /** Size of the stored file, in bytes. */
  readonly size: number | undefined;
  /** A short text view of the content (≤ ~64 KB). */
  readonly preview: string;
  /** MIME type of the stored file. */
  readonly contentType: string | undefined;
  /** The metadata given at upload, as text. */
  readonly metadata: Record<string, string>;
  /** When it was uploaded. */
  readonly timestamp: Date | undefined;
  private readonly dataHash: string | undefined;

  /** @internal */
  constructor(
    record: ArtifactRecord,
    private readonly config: StorageConfig,
  ) {
    this.name = record.key;
    this.type = record.type;
    this.mode = record.mode ?? 'output';
    this.uri = record.uri ?? '';
    this.hash = record.hash || undefined;
    this.size = record.content_size;
    this.preview = record.type_data?.preview ?? '';
    this.contentType = record.type_data?.content_type;
    this.dataHash = record.type_data?.data_hash || undefined;
    this.metadata = Object.fromEntries((record.display_data ?? []).filter((pair) => pair.length >= 2).map(([k, v]) => [k!, v!]));
    this.timestamp = record.timestamp === undefined ? undefined : new Date(record.timestamp * 1000);
  }

  /** The stored file's name (the last segment of its URI, decoded). */
  get fileName(): string {
    const last = this.uri.split(/[\\/]/).at(-1) ?? '';
    try {
      return decodeURIComponent(last);
    } catch {
      return last;
    }
  }

  /**
   * A local path of the artifact: the downloaded file (from the cache, SHA-256 checked; a mismatch fails with
   * `details.reason` `'sha256_mismatch'`), or for an `archive` the folder it extracts to.
   */
  async getLocalCopy(): Promise<string> {
    return StorageManager.getLocalCopy(this.uri, { config: this.config, expectedSha256: this.hash, extract: this.type === 'archive' });
  }

  /**
   * The artifact's content: `dict` → the parsed JSON; `string` → the text; bytes uploaded as a Buffer → a Buffer;
   * `table` → records (numbers as numbers, empty cells as null); `numpy` → `{ data, shape, dtype }`; `archive` →
   * the extracted folder's path; a file (and any other type) → its local path.
   */
  async get(): Promise<unknown> {
    const path = await this.getLocalCopy();
    const isGzip = this.fileName.endsWith('.gz');
    switch (this.type) {
      case 'dict':
        return JSON.parse(await readFile(path, 'utf8'));
      case 'string':
        return readFile(path, 'utf8');
      case 'numpy':
        return this.fileName.endsWith('.npy') ? (decodeNpy(await readFile(path)) satisfies NdArray) : path;
      case 'table':
      case 'pandas': {
        if (!/\.csv(\.gz)?$/.test(this.fileName)) return path;
        const bytes = await readFile(path);
        return csvToRecords((isGzip ? gunzipSync(bytes) : bytes).toString('utf8'));
      }
      case 'custom':
        return this.isBytes() ? readFile(path) : path;
      default:
        return path;
    }
  }

  /**
   * Bytes uploaded as a Buffer carry `data_hash` (the hash of the object itself) equal to the file's hash; a file
   * uploaded by path does not, and is answered as a path.
   */
  private isBytes(): boolean {
    return this.dataHash !== undefined && this.dataHash === this.hash;
  }
}
