import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { joinUrl, loadSdkConfig, type SdkConfig } from 'tasklane';
import { buildSdkAndCli } from '../logger-support/build-packages.js';
import { startServerProcess, type ServerProcess } from '../logger-support/server-process.js';
import { S3_ENV, startS3Server, type TestS3Server } from '../../../../test/support/s3-server.js';

/** The SDK settings of a test: no config file, a temp state dir (the cache), and the given variables. */
export function testConfig(env: Record<string, string>): SdkConfig {
  return loadSdkConfig({ XDG_CONFIG_HOME: '/nonexistent/tasklane-storage-tests', ...env });
}

/** One storage backend under test: where to put files, and the settings to reach it. */
export interface Backend {
  /** A base URL (or path) to put the test's files under. */
  base: string;
  config: SdkConfig;
  close(): Promise<void>;
}

export interface BackendKind {
  name: string;
  start(): Promise<Backend>;
}

async function stateDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tasklane-storage-state-'));
}

/** The Tasklane server's file server, the server run by the built CLI. */
export async function startFileServerBackend(env: Record<string, string> = {}): Promise<Backend & { server: ServerProcess }> {
  await buildSdkAndCli();
  const server = await startServerProcess({ env });
  const state = await stateDir();
  const config = testConfig({ TASKLANE_API_HOST: server.url, TASKLANE_STATE_DIR: state });
  return {
    server,
    base: joinUrl(config.filesHost, 'storage tests'),
    config,
    close: async () => {
      await server.close();
      await rm(state, { recursive: true, force: true });
    },
  };
}

async function startFolderBackend(style: 'file-url' | 'path'): Promise<Backend> {
  const root = await mkdtemp(join(tmpdir(), 'tasklane-storage-folder-'));
  const state = await stateDir();
  const base = join(root, 'shared storage');
  return {
    base: style === 'file-url' ? pathToFileURL(base).href : base,
    config: testConfig({ TASKLANE_STATE_DIR: state }),
    close: async () => {
      await rm(root, { recursive: true, force: true });
      await rm(state, { recursive: true, force: true });
    },
  };
}

/**
 * s3rver on a free port with a bucket made for the test. The credentials come from the standard AWS variables
 * (set on the test process by the caller with `vi.stubEnv`), the endpoint from TASKLANE_S3_ENDPOINT.
 */
export async function startS3Backend(): Promise<Backend & { s3: TestS3Server; bucket: string }> {
  const s3 = await startS3Server();
  const bucket = 'tasklane-tests';
  await s3.createBucket(bucket);
  const state = await stateDir();
  return {
    s3,
    bucket,
    base: `s3://${bucket}/storage tests`,
    config: testConfig({ TASKLANE_STATE_DIR: state, TASKLANE_S3_ENDPOINT: s3.endpoint }),
    close: async () => {
      await s3.close();
      await rm(state, { recursive: true, force: true });
    },
  };
}

export { S3_ENV };

/** The Tasklane server's file server with its files in a bucket (`--files-url s3://...`, s3rver behind it). */
async function startFileServerOnS3Backend(): Promise<Backend> {
  const s3 = await startS3Server();
  await s3.createBucket('server-files');
  try {
    const backend = await startFileServerBackend({ ...S3_ENV, TASKLANE_FILES_URL: 's3://server-files/tasklane', TASKLANE_S3_ENDPOINT: s3.endpoint });
    return {
      ...backend,
      close: async () => {
        await backend.close();
        await s3.close();
      },
    };
  } catch (error) {
    await s3.close();
    throw error;
  }
}

export const BACKENDS: BackendKind[] = [
  { name: 'file server', start: () => startFileServerBackend() },
  { name: 'file server on an S3 bucket (s3rver)', start: () => startFileServerOnS3Backend() },
  { name: 'folder (file:// URL)', start: () => startFolderBackend('file-url') },
  { name: 'folder (absolute path)', start: () => startFolderBackend('path') },
  { name: 'S3-compatible server (s3rver)', start: () => startS3Backend() },
];
