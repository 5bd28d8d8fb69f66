import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isTemporaryName, temporaryName } from './temporary-name.js';

/** What the cache keeps about one entry, in `<entry>/.entry.json`. */
export interface CacheEntryMeta {
  url: string;
  /** The file's name inside the entry folder. */
  name: string;
  size: number;
  sha256: string;
  /** When extracted: the folder's name and the SHA-256 of the archive it came from, and the bytes it holds. */
  extracted?: { name: string; sha256: string; bytes: number };
}

/** The record's file name inside an entry folder. */
export const CACHE_META_NAME = '.entry.json';
const META_NAME = CACHE_META_NAME;
/** A temporary file or an entry without its record older than this is left over from a crashed process. */
const STALE_MS = 60 * 60 * 1000;

/**
 * The download cache of `StorageManager.getLocalCopy`: one folder per URL under `<stateDir>/cache`, holding the file
 * (and the folder it extracts to) plus a small record. The record's modification time is the entry's last use
 * (touched on every hit); past `maxBytes` the least recently used entries are removed.
 *
 * Safe across processes without locks: files are written to temporary names and renamed into place (two processes
 * fetching one URL both end with a complete file, the last rename winning), and eviction ignores entries that
 * vanish under it.
 *
 * @internal
 */
export class LocalCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** The folder of a URL's entry. */
  entryDir(url: string): string {
    return join(this.dir, createHash('sha256').update(url).digest('hex').slice(0, 32));
  }

  /** The entry's record, or undefined when there is none (or it is unreadable). */
  async readMeta(entryDir: string): Promise<CacheEntryMeta | undefined> {
    try {
      return JSON.parse(await readFile(join(entryDir, META_NAME), 'utf8')) as CacheEntryMeta;
    } catch {
      return undefined;
    }
  }

  /** Writes the entry's record atomically (which also marks it as just used). */
  async writeMeta(entryDir: string, meta: CacheEntryMeta): Promise<void> {
    const temp = join(entryDir, temporaryName(META_NAME));
    await writeFile(temp, JSON.stringify(meta));
    await rename(temp, join(entryDir, META_NAME));
  }

  /** Marks the entry as used now (LRU order). */
  async touch(entryDir: string): Promise<void> {
    const now = new Date();
    await utimes(join(entryDir, META_NAME), now, now).catch(() => undefined);
  }

  /**
   * Removes the least recently used entries until the cache holds at most `maxBytes`, never `keep` (the entry just
   * fetched, even when it alone is larger). Also clears temporary files and record-less entries left by crashed
   * processes. Entries or files removed meanwhile by another process are skipped.
   */
  async evict(keep: string | undefined): Promise<{ removed: string[]; totalBytes: number }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return { removed: [], totalBytes: 0 };
    }
    const now = Date.now();
    const entries: { dir: string; bytes: number; usedAt: number }[] = [];
    for (const name of names) {
      const dir = join(this.dir, name);
      const metaInfo = await lstat(join(dir, META_NAME)).catch(() => undefined);
      const meta = metaInfo ? await this.readMeta(dir) : undefined;
      let bytes: number;
      if (meta) {
        bytes = meta.size + (meta.extracted?.bytes ?? 0) + (await this.staleTemporaryBytes(dir, now));
      } else {
        // No record: being filled by another process right now, or left by a crashed one.
        const info = await lstat(dir).catch(() => undefined);
        if (!info) continue;
        if (now - info.mtimeMs > STALE_MS && dir !== keep) {
          await rm(dir, { recursive: true, force: true }).catch(() => undefined);
          continue;
        }
        bytes = await folderBytes(dir);
      }
      entries.push({ dir, bytes, usedAt: metaInfo?.mtimeMs ?? now });
    }
    let totalBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
    const removed: string[] = [];
    for (const entry of entries.sort((a, b) => a.usedAt - b.usedAt)) {
      if (totalBytes <= this.maxBytes) break;
      if (entry.dir === keep) continue;
      await rm(entry.dir, { recursive: true, force: true }).catch(() => undefined);
      totalBytes -= entry.bytes;
      removed.push(entry.dir);
    }
    return { removed, totalBytes };
  }

  /** Removes temporary files older than an hour from an entry; answers the bytes of the younger ones. */
  private async staleTemporaryBytes(dir: string, now: number): Promise<number> {
    let bytes = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!isTemporaryName(name) && !name.endsWith('.extracting')) continue;
      const path = join(dir, name);
      const info = await lstat(path).catch(() => undefined);
      if (!info) continue;
      if (now - info.mtimeMs > STALE_MS) await rm(path, { recursive: true, force: true }).catch(() => undefined);
      else bytes += info.isDirectory() ? await folderBytes(path) : info.size;
    }
    return bytes;
  }
}

/** Total size of the files under a folder; files that vanish meanwhile count as 0. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    total += info.isDirectory() ? await folderBytes(path) : info.size;
  }
  return total;
}
