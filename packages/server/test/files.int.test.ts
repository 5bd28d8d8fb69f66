import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadServerConfig, startServer } from '@tasklane/server';
import { S3_ENV, startS3Server } from '../../../test/support/s3-server.js';
import {
  FILES_BACKENDS as BACKENDS,
  S3_BACKEND,
  TEST_BUCKET as BUCKET,
  bucketServer,
  filesUnder,
  startedBucketServer,
  useFilesBackends,
  type StoredFiles,
} from './support/files-backends.js';
import { newTestDataDir, newTestDatabase, startTestServer, type TestServer } from './support/test-server.js';

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

useFilesBackends();

describe.each(BACKENDS)('file server on $name', (backend) => {
  let server: TestServer;
  let stored: StoredFiles;
  let filesDir: string;
  beforeAll(async () => {
    ({ server, stored } = await backend.start());
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
      // An upload in progress (its temporary file in a folder) is never listed.
      if (backend.kind === 'folder') await writeFile(join(filesDir, 'ls/sub/.b.txt.0123456789ab.uploading'), 'partial');
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
      expect((await stored.read('abs/from/root.txt')).toString('utf8')).toBe('abs');
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
      expect(await stored.filesUnder('race')).toEqual(['slow-vs-fast.bin']);
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
      // s3rver writes an object in place, so a read meanwhile may see a mix; S3 (and MinIO) swap an object whole, and
      // the server adds no window of its own (an object is put or completed in one request at commit).
      if (backend.kind === 'folder') expect(await reading).not.toContain(-1);
      else await reading;
      const final = await stored.read(key);
      // s3rver also writes simultaneous PUTs of one key into the same file, so the object it ends with can be a mix
      // (under load, about one run in a few); on a folder the server's own rename decides, and one upload wins whole.
      if (backend.kind === 'folder') expect(bodies.map(sha256)).toContain(sha256(final));
      else expect(final.length).toBe(1_000_000);
      expect(await stored.filesUnder('race')).toEqual(['many.bin', 'slow-vs-fast.bin']);
    });
  });

  describe('serving files so that none runs in the web UI origin', () => {
    const csp = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";

    it('sends a sandboxing Content-Security-Policy and nosniff with every reply, errors included', async () => {
      await upload(server.url, 'headers/pic.png', Buffer.from('png'));
      const replies = [
        await upload(server.url, 'headers/doc.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')),
        await rawRequest(server.url, '/files/headers/pic.png'),
        await rawRequest(server.url, '/files/headers/pic.png', { method: 'HEAD' }),
        await rawRequest(server.url, '/files/headers/doc.svg'),
        await rawRequest(server.url, '/files/headers/?list'),
        await rawRequest(server.url, '/files/headers/missing.svg'),
        await rawRequest(server.url, '/files/headers/%2e%2e/%2e%2e/x.svg'),
        await rawRequest(server.url, '/files/headers/pic.png', { headers: { range: 'bytes=99-' } }),
        await rawRequest(server.url, '/files', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.from('x') }),
      ];
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 404, 400, 416, 400]);
      for (const reply of replies) {
        expect(reply.headers['content-security-policy']).toBe(csp);
        expect(reply.headers['x-content-type-options']).toBe('nosniff');
      }
    });

    it.each([
      ['pic.png', 'image/png'],
      ['pic.jpg', 'image/jpeg'],
      ['clip.mp4', 'video/mp4'],
      ['sound.wav', 'audio/wav'],
      ['notes.txt', 'text/plain; charset=utf-8'],
      ['table.csv', 'text/csv; charset=utf-8'],
      ['data.json', 'application/json'],
      ['page.html', 'text/plain; charset=utf-8'],
    ])('serves %s inline as %s (passive content)', async (name, type) => {
      await upload(server.url, `inline/${name}`, Buffer.from('<script>alert(1)</script>'));
      const got = await rawRequest(server.url, `/files/inline/${name}`);
      expect(got.headers['content-type']).toBe(type);
      expect(got.headers['content-disposition']).toBeUndefined();
    });

    it.each([
      ['drawing.svg', 'image/svg+xml'],
      ['page.htm', 'application/octet-stream'],
      ['page.xhtml', 'application/octet-stream'],
      ['feed.xml', 'application/octet-stream'],
      ['code.js', 'application/octet-stream'],
      ['report.pdf', 'application/octet-stream'],
      ['archive.zip', 'application/zip'],
      ['weights.bin', 'application/octet-stream'],
      ['no-extension', 'application/octet-stream'],
    ])('serves %s as an attachment (%s), never as a page', async (name, type) => {
      await upload(server.url, `attached/${name}`, Buffer.from('<html><script>alert(1)</script></html>'));
      const got = await rawRequest(server.url, `/files/attached/${name}`);
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toBe(type);
      expect(got.headers['content-disposition']).toBe(`attachment; filename*=UTF-8''${name}`);
    });

    it('keeps ?download: an attachment for any type, with the file name', async () => {
      await upload(server.url, 'dl/a picture.png', Buffer.from('png'));
      const got = await rawRequest(server.url, `/files/dl/${encodeURIComponent('a picture.png')}?download`);
      expect(got.headers['content-type']).toBe('image/png');
      expect(got.headers['content-disposition']).toBe("attachment; filename*=UTF-8''a%20picture.png");
    });
  });

  describe('client mistakes answer 4xx naming the key, never a path on the server', () => {
    /** Whatever a reply says, it never names a place on the server's disk. */
    function expectNoServerPath(reply: RawReply) {
      expect(reply.body.toString()).not.toContain(server.dir);
      const s3 = startedBucketServer();
      if (s3 !== undefined) expect(reply.body.toString()).not.toContain(s3.endpoint);
      expect(reply.body.toString()).not.toMatch(/\/tmp\/|ENAMETOOLONG|ENOTDIR|EEXIST|EISDIR/);
    }

    it('refuses a file name over 255 bytes (400), before touching the disk', async () => {
      const name = 'n'.repeat(300);
      const got = await upload(server.url, `long-name/${name}.txt`, Buffer.from('x'));
      expect(got.status).toBe(400);
      expectNoServerPath(got);
      expect(got.json.error.message).toMatchInlineSnapshot(`"Invalid file path "long-name/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn…nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.txt": its part "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn…nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn.txt" is 304 bytes long, more than the 255 bytes a file or folder name may have; shorten that name."`);
      expect(await stored.hasTopLevel('long-name')).toBe(false);
      const read = await rawRequest(server.url, `/files/long-name/${name}.txt`);
      expect(read.status).toBe(400);
      expectNoServerPath(read);
      expect((await rawRequest(server.url, `/files/long-name/${name}.txt`, { method: 'DELETE' })).status).toBe(400);
      expect((await rawRequest(server.url, `/files/${name}/?list`)).status).toBe(400);
    });

    it('counts bytes, not characters: 128 two-byte characters are too long, 255 bytes are not', async () => {
      const got = await upload(server.url, `bytes/${'é'.repeat(128)}`, Buffer.from('x'));
      expect(got.status).toBe(400);
      expect(got.json.error.message).toContain('is 256 bytes long, more than the 255 bytes');
      // The longest name there is: its temporary file (which carries a part of the name) must fit too. s3rver keeps
      // each object in files named after the key's last part plus "._S3rver_metadata.json" and the like (and crashes
      // on a longer one), so against it the name is 22 bytes shorter; S3 itself takes any part within 1,024 bytes.
      const longest = `${'é'.repeat(100)}${'n'.repeat(backend.kind === 'folder' ? 51 : 29)}.bin`;
      expect(Buffer.byteLength(longest)).toBe(backend.kind === 'folder' ? 255 : 233);
      const stored = await upload(server.url, `bytes/${longest}`, Buffer.from('longest'));
      expect(stored.status).toBe(200);
      expect((await rawRequest(server.url, `/files/bytes/${encodeURIComponent(longest)}`)).body.toString()).toBe('longest');
    });

    it('refuses a key over 1,024 bytes (400)', async () => {
      const key = Array.from({ length: 11 }, (_v, i) => `${i}`.padEnd(100, 'k')).join('/');
      const got = await upload(server.url, key, Buffer.from('x'));
      expect(got.status).toBe(400);
      // With a bucket, the prefix takes its part of S3's 1,024 bytes.
      expect(got.json.error.message).toBe(
        `Invalid file path "0kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk…kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": it is 1110 bytes long, more than the ${backend.maxKeyBytes} bytes a path may have; use a shorter path.`,
      );
      expect(await stored.hasTopLevel('0'.padEnd(100, 'k'))).toBe(false);
    });

    it('refuses an upload under a file (400) and keeps the file', async () => {
      await upload(server.url, 'under/a.txt', Buffer.from('a file'));
      for (const key of ['under/a.txt/b.txt', 'under/a.txt/deeper/c.txt']) {
        const got = await upload(server.url, key, Buffer.from('b'));
        expect(got.status).toBe(400);
        expectNoServerPath(got);
        expect(got.json.error.code).toBe('INVALID_INPUT');
        expect(got.json.error.key).toBe(key);
      }
      expect((await upload(server.url, 'under/a.txt/b.txt', Buffer.from('b'))).json.error.message).toMatchInlineSnapshot(`"Cannot store "under/a.txt/b.txt": "under/a.txt" is a file, so it cannot hold other files; upload under another path, or delete "under/a.txt" first."`);
      expect((await stored.read('under/a.txt')).toString('utf8')).toBe('a file');
      expect(await stored.filesUnder('under')).toEqual(['a.txt']);
      // Reading through a file is simply not found.
      expect((await rawRequest(server.url, '/files/under/a.txt/b.txt')).status).toBe(404);
    });

    it('refuses an upload onto a folder (400)', async () => {
      await upload(server.url, 'onto/folder/inner.txt', Buffer.from('inner'));
      const got = await upload(server.url, 'onto/folder', Buffer.from('x'));
      expect(got.status).toBe(400);
      expectNoServerPath(got);
      expect(got.json.error.message).toMatchInlineSnapshot(`"Cannot store "onto/folder": it is a folder (it holds other files); upload under another path."`);
      expect(await stored.filesUnder('onto')).toEqual(['folder/inner.txt']);
    });

    it('refuses an upload of more than 100 parts (400) and stores none of them', async () => {
      const parts = Array.from({ length: 101 }, (_v, i) => Buffer.concat([i === 0 ? Buffer.alloc(0) : Buffer.from('\r\n'), partHead(`parts/f${i}.txt`), Buffer.from(`${i}`)]));
      const got = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: Buffer.concat([...parts, TAIL]) });
      expect(got.status).toBe(400);
      expect(got.json.error.message).toMatchInlineSnapshot(`"An upload may hold at most 100 parts (files and other fields); this one holds more, so nothing of it was stored. Send the files in several uploads."`);
      expect(await stored.hasTopLevel('parts')).toBe(false);
      // 100 parts are fine.
      const fine = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: Buffer.concat([...parts.slice(0, 100), TAIL]) });
      expect(fine.status).toBe(200);
      expect(fine.json).toHaveLength(100);
    });

    it('stores no part of an upload when a later part is refused', async () => {
      const body = Buffer.concat([partHead('partial/ok.txt'), Buffer.from('ok'), Buffer.from('\r\n'), partHead('partial/../../bad.txt'), Buffer.from('bad'), TAIL]);
      const got = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body });
      expect(got.status).toBe(400);
      expect(await stored.hasTopLevel('partial')).toBe(false);
    });

    it('answers a malformed or cut-short multipart body with 400 and stores nothing', async () => {
      const cut = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: Buffer.concat([partHead('cut/a.txt'), Buffer.from('no end')]) });
      expect(cut.status).toBe(400);
      expect(cut.json.error.message).toMatchInlineSnapshot(`"The upload is not valid multipart/form-data (Unexpected end of multipart data), so nothing of it was stored. Send one part per file, named by its destination path."`);
      const noBoundary = await rawRequest(server.url, '/files', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: Buffer.from('x') });
      expect(noBoundary.status).toBe(400);
      expect(await stored.hasTopLevel('cut')).toBe(false);
      // The connection is still good for the next request.
      expect((await upload(server.url, 'cut/after.txt', Buffer.from('after'))).status).toBe(200);
    });
  });

  describe.runIf(backend.kind === 'folder')('symbolic links inside the files folder', () => {
    const secret = 'outside the files folder';
    let outside: string;
    beforeAll(async () => {
      outside = join(server.dir, 'outside');
      await mkdir(join(outside, 'sub'), { recursive: true });
      await writeFile(join(outside, 'secret.txt'), secret);
      await writeFile(join(outside, 'sub', 'deep.txt'), secret);
      await upload(server.url, 'links/real.txt', Buffer.from('real'));
      await symlink(join(outside, 'secret.txt'), join(filesDir, 'links', 'file-link.txt'));
      await symlink(outside, join(filesDir, 'links', 'dir-link'));
      await symlink(join(server.dir, 'nowhere'), join(filesDir, 'links', 'dangling'));
      // A link to a file inside the files folder is not followed either.
      await symlink(join(filesDir, 'links', 'real.txt'), join(filesDir, 'links', 'inner-link.txt'));
      await symlink(join(outside, 'sub'), join(filesDir, 'linked-top'));
    });

    it.each(['links/file-link.txt', 'links/dir-link/secret.txt', 'links/dir-link/sub/deep.txt', 'links/inner-link.txt', 'linked-top/deep.txt'])(
      'GET and HEAD of %s answer 404 and never the file behind the link',
      async (key) => {
        const got = await rawRequest(server.url, `/files/${key}`);
        expect(got.status).toBe(404);
        expect(got.json.error.code).toBe('FILE_NOT_FOUND');
        expect(got.body.toString()).not.toContain(secret);
        expect(got.body.toString()).not.toContain(server.dir);
        expect((await rawRequest(server.url, `/files/${key}`, { method: 'HEAD' })).status).toBe(404);
      },
    );

    it('says which part is a link', async () => {
      const got = await rawRequest(server.url, '/files/links/dir-link/sub/deep.txt');
      expect(got.json.error.message).toMatchInlineSnapshot(`"No file at "links/dir-link/sub/deep.txt": "links/dir-link" is a symbolic link, which the file server does not follow."`);
    });

    it('DELETE through a link answers 404 and deletes nothing, neither the link nor what it points to', async () => {
      for (const key of ['links/dir-link/secret.txt', 'links/file-link.txt', 'linked-top/deep.txt']) {
        expect((await rawRequest(server.url, `/files/${key}`, { method: 'DELETE' })).status).toBe(404);
      }
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe(secret);
      expect(await readFile(join(outside, 'sub', 'deep.txt'), 'utf8')).toBe(secret);
      expect((await lstat(join(filesDir, 'links', 'file-link.txt'))).isSymbolicLink()).toBe(true);
    });

    it('lists no link and nothing behind one; listing a linked folder answers 404', async () => {
      expect((await rawRequest(server.url, '/files/links/?list')).json).toEqual(['links/real.txt']);
      const all = (await rawRequest(server.url, '/files/?list')).json as string[];
      expect(all.filter((k) => k.startsWith('link'))).toEqual(['links/real.txt']);
      for (const path of ['/files/links/dir-link/?list', '/files/links/dir-link/sub/?list', '/files/linked-top/?list']) {
        const got = await rawRequest(server.url, path);
        expect(got.status).toBe(404);
        expect(got.body.toString()).not.toContain('deep.txt');
      }
    });

    it.each(['links/dir-link/new.txt', 'links/dir-link/sub/new.txt', 'links/file-link.txt', 'links/dangling', 'links/dangling/new.txt', 'linked-top/new.txt'])(
      'refuses an upload to %s (400) and writes nothing outside',
      async (key) => {
        const got = await upload(server.url, key, Buffer.from('written through a link'));
        expect(got.status).toBe(400);
        expect(got.json.error.code).toBe('INVALID_INPUT');
        expect(got.json.error.message).toMatch(/is a symbolic link in the files folder, which the file server does not follow/);
        expect(got.body.toString()).not.toContain(server.dir);
        expect(await filesUnder(outside)).toEqual(['secret.txt', 'sub/deep.txt']);
        expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe(secret);
        expect(await readdir(server.dir)).not.toContain('nowhere');
        expect((await lstat(join(filesDir, 'links', 'file-link.txt'))).isSymbolicLink()).toBe(true);
      },
    );

    it('refuses an upload whose target became a link while it was sent (400), leaving the link and its target alone', async () => {
      await mkdir(join(filesDir, 'swap'), { recursive: true });
      const sending = slowUpload(server.url, 'swap/target.txt', randomBytes(200_000), 600);
      await sleep(150);
      await symlink(join(outside, 'secret.txt'), join(filesDir, 'swap', 'target.txt'));
      const got = await sending;
      expect(got.status).toBe(400);
      expect(got.json.error.message).toContain('"swap/target.txt" is a symbolic link');
      expect((await lstat(join(filesDir, 'swap', 'target.txt'))).isSymbolicLink()).toBe(true);
      expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe(secret);
      expect(await readdir(join(filesDir, 'swap'))).toEqual(['target.txt']);
    });
  });
});

describe('file server start-up clean-up', () => {
  it('removes the temporary files of uploads a crash cut short, in the background, and nothing else', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-test-'));
    const files = join(dir, 'files');
    const outside = join(dir, 'outside');
    const leftovers = ['.top.bin.0123456789ab.uploading', 'a/.w.bin.abcdef012345.uploading', 'a/b/c/.x y.txt.00112233aabb.uploading'];
    const others = [
      'a/keep.txt',
      'a/notes.uploading',
      'a/.w.bin.0123456789ab.uploading.bak',
      'a/.hidden',
      'a/b/.x.txt.0123.uploading',
      'a/b/.x.txt.0123456789AB.uploading',
      'a/b/x.txt.0123456789ab.uploading',
    ];
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const key of [...leftovers, ...others]) {
      await mkdir(dirname(join(files, key)), { recursive: true });
      await writeFile(join(files, key), 'left over');
      await utimes(join(files, key), hourAgo, hourAgo);
    }
    // Nothing behind a link is ours, and a link named like a temporary file is not one.
    await mkdir(outside);
    await writeFile(join(outside, '.y.bin.0123456789ab.uploading'), 'not ours');
    await utimes(join(outside, '.y.bin.0123456789ab.uploading'), hourAgo, hourAgo);
    await symlink(outside, join(files, 'linked'));
    await symlink(join(outside, '.y.bin.0123456789ab.uploading'), join(files, 'a', '.z.bin.0123456789ab.uploading'));

    const lines: string[] = [];
    const database = await newTestDatabase(dir);
    const config = loadServerConfig({}, { port: 0, dataDir: dir, dbUrl: database.dbUrl, logLevel: 'info' });
    const server = await startServer(config, { logStream: { write: (line: string) => lines.push(line) } });
    try {
      const line = await vi.waitFor(
        () => {
          const found = lines.find((l) => l.includes('temporary files of uploads'));
          if (!found) throw new Error('no clean-up line logged yet');
          return found;
        },
        { timeout: 5000 },
      );
      expect(JSON.parse(line)).toMatchObject({ level: 30, removed: 3, msg: 'removed temporary files of uploads cut short before this start' });
      for (const key of leftovers) expect(existsSync(join(files, key))).toBe(false);
      for (const key of others) expect(await readFile(join(files, key), 'utf8')).toBe('left over');
      expect(await readFile(join(outside, '.y.bin.0123456789ab.uploading'), 'utf8')).toBe('not ours');
      expect((await lstat(join(files, 'a', '.z.bin.0123456789ab.uploading'))).isSymbolicLink()).toBe(true);
      // The server answered meanwhile, and still does.
      expect((await upload(server.url, 'a/new.txt', Buffer.from('new'))).status).toBe(200);
    } finally {
      await server.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('file server errors the client cannot cause', () => {
  /** Makes `dir` unwritable, even for root (an immutable folder) where chattr works; answers how to undo it, or undefined. */
  async function makeUnwritable(dir: string): Promise<(() => Promise<void>) | undefined> {
    if (process.getuid?.() !== 0) {
      await chmod(dir, 0o555);
      return () => chmod(dir, 0o755);
    }
    try {
      await promisify(execFile)('chattr', ['+i', dir]);
    } catch {
      return undefined;
    }
    return async () => {
      await promisify(execFile)('chattr', ['-i', dir]);
    };
  }

  it('answers 500 with the request id and no path, and logs the error', async (ctx) => {
    const lines: string[] = [];
    const running = await startTestServer({ logLevel: 'error' }, undefined, { logStream: { write: (line: string) => lines.push(line) } });
    const { dir, server } = running;
    const locked = join(dir, 'files', 'locked');
    await mkdir(locked);
    const undo = await makeUnwritable(locked);
    try {
      if (!undo) return ctx.skip('cannot make a folder unwritable here (root without chattr)');
      const got = await upload(server.url, 'locked/new.txt', Buffer.from('x'));
      expect(got.status).toBe(500);
      expect(got.json.error.code).toBe('INTERNAL');
      expect(got.json.error.message).toMatch(/^Unexpected server error \(request [0-9a-z]+\)\.$/);
      expect(got.body.toString()).not.toContain(dir);
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'file server: file system error');
      expect(logged).toMatchObject({ level: 50, key: 'locked/new.txt', action: 'store', err: { code: expect.stringMatching(/^(EACCES|EPERM)$/) } });
      expect(logged.err.message).toContain(locked);
    } finally {
      await undo?.();
      await running.close();
    }
  });
});

describe.each(BACKENDS)('file server size limit on $name', (backend) => {
  const LIMIT = 1024 * 1024;
  let server: TestServer;
  let stored: StoredFiles;
  beforeAll(async () => {
    ({ server, stored } = await backend.start({ maxFileBytes: LIMIT }));
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
    if (backend.kind === 'folder') expect(await readdir(join(server.dir, 'files'))).toEqual(['limit']);
    expect(await stored.filesUnder('')).toEqual(['limit/exact.bin']);
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
    expect(await stored.filesUnder('')).toEqual(['limit/exact.bin']);
  });

  it('keeps the file that was there when a replacement is too large', async () => {
    const original = randomBytes(1000);
    await upload(server.url, 'limit/keep.bin', original);
    expect((await upload(server.url, 'limit/keep.bin', randomBytes(LIMIT * 3))).status).toBe(413);
    expect((await rawRequest(server.url, '/files/limit/keep.bin')).body.equals(original)).toBe(true);
    expect(await stored.filesUnder('')).toEqual(['limit/exact.bin', 'limit/keep.bin']);
  });
});


describe('file server on an S3 bucket', () => {
  it('stores large files in parts: they round-trip whole and serve ranges across part boundaries', async () => {
    const { server, stored } = await S3_BACKEND.start({ maxFileBytes: 20 * 1024 * 1024 });
    try {
      const data = randomBytes(17 * 1024 * 1024 + 123);
      expect((await upload(server.url, 'big/three-parts.bin', data)).status).toBe(200);
      expect(sha256(await stored.read('big/three-parts.bin'))).toBe(sha256(data));
      const got = await rawRequest(server.url, '/files/big/three-parts.bin');
      expect(got.headers['content-length']).toBe(String(data.length));
      expect(sha256(got.body)).toBe(sha256(data));
      const start = 8 * 1024 * 1024 - 10;
      const across = await rawRequest(server.url, '/files/big/three-parts.bin', { headers: { range: `bytes=${start}-${start + 19}` } });
      expect(across.status).toBe(206);
      expect(across.body.equals(data.subarray(start, start + 20))).toBe(true);
      const tail = await rawRequest(server.url, '/files/big/three-parts.bin', { headers: { range: 'bytes=-5' } });
      expect(tail.body.equals(data.subarray(-5))).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('completes no multipart file when the upload is refused after it was sent in parts', async () => {
    const LIMIT = 12 * 1024 * 1024;
    const { server, stored } = await S3_BACKEND.start({ maxFileBytes: LIMIT });
    try {
      // Over the limit after one part has gone to the bucket.
      expect((await upload(server.url, 'big/too-big.bin', randomBytes(LIMIT + 1))).status).toBe(413);
      // A first file sent in two parts, then a refused second file: neither is stored.
      const body = Buffer.concat([partHead('two/first.bin'), randomBytes(9 * 1024 * 1024), Buffer.from('\r\n'), partHead('two/../../bad.txt'), Buffer.from('bad'), TAIL]);
      expect((await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body })).status).toBe(400);
      expect(await stored.filesUnder('')).toEqual([]);
      expect((await rawRequest(server.url, '/files/big/too-big.bin')).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('refuses, within one upload, a file under another file of it and a file over another', async () => {
    const { server, stored } = await S3_BACKEND.start();
    try {
      const under = Buffer.concat([partHead('same/a.txt'), Buffer.from('a'), Buffer.from('\r\n'), partHead('same/a.txt/b.txt'), Buffer.from('b'), TAIL]);
      const got = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: under });
      expect(got.status).toBe(400);
      expect(got.json.error.message).toMatchInlineSnapshot(`"Cannot store "same/a.txt/b.txt": "same/a.txt" is a file, so it cannot hold other files; upload under another path, or delete "same/a.txt" first."`);
      const over = Buffer.concat([partHead('same/c/d.txt'), Buffer.from('d'), Buffer.from('\r\n'), partHead('same/c'), Buffer.from('c'), TAIL]);
      const got2 = await rawRequest(server.url, '/files', { method: 'POST', headers: MULTIPART, body: over });
      expect(got2.json.error.message).toMatchInlineSnapshot(`"Cannot store "same/c": it is a folder (it holds other files); upload under another path."`);
      expect(await stored.filesUnder('')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('lets two servers on one bucket serve each other\'s uploads, listings and deletes', async () => {
    const bucket = await bucketServer();
    const filesUrl = `s3://${BUCKET}/shared by two`;
    const a = await startTestServer({ filesUrl, s3Endpoint: bucket.endpoint });
    const b = await startTestServer({ filesUrl, s3Endpoint: bucket.endpoint });
    try {
      const data = randomBytes(100_000);
      expect((await upload(a.url, 'p/t.1/artifacts/w.bin', data)).status).toBe(200);
      expect((await upload(b.url, 'p/t.2/metrics/img.png', Buffer.from('png'))).status).toBe(200);
      const got = await rawRequest(b.url, '/files/p/t.1/artifacts/w.bin');
      expect(got.status).toBe(200);
      expect(got.body.equals(data)).toBe(true);
      expect((await rawRequest(b.url, '/files/p/t.1/artifacts/w.bin', { headers: { range: 'bytes=10-19' } })).body.equals(data.subarray(10, 20))).toBe(true);
      expect((await rawRequest(a.url, '/files/p/t.2/metrics/img.png')).body.toString()).toBe('png');
      for (const url of [a.url, b.url]) expect((await rawRequest(url, '/files/p/?list')).json).toEqual(['p/t.1/artifacts/w.bin', 'p/t.2/metrics/img.png']);
      expect((await rawRequest(b.url, '/files/p/t.1/artifacts/w.bin', { method: 'DELETE' })).json).toEqual({ deleted: 1 });
      expect((await rawRequest(a.url, '/files/p/t.1/artifacts/w.bin')).status).toBe(404);
      // What one stores, the other refuses to store over, as one folder would.
      expect((await upload(b.url, 'p/t.2/metrics/img.png/x.txt', Buffer.from('x'))).status).toBe(400);
      expect(await bucket.keys(BUCKET, 'shared by two/')).toEqual(['shared by two/p/t.2/metrics/img.png']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('does not start on a missing bucket, naming the bucket, the endpoint and the cause, and no credential', async () => {
    const bucket = await bucketServer();
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
    const place = await newTestDataDir();
    const config = loadServerConfig({}, { port: 0, dataDir: place.dataDir, dbUrl: place.dbUrl, logLevel: 'silent', filesUrl: 's3://no-such-bucket/x', s3Endpoint: bucket.endpoint });
    const error = await startServer(config).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message.replace(bucket.endpoint, 'http://127.0.0.1:PORT')).toMatchInlineSnapshot(`"Cannot use the files bucket "no-such-bucket" (s3://no-such-bucket/x) at the S3 endpoint http://127.0.0.1:PORT: there is no such bucket. Create it, or point --files-url (TASKLANE_FILES_URL) at one that exists."`);
    expect(error?.message).not.toContain('S3RVER');
    await place.remove();
  });

  it('does not start when the credentials are refused, and never shows them', async () => {
    const bucket = await bucketServer();
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAWRONGWRONGWRONG1');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'wrong-secret-key-that-must-not-show');
    try {
      const place = await newTestDataDir();
      const config = loadServerConfig({}, { port: 0, dataDir: place.dataDir, dbUrl: place.dbUrl, logLevel: 'silent', filesUrl: `s3://${BUCKET}/x`, s3Endpoint: bucket.endpoint });
      const error = await startServer(config).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/^Cannot use the files bucket "tasklane-files" \(s3:\/\/tasklane-files\/x\) at the S3 endpoint http:\/\/127\.0\.0\.1:\d+: the credentials were refused \(.+\)\. Check AWS_ACCESS_KEY_ID/);
      expect(error?.message).not.toContain('wrong-secret-key-that-must-not-show');
      await place.remove();
    } finally {
      for (const [name, value] of Object.entries(S3_ENV)) vi.stubEnv(name, value);
    }
  });

  it('does not start when the endpoint does not answer, saying so', async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = await startS3Server();
    const endpoint = probe.endpoint;
    await probe.close();
    const place = await newTestDataDir();
    const config = loadServerConfig({}, { port: 0, dataDir: place.dataDir, dbUrl: place.dbUrl, logLevel: 'silent', filesUrl: `s3://${BUCKET}/x`, s3Endpoint: endpoint });
    const startedAt = Date.now();
    const error = await startServer(config).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(Date.now() - startedAt).toBeLessThan(16_000);
    expect(error?.message.replace(endpoint, 'http://127.0.0.1:PORT')).toMatchInlineSnapshot(`"Cannot reach the files bucket "tasklane-files" (s3://tasklane-files/x) at the S3 endpoint http://127.0.0.1:PORT (ECONNREFUSED). Check --files-url, TASKLANE_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL) and the network."`);
    await place.remove();
  });

  it('answers 503 while the bucket is away, without its address, and logs why', async () => {
    const own = await startS3Server();
    await own.createBucket('going-away');
    const lines: string[] = [];
    const server = await startTestServer({ logLevel: 'error', filesUrl: 's3://going-away/files', s3Endpoint: own.endpoint }, undefined, {
      logStream: { write: (line: string) => lines.push(line) },
    });
    try {
      expect((await upload(server.url, 'a/b.txt', Buffer.from('b'))).status).toBe(200);
      await own.close();
      for (const reply of [await rawRequest(server.url, '/files/a/b.txt'), await upload(server.url, 'a/c.txt', Buffer.from('c')), await rawRequest(server.url, '/files/a/?list')]) {
        expect(reply.status).toBe(503);
        expect(reply.json.error.code).toBe('SERVER_UNREACHABLE');
        expect(reply.json.error.message).toMatch(/^The server's file store did not answer or failed \(request [0-9a-z]+\); try again later\. The server's log says why\.$/);
        expect(reply.body.toString()).not.toContain(own.endpoint);
      }
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'file server: the file store failed');
      expect(logged).toMatchObject({ level: 50, key: 'a/b.txt', action: 'read' });
      expect(logged.err.message).toContain('s3://going-away/files');
    } finally {
      await server.close();
    }
  });
});
