import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any;
}

/**
 * Sends a request with the path exactly as given (fetch and `new URL` would resolve `..` and `%2e%2e` before
 * sending, hiding what an attacker can send).
 */
function rawRequest(
  baseUrl: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | AsyncIterable<Buffer> } = {},
): Promise<RawReply> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json: unknown;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    const body = init.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      void (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch(reject);
    }
  });
}

const BOUNDARY = 'tasklane-test-boundary';

function partHead(name: string): Buffer {
  return Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"; filename="f.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
}
const TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
const MULTIPART = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };

/** Uploads one file under `key` with ClearML's protocol (the multipart field name is the key). */
function upload(url: string, key: string, data: Buffer): Promise<RawReply> {
  return rawRequest(url, '/files', { method: 'POST', headers: MULTIPART, body: Buffer.concat([partHead(key), data, TAIL]) });
}

/** Uploads `data` as a body that trickles out over about `durationMs`, to keep an upload in progress. */
function slowUpload(url: string, key: string, data: Buffer, durationMs: number): Promise<RawReply> {
  const pieces = 20;
  async function* body() {
    yield partHead(key);
    const size = Math.ceil(data.length / pieces);
    for (let offset = 0; offset < data.length; offset += size) {
      yield data.subarray(offset, offset + size);
      await sleep(durationMs / pieces);
    }
    yield TAIL;
  }
  return rawRequest(url, '/files', { method: 'POST', headers: MULTIPART, body: body() });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under a folder, relative and `/`-separated, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('file server', () => {
  let server: TestServer;
  let filesDir: string;
  beforeAll(async () => {
    server = await startTestServer();
    filesDir = join(server.dir, 'files');
  });
  afterAll(async () => {
    await server.close();
  });

  describe('upload and download', () => {
    it('stores a multipart part under its field name and serves it back byte for byte, with its type and length', async () => {
      const data = randomBytes(300_000);
      const stored = await upload(server.url, 'proj/task.1/artifacts/w/weights.bin', data);
      expect(stored.status).toBe(200);
      expect(stored.json).toEqual(['proj/task.1/artifacts/w/weights.bin']);

      const got = await rawRequest(server.url, '/files/proj/task.1/artifacts/w/weights.bin');
      expect(got.status).toBe(200);
      expect(got.body.equals(data)).toBe(true);
      expect(got.headers['content-type']).toBe('application/octet-stream');
      expect(got.headers['content-length']).toBe(String(data.length));
      expect(got.headers['accept-ranges']).toBe('bytes');
    });

    it('serves an empty file', async () => {
      expect((await upload(server.url, 'empty/zero.bin', Buffer.alloc(0))).json).toEqual(['empty/zero.bin']);
      const got = await rawRequest(server.url, '/files/empty/zero.bin');
      expect(got.status).toBe(200);
      expect(got.body.length).toBe(0);
      expect(got.headers['content-length']).toBe('0');
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      await upload(server.url, 'head/a.json', Buffer.from('{"a":1}'));
      const head = await rawRequest(server.url, '/files/head/a.json', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
      expect(head.headers['content-length']).toBe('7');
      expect(head.headers['content-type']).toBe('application/json');
      expect(head.headers['accept-ranges']).toBe('bytes');
      expect((await rawRequest(server.url, '/files/head/missing.json', { method: 'HEAD' })).status).toBe(404);
    });

    it('answers 404 FILE_NOT_FOUND for a missing file and for a folder', async () => {
      await upload(server.url, 'dir/inner/x.txt', Buffer.from('x'));
      for (const path of ['/files/dir/nothing.txt', '/files/dir/inner']) {
        const got = await rawRequest(server.url, path);
        expect(got.status).toBe(404);
        expect(got.json).toEqual({ error: { code: 'FILE_NOT_FOUND', message: 'No file at that path.' } });
      }
    });

    it('decodes percent-escapes in the path to the stored key', async () => {
      await upload(server.url, 'names/with space ü.txt', Buffer.from('unicode'));
      const got = await rawRequest(server.url, `/files/names/${encodeURIComponent('with space ü.txt')}`);
      expect(got.status).toBe(200);
      expect(got.body.toString()).toBe('unicode');
    });
  });

  describe('ranges', () => {
    const data = Buffer.from('0123456789abcdefghij'); // 20 bytes
    beforeAll(async () => {
      await upload(server.url, 'range/r.bin', data);
    });

    it.each([
      ['bytes=0-9', 0, 9],
      ['bytes=5-', 5, 19],
      ['bytes=-4', 16, 19],
      ['bytes=18-100', 18, 19],
      ['bytes=-100', 0, 19],
      ['bytes=7-7', 7, 7],
    ])('serves %s as 206 with its Content-Range', async (range, start, end) => {
      const got = await rawRequest(server.url, '/files/range/r.bin', { headers: { range } });
      expect(got.status).toBe(206);
      expect(got.headers['content-range']).toBe(`bytes ${start}-${end}/20`);
      expect(got.headers['content-length']).toBe(String(end - start + 1));
      expect(got.body.toString()).toBe(data.subarray(start, end + 1).toString());
    });

    it.each(['bytes=20-', 'bytes=30-40', 'bytes=9-3', 'bytes=-0', 'bytes=abc', 'items=0-3', 'bytes=-', 'bytes=1-2,x'])(
      'answers %s with 416 and the file size',
      async (range) => {
        const got = await rawRequest(server.url, '/files/range/r.bin', { headers: { range } });
        expect(got.status).toBe(416);
        expect(got.headers['content-range']).toBe('bytes */20');
        expect(got.json.error.code).toBe('RANGE_NOT_SATISFIABLE');
      },
    );

    it('explains a refused range', async () => {
      const got = await rawRequest(server.url, '/files/range/r.bin', { headers: { range: 'bytes=25-' } });
      expect(got.json.error.message).toMatchInlineSnapshot(
        `"Cannot serve the range "bytes=25-" of "range/r.bin" (20 bytes): ask for one range "bytes=start-end" inside the file."`,
      );
    });

    it('answers several ranges with the whole file (200)', async () => {
      const got = await rawRequest(server.url, '/files/range/r.bin', { headers: { range: 'bytes=0-1,5-6' } });
      expect(got.status).toBe(200);
      expect(got.headers['content-range']).toBeUndefined();
      expect(got.body.equals(data)).toBe(true);
    });

    it('answers HEAD with a range like GET, without the body', async () => {
      const got = await rawRequest(server.url, '/files/range/r.bin', { method: 'HEAD', headers: { range: 'bytes=2-5' } });
      expect(got.status).toBe(206);
      expect(got.headers['content-range']).toBe('bytes 2-5/20');
      expect(got.headers['content-length']).toBe('4');
      expect(got.body.length).toBe(0);
    });

    it('refuses any range of an empty file', async () => {
      await upload(server.url, 'range/empty.bin', Buffer.alloc(0));
      const got = await rawRequest(server.url, '/files/range/empty.bin', { headers: { range: 'bytes=0-' } });
      expect(got.status).toBe(416);
      expect(got.headers['content-range']).toBe('bytes */0');
    });
  });

  describe('list', () => {
    beforeAll(async () => {
      for (const key of ['ls/a.txt', 'ls/sub/b.txt', 'ls/sub/deeper/c.txt', 'lsx/other.txt']) await upload(server.url, key, Buffer.from(key));
      // An upload in progress (its temporary file) is never listed.
      await writeFile(join(filesDir, 'ls/sub/.b.txt.0123456789ab.uploading'), 'partial');
    });

    it('answers every key under a folder, recursive and sorted, with and without the trailing slash', async () => {
      for (const path of ['/files/ls/?list', '/files/ls?list', '/files/ls/?list=1']) {
        const got = await rawRequest(server.url, path);
        expect(got.status).toBe(200);
        expect(got.json).toEqual(['ls/a.txt', 'ls/sub/b.txt', 'ls/sub/deeper/c.txt']);
      }
    });

    it('lists a sub-folder, the whole server, and nothing for a missing folder or a file', async () => {
      expect((await rawRequest(server.url, '/files/ls/sub/deeper/?list')).json).toEqual(['ls/sub/deeper/c.txt']);
      const all = (await rawRequest(server.url, '/files/?list')).json as string[];
      expect(all).toEqual([...all].sort());
      expect(all).toEqual(expect.arrayContaining(['ls/a.txt', 'ls/sub/deeper/c.txt', 'lsx/other.txt']));
      expect(all.some((k) => k.endsWith('.uploading'))).toBe(false);
      expect((await rawRequest(server.url, '/files/nothing-here/?list')).json).toEqual([]);
      expect((await rawRequest(server.url, '/files/ls/a.txt?list')).json).toEqual([]);
    });

    it('refuses to list outside the files folder', async () => {
      const got = await rawRequest(server.url, '/files/ls/%2e%2e/%2e%2e/?list');
      expect(got.status).toBe(400);
      expect(got.json.error.code).toBe('INVALID_INPUT');
    });
  });

  describe('delete', () => {
    it('deletes a file, then answers 404 for it', async () => {
      await upload(server.url, 'del/one.txt', Buffer.from('1'));
      await upload(server.url, 'del/two.txt', Buffer.from('2'));
      const deleted = await rawRequest(server.url, '/files/del/one.txt', { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      expect(deleted.json).toEqual({ deleted: 1 });
      expect((await rawRequest(server.url, '/files/del/one.txt')).status).toBe(404);
      expect((await rawRequest(server.url, '/files/del/one.txt', { method: 'DELETE' })).status).toBe(404);
      expect((await rawRequest(server.url, '/files/del/?list')).json).toEqual(['del/two.txt']);
    });

    it('does not delete a folder', async () => {
      await upload(server.url, 'deldir/keep.txt', Buffer.from('k'));
      expect((await rawRequest(server.url, '/files/deldir', { method: 'DELETE' })).status).toBe(404);
      expect((await rawRequest(server.url, '/files/deldir/keep.txt')).status).toBe(200);
    });
  });

  describe('path traversal', () => {
    const secret = 'top secret, outside the files folder';
    beforeAll(async () => {
      // The data dir holds the files folder; a file beside it must stay out of reach.
      await writeFile(join(server.dir, 'secret.txt'), secret);
      await upload(server.url, 'inside/ok.txt', Buffer.from('ok'));
    });

    const attempts = [
      '/files/../secret.txt',
      '/files/%2e%2e/secret.txt',
      '/files/%2E%2E/secret.txt',
      '/files/inside/../../secret.txt',
      '/files/inside/%2e%2e/%2e%2e/secret.txt',
      '/files/..%2fsecret.txt',
      '/files/..%5csecret.txt',
      '/files/inside%5c..%5c..%5csecret.txt',
      '/files/%2e%2e%2f%2e%2e%2fsecret.txt',
    ];

    it.each(attempts)('GET %s is refused (400) and never reaches a file outside the files folder', async (path) => {
      const got = await rawRequest(server.url, path);
      expect(got.status).toBe(400);
      expect(got.json.error.code).toBe('INVALID_INPUT');
      expect(got.json.error.message).toMatch(/^Invalid file path .*: it climbs out with "\.\."/);
      expect(got.body.toString()).not.toContain(secret);
    });

    it.each(attempts)('DELETE %s is refused (400) and deletes nothing', async (path) => {
      const got = await rawRequest(server.url, path, { method: 'DELETE' });
      expect(got.status).toBe(400);
      expect(got.json.error.code).toBe('INVALID_INPUT');
      expect(await readFile(join(server.dir, 'secret.txt'), 'utf8')).toBe(secret);
    });

    it('refuses keys with ".." parts, NUL bytes and reserved names as 400 with a message', async () => {
      const got = await rawRequest(server.url, '/files/inside/%2e%2e/%2e%2e/secret.txt');
      expect(got.status).toBe(400);
      expect(got.json.error.message).toMatchInlineSnapshot(
        `"Invalid file path "inside/../../secret.txt": it climbs out with ".."; give a relative path without ".." parts, e.g. "project/task.id/artifacts/model.bin"."`,
      );
      const nul = await rawRequest(server.url, '/files/inside/ok.txt%00.png');
      expect(nul.status).toBe(400);
      expect(nul.json.error.message).toContain('it holds a NUL byte');
      const reserved = await rawRequest(server.url, '/files/inside/x.uploading');
      expect(reserved.status).toBe(400);
    });

    it.each(['../escape.txt', 'inside/../../escape.txt', '..\\escape.txt', 'inside\\..\\..\\escape.txt', 'a/./../../escape.txt'])(
      'refuses to store an upload named %s',
      async (name) => {
        const got = await upload(server.url, name, Buffer.from('evil'));
        expect(got.status).toBe(400);
        expect(got.json.error.code).toBe('INVALID_INPUT');
        expect(await readdir(server.dir)).not.toContain('escape.txt');
        expect(await readdir(dirname(server.dir))).not.toContain('escape.txt');
      },
    );

    it('stores an absolute upload name inside the files folder', async () => {
      const got = await upload(server.url, '/abs/from/root.txt', Buffer.from('abs'));
      expect(got.json).toEqual(['abs/from/root.txt']);
      expect(await readFile(join(filesDir, 'abs/from/root.txt'), 'utf8')).toBe('abs');
    });
  });

  describe('concurrent uploads of one key', () => {
    it('keeps the upload that finished last, and readers meanwhile see a whole file, never a torn one', async () => {
      const key = 'race/slow-vs-fast.bin';
      const slow = randomBytes(2_000_000);
      const fast = randomBytes(1_500_000);
      const slowDone = slowUpload(server.url, key, slow, 1200);
      await sleep(100);
      expect((await upload(server.url, key, fast)).status).toBe(200);
      // The slow upload is still streaming into its temporary file: readers get the fast one, whole.
      const during = await rawRequest(server.url, `/files/${key}`);
      expect(sha256(during.body)).toBe(sha256(fast));
      expect((await slowDone).status).toBe(200);
      const after = await rawRequest(server.url, `/files/${key}`);
      expect(sha256(after.body)).toBe(sha256(slow));
      expect(await filesUnder(join(filesDir, 'race'))).toEqual(['slow-vs-fast.bin']);
    });

    it('ends with exactly one of many simultaneous uploads and no temporary files', async () => {
      const key = 'race/many.bin';
      const bodies = Array.from({ length: 8 }, () => randomBytes(1_000_000));
      const reading = (async () => {
        // Read while they write: every read is either "not yet" or one whole upload.
        const seen: number[] = [];
        for (let i = 0; i < 20; i += 1) {
          const got = await rawRequest(server.url, `/files/${key}`);
          if (got.status === 200) seen.push(bodies.findIndex((b) => sha256(b) === sha256(got.body)));
          else expect(got.status).toBe(404);
          await sleep(5);
        }
        return seen;
      })();
      const replies = await Promise.all(bodies.map((b) => upload(server.url, key, b)));
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
      expect(await reading).not.toContain(-1);
      const final = await readFile(join(filesDir, key));
      expect(bodies.map(sha256)).toContain(sha256(final));
      expect(await filesUnder(join(filesDir, 'race'))).toEqual(['many.bin', 'slow-vs-fast.bin']);
    });
  });
});

describe('file server size limit', () => {
  const LIMIT = 1024 * 1024;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ maxFileBytes: LIMIT });
  });
  afterAll(async () => {
    await server.close();
  });

  it('accepts a file of exactly the limit', async () => {
    const got = await upload(server.url, 'limit/exact.bin', randomBytes(LIMIT));
    expect(got.status).toBe(200);
  });

  it('answers 413 naming the limit and the setting, and leaves nothing behind', async () => {
    const got = await upload(server.url, 'big/new/folder/too-big.bin', randomBytes(LIMIT + 1));
    expect(got.status).toBe(413);
    expect(got.json).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "FILE_TOO_LARGE",
          "key": "big/new/folder/too-big.bin",
          "limit_bytes": 1048576,
          "message": "File "big/new/folder/too-big.bin" is larger than this server accepts: the limit is 1048576 bytes (1 MiB), set by the server setting maxFileBytes (environment variable TASKLANE_MAX_FILE_BYTES). Upload a smaller file, raise the limit on the server, or store large files in S3 or a shared folder (output_uri).",
          "setting": "TASKLANE_MAX_FILE_BYTES",
        },
      }
    `);
    // Neither the temporary file nor the folders made for it remain.
    expect(await readdir(join(server.dir, 'files'))).toEqual(['limit']);
  });

  it('answers 413 as soon as the limit is passed, while the client is still sending', async () => {
    let bodyDoneAt = 0;
    async function* body() {
      yield partHead('limit/early.bin');
      yield randomBytes(LIMIT + 64 * 1024);
      await sleep(1500);
      bodyDoneAt = Date.now();
      yield TAIL;
    }
    const got = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: body() });
    const answeredAt = Date.now();
    expect(got.status).toBe(413);
    expect(bodyDoneAt === 0 || answeredAt < bodyDoneAt).toBe(true);
    await sleep(1600); // let the trickling body end before the next test
    expect(await filesUnder(join(server.dir, 'files'))).toEqual(['limit/exact.bin']);
  });

  it('keeps the file that was there when a replacement is too large', async () => {
    const original = randomBytes(1000);
    await upload(server.url, 'limit/keep.bin', original);
    expect((await upload(server.url, 'limit/keep.bin', randomBytes(LIMIT * 3))).status).toBe(413);
    expect((await rawRequest(server.url, '/files/limit/keep.bin')).body.equals(original)).toBe(true);
    expect(await filesUnder(join(server.dir, 'files'))).toEqual(['limit/exact.bin', 'limit/keep.bin']);
  });
});

