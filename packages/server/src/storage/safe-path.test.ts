import { describe, expect, it } from 'vitest';
import { MAX_KEY_PART_BYTES, isUploadingFileName, resolveStorageKey, uploadingFileName } from './safe-path.js';

describe('temporary upload file names', () => {
  it.each(['a.bin', 'n'.repeat(255), `${'é'.repeat(100)}${'n'.repeat(51)}.bin`, '🙂'.repeat(63), 'with space.txt'])(
    'fit in a file name for %s, and are recognised as ours',
    (name) => {
      const temp = uploadingFileName(name, '0123456789ab');
      expect(Buffer.byteLength(temp)).toBeLessThanOrEqual(MAX_KEY_PART_BYTES);
      expect(temp.startsWith(`.${[...name].slice(0, 10).join('')}`)).toBe(true);
      expect(isUploadingFileName(temp)).toBe(true);
      // Never cut inside a character.
      expect(Buffer.from(temp).toString('utf8')).toBe(temp);
    },
  );

  it.each(['notes.uploading', '.x.0123.uploading', '.x.0123456789AB.uploading', 'x.0123456789ab.uploading', '.x.0123456789ab.uploading.bak', '.0123456789ab.uploading'])(
    'are not taken for a name such as %s',
    (name) => expect(isUploadingFileName(name)).toBe(false),
  );
});

describe('storage key limits', () => {
  it('takes a part of 255 bytes and a key of 1,024 bytes, and refuses one byte more', () => {
    expect(resolveStorageKey('/srv/files', `a/${'n'.repeat(255)}`).key).toBe(`a/${'n'.repeat(255)}`);
    expect(() => resolveStorageKey('/srv/files', `a/${'n'.repeat(256)}`)).toThrow(/is 256 bytes long, more than the 255 bytes/);
    const key = (bytes: number) => [...Array.from({ length: 4 }, () => 'k'.repeat(200)), 'k'.repeat(bytes - 4 * 201)].join('/');
    expect(resolveStorageKey('/srv/files', key(1024)).key).toBe(key(1024));
    expect(() => resolveStorageKey('/srv/files', key(1025))).toThrow(/is 1025 bytes long, more than the 1024 bytes a path may have/);
  });
});
