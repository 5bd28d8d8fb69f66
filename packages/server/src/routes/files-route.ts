import { constants, type Stats } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TasklaneError, newId } from '@tasklane/protocol';
import { removeLeftoverUploads } from '../storage/leftover-uploads.js';
import {
  UPLOADING_SUFFIX,
  inspectStoragePath,
  quoteKey,
  resolveStorageFolder,
  resolveStorageKey,
  uploadingFileName,
} from '../storage/safe-path.js';

/** The URL prefix of the built-in file server. */
export const FILES_PREFIX = '/files';

/**
 * Sent with every reply of the file server. Its files come from anyone who can reach the port and are served from
 * the web UI's origin, so none may run there: `sandbox` gives a file opened in a tab an opaque origin with no
 * script, forms, popups or plugins (PDF viewers included), and `default-src 'none'` lets it load nothing but
 * images and media of this server (and the inline styles an SVG uses), so a picture or a video opened in a tab
 * still shows. The web UI's `<img>`, `<video>` and `<audio>` are not affected: a policy applies to documents.
 */
export const FILES_CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";

/** Most parts (files and other fields) one upload may hold; ClearML's and Tasklane's SDKs send one file per upload. */
export const MAX_UPLOAD_PARTS = 100;

/**
 * What each extension is served as, and whether a browser may show it in a tab: passive images, media and text
 * only. Anything else, SVG included (an SVG document can run script; `<img>` still shows it), and any unknown
 * extension (HTML, XHTML, XML, JavaScript, PDF…) is served as an attachment, and its type is never one a browser
 * runs as a page: `.html` is sent as plain text.
 */
const CONTENT_TYPES: Record<string, { type: string; isInline: boolean }> = {
  '.png': { type: 'image/png', isInline: true },
  '.jpg': { type: 'image/jpeg', isInline: true },
  '.jpeg': { type: 'image/jpeg', isInline: true },
  '.gif': { type: 'image/gif', isInline: true },
  '.webp': { type: 'image/webp', isInline: true },
  '.avif': { type: 'image/avif', isInline: true },
  '.bmp': { type: 'image/bmp', isInline: true },
  '.svg': { type: 'image/svg+xml', isInline: false },
  '.mp4': { type: 'video/mp4', isInline: true },
  '.webm': { type: 'video/webm', isInline: true },
  '.ogv': { type: 'video/ogg', isInline: true },
  '.mp3': { type: 'audio/mpeg', isInline: true },
  '.wav': { type: 'audio/wav', isInline: true },
  '.ogg': { type: 'audio/ogg', isInline: true },
  '.flac': { type: 'audio/flac', isInline: true },
  '.m4a': { type: 'audio/mp4', isInline: true },
  '.json': { type: 'application/json', isInline: true },
  '.txt': { type: 'text/plain; charset=utf-8', isInline: true },
  '.log': { type: 'text/plain; charset=utf-8', isInline: true },
  '.csv': { type: 'text/csv; charset=utf-8', isInline: true },
  '.html': { type: 'text/plain; charset=utf-8', isInline: true },
  '.yaml': { type: 'text/plain; charset=utf-8', isInline: true },
  '.yml': { type: 'text/plain; charset=utf-8', isInline: true },
  '.gz': { type: 'application/gzip', isInline: false },
  '.zip': { type: 'application/zip', isInline: false },
};
const OTHER_TYPE = { type: 'application/octet-stream', isInline: false };

/** Reads no link at the last part of a path (Windows has no such flag; links there need privileges to make). */
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

const NOT_FOUND_MESSAGE = 'No file at that path.';

function sendFileError(reply: FastifyReply, error: TasklaneError) {
  return reply.code(error.status).send({ error: { code: error.code, message: error.message, ...error.details } });
}

/** What the file server does with a key, for error messages. */
type FileAction = 'read' | 'store' | 'delete' | 'list';

/** An upload body the multipart parser could not read; `cause` is the parser's error. */
class MalformedUploadError extends Error {
  constructor(cause: unknown) {
    super('malformed upload', { cause });
  }
}

function malformedUpload(cause: unknown): TasklaneError {
  const code = (cause as { code?: unknown }).code;
  const nothingStored = 'nothing of it was stored';
  switch (code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new TasklaneError(
        'INVALID_INPUT',
        `An upload may hold at most ${MAX_UPLOAD_PARTS} parts (files and other fields); this one holds more, so ${nothingStored}. ` +
          'Send the files in several uploads.',
        { limit: MAX_UPLOAD_PARTS },
      );
    case 'FST_PROTO_VIOLATION':
      return new TasklaneError(
        'INVALID_INPUT',
        `A part of the upload is named after a property of JavaScript objects ("__proto__", "constructor", "toString"…), which the server refuses, so ${nothingStored}. ` +
          'Name each file part by its path, e.g. "project/task.id/artifacts/model.bin".',
      );
    case 'FST_MP_PREMATURE_CLOSE':
      return new TasklaneError('INVALID_INPUT', `The upload ended before its last part was complete, so ${nothingStored}. Send it again.`);
    default: {
      const detail = cause instanceof Error ? ` (${cause.message})` : '';
      return new TasklaneError(
        'INVALID_INPUT',
        `The upload is not valid multipart/form-data${detail}, so ${nothingStored}. Send one part per file, named by its destination path.`,
      );
    }
  }
}

/**
 * A file-system error the client caused, as a 4xx whose message names the key (never a path on the server's disk);
 * undefined when the server is to blame.
 */
function clientFileSystemError(error: NodeJS.ErrnoException, action: FileAction, key: string | undefined): TasklaneError | undefined {
  const quoted = key === undefined ? 'that path' : quoteKey(key);
  const details = key === undefined || key.length > 120 ? {} : { key };
  if (error.code === 'ENAMETOOLONG') {
    return new TasklaneError('INVALID_INPUT', `Invalid file path ${quoted}: it is longer than the server's file system takes; use a shorter path.`, details);
  }
  if (action !== 'store') {
    // Gone, or never there as a file (a file on the way, a folder, a link, a name the file system cannot hold).
    const isMissing = ['ENOENT', 'ENOTDIR', 'EISDIR', 'ELOOP', 'EINVAL', 'EILSEQ'].includes(error.code ?? '');
    return isMissing ? new TasklaneError('FILE_NOT_FOUND', NOT_FOUND_MESSAGE) : undefined;
  }
  const refuse = (why: string, hint: string) => new TasklaneError('INVALID_INPUT', `Cannot store ${quoted}: ${why}; ${hint}.`, details);
  // Checked before writing (assertStorable); these come from another upload that put something in the way meanwhile.
  switch (error.code) {
    case 'ENOTDIR':
    case 'EEXIST':
      return refuse('a part of its path is a file, so it cannot hold other files', 'upload under another path, or delete that file first');
    case 'EISDIR':
    case 'ENOTEMPTY':
      return refuse('it is a folder', 'upload under another path');
    case 'ELOOP':
      return refuse('a part of its path is a symbolic link, which the file server does not follow', 'upload under another path');
    case 'EINVAL':
    case 'EILSEQ':
      return refuse("the server's file system does not take that name", 'use plainer characters (letters, digits, "-", "_", ".")');
    default:
      return undefined;
  }
}

/** An error that is the server's own: logged in full, answered 500 with the request id and nothing else. */
function internalError(request: FastifyRequest, error: unknown, action: FileAction, key: string | undefined): TasklaneError {
  const isFileSystemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
  request.log.error({ err: error, key, action }, isFileSystemError ? 'file server: file system error' : 'file server: unexpected error');
  return new TasklaneError('INTERNAL', `Unexpected server error (request ${request.id}).`);
}

/** Any error of a file server request as the reply it gets. */
function toFileError(request: FastifyRequest, error: unknown, action: FileAction, key?: string): TasklaneError {
  if (error instanceof TasklaneError) return error;
  if (error instanceof MalformedUploadError) return malformedUpload(error.cause);
  const isFileSystemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
  return (isFileSystemError && clientFileSystemError(error, action, key)) || internalError(request, error, action, key);
}

function symlinkNotFound(key: string, at: string): TasklaneError {
  return new TasklaneError('FILE_NOT_FOUND', `No file at ${quoteKey(key)}: ${quoteKey(at)} is a symbolic link, which the file server does not follow.`);
}

/** Throws unless `key` names a place an upload may write: no link on the way, no file above it, not a folder. */
async function assertStorable(root: string, key: string): Promise<void> {
  const state = await inspectStoragePath(root, key);
  const refuse = (why: string, hint: string): never => {
    throw new TasklaneError('INVALID_INPUT', `Cannot store ${quoteKey(key)}: ${why}; ${hint}.`, key.length <= 120 ? { key } : {});
  };
  if (state.kind === 'symlink') {
    refuse(
      `${quoteKey(state.at)} is a symbolic link in the files folder, which the file server does not follow (it could lead outside the folder)`,
      'upload under another path, or remove the link from the server',
    );
  }
  if (state.kind === 'blocked') refuse(`${quoteKey(state.at)} is a file, so it cannot hold other files`, `upload under another path, or delete ${quoteKey(state.at)} first`);
  if (state.kind === 'exists' && state.stats.isDirectory()) refuse('it is a folder (it holds other files)', 'upload under another path');
  if (state.kind === 'exists' && !state.stats.isFile()) refuse('something other than a regular file is there', 'upload under another path');
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

function fileTooLarge(key: string, limitBytes: number): TasklaneError {
  return new TasklaneError(
    'FILE_TOO_LARGE',
    `File "${key}" is larger than this server accepts: the limit is ${limitBytes} bytes (${formatBytes(limitBytes)}), ` +
      'set by the server setting maxFileBytes (environment variable TASKLANE_MAX_FILE_BYTES). ' +
      'Upload a smaller file, raise the limit on the server, or store large files in S3 or a shared folder (output_uri).',
    { key, limit_bytes: limitBytes, setting: 'TASKLANE_MAX_FILE_BYTES' },
  );
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

/** One uploaded part, written whole to its temporary file beside `path` and waiting to be renamed into place. */
interface StagedFile {
  key: string;
  path: string;
  temp: string;
  /** The first folder made for it, if any: removed again (while empty) when the upload fails. */
  firstMadeFolder?: string;
}

interface FilesOptions {
  filesDir: string;
  maxFileBytes: number;
}

/**
 * Streams one uploaded part to a temporary file beside its target. On failure (too large, client gone, a bad
 * part) the temporary file and the folders made for it are removed again. `inProgress` gets the temporary file's
 * path while it may be on disk, so the start-up clean-up never takes it for a leftover.
 */
async function stageFile(
  file: Readable & { truncated: boolean },
  target: { path: string; key: string },
  options: FilesOptions,
  inProgress: Set<string>,
): Promise<StagedFile> {
  await assertStorable(options.filesDir, target.key);
  const folder = dirname(target.path);
  const staged: StagedFile = { ...target, temp: join(folder, uploadingFileName(basename(target.path), newId().slice(0, 12))) };
  inProgress.add(staged.temp);
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
    // Refuse as soon as the limit is reached (the parser would otherwise read the whole rest of the part first).
    const stop = new AbortController();
    file.once('limit', () => stop.abort(fileTooLarge(target.key, options.maxFileBytes)));
    await pipeline(file, handle.createWriteStream(), { signal: stop.signal }).catch((error: unknown) => {
      if (stop.signal.aborted) throw stop.signal.reason;
      // The part itself broke (cut short, malformed): the client's doing, unlike an error writing to disk.
      if (file.errored !== null && file.errored === error) throw new MalformedUploadError(error);
      throw error;
    });
    if (file.truncated) throw fileTooLarge(target.key, options.maxFileBytes);
    return staged;
  } catch (error) {
    await discardStaged([staged], inProgress);
    throw error;
  }
}

/** Removes staged files (last first) and the folders made for them, while empty. */
async function discardStaged(staged: StagedFile[], inProgress: Set<string>): Promise<void> {
  for (const file of [...staged].reverse()) {
    await rm(file.temp, { force: true });
    inProgress.delete(file.temp);
    if (file.firstMadeFolder !== undefined) await removeEmptyFolders(dirname(file.temp), dirname(file.firstMadeFolder));
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

/** The parts of a multipart request; an error of the parser comes out as a {@link MalformedUploadError}. */
async function* uploadedParts(request: FastifyRequest) {
  let parts;
  try {
    parts = request.parts()[Symbol.asyncIterator]();
  } catch (error) {
    throw new MalformedUploadError(error);
  }
  for (;;) {
    let next;
    try {
      next = await parts.next();
    } catch (error) {
      throw new MalformedUploadError(error);
    }
    if (next.done) return;
    yield next.value;
  }
}

/**
 * Stops reading an upload that was answered early (refused): the rest of the body is read and dropped. Closing the
 * connection instead would reset it under a client that is still sending, which then loses the answer; and left
 * unread, the rest would block the next request on a kept-alive connection.
 */
function dropRestOfBody(request: FastifyRequest): void {
  request.raw.unpipe();
  request.raw.resume();
}

/**
 * Opens the file at `key` for reading, refusing a symbolic link anywhere on its way (404), and answers it with its
 * stats; the caller closes the handle.
 */
async function openStoredFile(root: string, target: { path: string; key: string }): Promise<{ handle: FileHandle; info: Stats }> {
  const state = await inspectStoragePath(root, target.key);
  if (state.kind === 'symlink') throw symlinkNotFound(target.key, state.at);
  if (state.kind !== 'exists' || !state.stats.isFile()) throw new TasklaneError('FILE_NOT_FOUND', NOT_FOUND_MESSAGE);
  let handle;
  try {
    // O_NOFOLLOW: a file swapped for a link since the look above is refused, not followed.
    handle = await open(target.path, constants.O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw symlinkNotFound(target.key, target.key);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new TasklaneError('FILE_NOT_FOUND', NOT_FOUND_MESSAGE);
    return { handle, info };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * The built-in file server, ClearML's fileserver protocol under `/files`:
 * - `POST /files` with multipart parts whose field names are the destination paths; answers the list of stored
 *   paths. Each part streams to a temporary file, and all are renamed into place once the whole body is read, so a
 *   broken or refused upload stores none of its files and never leaves a half-written one, and concurrent uploads of
 *   one path never tear it (the last to finish wins). A part over `maxFileBytes` gets 413; more than
 *   {@link MAX_UPLOAD_PARTS} parts, a key part over 255 bytes or a key over 1,024 bytes get 400, all before the disk
 *   is touched.
 * - `GET /files/<path>` (and `HEAD`): the file, with `Accept-Ranges: bytes`; one `Range` gives 206, a malformed or
 *   unsatisfiable one 416. Add `?download` for an attachment.
 * - `GET /files/<folder>/?list`: a JSON array of every file key under that folder (recursive, sorted).
 * - `DELETE /files/<path>`.
 *
 * Every reply carries {@link FILES_CONTENT_SECURITY_POLICY} and `X-Content-Type-Options: nosniff`, and only passive
 * images, media and text are served inline (see `CONTENT_TYPES`): uploaded files never run in the web UI's origin.
 * Symbolic links inside the files folder are never followed: reads, listings and deletes answer 404 for them, uploads
 * 400. Client mistakes answer 4xx naming the key, never a path on the server; file-system failures of the server
 * answer 500 with the request id (the log has the error).
 *
 * At start, temporary files that uploads cut short by a crash left behind are removed in the background.
 */
export async function registerFilesRoutes(app: FastifyInstance, options: FilesOptions): Promise<void> {
  const inProgress = new Set<string>();
  const startedAtMs = Date.now();
  const stopCleanup = new AbortController();
  const cleanup = removeLeftoverUploads(options.filesDir, { olderThanMs: startedAtMs, inProgress, signal: stopCleanup.signal }).then(
    (removed) => {
      if (removed > 0) app.log.info({ removed }, 'removed temporary files of uploads cut short before this start');
      else app.log.debug('no temporary upload files left from before this start');
    },
    (err: unknown) => app.log.warn({ err }, 'could not clean up temporary upload files left from before this start'),
  );
  app.addHook('onClose', async () => {
    stopCleanup.abort();
    await cleanup;
  });

  await app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: options.maxFileBytes, parts: MAX_UPLOAD_PARTS, files: MAX_UPLOAD_PARTS, fields: MAX_UPLOAD_PARTS },
      throwFileSizeLimit: false,
    });
    // Every reply, errors included: see FILES_CONTENT_SECURITY_POLICY.
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('content-security-policy', FILES_CONTENT_SECURITY_POLICY).header('x-content-type-options', 'nosniff');
      return payload;
    });

    const upload = async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.isMultipart()) {
        return sendFileError(reply, new TasklaneError('INVALID_INPUT', 'Upload with multipart/form-data: one part per file, named by its destination path.'));
      }
      const staged: StagedFile[] = [];
      let key: string | undefined;
      try {
        for await (const part of uploadedParts(request)) {
          if (part.type !== 'file') continue;
          key = part.fieldname || part.filename;
          const target = resolveStorageKey(options.filesDir, key);
          key = target.key;
          staged.push(await stageFile(part.file, target, options, inProgress));
        }
        if (staged.length === 0) throw new TasklaneError('INVALID_INPUT', 'The upload held no file part.');
        // Looked at again now that the whole body is read, so that nothing is stored unless all of it can be.
        for (const file of staged) {
          key = file.key;
          await assertStorable(options.filesDir, file.key);
        }
        for (const file of staged) {
          key = file.key;
          await rename(file.temp, file.path);
          inProgress.delete(file.temp);
        }
      } catch (error) {
        await discardStaged(
          staged.filter((f) => inProgress.has(f.temp)),
          inProgress,
        );
        const refusal = toFileError(request, error, 'store', key);
        if (refusal.code === 'FILE_TOO_LARGE') {
          request.log.warn({ key: refusal.details?.key, limitBytes: refusal.details?.limit_bytes }, 'upload refused: file too large');
        }
        dropRestOfBody(request);
        return sendFileError(reply, refusal);
      }
      return reply.send(staged.map((f) => f.key));
    };
    scope.post(FILES_PREFIX, upload);
    scope.post(`${FILES_PREFIX}/`, upload);

    const download = async (request: FastifyRequest, reply: FastifyReply) => {
      const query = request.query as Record<string, unknown>;
      const isList = 'list' in query;
      let key: string | undefined;
      try {
        const requested = (request.params as { '*': string })['*'];
        if (isList) {
          const folder = resolveStorageFolder(options.filesDir, requested);
          key = folder.key;
          const state = await inspectStoragePath(options.filesDir, folder.key);
          if (state.kind === 'symlink') throw symlinkNotFound(folder.key, state.at);
          const keys = state.kind === 'exists' && state.stats.isDirectory() ? await listKeys(folder.path, folder.key) : [];
          return reply.header('cache-control', 'no-store').send(keys);
        }
        const target = resolveStorageKey(options.filesDir, requested);
        key = target.key;
        const { handle, info } = await openStoredFile(options.filesDir, target);
        let isHandedOver = false;
        try {
          const { type, isInline } = CONTENT_TYPES[extname(target.path).toLowerCase()] ?? OTHER_TYPE;
          reply.header('content-type', type).header('accept-ranges', 'bytes').header('last-modified', info.mtime.toUTCString());
          if (!isInline || 'download' in query) {
            reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(target.key.split('/').at(-1)!)}`);
          }
          const rangeHeader = request.headers.range;
          const range = rangeHeader === undefined ? 'all' : parseRange(rangeHeader, info.size);
          if (range === 'unsatisfiable') {
            reply.removeHeader('content-disposition');
            reply.header('content-range', `bytes */${info.size}`).header('content-type', 'application/json; charset=utf-8');
            return sendFileError(
              reply,
              new TasklaneError(
                'RANGE_NOT_SATISFIABLE',
                `Cannot serve the range ${JSON.stringify(rangeHeader)} of "${target.key}" (${info.size} bytes): ask for one range "bytes=start-end" inside the file.`,
              ),
            );
          }
          const { start, end } = range === 'all' ? { start: 0, end: info.size - 1 } : range;
          if (range !== 'all') reply.code(206).header('content-range', `bytes ${start}-${end}/${info.size}`);
          reply.header('content-length', Math.max(0, end - start + 1));
          if (request.method === 'HEAD' || end < start) return reply.send();
          isHandedOver = true;
          // The stream closes the handle when it ends, fails or is destroyed (client gone).
          return reply.send(handle.createReadStream({ start, end, highWaterMark: 1024 * 1024 }));
        } finally {
          if (!isHandedOver) await handle.close();
        }
      } catch (error) {
        return sendFileError(reply, toFileError(request, error, isList ? 'list' : 'read', key));
      }
    };
    // HEAD first, so Fastify does not add its own HEAD route (which would open the file to throw the body away).
    scope.head(`${FILES_PREFIX}/*`, download);
    scope.get(`${FILES_PREFIX}/*`, download);

    scope.delete(`${FILES_PREFIX}/*`, async (request, reply) => {
      let key: string | undefined;
      try {
        const target = resolveStorageKey(options.filesDir, (request.params as { '*': string })['*']);
        key = target.key;
        const state = await inspectStoragePath(options.filesDir, target.key);
        if (state.kind === 'symlink') throw symlinkNotFound(target.key, state.at);
        if (state.kind !== 'exists' || !state.stats.isFile()) throw new TasklaneError('FILE_NOT_FOUND', NOT_FOUND_MESSAGE);
        await rm(target.path);
        return reply.send({ deleted: 1 });
      } catch (error) {
        return sendFileError(reply, toFileError(request, error, 'delete', key));
      }
    });
  });
}
