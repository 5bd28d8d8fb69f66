import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** A file the backends must round-trip byte for byte. */
export interface TestFile {
  label: string;
  name: string;
  data: Buffer;
  path: string;
  sha256: string;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Every byte value, several times, with CR/LF and NUL in the mix: a text-mode or encoding slip would change it. */
function allByteValues(): Buffer {
  const one = Buffer.from(Array.from({ length: 256 }, (_v, i) => i));
  return Buffer.concat([one, Buffer.from('\r\n\n\r\0'), one.reverse(), one]);
}

export const LARGE_BYTES = 50 * 1024 * 1024;

/** Writes the round-trip fixtures into `dir`: empty, small text, all byte values, and ~50 MB of random bytes. */
export async function makeTestFiles(dir: string): Promise<TestFile[]> {
  const specs: { label: string; name: string; data: Buffer }[] = [
    { label: 'empty', name: 'empty.bin', data: Buffer.alloc(0) },
    { label: 'small text', name: 'notes ü.txt', data: Buffer.from('hello, storage\nsecond line ü\n') },
    { label: 'binary (all byte values)', name: 'bytes.bin', data: allByteValues() },
    { label: '50 MB random', name: 'large.bin', data: randomBytes(LARGE_BYTES) },
  ];
  const files: TestFile[] = [];
  for (const spec of specs) {
    const path = join(dir, spec.name);
    await writeFile(path, spec.data);
    files.push({ ...spec, path, sha256: sha256(spec.data) });
  }
  return files;
}
