import { createWriteStream } from 'node:fs';
import { mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TasklaneError } from '@tasklane/protocol';
import { temporaryName } from './temporary-name.js';

/** What {@link zipFolder} packed. */
export interface ZipSummary {
  /** Files in the archive. */
  files: number;
  /** Their total size before compression. */
  bytes: number;
}

/** Options of {@link zipFolder}. */
export interface ZipFolderOptions {
  /** Deflate the files; off stores them as they are (faster for already-compressed data such as weights). @default true */
  compress?: boolean;
}

interface FolderEntry {
  /** Path inside the archive, `/`-separated. */
  name: string;
  path: string;
  isDirectory: boolean;
  size: number;
}

/** Lists a folder for zipping, sorted, following symbolic links (a link to a folder already seen is an error). */
async function collect(root: string, dir: string, seen: Set<string>, into: FolderEntry[]): Promise<void> {
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0 && dir !== root) {
    into.push({ name: `${relative(root, dir).split(sep).join('/')}/`, path: dir, isDirectory: true, size: 0 });
  }
  for (const name of entries) {
    const path = join(dir, name);
    const info = await stat(path);
    if (info.isDirectory()) {
      const real = await realpath(path);
      if (seen.has(real)) {
        throw new TasklaneError('INVALID_INPUT', `Cannot zip ${root}: the folder link ${path} leads back into a folder already packed.`, { path });
      }
      seen.add(real);
      await collect(root, path, seen, into);
    } else if (info.isFile()) {
      into.push({ name: relative(root, path).split(sep).join('/'), path, isDirectory: false, size: info.size });
    }
  }
}

/**
 * Packs a folder into a zip file (paths relative to the folder, `/`-separated, sorted; empty folders kept), streaming
 * each file so memory stays small whatever the folder's size. The archive is written to a temporary name beside
 * `zipPath` and renamed into place.
 *
 * @example
 * await zipFolder('./checkpoints', '/tmp/checkpoints.zip', { compress: false });
 */
export async function zipFolder(folder: string, zipPath: string, options: ZipFolderOptions = {}): Promise<ZipSummary> {
  const root = resolve(folder);
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory()) throw new TasklaneError('FILE_NOT_FOUND', `Cannot zip ${folder}: no folder there.`, { path: folder });
  const entries: FolderEntry[] = [];
  await collect(root, root, new Set([await realpath(root)]), entries);
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  const compress = options.compress ?? true;
  for (const entry of entries) {
    if (entry.isDirectory) zip.addEmptyDirectory(entry.name);
    else zip.addFile(entry.path, entry.name, { compress });
  }
  const temp = join(dirname(resolve(zipPath)), temporaryName(basename(zipPath)));
  try {
    const written = pipeline(zip.outputStream, createWriteStream(temp));
    zip.end();
    await written;
    await rename(temp, zipPath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  const files = entries.filter((e) => !e.isDirectory);
  return { files: files.length, bytes: files.reduce((sum, e) => sum + e.size, 0) };
}

/**
 * Extracts a zip file into `targetDir` (created if needed), streaming each entry. Entry names that are absolute or
 * climb out with `..` are refused (the archive is rejected, nothing is written outside `targetDir`).
 *
 * @example
 * await extractZip('/tmp/checkpoints.zip', './restored');
 */
export async function extractZip(zipPath: string, targetDir: string): Promise<ZipSummary> {
  const yauzl = await import('yauzl');
  const root = resolve(targetDir);
  await mkdir(root, { recursive: true });
  let zip: import('yauzl').ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: true });
  } catch (cause) {
    throw new TasklaneError('INVALID_INPUT', `Cannot extract ${zipPath}: it is not a readable zip file (${(cause as Error).message.replace(/\.$/, '')}).`, { path: zipPath }, { cause });
  }
  let files = 0;
  let bytes = 0;
  try {
    await new Promise<void>((resolvePromise, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolvePromise());
      zip.on('entry', (entry: import('yauzl').Entry) => {
        const handle = async () => {
          const target = resolve(root, entry.fileName);
          if (target !== root && !target.startsWith(`${root}${sep}`)) {
            throw new TasklaneError('INVALID_INPUT', `Cannot extract ${zipPath}: the entry "${entry.fileName}" would land outside ${targetDir}.`, {
              path: zipPath,
            });
          }
          if (entry.fileName.endsWith('/')) {
            await mkdir(target, { recursive: true });
            return;
          }
          await mkdir(dirname(target), { recursive: true });
          await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(target));
          files += 1;
          bytes += entry.uncompressedSize;
        };
        handle().then(
          () => zip.readEntry(),
          (error: unknown) => {
            zip.close();
            reject(error);
          },
        );
      });
      zip.readEntry();
    });
  } catch (error) {
    if (error instanceof TasklaneError) throw error;
    throw new TasklaneError('INVALID_INPUT', `Cannot extract ${zipPath}: ${(error as Error).message.replace(/\.$/, '')}.`, { path: zipPath }, { cause: error });
  }
  return { files, bytes };
}
