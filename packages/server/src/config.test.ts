import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerConfig } from './config.js';

describe('where the server keeps its files (filesUrl)', () => {
  it('is <dataDir>/files by default', () => {
    const config = loadServerConfig({}, { dataDir: '/srv/tasklane' });
    expect(config.files).toEqual({ kind: 'folder', dir: join('/srv/tasklane', 'files') });
    expect(config.filesUrl).toBe(join('/srv/tasklane', 'files'));
  });

  it('takes a folder as a path (relative to the working folder) or a file:// URL', () => {
    expect(loadServerConfig({ TASKLANE_FILES_URL: 'shared/files' }).files).toEqual({ kind: 'folder', dir: resolve('shared/files') });
    expect(loadServerConfig({}, { filesUrl: 'file:///mnt/nfs/tasklane%20files' }).files).toEqual({ kind: 'folder', dir: '/mnt/nfs/tasklane files' });
  });

  it('takes s3://bucket/prefix, with the endpoint as the SDK takes it and path-style addressing with an endpoint', () => {
    expect(loadServerConfig({ TASKLANE_FILES_URL: 's3://ml-team/tasklane/files/' }).files).toEqual({
      kind: 's3',
      bucket: 'ml-team',
      prefix: 'tasklane/files',
      forcePathStyle: false,
    });
    const env = { TASKLANE_FILES_URL: 's3://ml-team', AWS_ENDPOINT_URL: 'http://minio:9000', AWS_ENDPOINT_URL_S3: 'http://minio-s3:9000' };
    expect(loadServerConfig(env).files).toEqual({ kind: 's3', bucket: 'ml-team', prefix: '', endpoint: 'http://minio-s3:9000', forcePathStyle: true });
    expect(loadServerConfig(env).filesUrl).toBe('s3://ml-team/');
    expect(loadServerConfig({ ...env, TASKLANE_S3_ENDPOINT: 'https://s3.internal', TASKLANE_S3_FORCE_PATH_STYLE: 'false' }).files).toMatchObject({
      endpoint: 'https://s3.internal',
      forcePathStyle: false,
    });
  });

  it.each([
    ['s3://x/files', 'TASKLANE_FILES_URL (filesUrl): "x" is not a valid S3 bucket name (s3://bucket/prefix), got "s3://x/files"'],
    ['s3://bucket/a/../b', 'TASKLANE_FILES_URL (filesUrl): the prefix is not usable: "a/../b": it climbs out with ".."'],
    ['s3://bucket/a//b', 'TASKLANE_FILES_URL (filesUrl): write the prefix as "a/b" (no empty, "." or backslash-separated parts), got "s3://bucket/a//b"'],
    ['https://bucket.example.com/files', 'TASKLANE_FILES_URL (filesUrl): expected s3://bucket/prefix, file:///abs/path or a folder path, got "https://bucket.example.com/files"'],
  ])('refuses %s, naming where it came from', (url, message) => {
    expect(() => loadServerConfig({ TASKLANE_FILES_URL: url })).toThrow(message);
  });

  it('refuses a prefix over 512 bytes, which would leave keys too little of S3\'s 1,024', () => {
    expect(() => loadServerConfig({}, { filesUrl: `s3://bucket/${'p'.repeat(200)}/${'q'.repeat(200)}/${'r'.repeat(200)}` })).toThrow(
      /^Invalid server configuration: --files-url: the prefix is not usable: .* it is 602 bytes long, more than the 512 bytes a path may have; use a shorter path\./,
    );
  });

  it('refuses an endpoint that is not a URL and a path-style setting that is not yes or no', () => {
    expect(() => loadServerConfig({ AWS_ENDPOINT_URL_S3: 'minio:9000' })).toThrow('AWS_ENDPOINT_URL_S3 (s3Endpoint): expected an http:// or https:// URL, got "minio:9000"');
    expect(() => loadServerConfig({ TASKLANE_S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(/TASKLANE_S3_FORCE_PATH_STYLE \(s3ForcePathStyle\): .*got "maybe"/);
  });
});

describe('loadServerConfig: the database', () => {
  it('defaults to SQLite in the data dir, and takes a sqlite:// file', () => {
    const config = loadServerConfig({}, { dataDir: '/srv/tl' });
    expect(config).toMatchObject({ dbUrl: 'sqlite:///srv/tl/tasklane.sqlite', dbFile: '/srv/tl/tasklane.sqlite', dbDescription: '/srv/tl/tasklane.sqlite' });
    expect(loadServerConfig({ TASKLANE_DB_URL: 'sqlite:///tmp/x.sqlite' }).dbFile).toBe('/tmp/x.sqlite');
  });

  it('takes a postgres:// or postgresql:// URL, with a pool size, and never shows the password', () => {
    const config = loadServerConfig({ TASKLANE_DB_URL: 'postgres://tl:s3cret@db.internal:5432/tasklane?sslmode=verify-full', TASKLANE_DB_POOL_SIZE: '25' });
    expect(config).toMatchObject({ dbUrl: 'postgres://tl:s3cret@db.internal:5432/tasklane?sslmode=verify-full', dbFile: undefined, dbPoolSize: 25 });
    expect(config.dbDescription).toBe('postgres://tl:***@db.internal:5432/tasklane?sslmode=verify-full');
    expect(loadServerConfig({}, { dbUrl: 'postgresql://db/tasklane' }).dbPoolSize).toBe(10);
  });

  it('refuses another kind of URL and a bad pool size, the password hidden in what it says', () => {
    let message = '';
    try {
      loadServerConfig({}, { dbUrl: 'mysql://root:hunter2@db/tasklane' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Invalid server configuration: --db-url: expected sqlite:\/\/<file> .* or postgres:\/\/user:password@host:5432\/database, got "mysql:\/\/root:\*\*\*@db\/tasklane"$/);
    expect(message).not.toContain('hunter2');
    expect(() => loadServerConfig({ TASKLANE_DB_POOL_SIZE: '0' })).toThrow(/TASKLANE_DB_POOL_SIZE \(dbPoolSize\)/);
  });
});
