import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TasklaneError } from '@tasklane/protocol';
import { StorageManager, joinUrl, zipFolder, type SdkConfig } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCache } from '../src/storage/local-cache.js';
import { startFileServerBackend, testConfig } from './storage-support/backends.js';
import { sha256 } from './storage-support/test-files.js';

const execFileAsync = promisify(execFile);
const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'storage-support/get-local-copy.mjs');

let backend: Awaited<ReturnType<typeof startFileServerBackend>>;
let work: string;

beforeAll(async () => {
  backend = await startFileServerBackend();
  work = await mkdtemp(join(tmpdir(), 'tasklane-storage-cache-'));
}, 120_000);
afterAll(async () => {
  await backend?.close();
  await rm(work, { recursive: true, force: true });
});

/** A config with its own empty cache, bounded by `cacheMaxBytes`. */
async function freshConfig(cacheMaxBytes = 10 * 1024 ** 3): Promise<SdkConfig> {
  const state = await mkdtemp(join(work, 'state-'));
  return testConfig({ TASKLANE_API_HOST: backend.server.url, TASKLANE_STATE_DIR: state, TASKLANE_CACHE_MAX_BYTES: String(cacheMaxBytes) });
}

/** Uploads `data` under a unique name; answers its URL and hash. */
async function put(name: string, data: Buffer | string): Promise<{ url: string; sha256: string }> {
  const path = join(work, `upload-${Math.random().toString(16).slice(2)}`);
  await writeFile(path, data);
  const { uri, sha256: hash } = await StorageManager.uploadFile(path, joinUrl(backend.base, 'cache', name), { config: backend.config });
  await rm(path);
  return { url: uri, sha256: hash };
}

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

/** The entry folders of a cache, sorted. */
async function entries(config: SdkConfig): Promise<string[]> {
  return (await readdir(join(config.stateDir, 'cache')).catch(() => [] as string[])).sort();
}

describe('getLocalCopy cache', () => {
  it('downloads once into <stateDir>/cache, then answers the same path without asking the server', async () => {
    const config = await freshConfig();
    const { url, sha256: hash } = await put('hit.txt', 'cached content');
    const first = await StorageManager.getLocalCopy(url, { config, expectedSha256: hash });
    expect(first.startsWith(join(config.stateDir, 'cache'))).toBe(true);
    expect(first.endsWith('/hit.txt')).toBe(true);
    // The server copy is gone: only the cache can answer now.
    await StorageManager.delete(url, { config });
    expect(await StorageManager.getLocalCopy(url, { config, expectedSha256: hash })).toBe(first);
    expect(await StorageManager.getLocalCopy(url, { config })).toBe(first);
    expect(await readFile(first, 'utf8')).toBe('cached content');
  });

  it('fetches again when the expected hash differs from the cached copy (the file changed on the server)', async () => {
    const config = await freshConfig();
    const v1 = await put('changing.txt', 'version 1');
    const path = await StorageManager.getLocalCopy(v1.url, { config, expectedSha256: v1.sha256 });
    const v2 = await put('changing.txt', 'version 2');
    expect(await StorageManager.getLocalCopy(v2.url, { config, expectedSha256: v2.sha256 })).toBe(path);
    expect(await readFile(path, 'utf8')).toBe('version 2');
  });

  it('refuses a copy whose hash does not match, and keeps nothing of it', async () => {
    const config = await freshConfig();
    const { url, sha256: hash } = await put('mismatch.bin', randomBytes(5000));
    const expected = sha256('what the task recorded');
    const error = await failure(StorageManager.getLocalCopy(url, { config, expectedSha256: expected }));
    expect(error.code).toBe('INTERNAL');
    expect(error.message.replace(url, '<url>')).toBe(
      `The file at <url> is not the one recorded: its SHA-256 is ${hash}, expected ${expected}. ` +
        'It was changed or damaged after upload; the bad copy was not kept. Upload it again, or fetch it without a hash check.',
    );
    expect(await entries(config)).toEqual([]);
  });

  it('a failed download (missing file) leaves no entry', async () => {
    const config = await freshConfig();
    const error = await failure(StorageManager.getLocalCopy(joinUrl(backend.base, 'cache', 'never-uploaded.bin'), { config }));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(await entries(config)).toEqual([]);
  });

  it('evicts the least recently used copies past cacheMaxBytes; a hit counts as a use', async () => {
    const config = await freshConfig(3_500_000);
    const files = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => ({ name: n, ...(await put(`lru-${n}.bin`, randomBytes(1_000_000))) })));
    const [a, b, c, d] = files as [(typeof files)[0], (typeof files)[0], (typeof files)[0], (typeof files)[0]];
    const paths = new Map<string, string>();
    for (const f of [a, b, c]) {
      paths.set(f.name, await StorageManager.getLocalCopy(f.url, { config }));
      await sleep(30); // distinct use times
    }
    expect(await StorageManager.getLocalCopy(a.url, { config })).toBe(paths.get('a')); // a is now the most recent
    await sleep(30);
    paths.set('d', await StorageManager.getLocalCopy(d.url, { config })); // 4 MB > 3.5 MB: b, the least recently used, goes

    const present = async (name: string) => stat(paths.get(name)!).then(() => true, () => false);
    expect({ a: await present('a'), b: await present('b'), c: await present('c'), d: await present('d') }).toEqual({ a: true, b: false, c: true, d: true });
    expect(await entries(config)).toHaveLength(3);
    // b really is gone from the cache: with the server copy deleted, it cannot be had any more.
    await StorageManager.delete(b.url, { config });
    expect((await failure(StorageManager.getLocalCopy(b.url, { config }))).code).toBe('FILE_NOT_FOUND');
    // ... while c still comes from the cache.
    await StorageManager.delete(c.url, { config });
    expect(await readFile(await StorageManager.getLocalCopy(c.url, { config }))).toHaveLength(1_000_000);
  });

  it('keeps the copy just fetched even when it alone is over the bound', async () => {
    const config = await freshConfig(1000);
    const small = await put('small-first.bin', randomBytes(800));
    const big = await put('too-big.bin', randomBytes(5000));
    const smallPath = await StorageManager.getLocalCopy(small.url, { config });
    const bigPath = await StorageManager.getLocalCopy(big.url, { config });
    expect((await readFile(bigPath)).length).toBe(5000);
    expect(await stat(smallPath).then(() => true, () => false)).toBe(false);
    expect(await entries(config)).toHaveLength(1);
  });

  it('extracts a zip into a folder next to it, once', async () => {
    const config = await freshConfig();
    const folder = join(work, 'to-zip');
    await mkdir(join(folder, 'sub', 'empty'), { recursive: true });
    await writeFile(join(folder, 'weights.bin'), randomBytes(100_000));
    await writeFile(join(folder, 'sub', 'config ü.json'), '{"lr":0.1}');
    await zipFolder(folder, join(work, 'model.zip'));
    const { uri } = await StorageManager.uploadFile(join(work, 'model.zip'), joinUrl(backend.base, 'cache', 'model.zip'), { config: backend.config });

    const extracted = await StorageManager.getLocalCopy(uri, { config, extract: true });
    expect(extracted).toBe(join(dirname(await StorageManager.getLocalCopy(uri, { config })), 'model'));
    expect((await readdir(extracted, { recursive: true })).sort()).toEqual(['sub', 'sub/config ü.json', 'sub/empty', 'weights.bin']);
    expect((await readFile(join(extracted, 'weights.bin'))).equals(await readFile(join(folder, 'weights.bin')))).toBe(true);
    expect(await readFile(join(extracted, 'sub', 'config ü.json'), 'utf8')).toBe('{"lr":0.1}');

    // A second call is a hit: the folder is not rebuilt (a marker left inside survives).
    await writeFile(join(extracted, 'marker'), 'x');
    expect(await StorageManager.getLocalCopy(uri, { config, extract: true })).toBe(extracted);
    expect(await readFile(join(extracted, 'marker'), 'utf8')).toBe('x');
  });

  it('extracts a changed archive anew', async () => {
    const config = await freshConfig();
    const makeZip = async (content: string) => {
      const folder = await mkdtemp(join(work, 'zip-src-'));
      await writeFile(join(folder, 'v.txt'), content);
      await zipFolder(folder, join(folder, '..', 'versioned.zip'));
      return StorageManager.uploadFile(join(folder, '..', 'versioned.zip'), joinUrl(backend.base, 'cache', 'versioned.zip'), { config: backend.config });
    };
    const v1 = await makeZip('one');
    const dir1 = await StorageManager.getLocalCopy(v1.uri, { config, extract: true, expectedSha256: v1.sha256 });
    const v2 = await makeZip('two');
    const dir2 = await StorageManager.getLocalCopy(v2.uri, { config, extract: true, expectedSha256: v2.sha256 });
    expect(dir2).toBe(dir1);
    expect(await readFile(join(dir2, 'v.txt'), 'utf8')).toBe('two');
  });

  it('two processes fetching one URL at once both end with a good file', async () => {
    const config = await freshConfig();
    const { url, sha256: hash } = await put('shared.bin', randomBytes(30 * 1024 * 1024));
    const env = { ...process.env, TASKLANE_API_HOST: backend.server.url, TASKLANE_STATE_DIR: config.stateDir, XDG_CONFIG_HOME: '/nonexistent' };
    const startAt = String(Date.now() + 1500);
    const runs = await Promise.all(
      [0, 1].map(() => execFileAsync(process.execPath, [CHILD_SCRIPT, url, hash, startAt], { env, timeout: 60_000 })),
    );
    const results = runs.map((r) => JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('@@copy '))!.slice(7)) as { path: string; sha256: string });
    expect(results.map((r) => r.sha256)).toEqual([hash, hash]);
    expect(results[0]!.path).toBe(results[1]!.path);
    expect(sha256(await readFile(results[0]!.path))).toBe(hash);
    // No temporary file is left in the entry.
    expect(await readdir(dirname(results[0]!.path))).toEqual(['.entry.json', 'shared.bin']);
  }, 90_000);
});

describe('LocalCache eviction', () => {
  async function makeEntries(cache: LocalCache, count: number, bytes: number): Promise<string[]> {
    const dirs: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const dir = cache.entryDir(`http://x/${i}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'f.bin'), Buffer.alloc(bytes));
      await cache.writeMeta(dir, { url: `http://x/${i}`, name: 'f.bin', size: bytes, sha256: 'x' });
      const used = new Date(Date.now() - (count - i) * 1000); // entry 0 is the oldest
      await utimes(join(dir, '.entry.json'), used, used);
      dirs.push(dir);
    }
    return dirs;
  }

  it('tolerates entries vanishing while it works (another process evicting at the same time)', async () => {
    const root = await mkdtemp(join(work, 'evict-'));
    const cache = new LocalCache(root, 10_000);
    const dirs = await makeEntries(cache, 40, 1000);
    const other = new LocalCache(root, 10_000);
    const [mine, theirs] = await Promise.all([cache.evict(undefined), other.evict(undefined), ...dirs.slice(0, 20).map((d) => rm(d, { recursive: true, force: true }))]);
    expect(mine.totalBytes).toBeLessThanOrEqual(10_000);
    expect(theirs.totalBytes).toBeLessThanOrEqual(10_000);
    const left = (await readdir(root)).sort();
    // The 10 most recently used entries stay.
    expect(left).toEqual(dirs.slice(30).map((d) => d.slice(root.length + 1)).sort());
  });

  it('clears temporary files and record-less entries older than an hour, and counts younger ones', async () => {
    const root = await mkdtemp(join(work, 'stale-'));
    const cache = new LocalCache(root, 1_000_000);
    const [dir] = await makeEntries(cache, 1, 100);
    const oldTemp = join(dir!, '.f.bin.0123456789ab.part');
    const newTemp = join(dir!, '.f.bin.ba9876543210.part');
    await writeFile(oldTemp, Buffer.alloc(500));
    await writeFile(newTemp, Buffer.alloc(300));
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(oldTemp, hourAgo, hourAgo);
    const orphan = join(root, 'orphan-entry');
    await mkdir(orphan);
    await writeFile(join(orphan, '.x.0123456789ab.part'), 'half');
    await utimes(orphan, hourAgo, hourAgo);
    const result = await cache.evict(undefined);
    expect(result).toEqual({ removed: [], totalBytes: 400 });
    expect((await readdir(dir!)).sort()).toEqual(['.entry.json', '.f.bin.ba9876543210.part', 'f.bin']);
    expect(await readdir(root)).toEqual([dir!.slice(root.length + 1)]);
  });
});
