import { userInfo } from 'node:os';
import { ApiClient } from './client/api-client.js';
import type { SdkConfig } from './config.js';
import { SDK_CLIENT_HEADERS, tokenManagerFor } from './credentials.js';
import { OfflineApiClient } from './offline/offline-api-client.js';
import { isOfflineMode } from './offline/offline-mode.js';

/**
 * An API client for the configured server, with the SDK's identification headers and credentials; in offline mode
 * one that refuses every call with an "offline" error (nothing may reach for a server then, nor log in). @internal
 */
export function makeClient(config: SdkConfig): ApiClient {
  if (isOfflineMode(config)) return new OfflineApiClient();
  return makeServerClient(config);
}

/**
 * An API client for the configured server, whatever the mode (importing a session talks to one). With a key pair it
 * logs in on its first request and sends the token from then on (see TokenManager). @internal
 */
export function makeServerClient(config: SdkConfig): ApiClient {
  return new ApiClient({ baseUrl: config.apiHost, headers: { ...SDK_CLIENT_HEADERS, ...userHeader() }, timeoutMs: 30_000, auth: tokenManagerFor(config) });
}

/**
 * The header that names the user new tasks belong to where the server has auth off: TASKLANE_USER, else the
 * operating-system user. Empty when neither is known. With auth on, the server takes the user from the credentials.
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
