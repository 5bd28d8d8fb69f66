import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, vi } from 'vitest';
import type { ServerConfigInput } from '@tasklane/server';
import { S3_ENV, startS3Server, type TestS3Server } from '../../../../test/support/s3-server.js';
import { startTestServer, type TestServer } from './test-server.js';

/** Every file under a folder of this machine, relative and `/`-separated, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** What is really stored, looked at beside the server (on its disk, in its bucket), not through it. */
export interface StoredFiles {
  /** Every file key under `folder` (relative to it, sorted; `''` for all); [] when there is none. */
  filesUnder(folder: string): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  /** Whether a file is stored at `key`. */
  has(key: string): Promise<boolean>;
  /** Whether anything is stored under the top-level name `name` (in a folder, an empty folder left behind counts). */
  hasTopLevel(name: string): Promise<boolean>;
}

/** A file store the same tests run against: the folder (the default) and a bucket of an S3-compatible server. */
export interface FilesBackend {
  name: string;
  kind: 'folder' | 's3';
  /** Longest key the server takes with this store. */
  maxKeyBytes: number;
  /** A server (temp data dir, SQLite) whose files go to this store, and a view of what it stores. */
  start(overrides?: ServerConfigInput): Promise<{ server: TestServer; stored: StoredFiles }>;
}

/** The bucket every S3 test server uses; each server gets its own prefix in it. */
export const TEST_BUCKET = 'tasklane-files';
/** With a space and a sub-folder, so that keys are seen to go under it whole. */
const PREFIX_BASE = 'tasklane files/server';
let s3: TestS3Server | undefined;
let prefixes = 0;

/**
 * Registers the hooks of a test file that uses {@link S3_BACKEND}: the AWS credential variables s3rver takes (the
 * server reads them through the AWS SDK's usual chain) and, at the end, the s3rver started on first use.
 */
export function useFilesBackends(): void {
  beforeAll(() => {
    for (const [name, value] of Object.entries(S3_ENV)) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await s3?.close();
    s3 = undefined;
  });
}

/** The test file's s3rver, with {@link TEST_BUCKET} made, started on first use. */
export async function bucketServer(): Promise<TestS3Server> {
  if (s3 === undefined) {
    s3 = await startS3Server();
    await s3.createBucket(TEST_BUCKET);
  }
  return s3;
}

/** The s3rver, if one was started. */
export function startedBucketServer(): TestS3Server | undefined {
  return s3;
}

export const FOLDER_BACKEND: FilesBackend = {
  name: 'a folder',
  kind: 'folder',
  maxKeyBytes: 1024,
  start: async (overrides = {}) => {
    const server = await startTestServer(overrides);
    const filesDir = join(server.dir, 'files');
    return {
      server,
      stored: {
        filesUnder: async (folder) => (existsSync(join(filesDir, folder)) ? filesUnder(join(filesDir, folder)) : []),
        read: (key) => readFile(join(filesDir, key)),
        has: async (key) => existsSync(join(filesDir, ...key.split('/'))),
        hasTopLevel: async (name) => (await readdir(filesDir)).includes(name),
      },
    };
  },
};

export const S3_BACKEND: FilesBackend = {
  name: 'an S3 bucket (s3rver)',
  kind: 's3',
  maxKeyBytes: 1024 - Buffer.byteLength(`${PREFIX_BASE}-00/`),
  start: async (overrides = {}) => {
    const bucket = await bucketServer();
    prefixes += 1;
    const prefix = `${PREFIX_BASE}-${String(prefixes).padStart(2, '0')}`;
    const server = await startTestServer({ filesUrl: `s3://${TEST_BUCKET}/${prefix}`, s3Endpoint: bucket.endpoint, ...overrides });
    const keysUnder = async (folder: string) => (await bucket.keys(TEST_BUCKET, `${prefix}/${folder}`)).map((k) => k.slice(prefix.length + 1));
    return {
      server,
      stored: {
        filesUnder: async (folder) => (folder === '' ? keysUnder('') : (await keysUnder(`${folder}/`)).map((k) => k.slice(folder.length + 1))),
        read: (key) => bucket.read(TEST_BUCKET, `${prefix}/${key}`),
        has: async (key) => (await keysUnder(key)).includes(key),
        hasTopLevel: async (name) => (await keysUnder(name)).some((k) => k === name || k.startsWith(`${name}/`)),
      },
    };
  },
};

/** Both stores, for `describe.each`. */
export const FILES_BACKENDS: FilesBackend[] = [FOLDER_BACKEND, S3_BACKEND];
