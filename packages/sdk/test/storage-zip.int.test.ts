import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { extractZip, zipFolder } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tasklane-storage-zip-'));
});
afterAll(async () => {
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

/** Every file under a folder with its content, and every empty folder (as `name/`). */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const rel = join(entry.parentPath, entry.name).slice(dir.length + 1);
    if (entry.isFile()) out[rel] = (await readFile(join(dir, rel))).toString('base64');
    else if (entry.isDirectory() && (await readdir(join(dir, rel))).length === 0) out[`${rel}/`] = '';
  }
  return out;
}

describe('zipFolder / extractZip', () => {
  it.each([true, false])('round-trips a folder exactly (compress: %s): nested files, binary, unicode names, empty folders', async (compress) => {
    const source = join(work, `source-${compress}`);
    await mkdir(join(source, 'a', 'b', 'empty'), { recursive: true });
    await writeFile(join(source, 'top.bin'), randomBytes(200_000));
    await writeFile(join(source, 'a', 'ü name.txt'), 'unicode');
    await writeFile(join(source, 'a', 'b', 'zero.bin'), Buffer.alloc(0));
    const zipPath = join(work, `out-${compress}.zip`);
    expect(await zipFolder(source, zipPath, { compress })).toEqual({ files: 3, bytes: 200_000 + 7 });
    const target = join(work, `extracted-${compress}`);
    expect(await extractZip(zipPath, target)).toEqual({ files: 3, bytes: 200_007 });
    expect(await tree(target)).toEqual(await tree(source));
    expect(Object.keys(await tree(target)).sort()).toEqual(['a/b/empty/', 'a/b/zero.bin', 'a/ü name.txt', 'top.bin']);
  });

  it('follows a link to a file, and refuses a folder link that loops', async () => {
    const source = join(work, 'links');
    await mkdir(join(source, 'inner'), { recursive: true });
    await writeFile(join(work, 'outside.txt'), 'linked');
    await symlink(join(work, 'outside.txt'), join(source, 'link.txt'));
    await zipFolder(source, join(work, 'links.zip'));
    await extractZip(join(work, 'links.zip'), join(work, 'links-out'));
    expect(await readFile(join(work, 'links-out', 'link.txt'), 'utf8')).toBe('linked');

    await symlink(source, join(source, 'inner', 'loop'));
    const error = await failure(zipFolder(source, join(work, 'loop.zip')));
    expect(error.message).toBe(`Cannot zip ${source}: the folder link ${join(source, 'inner', 'loop')} leads back into a folder already packed.`);
    expect(await readdir(work)).not.toContain('loop.zip');
  });

  it('refuses an archive whose entry climbs out of the target folder (zip slip), writing nothing outside', async () => {
    const source = join(work, 'slip-src');
    await mkdir(join(source, 'aa'), { recursive: true });
    await writeFile(join(source, 'aa', 'evil.txt'), 'evil');
    const zipPath = join(work, 'slip.zip');
    await zipFolder(source, zipPath, { compress: false });
    // Rename the entry "aa/evil.txt" to "../evil.txt" in place (same length) in both headers.
    const bytes = await readFile(zipPath);
    await writeFile(zipPath, Buffer.from(bytes.toString('latin1').replaceAll('aa/evil.txt', '../evil.txt'), 'latin1'));
    const target = join(work, 'slip-target');
    const error = await failure(extractZip(zipPath, target));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe(`Cannot extract ${zipPath}: invalid relative path: ../evil.txt.`);
    expect(await readdir(work)).not.toContain('evil.txt');
  });

  it('explains what is wrong with a missing folder or a file that is not a zip', async () => {
    expect((await failure(zipFolder(join(work, 'nope'), join(work, 'x.zip')))).message).toBe(`Cannot zip ${join(work, 'nope')}: no folder there.`);
    await writeFile(join(work, 'not.zip'), 'plain text');
    const error = await failure(extractZip(join(work, 'not.zip'), join(work, 'not-out')));
    expect(error.message).toBe(
      `Cannot extract ${join(work, 'not.zip')}: it is not a readable zip file (End of central directory record signature not found. Either not a zip file, or file is truncated).`,
    );
  });
});
