import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from 'tasklane/client';
import { loadServerConfig, startServer, type RunningServer, type ServerConfigInput } from '@tasklane/server';

export interface TestServer {
  url: string;
  dir: string;
  server: RunningServer;
  /** A client that also checks every reply against its response schema. */
  api: ApiClient;
  close(): Promise<void>;
}

/** Starts the real server on an ephemeral port with a temporary data dir. */
export async function startTestServer(overrides: ServerConfigInput = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-test-'));
  const config = loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'silent', ...overrides });
  const server = await startServer(config);
  const api = new ApiClient({ baseUrl: server.url, validateResponses: true });
  return {
    url: server.url,
    dir,
    server,
    api,
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sends a raw request and answers the HTTP status and parsed JSON (for envelope and bad-input tests). */
export async function rawCall(
  url: string,
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.body,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined, headers: response.headers };
}
