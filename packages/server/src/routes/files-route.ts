import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TasklaneError } from '@tasklane/protocol';
import { FileStoreUnavailableError, fileTooLarge, noFileThere, type FileRead, type FileStore, type FileUpload, type StoredFileInfo } from '../storage/file-store.js';

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
 * An error that is the server's own: logged in full, answered 500 with the request id and nothing else; 503 when the
 * file store (the bucket) failed, since that may pass.
 */
function internalError(request: FastifyRequest, error: unknown, action: FileAction, key: string | undefined): TasklaneError {
  if (error instanceof FileStoreUnavailableError) {
    request.log.error({ err: error, key, action }, 'file server: the file store failed');
    return new TasklaneError('SERVER_UNREACHABLE', `The server's file store did not answer or failed (request ${request.id}); try again later. The server's log says why.`);
  }
  const isFileSystemError = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
  request.log.error({ err: error, key, action }, isFileSystemError ? 'file server: file system error' : 'file server: unexpected error');
  return new TasklaneError('INTERNAL', `Unexpected server error (request ${request.id}).`);
}

/** Any error of a file server request as the reply it gets. */
function toFileError(request: FastifyRequest, error: unknown, action: FileAction, key?: string): TasklaneError {
  if (error instanceof TasklaneError) return error;
  if (error instanceof MalformedUploadError) return malformedUpload(error.cause);
  return internalError(request, error, action, key);
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

interface FilesOptions {
  files: FileStore;
  maxFileBytes: number;
}

/**
 * Streams one uploaded part into the upload. The parser stops a part at the limit: that aborts the part at once (the
 * parser would otherwise read the whole rest of the part first). A part that itself broke (cut short, malformed) is
 * the client's doing, unlike an error of the store.
 */
async function addPart(upload: FileUpload, key: string, file: Readable & { truncated: boolean }, maxFileBytes: number): Promise<void> {
  const stop = new AbortController();
  file.once('limit', () => stop.abort(fileTooLarge(key, maxFileBytes)));
  try {
    await upload.add(key, file, stop.signal);
  } catch (error) {
    if (stop.signal.aborted) throw stop.signal.reason;
    if (file.errored !== null && !(error instanceof TasklaneError)) throw new MalformedUploadError(file.errored);
    throw error;
  }
  if (file.truncated) throw fileTooLarge(key, maxFileBytes);
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
 * The built-in file server, ClearML's fileserver protocol under `/files`, over the server's file store (a folder or
 * a bucket, see `storage/file-store.ts`):
 * - `POST /files` with multipart parts whose field names are the destination paths; answers the list of stored
 *   paths. Each part streams into the store as it arrives, and none is visible until the whole body is read, so a
 *   broken or refused upload stores none of its files and never leaves a half-written one, and concurrent uploads of
 *   one path never tear it (the last to finish wins). A part over `maxFileBytes` gets 413; more than
 *   {@link MAX_UPLOAD_PARTS} parts, a key part over 255 bytes or a key over 1,024 bytes get 400, all before the store
 *   is touched.
 * - `GET /files/<path>` (and `HEAD`): the file, with `Accept-Ranges: bytes`; one `Range` gives 206, a malformed or
 *   unsatisfiable one 416. Add `?download` for an attachment.
 * - `GET /files/<folder>/?list`: a JSON array of every file key under that folder (recursive, sorted).
 * - `DELETE /files/<path>`.
 *
 * Every reply carries {@link FILES_CONTENT_SECURITY_POLICY} and `X-Content-Type-Options: nosniff`, and only passive
 * images, media and text are served inline (see `CONTENT_TYPES`, by extension, whatever the store says): uploaded
 * files never run in the web UI's origin. Client mistakes answer 4xx naming the key, never a path on the server;
 * failures of the server answer 500 with the request id (503 when the bucket fails), the log has the error.
 *
 * The store's background upkeep starts here and stops when the app closes (the app closes the store itself).
 */
export async function registerFilesRoutes(app: FastifyInstance, options: FilesOptions): Promise<void> {
  const { files } = options;
  files.start(app.log);

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
      const stored = files.beginUpload({ maxBytes: options.maxFileBytes });
      let keys: string[];
      let key: string | undefined;
      try {
        let count = 0;
        for await (const part of uploadedParts(request)) {
          if (part.type !== 'file') continue;
          key = part.fieldname || part.filename;
          key = files.parseKey(key);
          await addPart(stored, key, part.file, options.maxFileBytes);
          count += 1;
        }
        if (count === 0) throw new TasklaneError('INVALID_INPUT', 'The upload held no file part.');
        key = undefined;
        keys = await stored.commit();
      } catch (error) {
        await stored.discard();
        const refusal = toFileError(request, error, 'store', key);
        if (refusal.code === 'FILE_TOO_LARGE') {
          request.log.warn({ key: refusal.details?.key, limitBytes: refusal.details?.limit_bytes }, 'upload refused: file too large');
        }
        dropRestOfBody(request);
        return sendFileError(reply, refusal);
      }
      return reply.send(keys);
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
          key = files.parseFolder(requested);
          const keys = await files.list(key);
          return reply.header('cache-control', 'no-store').send(keys);
        }
        key = files.parseKey(requested);
        const rangeHeader = request.headers.range;
        const { type, isInline } = CONTENT_TYPES[extname(key).toLowerCase()] ?? OTHER_TYPE;
        // A range needs the file's size first; a whole file is one read. The file may be replaced between the two
        // (another upload, another process): the read then answers 'changed', and it starts again.
        let info: StoredFileInfo | undefined;
        let range: RangeRequest = 'all';
        let read: FileRead | undefined;
        if (request.method === 'GET' && rangeHeader === undefined) {
          const whole = await files.read(key);
          if (whole === undefined || whole === 'changed') throw noFileThere();
          read = whole;
          info = whole.info;
        } else {
          for (let attempt = 1; ; attempt += 1) {
            info = await files.stat(key);
            if (info === undefined) throw noFileThere();
            range = rangeHeader === undefined ? 'all' : parseRange(rangeHeader, info.size);
            if (request.method === 'HEAD' || range === 'unsatisfiable') break;
            const { start, end } = range === 'all' ? { start: 0, end: info.size - 1 } : range;
            if (end < start) break;
            const part = await files.read(key, { start, end, version: info.version });
            if (part === undefined) throw noFileThere();
            if (part !== 'changed') {
              read = part;
              break;
            }
            if (attempt >= 3) throw new TasklaneError('SERVER_UNREACHABLE', `The file "${key}" was replaced again and again while it was read; ask again.`);
          }
        }
        let isHandedOver = false;
        try {
          reply.header('content-type', type).header('accept-ranges', 'bytes').header('last-modified', info.modifiedAt.toUTCString());
          if (!isInline || 'download' in query) {
            reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(key.split('/').at(-1)!)}`);
          }
          if (range === 'unsatisfiable') {
            reply.removeHeader('content-disposition');
            reply.header('content-range', `bytes */${info.size}`).header('content-type', 'application/json; charset=utf-8');
            return sendFileError(
              reply,
              new TasklaneError(
                'RANGE_NOT_SATISFIABLE',
                `Cannot serve the range ${JSON.stringify(rangeHeader)} of "${key}" (${info.size} bytes): ask for one range "bytes=start-end" inside the file.`,
              ),
            );
          }
          const { start, end } = range === 'all' ? { start: 0, end: info.size - 1 } : range;
          if (range !== 'all') reply.code(206).header('content-range', `bytes ${start}-${end}/${info.size}`);
          reply.header('content-length', Math.max(0, end - start + 1));
          if (request.method === 'HEAD' || read === undefined) return reply.send();
          isHandedOver = true;
          return reply.send(read.body);
        } finally {
          if (!isHandedOver) read?.body.destroy();
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
        key = files.parseKey((request.params as { '*': string })['*']);
        if (!(await files.delete(key))) throw noFileThere();
        return reply.send({ deleted: 1 });
      } catch (error) {
        return sendFileError(reply, toFileError(request, error, 'delete', key));
      }
    });
  });
}
