import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TasklaneError } from '@tasklane/protocol';
import { zipFolder } from '../storage/zip.js';
import { encodeNpy, isNumericArray, type NumericArray } from './npy.js';
import { asTable, tableToCsv } from './table.js';

/**
 * Artifact types, ClearML's names where ClearML has one: `dict` (JSON), `string` (text), `custom` (bytes or a file),
 * `archive` (a zipped folder), `numpy` (a `.npy` array). Tabular data is `table` (CSV): ClearML's `pandas` type
 * means a pandas DataFrame saved with its index column, which a CSV of records is not.
 */
export type ArtifactType = 'dict' | 'string' | 'custom' | 'archive' | 'table' | 'numpy';

/** An artifact ready for upload: a local file and what to record about it. */
export interface ArtifactPayload {
  type: ArtifactType;
  /** The file to upload. */
  path: string;
  /** The name of the stored file. */
  fileName: string;
  contentType: string;
  preview: string;
  /** Whether `path` is a temporary file of ours (always removed after the upload). */
  isTemporary: boolean;
  /** Bytes given in memory (a Buffer): recorded with `data_hash` so they read back as a Buffer, not a path. */
  isBytes?: boolean;
  /** Removes the temporary files. */
  cleanup(): Promise<void>;
}

/** Previews are cut to this many characters, as ClearML keeps them (~64 KB). */
export const PREVIEW_MAX_CHARS = 65_536;
/** A table's preview shows this many rows. */
const PREVIEW_ROWS = 10;
/** A table's CSV bigger than this is gzipped (`.csv.gz`). */
const GZIP_CSV_BYTES = 1024 * 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.html': 'text/html',
  '.md': 'text/markdown',
  '.npy': 'application/octet-stream',
};

/** A MIME type for a file name, from its extension. */
export function contentTypeOf(fileName: string): string {
  return CONTENT_TYPES[extname(fileName).toLowerCase()] ?? 'application/octet-stream';
}

export function cutPreview(text: string): string {
  return text.length > PREVIEW_MAX_CHARS ? `${text.slice(0, PREVIEW_MAX_CHARS - 1)}…` : text;
}

function isPlainObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Throws when `value` would not survive JSON (class instances, Maps, functions, bigints, NaN, cycles). */
function assertJson(value: unknown, path: string, seen: Set<unknown>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJson(path, String(value));
    return;
  }
  if (Array.isArray(value) || isPlainObject(value)) {
    if (seen.has(value)) throw notJson(path, 'a circular reference');
    seen.add(value);
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object);
    for (const [key, item] of entries) {
      if (item === undefined && !Array.isArray(value)) continue;
      assertJson(item, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`, seen);
    }
    seen.delete(value);
    return;
  }
  const what = typeof value === 'object' ? `a ${(value as object).constructor?.name ?? 'object'}` : `a ${typeof value}`;
  throw notJson(path, what);
}

function notJson(path: string, what: string): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `uploadArtifact: cannot store ${path} as JSON: it is ${what}. Convert it to plain data (objects, arrays, text, finite numbers, booleans, null) first, or write it to a file and upload the file's path.`,
    { path },
  );
}

/** Whether `text` names an existing file or folder (and not obviously text content). */
function existingPath(text: string): { path: string; isFolder: boolean } | undefined {
  if (text.length === 0 || text.length > 4096 || /[\n\r\0]/.test(text)) return undefined;
  const path = resolve(text);
  if (!existsSync(path)) return undefined;
  const info = statSync(path);
  if (info.isFile()) return { path, isFolder: false };
  if (info.isDirectory()) return { path, isFolder: true };
  return undefined;
}

function ndArrayOf(value: unknown): { data: NumericArray; shape: number[] } | undefined {
  if (!isPlainObject(value)) return undefined;
  const { data, shape, ...rest } = value as { data?: unknown; shape?: unknown };
  if (Object.keys(rest).length > 0 || !isNumericArray(data) || !Array.isArray(shape)) return undefined;
  return { data, shape: shape as number[] };
}

/** A local file name for a stored name (which may hold `/`). */
function localName(fileName: string): string {
  return fileName.replace(/[\\/\0]/g, '_');
}

function describeShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/**
 * Turns what `uploadArtifact` was given into a file to upload, right away (later changes to the object are not
 * seen): JSON for plain data, text for strings, `.bin` for bytes, the file itself for a file path, a zip for a
 * folder path, CSV for tables, `.npy` for typed arrays.
 */
export async function prepareArtifact(name: string, value: unknown): Promise<ArtifactPayload> {
  const stem = name;
  let dir: string | undefined;
  const tempFile = async (fileName: string, content: Buffer | string) => {
    dir ??= await mkdtemp(join(tmpdir(), 'tasklane-artifact-'));
    const path = join(dir, localName(fileName));
    await writeFile(path, content);
    return path;
  };
  const cleanup = async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  const temporary = async (type: ArtifactType, fileName: string, content: Buffer | string, preview: string): Promise<ArtifactPayload> => ({
    type,
    path: await tempFile(fileName, content),
    fileName,
    contentType: contentTypeOf(fileName),
    preview: cutPreview(preview),
    isTemporary: true,
    cleanup,
  });

  if (typeof value === 'string') {
    const found = existingPath(value);
    if (found && !found.isFolder) {
      const info = statSync(found.path);
      const fileName = basename(found.path);
      return { type: 'custom', path: found.path, fileName, contentType: contentTypeOf(fileName), preview: `${fileName} — ${info.size} bytes`, isTemporary: false, cleanup };
    }
    if (found?.isFolder) {
      const fileName = `${stem}.zip`;
      dir = await mkdtemp(join(tmpdir(), 'tasklane-artifact-'));
      const path = join(dir, localName(fileName));
      const summary = await zipFolder(found.path, path);
      return {
        type: 'archive',
        path,
        fileName,
        contentType: 'application/zip',
        preview: `${basename(found.path)}/ — ${summary.files} files, ${summary.bytes} bytes`,
        isTemporary: true,
        cleanup,
      };
    }
    return temporary('string', `${stem}.txt`, value, value);
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { ...(await temporary('custom', `${stem}.bin`, bytes, `${bytes.length} bytes`)), isBytes: true };
  }
  if (isNumericArray(value)) {
    return temporary('numpy', `${stem}.npy`, encodeNpy(value), `${value.constructor.name} shape ${value.length}: [${Array.from(value.subarray(0, 10), String).join(', ')}${value.length > 10 ? ', …' : ''}]`);
  }
  const nd = ndArrayOf(value);
  if (nd) {
    const bytes = encodeNpy(nd.data, nd.shape);
    const head = Array.from(nd.data.subarray(0, 10), String).join(', ');
    return temporary('numpy', `${stem}.npy`, bytes, `${nd.data.constructor.name} shape ${describeShape(nd.shape)}: [${head}${nd.data.length > 10 ? ', …' : ''}]`);
  }
  const table = asTable(value);
  if (table) {
    const csv = tableToCsv(table);
    const preview = `${table.rows.length} rows × ${table.columns.length} columns: ${table.columns.join(', ')}\n${tableToCsv(table, PREVIEW_ROWS)}`;
    if (Buffer.byteLength(csv) > GZIP_CSV_BYTES) {
      const payload = await temporary('table', `${stem}.csv.gz`, gzipSync(csv), preview);
      return { ...payload, contentType: 'text/csv' };
    }
    return temporary('table', `${stem}.csv`, csv, preview);
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new TasklaneError('INVALID_INPUT', `uploadArtifact("${name}"): cannot store a ${typeof value}; give plain data, text, bytes, a typed array, a table, or a file or folder path.`);
  }
  assertJson(value, 'the object', new Set());
  const json = JSON.stringify(value, null, 2);
  return temporary('dict', `${stem}.json`, json, json);
}
