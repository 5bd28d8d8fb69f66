import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { joinUrl } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFileServerBackend } from './storage-support/backends.js';
import { sha256OfFile } from './storage-support/test-files.js';

const execFileAsync = promisify(execFile);
const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'storage-support/upload-memory.mjs');
const FILE_MIB = 200;

let backend: Awaited<ReturnType<typeof startFileServerBackend>>;
let work: string;
beforeAll(async () => {
  backend = await startFileServerBackend();
  work = await mkdtemp(join(tmpdir(), 'tasklane-storage-memory-'));
}, 120_000);
afterAll(async () => {
  await backend?.close();
  await rm(work, { recursive: true, force: true });
});

describe('memory of file-server transfers', () => {
  it(`holds far less than the file in memory: a ${FILE_MIB} MiB upload and download`, async () => {
    const path = join(work, 'big.bin');
    await pipeline(
      (async function* () {
        for (let i = 0; i < FILE_MIB; i++) yield randomBytes(1024 * 1024);
      })(),
      createWriteStream(path),
    );
    const url = joinUrl(backend.base, 'memory', 'big.bin');
    const env = { ...process.env, TASKLANE_API_HOST: backend.server.url, TASKLANE_STATE_DIR: join(work, 'state'), XDG_CONFIG_HOME: '/nonexistent' };
    const { stdout } = await execFileAsync(process.execPath, [CHILD_SCRIPT, path, url], { env, timeout: 60_000 });
    const line = stdout.split('\n').find((l) => l.startsWith('@@memory '));
    const memory = JSON.parse(line!.slice('@@memory '.length)) as Record<'upload' | 'download', { rssRiseMiB: number; arrayBuffersPeakMiB: number }>;
    // Buffers alive at once stay small: a streamed body, not the file (fetch's streamed upload body would hold all
    // 200 MiB, https://github.com/nodejs/undici/issues/4058).
    expect(memory.upload.arrayBuffersPeakMiB).toBeLessThan(64);
    expect(memory.download.arrayBuffersPeakMiB).toBeLessThan(64);
    expect(memory.upload.rssRiseMiB).toBeLessThan(FILE_MIB / 2);
    expect(memory.download.rssRiseMiB).toBeLessThan(FILE_MIB / 2);
    expect(await sha256OfFile(`${path}.back`)).toBe(await sha256OfFile(path));
  }, 90_000);
});
