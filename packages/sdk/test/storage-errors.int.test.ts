import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { StorageManager, joinUrl } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort } from './logger-support/server-process.js';
import { S3_ENV, startFileServerBackend, startS3Backend, testConfig } from './storage-support/backends.js';

let work: string;
beforeAll(async () => {
  for (const [name, value] of Object.entries(S3_ENV)) vi.stubEnv(name, value);
  work = await mkdtemp(join(tmpdir(), 'tasklane-storage-errors-'));
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(work, { recursive: true, force: true });
});

async function failure(call: Promise<unknown>): Promise<TasklaneError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected a TasklaneError, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TasklaneError);
  return error as TasklaneError;
}

describe('file server errors through StorageManager', () => {
  let backend: Awaited<ReturnType<typeof startFileServerBackend>>;
  beforeAll(async () => {
    backend = await startFileServerBackend({ TASKLANE_MAX_FILE_BYTES: String(1024 * 1024) });
  }, 120_000);
  afterAll(async () => {
    await backend?.close();
  });

  it('a file over the server limit fails with the server message (413), and nothing is stored', async () => {
    const path = join(work, 'two-mb.bin');
    await writeFile(path, randomBytes(2 * 1024 * 1024));
    const url = joinUrl(backend.base, 'limit', 'two-mb.bin');
    const error = await failure(StorageManager.uploadFile(path, url, { config: backend.config }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message.replace(url, '<url>')).toMatchInlineSnapshot(
      `"Cannot upload to <url>: the file server answered HTTP 413: File "storage tests/limit/two-mb.bin" is larger than this server accepts: the limit is 1048576 bytes (1 MiB), set by the server setting maxFileBytes (environment variable TASKLANE_MAX_FILE_BYTES). Upload a smaller file, raise the limit on the server, or store large files in S3 or a shared folder (output_uri)."`,
    );
    expect(error.details).toEqual({ url, status: 413, limitBytes: 1024 * 1024 });
    expect(await StorageManager.list(joinUrl(backend.base, 'limit'), { config: backend.config })).toEqual([]);
  });

  it('a file far over the limit is refused early: the SDK stops sending when the 413 comes', async () => {
    const path = join(work, 'sixty-four-mb.bin');
    await writeFile(path, randomBytes(64 * 1024 * 1024));
    let sentBytes = 0;
    const upload = StorageManager.uploadFile(path, joinUrl(backend.base, 'limit', 'big.bin'), {
      config: backend.config,
      progressIntervalMs: 0,
      onProgress: (p) => {
        sentBytes = p.transferredBytes;
      },
    });
    expect((await failure(upload)).details).toMatchObject({ status: 413, limitBytes: 1024 * 1024 });
    expect(sentBytes).toBeLessThan(32 * 1024 * 1024);
    // The same client goes on working (the refused connection is not reused).
    const small = join(work, 'after.txt');
    await writeFile(small, 'after the refusal');
    expect((await StorageManager.uploadFile(small, joinUrl(backend.base, 'after.txt'), { config: backend.config })).size).toBe(17);
  });

  it('a server that does not answer gives SERVER_UNREACHABLE, saying what to check', async () => {
    const port = await freePort();
    const config = testConfig({ TASKLANE_API_HOST: `http://127.0.0.1:${port}`, TASKLANE_STATE_DIR: work });
    const path = join(work, 'small.txt');
    await writeFile(path, 'small');
    const error = await failure(StorageManager.uploadFile(path, joinUrl(config.filesHost, 'a.txt'), { config }));
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message.replaceAll(String(port), '<port>')).toMatchInlineSnapshot(
      `"Cannot upload to http://127.0.0.1:<port>/files/a.txt: the file server at http://127.0.0.1:<port> did not answer (ECONNREFUSED). Is the Tasklane server running, and is TASKLANE_FILES_HOST right?"`,
    );
  });

  it('refuses a key the multipart protocol cannot carry', async () => {
    const path = join(work, 'small.txt');
    await writeFile(path, 'small');
    const error = await failure(StorageManager.uploadFile(path, `${backend.base}/a%22b.txt`, { config: backend.config }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('a file-server key may not hold ", \\, CR, LF or NUL');
  });
});

describe('cancelling transfers', () => {
  let unlimited: Awaited<ReturnType<typeof startFileServerBackend>>;
  beforeAll(async () => {
    unlimited = await startFileServerBackend();
  }, 120_000);
  afterAll(async () => {
    await unlimited?.close();
  });

  it('an aborted upload or download rejects with the abort and leaves no file on either side', async () => {
    const path = join(work, 'abort.bin');
    await writeFile(path, randomBytes(20 * 1024 * 1024));
    const url = joinUrl(unlimited.base, 'abort', 'abort.bin');
    const config = unlimited.config;

    const stopUpload = new AbortController();
    const upload = StorageManager.uploadFile(path, url, { config, signal: stopUpload.signal, progressIntervalMs: 0, onProgress: () => stopUpload.abort() });
    await expect(upload).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server notices the broken request
    expect(await StorageManager.list(joinUrl(unlimited.base, 'abort'), { config })).toEqual([]);

    await StorageManager.uploadFile(path, url, { config });
    const stopDownload = new AbortController();
    const target = join(work, 'aborted-download', 'abort.bin');
    const download = StorageManager.downloadFile(url, target, { config, signal: stopDownload.signal, progressIntervalMs: 0, onProgress: () => stopDownload.abort() });
    await expect(download).rejects.toMatchObject({ name: 'AbortError' });
    expect(await readdir(join(work, 'aborted-download'))).toEqual([]);
  });

});

describe('S3 errors through StorageManager', () => {
  let backend: Awaited<ReturnType<typeof startS3Backend>>;
  let file: string;
  beforeAll(async () => {
    backend = await startS3Backend();
    file = join(work, 's3.txt');
    await writeFile(file, 'to s3');
  });
  afterAll(async () => {
    await backend?.close();
  });

  it('a missing bucket gives FILE_NOT_FOUND naming the bucket', async () => {
    const error = await failure(StorageManager.uploadFile(file, 's3://no-such-bucket/a.txt', { config: backend.config }));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toBe(`Cannot upload to s3://no-such-bucket/a.txt: the bucket "no-such-bucket" does not exist at the S3 endpoint ${backend.s3.endpoint}.`);
  });

  it('a missing object gives FILE_NOT_FOUND', async () => {
    const error = await failure(StorageManager.downloadFile(`s3://${backend.bucket}/nothing/here.txt`, join(work, 'x.txt'), { config: backend.config }));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(error.message).toBe(`Cannot download s3://${backend.bucket}/nothing/here.txt: no object at s3://${backend.bucket}/nothing/here.txt.`);
  });

  it('unknown credentials give UNAUTHORIZED', async () => {
    // s3rver checks the access key id (it does not verify SigV4 signatures, so a wrong secret would pass).
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'UNKNOWNKEY');
    try {
      // Another spelling of the endpoint, so a fresh client reads the changed credentials.
      const config = { ...backend.config, s3Endpoint: backend.s3.endpoint.replace('127.0.0.1', 'localhost') };
      const error = await failure(StorageManager.uploadFile(file, `s3://${backend.bucket}/denied.txt`, { config }));
      expect(error.code).toBe('UNAUTHORIZED');
      expect(error.message.replace(/:\d+ /, ':<port> ')).toMatchInlineSnapshot(`"Cannot upload to s3://tasklane-tests/denied.txt: the S3 endpoint http://localhost:<port> refused the credentials (InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.)."`);
    } finally {
      vi.stubEnv('AWS_ACCESS_KEY_ID', S3_ENV.AWS_ACCESS_KEY_ID);
    }
  });

  it('an endpoint that does not answer gives SERVER_UNREACHABLE', async () => {
    const port = await freePort();
    const config = { ...backend.config, s3Endpoint: `http://127.0.0.1:${port}` };
    const error = await failure(StorageManager.list(`s3://${backend.bucket}/x`, { config }));
    expect(error.code).toBe('SERVER_UNREACHABLE');
    expect(error.message.replaceAll(String(port), '<port>')).toMatchInlineSnapshot(
      `"Cannot list s3://tasklane-tests/x: the S3 endpoint http://127.0.0.1:<port> did not answer (ECONNREFUSED). Check TASKLANE_S3_ENDPOINT / AWS_ENDPOINT_URL and the network."`,
    );
  }, 60_000);
});
