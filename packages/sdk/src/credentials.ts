import { hostname } from 'node:os';
import { TokenManager } from './client/token-manager.js';
import { keyPairOf, type SdkConfig } from './config.js';

/** What the SDK's credentials are made of: the server that issues tokens and the key pair with its sources. */
export type CredentialSettings = Pick<SdkConfig, 'apiHost' | 'accessKey' | 'secretKey' | 'accessKeySource' | 'secretKeySource'> &
  Partial<Pick<SdkConfig, 'configFile'>>;

/** The identification the SDK sends with every request (ClearML's header names). @internal */
export const SDK_CLIENT_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'X-ClearML-Worker': hostname(), 'X-ClearML-Client': 'tasklane-0.1.0' });

const managers = new Map<string, TokenManager>();

/**
 * The process's one token manager for a server and key pair: the API client, the file-server uploads and
 * downloads, models and exit-time requests all share it, so a run logs in once. @internal
 */
export function tokenManagerFor(settings: CredentialSettings): TokenManager {
  const keyPair = keyPairOf(settings);
  const id = JSON.stringify([settings.apiHost, keyPair?.accessKey ?? null, keyPair?.secretKey ?? null]);
  let manager = managers.get(id);
  if (manager === undefined) {
    manager = new TokenManager({
      baseUrl: settings.apiHost,
      keyPair,
      headers: { ...SDK_CLIENT_HEADERS },
      ...(settings.configFile !== undefined ? { configFile: settings.configFile } : {}),
    });
    managers.set(id, manager);
  }
  return manager;
}

/** The secrets console text must never show: the configured secret key. @internal */
export function secretsOf(settings: Pick<SdkConfig, 'secretKey'>): string[] {
  return settings.secretKey ? [settings.secretKey] : [];
}
