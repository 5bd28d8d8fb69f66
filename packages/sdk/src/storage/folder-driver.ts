import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { changedWhileUploading, fileChunks, writeChunksToFile, type StorageDriver } from './storage-driver.js';
import type { StorageLocation } from './storage-url.js';
import { isTemporaryName, temporaryName } from './temporary-name.js';

type FolderLocation = Extract<StorageLocation, { kind: 'folder' }>;

function notFound(location: FolderLocation, cause: unknown): TasklaneError {
  return new TasklaneError('FILE_NOT_FOUND', `No file at ${location.url}.`, { url: location.url }, { cause });
}

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  const paths: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) paths.push(...(await walk(path)));
    else if (entry.isFile() && !isTemporaryName(entry.name)) paths.push(path);
  }
  return paths;
}

/**
 * A local or shared folder (`file:///mnt/shared/...` or `/mnt/shared/...`). Uploads are copied to a temporary name
 * beside the target and renamed into place, so readers never see half a file.
 */
export const folderDriver: StorageDriver<FolderLocation> = {
  async upload(localPath, size, location, meter, context) {
    await mkdir(dirname(location.path), { recursive: true });
    const temp = join(dirname(location.path), temporaryName(basename(location.path)));
    try {
      await writeChunksToFile(fileChunks(localPath, size, 1024 * 1024), temp, meter, context.signal);
      if (meter.bytes !== size) throw changedWhileUploading(localPath, size, meter.bytes);
      await rename(temp, location.path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  },

  async download(location, targetPath, meter, context) {
    let size: number;
    try {
      const info = await stat(location.path);
      if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
      size = info.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(location, error);
      throw error;
    }
    meter.setTotal(size);
    await writeChunksToFile(createReadStream(location.path), targetPath, meter, context.signal);
  },

  async list(location) {
    return (await walk(location.path)).sort();
  },

  async delete(location) {
    try {
      const info = await stat(location.path);
      if (!info.isFile()) return false;
      await rm(location.path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  },
};
