import type { Stats } from 'node:fs';
import { lstat, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';

/** Suffix of the temporary files uploads stream into before they are renamed into place; never listed or served. */
export const UPLOADING_SUFFIX = '.uploading';

/** Longest part of a storage key, in UTF-8 bytes: the longest file name common file systems take (NAME_MAX). */
export const MAX_KEY_PART_BYTES = 255;

/** Longest storage key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** How much of the stored file's name a temporary upload file carries (for whoever looks at the folder). */
const TEMP_NAME_BYTES = 200;

/** `.<name>.<12 hex>.uploading`: what {@link uploadingFileName} makes (and made before names were shortened). */
const UPLOADING_NAME = /^\..+\.[0-9a-f]{12}\.uploading$/s;

function keyParts(key: string): string[] {
  return key.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.');
}

/** A key as messages quote it: whole when short, else its start and end, so that a huge key never floods a reply. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length <= 120 ? key : `${key.slice(0, 60)}…${key.slice(-40)}`);
}

function refuse(key: string, why: string, hint = 'give a relative path without ".." parts, e.g. "project/task.id/artifacts/model.bin"'): never {
  throw new TasklaneError('INVALID_INPUT', `Invalid file path ${quoteKey(key)}: ${why}; ${hint}.`, key.length <= 120 ? { key } : {});
}

/** How long a key may be: {@link MAX_KEY_BYTES} by default; less where the store adds a prefix of its own. */
export interface StorageKeyLimits {
  maxKeyBytes?: number;
}

function normalizeParts(key: string, parts: string[], limits: StorageKeyLimits): string {
  if (parts.some((p) => p === '..')) refuse(key, 'it climbs out with ".."');
  if (parts.some((p) => p.includes('\0'))) refuse(key, 'it holds a NUL byte');
  if (parts.some((p) => p.endsWith(UPLOADING_SUFFIX))) refuse(key, `names ending in "${UPLOADING_SUFFIX}" are reserved for uploads in progress`);
  // Checked here, before any file system call, so that a long name is a clear 400 and never ENAMETOOLONG.
  const long = parts.find((p) => Buffer.byteLength(p) > MAX_KEY_PART_BYTES);
  if (long !== undefined) {
    refuse(
      key,
      `its part ${quoteKey(long)} is ${Buffer.byteLength(long)} bytes long, more than the ${MAX_KEY_PART_BYTES} bytes a file or folder name may have`,
      'shorten that name',
    );
  }
  const normalized = parts.join('/');
  const maxKeyBytes = limits.maxKeyBytes ?? MAX_KEY_BYTES;
  if (Buffer.byteLength(normalized) > maxKeyBytes) {
    refuse(key, `it is ${Buffer.byteLength(normalized)} bytes long, more than the ${maxKeyBytes} bytes a path may have`, 'use a shorter path');
  }
  return normalized;
}

/**
 * A storage key from a request (`project/task.id/artifacts/a.bin`) checked and normalized, the same way for every
 * file store: refuses keys that are empty, climb out with `..`, hold a NUL byte, name an upload in progress, or are
 * too long (a part over {@link MAX_KEY_PART_BYTES}, the whole over `limits.maxKeyBytes`); backslashes count as
 * separators, and empty and `.` parts (a leading `/`) are dropped.
 */
export function normalizeStorageKey(key: string, limits: StorageKeyLimits = {}): string {
  const parts = keyParts(key);
  if (parts.length === 0) refuse(key, 'it is empty');
  return normalizeParts(key, parts, limits);
}

/** Like {@link normalizeStorageKey} for a folder to list or delete: the empty key is the whole store. */
export function normalizeStorageFolder(key: string, limits: StorageKeyLimits = {}): string {
  return normalizeParts(key, keyParts(key), limits);
}

function resolveParts(root: string, key: string, normalized: string): { path: string; key: string } {
  const parts = normalized === '' ? [] : normalized.split('/');
  const path = parts.length === 0 ? resolve(root) : resolve(root, join(...parts));
  const rel = relative(resolve(root), path);
  if ((parts.length > 0 && rel === '') || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    refuse(key, 'it leaves the files folder');
  }
  return { path, key: normalized };
}

/**
 * Turns a storage key from a request (`project/task.id/artifacts/a.bin`) into a path inside `root`, refusing what
 * {@link normalizeStorageKey} refuses, so a request can never name a file outside the files folder. Symbolic links on
 * disk are not looked at here: see {@link inspectStoragePath}.
 */
export function resolveStorageKey(root: string, key: string): { path: string; key: string } {
  return resolveParts(root, key, normalizeStorageKey(key));
}

/**
 * Like {@link resolveStorageKey} for a folder to list: the empty key is the files folder itself.
 */
export function resolveStorageFolder(root: string, key: string): { path: string; key: string } {
  return resolveParts(root, key, normalizeStorageFolder(key));
}

/** Where a storage key's path stands on disk; see {@link inspectStoragePath}. */
export type StoragePathState =
  /** The key prefix `at` (maybe the whole key) is a symbolic link: the file server never follows one. */
  | { kind: 'symlink'; at: string }
  /** The key prefix `at`, short of the whole key, is not a folder, so nothing can lie below it. */
  | { kind: 'blocked'; at: string }
  /** Nothing at the key (its parts from the first missing one on do not exist). */
  | { kind: 'missing' }
  /** Something is at the key: `stats` are its own (a link would have been `symlink`). */
  | { kind: 'exists'; stats: Stats };

/**
 * Looks at a key's path below `root` part by part with `lstat`, so that no symbolic link inside the files folder is
 * ever followed: one placed there by anyone with access to the disk (or unpacked from an archive) could otherwise
 * lead a read, a listing, a delete or an upload to anywhere on the machine. `root` itself may be a link (that is
 * the server's own setting). `key` is a key {@link resolveStorageKey} answered (`/`-separated, normalized).
 *
 * Someone who can change the files folder while a request runs could still swap a folder for a link between this
 * check and the use of the path; reads close that gap for the file itself with `O_NOFOLLOW`.
 */
export async function inspectStoragePath(root: string, key: string): Promise<StoragePathState> {
  const parts = key === '' ? [] : key.split('/');
  let stats: Stats | undefined;
  for (let i = 0; i < parts.length; i += 1) {
    const at = parts.slice(0, i + 1).join('/');
    try {
      stats = await lstat(join(root, ...parts.slice(0, i + 1)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw error;
    }
    if (stats.isSymbolicLink()) return { kind: 'symlink', at };
    if (i < parts.length - 1 && !stats.isDirectory()) return { kind: 'blocked', at };
  }
  // The empty key is the files folder itself, followed if it is a link (the server's own setting).
  return { kind: 'exists', stats: stats ?? (await stat(root)) };
}

/**
 * The name of the temporary file an upload to `name` streams into, beside it: `.<name>.<12 hex>.uploading`, with
 * `name` cut short so that the whole stays within {@link MAX_KEY_PART_BYTES}.
 */
export function uploadingFileName(name: string, id: string): string {
  let kept = '';
  for (const char of name) {
    if (Buffer.byteLength(kept + char) > TEMP_NAME_BYTES) break;
    kept += char;
  }
  return `.${kept}.${id}${UPLOADING_SUFFIX}`;
}

/** Tells whether a file name is one {@link uploadingFileName} makes: a temporary upload file, ours to remove. */
export function isUploadingFileName(name: string): boolean {
  return UPLOADING_NAME.test(name);
}
