import { userHeader } from 'tasklane';
import { ApiClient } from 'tasklane/client';

/** Options every command that talks to a server takes. */
export interface ApiOptions {
  server?: string;
  json?: boolean;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8008';

/**
 * The client for `--server`, else TASKLANE_API_HOST (or TASKLANE_API_URL), else the local default; tasks it creates
 * (clone, create) are the user's (TASKLANE_USER, else the OS user).
 */
export function clientFor(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  return new ApiClient({ baseUrl: options.server ?? env.TASKLANE_API_HOST ?? env.TASKLANE_API_URL ?? DEFAULT_API_URL, headers: userHeader(env) });
}

/** Prints a value as JSON (for --json). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
