import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';

/**
 * Turns a storage key from a request (`project/task.id/artifacts/a.bin`) into a path inside `root`. Refuses keys
 * that are empty, absolute on another drive, or climb out with `..`, and NUL bytes: a request can never reach a file
 * outside the files folder.
 */
export function resolveStorageKey(root: string, key: string): { path: string; key: string } {
  const parts = key.split(/[\\/]+/).filter((p) => p.length > 0 && p !== '.');
  if (parts.length === 0 || parts.some((p) => p === '..' || p.includes('\0'))) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid file path ${JSON.stringify(key)}: give a relative path without ".." parts, e.g. "project/task.id/artifacts/model.bin".`,
      { key },
    );
  }
  const path = resolve(root, join(...parts));
  const rel = relative(root, path);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new TasklaneError('INVALID_INPUT', `Invalid file path ${JSON.stringify(key)}: it leaves the files folder.`, { key });
  }
  return { path, key: parts.join('/') };
}
