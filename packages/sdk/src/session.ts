import { hostname, userInfo } from 'node:os';
import { ApiClient } from './client/api-client.js';
import type { SdkConfig } from './config.js';
import { OfflineApiClient } from './offline/offline-api-client.js';
import { isOfflineMode } from './offline/offline-mode.js';

/**
 * An API client for the configured server, with the SDK's identification headers and credentials; in offline mode
 * one that refuses every call with an "offline" error (nothing may reach for a server then). @internal
 */
export function makeClient(config: SdkConfig): ApiClient {
  if (isOfflineMode(config)) return new OfflineApiClient();
  return makeServerClient(config);
}

/** An API client for the configured server, whatever the mode (importing a session talks to one). @internal */
export function makeServerClient(config: SdkConfig): ApiClient {
  const headers: Record<string, string> = { 'X-ClearML-Worker': hostname(), 'X-ClearML-Client': 'tasklane-0.1.0', ...userHeader() };
  if (config.accessKey && config.secretKey) {
    headers.Authorization = `Basic ${Buffer.from(`${config.accessKey}:${config.secretKey}`).toString('base64')}`;
  }
  return new ApiClient({ baseUrl: config.apiHost, headers, timeoutMs: 30_000 });
}

/**
 * The header that names the user new tasks belong to: TASKLANE_USER, else the operating-system user (the server has
 * no accounts to take it from). Empty when neither is known.
 */
export function userHeader(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  let user = env.TASKLANE_USER?.trim();
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      return {}; // no passwd entry (some containers)
    }
  }
  return user ? { 'X-Tasklane-User': encodeURIComponent(user) } : {};
}
