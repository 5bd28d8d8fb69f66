import type { Dirent } from 'node:fs';
import { lstat, opendir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isUploadingFileName } from './safe-path.js';

export interface LeftoverUploadsOptions {
  /** Only files last written before this time (ms since the epoch) go: an upload that starts meanwhile is never touched. */
  olderThanMs: number;
  /** Temporary files of this process's uploads in progress (absolute paths); never removed whatever their age. */
  inProgress: ReadonlySet<string>;
  /** Ends the walk early (the server is closing). */
  signal?: AbortSignal;
}

async function kindOf(entry: Dirent, path: string): Promise<'folder' | 'file' | 'other'> {
  if (entry.isDirectory()) return 'folder';
  if (entry.isFile()) return 'file';
  if (entry.isSymbolicLink() || entry.isFIFO() || entry.isSocket() || entry.isBlockDevice() || entry.isCharacterDevice()) return 'other';
  // A file system that does not report entry types: ask, still without following links.
  const stats = await lstat(path).catch(() => undefined);
  return stats?.isDirectory() ? 'folder' : stats?.isFile() ? 'file' : 'other';
}

/**
 * Removes the temporary files that uploads cut short (a crash, a kill) left in the files folder `root`, and answers
 * how many it removed. Only regular files named as uploads name them (`.<name>.<12 hex>.uploading`) and older than
 * `olderThanMs` go; links are neither followed nor removed, and every other file stays. Folders are read entry by
 * entry, so a big files folder is not held in memory.
 */
export async function removeLeftoverUploads(root: string, options: LeftoverUploadsOptions): Promise<number> {
  let removed = 0;
  const folders = [resolve(root)];
  while (folders.length > 0 && !options.signal?.aborted) {
    const folder = folders.pop()!;
    let dir;
    try {
      dir = await opendir(folder);
    } catch (error) {
      // Removed meanwhile (a task's files deleted, the server's folder cleared): nothing left to clean there.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw error;
    }
    for await (const entry of dir) {
      if (options.signal?.aborted) break;
      const path = join(folder, entry.name);
      const kind = await kindOf(entry, path);
      if (kind === 'folder') folders.push(path);
      if (kind !== 'file' || !isUploadingFileName(entry.name) || options.inProgress.has(path)) continue;
      const stats = await lstat(path).catch(() => undefined);
      if (!stats?.isFile() || stats.mtimeMs >= options.olderThanMs) continue;
      try {
        await rm(path);
        removed += 1;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
  return removed;
}
