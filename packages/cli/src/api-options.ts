import { loadKeyPair, userHeader } from 'tasklane';
import { ApiClient, TokenManager } from 'tasklane/client';

/** Options every command that talks to a server takes. */
export interface ApiOptions {
  server?: string;
  json?: boolean;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8008';

/** Where the key pair comes from, for the --help of every command that talks to a server. */
export const CREDENTIALS_HELP = `
Credentials, where the server has authentication on: a key pair (tasklane credentials create --user NAME makes one)
in TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY (else CLEARML_API_ACCESS_KEY / CLEARML_API_SECRET_KEY, else
accessKey / secretKey in the SDK config file: TASKLANE_CONFIG_FILE or ~/.config/tasklane/config.json). The key pair
is sent once, to log in; requests then carry the token, renewed before it expires.`;

/** How the task, queue and worker commands find the server and prove who is calling, for their --help. */
export const CONNECTION_HELP = `
Server: --server, else TASKLANE_API_HOST (or TASKLANE_API_URL), else http://127.0.0.1:8008.${CREDENTIALS_HELP}`;

/**
 * The client for `--server`, else TASKLANE_API_HOST (or TASKLANE_API_URL), else the local default. It logs in with
 * the SDK's key pair (TASKLANE_API_ACCESS_KEY / TASKLANE_API_SECRET_KEY, ClearML's names, or the SDK config file)
 * when one is set; where the server has auth off, tasks it creates (clone, create) are the user's (TASKLANE_USER,
 * else the OS user).
 */
export function clientFor(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const baseUrl = options.server ?? env.TASKLANE_API_HOST ?? env.TASKLANE_API_URL ?? DEFAULT_API_URL;
  return new ApiClient({ baseUrl, headers: userHeader(env), auth: new TokenManager({ baseUrl, keyPair: loadKeyPair(env) }) });
}

/** Prints a value as JSON (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
