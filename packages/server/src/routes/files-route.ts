import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TasklaneError, newId } from '@tasklane/protocol';
import { UPLOADING_SUFFIX, resolveStorageFolder, resolveStorageKey } from '../storage/safe-path.js';

/** The URL prefix of the built-in file server. */
export const FILES_PREFIX = '/files';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.ogg': 'audio/ogg',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.html': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.yml': 'text/plain; charset=utf-8',
  '.gz': 'application/gzip',
  '.zip': 'application/zip',
};

/**
 * Statuses the file server answers besides the API's own codes. They have no `ErrorCode` of their own (yet), so
 * the reply names them with these strings.
 */
const FILE_TOO_LARGE = { status: 413, code: 'FILE_TOO_LARGE' } as const;
const RANGE_NOT_SATISFIABLE = { status: 416, code: 'RANGE_NOT_SATISFIABLE' } as const;

function sendFileError(reply: FastifyReply, error: unknown) {
  const known =
    error instanceof TasklaneError
      ? error
      : (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? new TasklaneError('FILE_NOT_FOUND', 'No file at that path.')
        : new TasklaneError('INTERNAL', `Could not access the file: ${(error as Error).message}`);
  return reply.code(known.status).send({ error: { code: known.code, message: known.message } });
}

function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

class FileTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly limitBytes: number,
  ) {
    super(
      `File "${key}" is larger than this server accepts: the limit is ${limitBytes} bytes (${formatBytes(limitBytes)}), ` +
        'set by the server setting maxFileBytes (environment variable TASKLANE_MAX_FILE_BYTES). ' +
        'Upload a smaller file, raise the limit on the server, or store large files in S3 or a shared folder (output_uri).',
    );
  }
}

/** A single byte range of a file, inclusive, or why none can be served. */
type RangeRequest = { start: number; end: number } | 'all' | 'unsatisfiable';

/**
 * Reads a `Range` header for a file of `size` bytes. One range (`bytes=a-b`, `bytes=a-`, `bytes=-n`) is served
 * with 206; several ranges are answered with the whole file (RFC 9110 lets a server ignore them); anything
 * malformed or outside the file is unsatisfiable (416).
 */
export function parseRange(header: string, size: number): RangeRequest {
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match) return 'unsatisfiable';
  const specs = match[1]!.split(',').map((s) => s.trim());
  if (specs.length > 1) return specs.every((s) => /^\d*-\d*$/.test(s) && s !== '-') ? 'all' : 'unsatisfiable';
  const spec = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!spec || (spec[1] === '' && spec[2] === '')) return 'unsatisfiable';
  if (spec[1] === '') {
    const suffix = Number(spec[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(spec[1]);
  const end = spec[2] === '' ? size - 1 : Number(spec[2]);
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** Every file key under `dir` (recursive), `/`-separated and sorted; uploads in progress are left out. */
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
    if (entry.isDirectory()) keys.push(...(await listKeys(join(dir, entry.name), key)));
    else if (entry.isFile() && !entry.name.endsWith(UPLOADING_SUFFIX)) keys.push(key);
  }
  return keys.sort();
}

/**
 * Streams one uploaded part to a temporary file beside its target, then renames it into place. On failure (too
 * large, client gone) the temporary file and the folders made for it are removed again.
 */
async function storeFile(
  file: NodeJS.ReadableStream & { truncated: boolean },
  target: { path: string; key: string },
  options: { filesDir: string; maxFileBytes: number },
): Promise<void> {
  const folder = dirname(target.path);
  const temp = join(folder, `.${basename(target.path)}.${newId().slice(0, 12)}${UPLOADING_SUFFIX}`);
  let firstMadeFolder: string | undefined;
  let handle;
  // Another upload that failed may remove an empty folder between our mkdir and open: make it again then.
  for (let attempt = 0; ; attempt += 1) {
    firstMadeFolder = (await mkdir(folder, { recursive: true })) ?? firstMadeFolder;
    try {
      handle = await open(temp, 'wx');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 3) throw error;
    }
  }
  try {
    // Refuse as soon as the limit is reached (the parser would otherwise read the whole rest of the part first).
    const stop = new AbortController();
    file.once('limit', () => stop.abort(new FileTooLargeError(target.key, options.maxFileBytes)));
    await pipeline(file, handle.createWriteStream(), { signal: stop.signal }).catch((error: unknown) => {
      throw stop.signal.aborted ? stop.signal.reason : error;
    });
    if (file.truncated) throw new FileTooLargeError(target.key, options.maxFileBytes);
    await rename(temp, target.path);
  } catch (error) {
    await rm(temp, { force: true });
    if (firstMadeFolder !== undefined) await removeEmptyFolders(folder, dirname(firstMadeFolder));
    throw error;
  }
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

/**
 * The built-in file server, ClearML's fileserver protocol under `/files`:
 * - `POST /files` with multipart parts whose field names are the destination paths; answers the list of stored
 *   paths. Each part streams to a temporary file renamed into place, so a broken upload never leaves a half-written
 *   file and concurrent uploads of one path never tear it (the last to finish wins). A part over `maxFileBytes`
 *   gets 413 and leaves nothing behind.
 * - `GET /files/<path>` (and `HEAD`): the file, with `Accept-Ranges: bytes`; one `Range` gives 206, a malformed or
 *   unsatisfiable one 416. Add `?download` for an attachment.
 * - `GET /files/<folder>/?list`: a JSON array of every file key under that folder (recursive, sorted).
 * - `DELETE /files/<path>`.
 */
export async function registerFilesRoutes(app: FastifyInstance, options: { filesDir: string; maxFileBytes: number }): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: options.maxFileBytes, fields: 100, files: 100 },
      throwFileSizeLimit: false,
    });

    const upload = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.isMultipart()) {
        return sendFileError(reply, new TasklaneError('INVALID_INPUT', 'Upload with multipart/form-data: one part per file, named by its destination path.'));
      }
      const stored: string[] = [];
      try {
        for await (const part of request.parts()) {
          if (part.type !== 'file') continue;
          const target = resolveStorageKey(options.filesDir, part.fieldname || part.filename);
          await storeFile(part.file, target, options);
          stored.push(target.key);
        }
      } catch (error) {
        if (error instanceof FileTooLargeError) {
          request.log.warn({ key: error.key, limitBytes: error.limitBytes }, 'upload refused: file too large');
          // Answered as soon as the limit is reached. The rest of the body is still read and dropped: closing the
          // connection instead would reset it under a client that is still sending, which then loses this answer;
          // and left unread, the rest would block the next request on a kept-alive connection.
          request.raw.resume();
          return reply.code(FILE_TOO_LARGE.status).send({
            error: { code: FILE_TOO_LARGE.code, message: error.message, key: error.key, limit_bytes: error.limitBytes, setting: 'TASKLANE_MAX_FILE_BYTES' },
          });
        }
        return sendFileError(reply, error);
      }
      if (stored.length === 0) return sendFileError(reply, new TasklaneError('INVALID_INPUT', 'The upload held no file part.'));
      return reply.send(stored);
    };
    scope.post(FILES_PREFIX, upload);
    scope.post(`${FILES_PREFIX}/`, upload);

    const download = async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const key = (request.params as { '*': string })['*'];
        const query = request.query as Record<string, unknown>;
        if ('list' in query) {
          const folder = resolveStorageFolder(options.filesDir, key);
          return reply.header('cache-control', 'no-store').send(await listKeys(folder.path, folder.key));
        }
        const target = resolveStorageKey(options.filesDir, key);
        const info = await stat(target.path);
        if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        const type = CONTENT_TYPES[extname(target.path).toLowerCase()] ?? 'application/octet-stream';
        reply
          .header('content-type', type)
          .header('accept-ranges', 'bytes')
          .header('last-modified', info.mtime.toUTCString())
          .header('x-content-type-options', 'nosniff');
        if ('download' in query) {
          reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(target.key.split('/').at(-1)!)}`);
        }
        const rangeHeader = request.headers.range;
        const range = rangeHeader === undefined ? 'all' : parseRange(rangeHeader, info.size);
        if (range === 'unsatisfiable') {
          return reply
            .code(RANGE_NOT_SATISFIABLE.status)
            .header('content-range', `bytes */${info.size}`)
            .header('content-type', 'application/json; charset=utf-8')
            .send({
              error: {
                code: RANGE_NOT_SATISFIABLE.code,
                message: `Cannot serve the range ${JSON.stringify(rangeHeader)} of "${target.key}" (${info.size} bytes): ask for one range "bytes=start-end" inside the file.`,
              },
            });
        }
        const { start, end } = range === 'all' ? { start: 0, end: info.size - 1 } : range;
        if (range !== 'all') reply.code(206).header('content-range', `bytes ${start}-${end}/${info.size}`);
        reply.header('content-length', Math.max(0, end - start + 1));
        if (request.method === 'HEAD' || end < start) return reply.send();
        return reply.send(createReadStream(target.path, { start, end, highWaterMark: 1024 * 1024 }));
      } catch (error) {
        return sendFileError(reply, error);
      }
    };
    // HEAD first, so Fastify does not add its own HEAD route (which would open the file to throw the body away).
    scope.head(`${FILES_PREFIX}/*`, download);
    scope.get(`${FILES_PREFIX}/*`, download);

    scope.delete(`${FILES_PREFIX}/*`, async (request, reply) => {
      try {
        const target = resolveStorageKey(options.filesDir, (request.params as { '*': string })['*']);
        const info = await stat(target.path);
        if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        await rm(target.path);
        return reply.send({ deleted: 1 });
      } catch (error) {
        return sendFileError(reply, error);
      }
    });
  });
}
