import { hostname } from 'node:os';
import { ApiClient } from './client/api-client.js';
import type { SdkConfig } from './config.js';

/** An API client for the configured server, with the SDK's identification headers and credentials. @internal */
export function makeClient(config: SdkConfig): ApiClient {
  const headers: Record<string, string> = { 'X-ClearML-Worker': hostname(), 'X-ClearML-Client': 'tasklane-0.1.0' };
  if (config.accessKey && config.secretKey) {
    headers.Authorization = `Basic ${Buffer.from(`${config.accessKey}:${config.secretKey}`).toString('base64')}`;
  }
  return new ApiClient({ baseUrl: config.apiHost, headers, timeoutMs: 30_000 });
}
