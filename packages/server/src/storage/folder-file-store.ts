import { constants, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TasklaneError, newId } from '@tasklane/protocol';
import {
  blockedByFile,
  cannotStore,
  fileTooLarge,
  isAFolder,
  noFileThere,
  type ByteRange,
  type FileRead,
  type FileStore,
  type FileStoreLog,
  type FileUpload,
  type StoredFileInfo,
} from './file-store.js';
import { removeLeftoverUploads } from './leftover-uploads.js';
import {
  UPLOADING_SUFFIX,
  inspectStoragePath,
  normalizeStorageFolder,
  normalizeStorageKey,
  quoteKey,
  resolveStorageFolder,
  resolveStorageKey,
  uploadingFileName,
} from './safe-path.js';

/** Reads no link at the last part of a path (Windows has no such flag; links there need privileges to make). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** What the store does with a key, for the file-system errors a client causes. */
type FileAction = 'read' | 'store' | 'delete' | 'list';

/**
 * A file-system error the client caused, as a 4xx whose message names the key (never a path on the server's disk);
 * undefined when the server is to blame.
 */
function clientFileSystemError(error: unknown, action: FileAction, key: string): TasklaneError | undefined {
  if (!(error instanceof Error) || typeof (error as NodeJS.ErrnoException).syscall !== 'string') return undefined;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const details = key.length > 120 ? {} : { key };
  if (code === 'ENAMETOOLONG') {
    return new TasklaneError('INVALID_INPUT', `Invalid file path ${quoteKey(key)}: it is longer than the server's file system takes; use a shorter path.`, details);
  }
  if (action !== 'store') {
    // Gone, or never there as a file (a file on the way, a folder, a link, a name the file system cannot hold).
    return ['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EINVAL', 'EILSEQ'].includes(code) ? noFileThere() : undefined;
  }
  // Checked before writing (assertStorable); these come from another upload that put something in the way meanwhile.
  switch (code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return cannotStore(key, 'a part of its path is a file, so it cannot hold other files', 'upload under another path, or delete that file first');
    case 'EISDIR':
    case 'ENOTEMPTY':
      return cannotStore(key, 'it is a folder', 'upload under another path');
    case 'ELOOP':
      return cannotStore(key, 'a part of its path is a symbolic link, which the file server does not follow', 'upload under another path');
    case 'EINVAL':
    case 'EILSEQ':
      return cannotStore(key, "the server's file system does not take that name", 'use plainer characters (letters, digits, "-", "_", ".")');
    default:
      return undefined;
  }
}

/** Runs `work`, turning a file-system error the client caused into its 4xx; the server's own errors pass unchanged. */
async function asClientErrors<T>(action: FileAction, key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw clientFileSystemError(error, action, key) ?? error;
  }
}

function symlinkNotFound(key: string, at: string): TasklaneError {
  return new TasklaneError('FILE_NOT_FOUND', `No file at ${quoteKey(key)}: ${quoteKey(at)} is a symbolic link, which the file server does not follow.`);
}

/** Throws unless `key` names a place an upload may write: no link on the way, no file above it, not a folder. */
async function assertStorable(root: string, key: string): Promise<void> {
  const state = await inspectStoragePath(root, key);
  if (state.kind === 'symlink') {
    throw cannotStore(
      key,
      `${quoteKey(state.at)} is a symbolic link in the files folder, which the file server does not follow (it could lead outside the folder)`,
      'upload under another path, or remove the link from the server',
    );
  }
  if (state.kind === 'blocked') throw blockedByFile(key, state.at);
  if (state.kind === 'exists' && state.stats.isDirectory()) throw isAFolder(key);
  if (state.kind === 'exists' && !state.stats.isFile()) throw cannotStore(key, 'something other than a regular file is there', 'upload under another path');
}

/** Every file key under `dir` (recursive), `/`-separated and sorted; uploads in progress and links are left out. */
async function listKeys(dir: string, prefix: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
  const keys: string[] = [];
  for (const entry of entries) {
    const key = prefix ? `${prefix}/${entry.name}` : entry.name;
    // Entries are not followed: a link (to a file or a folder) is neither a file nor a folder here.
    if (entry.isDirectory()) keys.push(...(await listKeys(join(dir, entry.name), key)));
    else if (entry.isFile() && !entry.name.endsWith(UPLOADING_SUFFIX)) keys.push(key);
  }
  return keys.sort();
}

/** Removes `folder` and its parents up to (not including) `stop` while they are empty; stops at the first that is not. */
async function removeEmptyFolders(folder: string, stop: string): Promise<void> {
  for (let current = folder; current !== stop && current.startsWith(stop); current = dirname(current)) {
    try {
      await rmdir(current);
    } catch {
      return;
    }
  }
}

function versionOf(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
}

function infoOf(stats: Stats): StoredFileInfo {
  return { size: stats.size, modifiedAt: stats.mtime, version: versionOf(stats) };
}

/** Fails a stream with `FILE_TOO_LARGE` as soon as more than `maxBytes` have passed. */
function byteLimit(key: string, maxBytes: number): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(bytes > maxBytes ? fileTooLarge(key, maxBytes) : null, chunk);
    },
  });
}

/** One uploaded file, written whole to its temporary file beside `path` and waiting to be renamed into place. */
interface StagedFile {
  key: string;
  path: string;
  temp: string;
  /** The first folder made for it, if any: removed again (while empty) when the upload fails. */
  firstMadeFolder?: string;
}

/**
 * An upload into the folder: each file streams to a temporary file beside its target (`.<name>.<id>.uploading`,
 * never listed or served), and all are renamed into place at commit, once the whole upload is read; a rename swaps
 * the file whole, so readers never see a torn one and, of concurrent uploads of one key, the last to commit wins.
 */
class FolderUpload implements FileUpload {
  private readonly staged: StagedFile[] = [];
  private readonly committed: string[] = [];

  constructor(
    private readonly store: FolderFileStore,
    private readonly maxBytes: number,
  ) {}

  async add(key: string, body: Readable, signal?: AbortSignal): Promise<void> {
    const root = this.store.dir;
    const { path } = resolveStorageKey(root, key);
    await asClientErrors('store', key, async () => {
      await assertStorable(root, key);
      const folder = dirname(path);
      const staged: StagedFile = { key, path, temp: join(folder, uploadingFileName(basename(path), newId().slice(0, 12))) };
      this.store.inProgress.add(staged.temp);
      try {
        let handle: FileHandle | undefined;
        // Another upload that failed may remove an empty folder between our mkdir and open: make it again then.
        for (let attempt = 0; handle === undefined; attempt += 1) {
          staged.firstMadeFolder = (await mkdir(folder, { recursive: true })) ?? staged.firstMadeFolder;
          try {
            handle = await open(staged.temp, 'wx');
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
          }
        }
        const limit = byteLimit(key, this.maxBytes);
        const written = signal ? pipeline(body, limit, handle.createWriteStream(), { signal }) : pipeline(body, limit, handle.createWriteStream());
        await written.catch((error: unknown) => {
          throw signal?.aborted ? signal.reason : error;
        });
        this.staged.push(staged);
      } catch (error) {
        await this.remove([staged]);
        throw error;
      }
    });
  }

  async commit(): Promise<string[]> {
    const root = this.store.dir;
    // Looked at again now that the whole upload is read, so that nothing is stored unless all of it can be.
    for (const file of this.staged) await asClientErrors('store', file.key, () => assertStorable(root, file.key));
    while (this.staged.length > 0) {
      const file = this.staged[0]!;
      await asClientErrors('store', file.key, () => rename(file.temp, file.path));
      this.store.inProgress.delete(file.temp);
      this.staged.shift();
      this.committed.push(file.key);
    }
    return this.committed;
  }

  async discard(): Promise<void> {
    await this.remove(this.staged.splice(0));
  }

  /** Removes staged files (last first) and the folders made for them, while empty. */
  private async remove(files: StagedFile[]): Promise<void> {
    for (const file of [...files].reverse()) {
      await rm(file.temp, { force: true }).catch(() => undefined);
      this.store.inProgress.delete(file.temp);
      if (file.firstMadeFolder !== undefined) await removeEmptyFolders(dirname(file.temp), dirname(file.firstMadeFolder));
    }
  }
}

/**
 * Files in a folder of this machine, `<dataDir>/files` by default (issue 13's defences): symbolic links inside the
 * folder are never followed, wherever they are in a key (reads and deletes answer not-found, listings leave them
 * out, uploads are refused; the folder itself may be a link, that is the server's own setting); file-system errors a
 * client causes become 4xx naming the key; uploads are staged and renamed into place; temporary files that a crash
 * left behind are removed in the background at start.
 */
export class FolderFileStore implements FileStore {
  /** Temporary files of uploads in progress in this process: the start-up clean-up never takes them for leftovers. */
  readonly inProgress = new Set<string>();
  private cleanup: { stop: AbortController; done: Promise<void> } | undefined;

  private constructor(readonly dir: string) {}

  get description(): string {
    return this.dir;
  }

  /** Opens the folder store at `dir`, making the folder if it is missing. */
  static async open(dir: string): Promise<FolderFileStore> {
    await mkdir(dir, { recursive: true });
    return new FolderFileStore(dir);
  }

  parseKey(key: string): string {
    return normalizeStorageKey(key);
  }

  parseFolder(key: string): string {
    return normalizeStorageFolder(key);
  }

  start(log: FileStoreLog): void {
    if (this.cleanup) return;
    const stop = new AbortController();
    const done = removeLeftoverUploads(this.dir, { olderThanMs: Date.now(), inProgress: this.inProgress, signal: stop.signal }).then(
      (removed) => {
        if (removed > 0) log.info({ removed }, 'removed temporary files of uploads cut short before this start');
        else log.debug({}, 'no temporary upload files left from before this start');
      },
      (err: unknown) => log.warn({ err }, 'could not clean up temporary upload files left from before this start'),
    );
    this.cleanup = { stop, done };
  }

  async close(): Promise<void> {
    this.cleanup?.stop.abort();
    await this.cleanup?.done;
  }

  beginUpload(options: { maxBytes: number }): FileUpload {
    return new FolderUpload(this, options.maxBytes);
  }

  async stat(key: string): Promise<StoredFileInfo | undefined> {
    return asClientErrors('read', key, async () => {
      const state = await inspectStoragePath(this.dir, key);
      if (state.kind === 'symlink') throw symlinkNotFound(key, state.at);
      return state.kind === 'exists' && state.stats.isFile() ? infoOf(state.stats) : undefined;
    });
  }

  async read(key: string, range?: ByteRange & { version: string }): Promise<FileRead | 'changed' | undefined> {
    return asClientErrors('read', key, async () => {
      const opened = await this.openFile(key);
      if (opened === undefined) return undefined;
      const { handle, stats } = opened;
      try {
        if (range !== undefined && versionOf(stats) !== range.version) {
          await handle.close();
          return 'changed';
        }
        // The stream closes the handle when it ends, fails or is destroyed (client gone).
        const body = handle.createReadStream({ ...(range ? { start: range.start, end: range.end } : {}), highWaterMark: 1024 * 1024 });
        return { info: infoOf(stats), body };
      } catch (error) {
        await handle.close();
        throw error;
      }
    });
  }

  /** Opens the file at `key`, refusing a symbolic link anywhere on its way; the caller closes the handle. */
  private async openFile(key: string): Promise<{ handle: FileHandle; stats: Stats } | undefined> {
    const { path } = resolveStorageKey(this.dir, key);
    const state = await inspectStoragePath(this.dir, key);
    if (state.kind === 'symlink') throw symlinkNotFound(key, state.at);
    if (state.kind !== 'exists' || !state.stats.isFile()) return undefined;
    let handle;
    try {
      // O_NOFOLLOW: a file swapped for a link since the look above is refused, not followed.
      handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkNotFound(key, key);
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (stats.isFile()) return { handle, stats };
      await handle.close();
      return undefined;
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async list(folder: string): Promise<string[]> {
    return asClientErrors('list', folder, async () => {
      const { path } = resolveStorageFolder(this.dir, folder);
      const state = await inspectStoragePath(this.dir, folder);
      if (state.kind === 'symlink') throw symlinkNotFound(folder, state.at);
      return state.kind === 'exists' && state.stats.isDirectory() ? listKeys(path, folder) : [];
    });
  }

  async delete(key: string): Promise<boolean> {
    return asClientErrors('delete', key, async () => {
      const { path } = resolveStorageKey(this.dir, key);
      const state = await inspectStoragePath(this.dir, key);
      if (state.kind === 'symlink') throw symlinkNotFound(key, state.at);
      if (state.kind !== 'exists' || !state.stats.isFile()) return false;
      await rm(path);
      return true;
    });
  }

  async deleteFolder(folder: string): Promise<void> {
    if (folder === '') throw new TasklaneError('INVALID_INPUT', 'Refusing to delete every stored file: name a folder.');
    const { path } = resolveStorageFolder(this.dir, folder);
    // Only a real folder: through a symbolic link in the files folder, the removal would reach outside it.
    const state = await inspectStoragePath(this.dir, folder);
    if (state.kind !== 'exists' || !state.stats.isDirectory()) return;
    await rm(path, { recursive: true, force: true });
  }
}
