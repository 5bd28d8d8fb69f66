import { describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import { destinationFor, joinUrl, parseStorageUrl, quoteKeyPart, siblingUrl } from './storage-url.js';

const config = { filesHost: 'http://127.0.0.1:8008/files' };

function errorOf(run: () => unknown): TasklaneError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TasklaneError);
    return error as TasklaneError;
  }
  throw new Error('expected a TasklaneError');
}

describe('quoteKeyPart', () => {
  it('turns "/" into .slash. and special characters into 0xNN, as ClearML does', () => {
    expect(quoteKeyPart('loss/train')).toBe('loss.slash.train');
    expect(quoteKeyPart(`#"';?:@&=+$,%!`)).toBe('0x230x220x270x3b0x3f0x3a0x400x260x3d0x2b0x240x2c0x250x21');
    expect(quoteKeyPart('a\r\nb\\c')).toBe('a0x0d0x0ab0x5cc');
    expect(quoteKeyPart('plain name_1.2-3 ü')).toBe('plain name_1.2-3 ü');
  });
});

describe('joinUrl', () => {
  it('quotes each part and percent-encodes what http URLs need', () => {
    expect(joinUrl('http://127.0.0.1:8008/files/', 'my project', 'train.3f2c', 'artifacts', 'loss/curve', 'data #1 ü.csv')).toBe(
      'http://127.0.0.1:8008/files/my%20project/train.3f2c/artifacts/loss.slash.curve/data%200x231%20%C3%BC.csv',
    );
  });

  it('keeps S3 keys and plain paths unescaped besides the ClearML quoting', () => {
    expect(joinUrl('s3://bucket/exp/', 'my project', 'a?b')).toBe('s3://bucket/exp/my project/a0x3fb');
    expect(joinUrl('/mnt/shared/', 'p', 'x y.bin')).toBe('/mnt/shared/p/x y.bin');
  });

  it('builds file: URLs that name the joined path', () => {
    expect(joinUrl('file:///mnt/shared', 'p q', 'w.bin')).toBe('file:///mnt/shared/p%20q/w.bin');
  });

  it('refuses empty, "." and ".." parts', () => {
    for (const bad of ['', '.', '..']) {
      expect(errorOf(() => joinUrl('s3://bucket', 'a', bad)).code).toBe('INVALID_INPUT');
    }
    expect(errorOf(() => joinUrl('s3://bucket', 'a', '..')).message).toMatchInlineSnapshot(
      `"Cannot build a storage URL under s3://bucket from the parts ["a",".."]: a part may not be empty, "." or ".."."`,
    );
  });
});

describe('destinationFor', () => {
  it('answers the output URI when set, else the files host, without trailing slashes', () => {
    expect(destinationFor(undefined, config)).toBe('http://127.0.0.1:8008/files');
    expect(destinationFor('', config)).toBe('http://127.0.0.1:8008/files');
    expect(destinationFor('s3://bucket/experiments/', config)).toBe('s3://bucket/experiments');
    expect(destinationFor('/mnt/shared/runs/', config)).toBe('/mnt/shared/runs');
    expect(destinationFor('file:///mnt/shared/runs/', config)).toBe('file:///mnt/shared/runs');
    expect(destinationFor('http://other:8081', config)).toBe('http://other:8081');
  });

  it('refuses a scheme it cannot store to', () => {
    expect(errorOf(() => destinationFor('gs://bucket/x', config)).message).toMatchInlineSnapshot(
      `"Unsupported storage URL "gs://bucket/x": unknown scheme. Use the file server (http(s)://<files host>/<key>), a folder (file:///abs/path or /abs/path) or S3 (s3://bucket/key)."`,
    );
  });
});

describe('parseStorageUrl', () => {
  it('reads a file-server URL under the files host: base, decoded key, canonical URL', () => {
    expect(parseStorageUrl('http://127.0.0.1:8008/files/p%20q/a.slash.b/%C3%BC.bin', config)).toEqual({
      kind: 'file-server',
      base: 'http://127.0.0.1:8008/files',
      key: 'p q/a.slash.b/ü.bin',
      isFilesHost: true,
      url: 'http://127.0.0.1:8008/files/p%20q/a.slash.b/%C3%BC.bin',
    });
  });

  it('uses the origin as the base of another server (ClearML fileserver style) and sends it no credentials', () => {
    expect(parseStorageUrl('http://files.example:8081/p/a.bin', config)).toMatchObject({
      kind: 'file-server',
      base: 'http://files.example:8081',
      key: 'p/a.bin',
      isFilesHost: false,
    });
    // Same host, but outside the files path: not the files host.
    expect(parseStorageUrl('http://127.0.0.1:8008/filesystem/a.bin', config)).toMatchObject({ base: 'http://127.0.0.1:8008', isFilesHost: false });
  });

  it('reads S3 URLs and folders', () => {
    expect(parseStorageUrl('s3://my-bucket/a b/c.bin', config)).toEqual({ kind: 's3', bucket: 'my-bucket', key: 'a b/c.bin', url: 's3://my-bucket/a b/c.bin' });
    expect(parseStorageUrl('file:///tmp/x%20y/z.bin', config)).toEqual({ kind: 'folder', path: '/tmp/x y/z.bin', url: 'file:///tmp/x%20y/z.bin', style: 'file-url' });
    expect(parseStorageUrl('/tmp/a/../b.bin', config)).toEqual({ kind: 'folder', path: '/tmp/b.bin', url: '/tmp/b.bin', style: 'path' });
  });

  it('accepts roots only where asked (list prefixes, destinations)', () => {
    expect(errorOf(() => parseStorageUrl('s3://bucket', config)).message).toContain('it names a bucket but no object key');
    expect(parseStorageUrl('s3://bucket', config, { allowRoot: true })).toMatchObject({ kind: 's3', bucket: 'bucket', key: '' });
    expect(errorOf(() => parseStorageUrl('http://127.0.0.1:8008/files/', config)).message).toContain('it names the file server but no file');
    expect(parseStorageUrl('http://127.0.0.1:8008/files/', config, { allowRoot: true })).toMatchObject({ key: '', url: 'http://127.0.0.1:8008/files' });
  });

  it('refuses relative paths, queries, fragments, bad buckets and broken escapes', () => {
    expect(errorOf(() => parseStorageUrl('relative/path.bin', config)).message).toContain('unknown scheme');
    expect(errorOf(() => parseStorageUrl('http://127.0.0.1:8008/files/a.bin?x=1', config)).message).toContain('no query');
    expect(errorOf(() => parseStorageUrl('http://127.0.0.1:8008/files/a#1.bin', config)).message).toContain('fragment');
    expect(errorOf(() => parseStorageUrl('s3://b/key', config)).message).toContain('"b" is not a valid S3 bucket name');
    expect(errorOf(() => parseStorageUrl('http://127.0.0.1:8008/files/%E0%A4%A.bin', config)).message).toContain('broken %-escape');
  });

  it('spells listed keys like the prefix', () => {
    const server = parseStorageUrl('http://127.0.0.1:8008/files/p', config, { allowRoot: true });
    expect(siblingUrl(server, 'p/x y.bin')).toBe('http://127.0.0.1:8008/files/p/x%20y.bin');
    expect(siblingUrl(parseStorageUrl('s3://bucket/p', config), 'p/x y.bin')).toBe('s3://bucket/p/x y.bin');
    expect(siblingUrl(parseStorageUrl('file:///tmp/p', config), '/tmp/p/x y.bin')).toBe('file:///tmp/p/x%20y.bin');
    expect(siblingUrl(parseStorageUrl('/tmp/p', config), '/tmp/p/x y.bin')).toBe('/tmp/p/x y.bin');
  });
});
