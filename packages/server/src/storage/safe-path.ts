import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';

/** Suffix of the temporary files uploads stream into before they are renamed into place; never listed or served. */
export const UPLOADING_SUFFIX = '.uploading';

function keyParts(key: string): string[] {
  return key.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.');
}

function refuse(key: string, why: string): never {
  throw new TasklaneError(
    'INVALID_INPUT',
    `Invalid file path ${JSON.stringify(key)}: ${why}; give a relative path without ".." parts, e.g. "project/task.id/artifacts/model.bin".`,
    { key },
  );
}

function resolveParts(root: string, key: string, parts: string[]): { path: string; key: string } {
  if (parts.some((p) => p === '..')) refuse(key, 'it climbs out with ".."');
  if (parts.some((p) => p.includes('\0'))) refuse(key, 'it holds a NUL byte');
  if (parts.some((p) => p.endsWith(UPLOADING_SUFFIX))) refuse(key, `names ending in "${UPLOADING_SUFFIX}" are reserved for uploads in progress`);
  const path = parts.length === 0 ? resolve(root) : resolve(root, join(...parts));
  const rel = relative(resolve(root), path);
  if ((parts.length > 0 && rel === '') || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    refuse(key, 'it leaves the files folder');
  }
  return { path, key: parts.join('/') };
}

/**
 * Turns a storage key from a request (`project/task.id/artifacts/a.bin`) into a path inside `root`. Refuses keys
 * that are empty, climb out with `..`, hold a NUL byte or name an upload in progress; backslashes count as
 * separators and a leading `/` is ignored, so a request can never reach a file outside the files folder.
 */
export function resolveStorageKey(root: string, key: string): { path: string; key: string } {
  const parts = keyParts(key);
  if (parts.length === 0) refuse(key, 'it is empty');
  return resolveParts(root, key, parts);
}

/**
 * Like {@link resolveStorageKey} for a folder to list: the empty key is the files folder itself.
 */
export function resolveStorageFolder(root: string, key: string): { path: string; key: string } {
  return resolveParts(root, key, keyParts(key));
}
