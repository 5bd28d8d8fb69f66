import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { TasklaneError, newId } from '@tasklane/protocol';
import { resolveStorageKey } from './safe-path.js';

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

function sendFileError(reply: FastifyReply, error: unknown) {
  const known =
    error instanceof TasklaneError
      ? error
      : (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? new TasklaneError('FILE_NOT_FOUND', 'No file at that path.')
        : new TasklaneError('INTERNAL', `Could not access the file: ${(error as Error).message}`);
  return reply.code(known.status).send({ error: { code: known.code, message: known.message } });
}

/**
 * The built-in file server, ClearML's fileserver protocol under `/files`: `POST /files` with multipart parts whose
 * field names are the destination paths (answers the list of stored paths), `GET /files/<path>` (add `?download`
 * for an attachment), `DELETE /files/<path>`. Uploads stream to a temporary file renamed into place, so a broken
 * upload never leaves a half-written file.
 */
export async function registerFilesRoutes(app: FastifyInstance, options: { filesDir: string; maxFileBytes: number }): Promise<void> {
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: options.maxFileBytes, fields: 100, files: 100 } });

    const upload = async (request: import('fastify').FastifyRequest, reply: FastifyReply) => {
      if (!request.isMultipart()) {
        return sendFileError(reply, new TasklaneError('INVALID_INPUT', 'Upload with multipart/form-data: one part per file, named by its destination path.'));
      }
      const stored: string[] = [];
      try {
        for await (const part of request.parts()) {
          if (part.type !== 'file') continue;
          const target = resolveStorageKey(options.filesDir, part.fieldname || part.filename);
          await mkdir(dirname(target.path), { recursive: true });
          const temp = `${target.path}.${newId().slice(0, 8)}.uploading`;
          try {
            await pipeline(part.file, createWriteStream(temp));
            if (part.file.truncated) {
              throw new TasklaneError('INVALID_INPUT', `File "${target.key}" is larger than the server accepts (${options.maxFileBytes} bytes).`);
            }
            await rename(temp, target.path);
          } catch (error) {
            await rm(temp, { force: true });
            throw error;
          }
          stored.push(target.key);
        }
      } catch (error) {
        return sendFileError(reply, error);
      }
      if (stored.length === 0) return sendFileError(reply, new TasklaneError('INVALID_INPUT', 'The upload held no file part.'));
      return reply.send(stored);
    };
    scope.post(FILES_PREFIX, upload);
    scope.post(`${FILES_PREFIX}/`, upload);

    scope.get(`${FILES_PREFIX}/*`, async (request, reply) => {
      try {
        const key = (request.params as { '*': string })['*'];
        const target = resolveStorageKey(options.filesDir, key);
        const info = await stat(target.path);
        if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
        const type = CONTENT_TYPES[extname(target.path).toLowerCase()] ?? 'application/octet-stream';
        reply.header('content-type', type).header('content-length', info.size).header('x-content-type-options', 'nosniff');
        if ('download' in (request.query as object)) {
          reply.header('content-disposition', `attachment; filename="${encodeURIComponent(target.key.split('/').at(-1)!)}"`);
        }
        return reply.send(createReadStream(target.path));
      } catch (error) {
        return sendFileError(reply, error);
      }
    });

    scope.delete(`${FILES_PREFIX}/*`, async (request, reply) => {
      try {
        const target = resolveStorageKey(options.filesDir, (request.params as { '*': string })['*']);
        await stat(target.path);
        await rm(target.path);
        return reply.send({ deleted: 1 });
      } catch (error) {
        return sendFileError(reply, error);
      }
    });
  });
}
