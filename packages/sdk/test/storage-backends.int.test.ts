import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { StorageManager, joinUrl, type TransferProgress } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BACKENDS, S3_ENV, type Backend } from './storage-support/backends.js';
import { LARGE_BYTES, makeTestFiles, sha256, sha256OfFile, type TestFile } from './storage-support/test-files.js';

let work: string;
let files: TestFile[];

beforeAll(async () => {
  for (const [name, value] of Object.entries(S3_ENV)) vi.stubEnv(name, value);
  work = await mkdtemp(join(tmpdir(), 'tasklane-storage-work-'));
  files = await makeTestFiles(join(work));
}, 60_000);

afterAll(async () => {
  vi.unstubAllEnvs();
  await rm(work, { recursive: true, force: true });
});

async function expectTasklaneError(call: Promise<unknown>): Promise<TasklaneError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected a TasklaneError, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TasklaneError);
  return error as TasklaneError;
}

function fileByLabel(label: string): TestFile {
  return files.find((f) => f.label === label)!;
}

describe.each(BACKENDS)('storage through $name', (kind) => {
  let backend: Backend;
  let out: string;
  beforeAll(async () => {
    backend = await kind.start();
    out = await mkdtemp(join(work, 'out-'));
  }, 120_000);
  afterAll(async () => {
    await backend?.close();
  });

  const options = () => ({ config: backend.config });

  it.each(['empty', 'small text', 'binary (all byte values)', '50 MB random'])(
    'round-trips a file byte for byte: %s',
    async (label) => {
      const file = fileByLabel(label);
      const url = joinUrl(backend.base, 'round trip', file.name);
      const uploaded = await StorageManager.uploadFile(file.path, url, options());
      expect(uploaded).toEqual({ uri: url, size: file.data.length, sha256: file.sha256 });

      const target = join(out, 'download', label, file.name);
      const downloaded = await StorageManager.downloadFile(uploaded.uri, target, options());
      expect(downloaded).toEqual({ path: target, size: file.data.length, sha256: file.sha256 });
      expect((await readFile(target)).equals(file.data)).toBe(true);

      const copy = await StorageManager.getLocalCopy(uploaded.uri, { ...options(), expectedSha256: file.sha256 });
      expect((await readFile(copy)).equals(file.data)).toBe(true);
      expect(copy.endsWith(file.name)).toBe(true);
    },
    120_000,
  );

  it('reports the progress of a large upload and download, ending with a done report', async () => {
    const file = fileByLabel('50 MB random');
    const url = joinUrl(backend.base, 'progress', file.name);
    const uploads: TransferProgress[] = [];
    await StorageManager.uploadFile(file.path, url, { ...options(), onProgress: (p) => uploads.push(p), progressIntervalMs: 0 });
    const downloads: TransferProgress[] = [];
    await StorageManager.downloadFile(url, join(out, 'progress.bin'), { ...options(), onProgress: (p) => downloads.push(p), progressIntervalMs: 0 });

    for (const [reports, direction] of [
      [uploads, 'upload'],
      [downloads, 'download'],
    ] as const) {
      expect(reports.length).toBeGreaterThanOrEqual(2);
      expect(reports.at(-1)).toEqual({ direction, url, transferredBytes: LARGE_BYTES, totalBytes: LARGE_BYTES, isDone: true });
      expect(reports.slice(0, -1).every((p) => !p.isDone && p.totalBytes === LARGE_BYTES && p.transferredBytes <= LARGE_BYTES)).toBe(true);
      const counts = reports.map((p) => p.transferredBytes);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
    }
  }, 120_000);

  it('reports no progress for a small file', async () => {
    const onProgress = vi.fn();
    const file = fileByLabel('small text');
    const url = joinUrl(backend.base, 'quiet', file.name);
    await StorageManager.uploadFile(file.path, url, { ...options(), onProgress, progressIntervalMs: 0 });
    await StorageManager.downloadFile(url, join(out, 'quiet.txt'), { ...options(), onProgress, progressIntervalMs: 0 });
    expect(onProgress).not.toHaveBeenCalled();
  });

  it('replaces the file at a URL on a second upload', async () => {
    const url = joinUrl(backend.base, 'replace', 'v.txt');
    const first = join(out, 'v1.txt');
    const second = join(out, 'v2.txt');
    await writeFile(first, 'version one');
    await writeFile(second, 'version two, longer');
    await StorageManager.uploadFile(first, url, options());
    expect((await StorageManager.uploadFile(second, url, options())).sha256).toBe(sha256('version two, longer'));
    const { path } = await StorageManager.downloadFile(url, join(out, 'replaced.txt'), options());
    expect(await readFile(path, 'utf8')).toBe('version two, longer');
  });

  it('lists the files under a prefix (recursive, sorted, as the URLs uploads answered), and nothing under a missing one', async () => {
    const small = fileByLabel('small text').path;
    const uris: string[] = [];
    for (const parts of [['b.txt'], ['a.txt'], ['sub', 'c.txt'], ['sub', 'deeper', 'd e.txt']]) {
      uris.push((await StorageManager.uploadFile(small, joinUrl(backend.base, 'listing', ...parts), options())).uri);
    }
    // A sibling whose name starts with the prefix is not under it.
    await StorageManager.uploadFile(small, joinUrl(backend.base, 'listing-other', 'x.txt'), options());
    expect(await StorageManager.list(joinUrl(backend.base, 'listing'), options())).toEqual([...uris].sort());
    expect(await StorageManager.list(`${joinUrl(backend.base, 'listing')}/`, options())).toEqual([...uris].sort());
    expect(await StorageManager.list(joinUrl(backend.base, 'listing', 'sub', 'deeper'), options())).toEqual([uris[3]]);
    expect(await StorageManager.list(joinUrl(backend.base, 'no such folder'), options())).toEqual([]);
  });

  it('deletes a file: true the first time, false after; reading it then fails with FILE_NOT_FOUND', async () => {
    const keep = (await StorageManager.uploadFile(fileByLabel('small text').path, joinUrl(backend.base, 'deleting', 'keep.txt'), options())).uri;
    const gone = (await StorageManager.uploadFile(fileByLabel('small text').path, joinUrl(backend.base, 'deleting', 'gone.txt'), options())).uri;
    expect(await StorageManager.delete(gone, options())).toBe(true);
    expect(await StorageManager.delete(gone, options())).toBe(false);
    expect(await StorageManager.list(joinUrl(backend.base, 'deleting'), options())).toEqual([keep]);
    const error = await expectTasklaneError(StorageManager.downloadFile(gone, join(out, 'gone.txt'), options()));
    expect(error.code).toBe('FILE_NOT_FOUND');
    expect(await readdir(out)).not.toContain('gone.txt');
  });

  it('detects a hash mismatch: the download fails with a clear message and what was at the local path stays', async () => {
    const file = fileByLabel('binary (all byte values)');
    const url = joinUrl(backend.base, 'hash', file.name);
    await StorageManager.uploadFile(file.path, url, options());
    const target = join(out, 'hash-target.bin');
    await writeFile(target, 'previous content');
    const wrong = sha256('something else');
    const error = await expectTasklaneError(StorageManager.downloadFile(url, target, { ...options(), expectedSha256: wrong }));
    expect(error.message.replace(url, '<url>')).toBe(
      `The file at <url> is not the one recorded: its SHA-256 is ${file.sha256}, expected ${wrong}. ` +
        'It was changed or damaged after upload; the bad copy was not kept. Upload it again, or fetch it without a hash check.',
    );
    expect(error.details).toEqual({ url, reason: 'sha256_mismatch', expectedSha256: wrong, actualSha256: file.sha256 });
    expect(await readFile(target, 'utf8')).toBe('previous content');
    expect((await readdir(out)).filter((n) => n.includes('hash-target'))).toEqual(['hash-target.bin']);

    const copyError = await expectTasklaneError(StorageManager.getLocalCopy(url, { ...options(), expectedSha256: wrong }));
    expect(copyError.details).toMatchObject({ reason: 'sha256_mismatch', actualSha256: file.sha256 });
  });

  it('refuses to upload a missing file or a folder', async () => {
    const missing = await expectTasklaneError(StorageManager.uploadFile(join(out, 'nope.bin'), joinUrl(backend.base, 'x.bin'), options()));
    expect(missing.code).toBe('FILE_NOT_FOUND');
    expect(missing.message).toBe(`Cannot upload ${join(out, 'nope.bin')}: no such file.`);
    const folder = await expectTasklaneError(StorageManager.uploadFile(out, joinUrl(backend.base, 'x.bin'), options()));
    expect(folder.message).toBe(`Cannot upload ${out}: it is a folder, not a file (zip it first).`);
  });
});
