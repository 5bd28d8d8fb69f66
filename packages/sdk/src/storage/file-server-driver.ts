import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { TasklaneError, isErrorCode, type ErrorCode } from '@tasklane/protocol';
import { basicAuthorization } from '../client/token-manager.js';
import { keyPairOf } from '../config.js';
import { SDK_CLIENT_HEADERS, tokenManagerFor } from '../credentials.js';
import { changedWhileUploading, fileChunks, writeChunksToFile, type DriverContext, type StorageDriver } from './storage-driver.js';
import type { StorageConfig, StorageLocation } from './storage-url.js';
import type { TransferMeter } from './transfer-meter.js';

type FileServerLocation = Extract<StorageLocation, { kind: 'file-server' }>;

const READ_CHUNK_BYTES = 256 * 1024;

/** How a file-server request gets its credentials: sends it (once more after a refused token) and explains a 401. */
interface FileServerAuth {
  send<TReply extends { status: number }>(attempt: (authorization: string | undefined) => Promise<TReply>, discard?: (reply: TReply) => void): Promise<TReply>;
  explain(error: unknown): unknown;
}

const NO_CREDENTIALS: FileServerAuth = { send: (attempt) => attempt(undefined), explain: (error) => error };

/**
 * The credentials for a location: only the configured files host gets any (as ClearML does). With the API host known
 * (the SDK's settings) they are the process's token, shared with the API client; else the key pair as HTTP Basic.
 * An `Authorization` among the caller's own headers is sent as it is.
 */
function authFor(location: FileServerLocation, context: DriverContext): FileServerAuth {
  if (!location.isFilesHost || Object.keys(context.headers).some((name) => name.toLowerCase() === 'authorization')) return NO_CREDENTIALS;
  const { config } = context;
  if (config.apiHost !== undefined) return tokenManagerFor({ ...config, apiHost: config.apiHost });
  const keyPair = keyPairOf(config);
  if (keyPair === undefined) return NO_CREDENTIALS;
  const authorization = basicAuthorization(keyPair);
  return { send: (attempt) => attempt(authorization), explain: (error) => error };
}

function headersFor(location: FileServerLocation, context: DriverContext, authorization: string | undefined): Record<string, string> {
  if (!location.isFilesHost) return {};
  return { ...SDK_CLIENT_HEADERS, ...context.headers, ...(authorization !== undefined ? { authorization } : {}) };
}

/** A network failure as a TasklaneError saying what to check; aborts and our own errors pass through. */
function unreachable(error: unknown, location: FileServerLocation, action: string): unknown {
  if ((error as Error).name === 'AbortError' || error instanceof TasklaneError) return error;
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = (error as NodeJS.ErrnoException).code ?? cause?.code ?? cause?.message ?? (error as Error).message;
  return new TasklaneError(
    'SERVER_UNREACHABLE',
    `Cannot ${action}: the file server at ${new URL(location.base).origin} did not answer (${why}). ` +
      'Is the Tasklane server running, and is TASKLANE_FILES_HOST right?',
    { url: location.url },
    { cause: error },
  );
}

/** Small requests (list, delete) go through fetch, with the credentials. */
async function send(location: FileServerLocation, url: string, init: RequestInit, context: DriverContext, action: string): Promise<Response> {
  return authFor(location, context).send(
    async (authorization) => {
      try {
        return await fetch(url, { ...init, headers: headersFor(location, context, authorization), signal: context.signal });
      } catch (error) {
        throw unreachable(error, location, action);
      }
    },
    (refused) => void refused.body?.cancel().catch(() => undefined),
  );
}

function nodeRequestFor(url: URL): typeof httpRequest {
  return url.protocol === 'https:' ? httpsRequest : httpRequest;
}

/** Turns a file-server reply other than 2xx into a TasklaneError that keeps the server's message. */
function replyError(status: number, text: string, url: string, action: string): TasklaneError {
  let body: { error?: { code?: string; message?: string; limit_bytes?: number; reason?: string } } | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  const serverMessage = body?.error?.message ?? (text.slice(0, 200) || '(empty reply)');
  const code: ErrorCode =
    status === 413
      ? 'INVALID_INPUT'
      : isErrorCode(body?.error?.code)
        ? body.error.code
        : status === 404
          ? 'FILE_NOT_FOUND'
          : status === 401 || status === 403
            ? 'UNAUTHORIZED'
            : status >= 500
              ? 'INTERNAL'
              : 'INVALID_INPUT';
  return new TasklaneError(code, `Cannot ${action}: the file server answered HTTP ${status}: ${serverMessage}`, {
    url,
    status,
    ...(body?.error?.limit_bytes !== undefined ? { limitBytes: body.error.limit_bytes } : {}),
    ...(typeof body?.error?.reason === 'string' ? { reason: body.error.reason } : {}),
  });
}

/** The error of a refused request; a 401 or 429 also says which credentials to fix (or how to configure them). */
function refusal(status: number, text: string, url: string, action: string, auth: FileServerAuth): unknown {
  return auth.explain(replyError(status, text, url, action));
}

async function responseError(response: Response, url: string, action: string, auth: FileServerAuth): Promise<unknown> {
  return refusal(response.status, await response.text().catch(() => ''), url, action, auth);
}

function checkUploadKey(location: FileServerLocation): void {
  // These cannot travel in a multipart field name (the parser would change them), and "\" is a separator there.
  if (/["\\\r\n\0]/.test(location.key)) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Cannot upload to ${location.url}: a file-server key may not hold ", \\, CR, LF or NUL; quote names with joinUrl/quoteKeyPart.`,
      { url: location.url },
    );
  }
}

/**
 * Sends one upload with ClearML's protocol: a multipart body with one part whose field name is the key. The file is
 * streamed from disk with backpressure, counted and hashed on the way, and the length is announced up front.
 *
 * This uses node:http rather than fetch: undici's fetch keeps every chunk of a streamed request body in memory
 * until the request ends (https://github.com/nodejs/undici/issues/4058), so a 500 MB upload would hold 500 MB.
 */
async function postMultipart(
  location: FileServerLocation,
  localPath: string,
  size: number,
  meter: TransferMeter,
  context: DriverContext,
  authorization: string | undefined,
): Promise<{ status: number; text: string }> {
  meter.restart();
  const boundary = `----tasklane${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${location.key}"; filename="${basename(location.key)}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const url = new URL(location.base);
  const action = `upload to ${location.url}`;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, reply?: { status: number; text: string }) => {
      if (settled) return;
      settled = true;
      if (error === undefined) resolve(reply!);
      else reject(error);
    };
    const request = nodeRequestFor(url)(url, {
      method: 'POST',
      headers: {
        ...headersFor(location, context, authorization),
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(head.length + size + tail.length),
      },
      signal: context.signal,
    });
    let hasResponse = false;
    request.on('response', (response) => {
      hasResponse = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => finish(unreachable(error, location, action)));
      response.on('end', () => {
        finish(undefined, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        // The server answered before the body was all sent (a refusal such as 413): stop sending the rest.
        if (!request.writableFinished) request.destroy();
      });
    });
    request.on('error', (error) => {
      if (!hasResponse) finish(unreachable(error, location, action));
    });
    async function* body() {
      yield head;
      for await (const chunk of fileChunks(localPath, size, READ_CHUNK_BYTES)) {
        meter.update(chunk);
        yield chunk;
      }
      if (meter.bytes !== size) throw changedWhileUploading(localPath, size, meter.bytes);
      yield tail;
    }
    pipeline(body(), request).catch((error: unknown) => {
      // A reply that came while the body was still going (e.g. 413) says more than the broken pipe: let it finish.
      if (hasResponse && !(error instanceof TasklaneError)) return;
      request.destroy();
      finish(unreachable(error, location, action));
    });
  });
}

/** GETs a file with node:http(s) (a little faster than fetch for large bodies); resolves once the headers arrive. */
function httpGet(location: FileServerLocation, context: DriverContext, action: string, authorization: string | undefined): Promise<IncomingMessage> {
  const url = new URL(location.url);
  return new Promise((resolve, reject) => {
    const request = nodeRequestFor(url)(url, { method: 'GET', headers: headersFor(location, context, authorization), signal: context.signal });
    request.on('response', resolve);
    request.on('error', (error) => reject(unreachable(error, location, action)));
    request.end();
  });
}


/** The built-in file server (and ClearML-style file servers): ClearML's multipart upload, GET, DELETE, `?list`. */
export const fileServerDriver: StorageDriver<FileServerLocation> = {
  async upload(localPath, size, location, meter, context) {
    checkUploadKey(location);
    const auth = authFor(location, context);
    // A refused token is renewed and the whole file sent again (the refusal came before anything was stored).
    const reply = await auth.send((authorization) => postMultipart(location, localPath, size, meter, context, authorization));
    if (reply.status < 200 || reply.status >= 300) {
      throw refusal(reply.status, reply.text, location.url, `upload to ${location.url}`, auth);
    }
    let stored: unknown;
    try {
      stored = JSON.parse(reply.text);
    } catch {
      stored = undefined;
    }
    if (!Array.isArray(stored) || !stored.includes(location.key)) {
      throw new TasklaneError('INTERNAL', `Upload to ${location.url}: the file server did not confirm "${location.key}" (answered ${reply.text.slice(0, 200)}).`, {
        url: location.url,
      });
    }
  },

  async download(location, targetPath, meter, context) {
    const action = `download ${location.url}`;
    const auth = authFor(location, context);
    const { response, status } = await auth.send(
      async (authorization) => {
        const answer = await httpGet(location, context, action, authorization);
        return { response: answer, status: answer.statusCode ?? 0 };
      },
      (refused) => void refused.response.resume(),
    );
    if (status !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw refusal(status, Buffer.concat(chunks).toString('utf8'), location.url, action, auth);
    }
    const length = response.headers['content-length'];
    const expected = length === undefined ? undefined : Number(length);
    meter.setTotal(expected);
    try {
      await writeChunksToFile(response, targetPath, meter, context.signal);
    } catch (error) {
      throw unreachable(error, location, action);
    }
    if (expected !== undefined && meter.bytes !== expected) {
      throw new TasklaneError('SERVER_UNREACHABLE', `Download of ${location.url} broke off after ${meter.bytes} of ${expected} bytes; try again.`, {
        url: location.url,
      });
    }
  },

  async list(location, context) {
    const url = `${location.url.replace(/\/+$/, '')}/?list`;
    const action = `list ${location.url}`;
    const response = await send(location, url, {}, context, action);
    if (!response.ok) throw await responseError(response, location.url, action, authFor(location, context));
    const keys = (await response.json().catch(() => undefined)) as unknown;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
      throw new TasklaneError('INTERNAL', `Cannot ${action}: the file server at ${location.base} does not answer "?list" with a list of keys.`, {
        url: location.url,
      });
    }
    return (keys as string[]).sort();
  },

  async delete(location, context) {
    const action = `delete ${location.url}`;
    const response = await send(location, location.url, { method: 'DELETE' }, context, action);
    if (response.status === 404) {
      await response.body?.cancel();
      return false;
    }
    if (!response.ok) throw await responseError(response, location.url, action, authFor(location, context));
    await response.body?.cancel();
    return true;
  },
};
