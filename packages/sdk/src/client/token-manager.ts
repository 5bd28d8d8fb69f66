import { TasklaneError } from '@tasklane/protocol';
import { envelopeError, readEnvelope, unreachableError } from './envelope.js';

/** An access key and its secret (from `tasklane credentials create`), with where each was configured. */
export interface KeyPair {
  accessKey: string;
  secretKey: string;
  /** Where the access key was set, named in errors (e.g. `TASKLANE_API_ACCESS_KEY`). @default 'the access key' */
  accessKeySource?: string | undefined;
  /** Where the secret key was set, named in errors (e.g. `TASKLANE_API_SECRET_KEY`). @default 'the secret key' */
  secretKeySource?: string | undefined;
}

/** Options of {@link TokenManager}. */
export interface TokenManagerOptions {
  /** The server that issues tokens (`auth.login`), e.g. `http://127.0.0.1:8008`. */
  baseUrl: string;
  /** The key pair to log in with; without one, requests carry no credentials (servers with auth off need none). */
  keyPair?: KeyPair | undefined;
  /** Headers for `auth.login` (the client's identification). */
  headers?: Record<string, string>;
  /** Timeout of one `auth.login`. @default 30000 */
  timeoutMs?: number;
  /** The SDK config file, named where the errors say how to configure a key pair. @default 'the SDK config file' */
  configFile?: string;
  /** The fetch to use (a seam for tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The clock, in epoch milliseconds (a seam for tests). @default Date.now */
  now?: () => number;
}

/** A token is renewed when a tenth of its lifetime is left, or 5 minutes, whichever is less. */
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** A request sent without waiting (the exit flusher) uses the token only when it has this long left. */
const MIN_SYNC_VALIDITY_MS = 30_000;

/** How to get a key pair and where to put it; said when the server asks for credentials and none are set. */
function howToConfigure(configFile: string): string {
  return (
    'Create a key pair with `tasklane credentials create --user NAME` (or on the web UI\'s profile page), then set ' +
    'TASKLANE_API_ACCESS_KEY and TASKLANE_API_SECRET_KEY in the environment (CLEARML_API_ACCESS_KEY and ' +
    `CLEARML_API_SECRET_KEY work too), or accessKey and secretKey in ${configFile}.`
  );
}

interface HeldToken {
  authorization: string;
  /** Local epoch ms from which the token is renewed before use. */
  refreshAt: number;
  /** Local epoch ms at which the server stops taking it. */
  expiresAt: number;
}

/**
 * The credentials of one client process: logs in once with the key pair (`auth.login` with HTTP Basic), hands out
 * `Bearer <token>` for every request, renews the token before it expires (with the token itself, so the secret does
 * not travel again), and logs in again once when the server refuses a token (restarted with a new signing secret,
 * expired while the machine slept). A key pair the server refuses fails at once, with an error naming where the key
 * came from, and every later request fails with the same error without asking the server again. Logins are shared: requests that need a token at the same time wait for the same `auth.login`.
 *
 * @example
 * const auth = new TokenManager({ baseUrl: 'http://127.0.0.1:8008', keyPair: { accessKey, secretKey } });
 * const api = new ApiClient({ baseUrl: 'http://127.0.0.1:8008', auth });
 */
export class TokenManager {
  readonly baseUrl: string;
  private readonly keyPair: KeyPair | undefined;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly configFile: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private token: HeldToken | undefined;
  private renewing: Promise<HeldToken> | undefined;
  /** The server's refusal of the key pair (wrong, unknown, revoked): final, so it is not asked again. */
  private refused: unknown;
  private logins = 0;

  constructor(options: TokenManagerOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.keyPair = options.keyPair;
    this.headers = options.headers ?? {};
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.configFile = options.configFile ?? 'the SDK config file';
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = options.now ?? Date.now;
  }

  /** Whether a key pair is configured. */
  get hasKeyPair(): boolean {
    return this.keyPair !== undefined;
  }

  /** How many `auth.login` calls this manager made (first logins, renewals and logins after a refusal). */
  get loginCount(): number {
    return this.logins;
  }

  /**
   * The `Authorization` header for the next request: `Bearer <token>`, logging in or renewing first when needed;
   * undefined without a key pair. Throws a `TasklaneError` (UNAUTHORIZED) when the server refuses the key pair.
   */
  async authorization(): Promise<string | undefined> {
    if (this.keyPair === undefined) return undefined;
    if (this.refused !== undefined) throw this.refused;
    const held = this.token;
    if (held !== undefined && this.now() < held.refreshAt) return held.authorization;
    return (await this.renew()).authorization;
  }

  /**
   * The `Authorization` header for a request that cannot wait for a login (sent as the process exits): the token
   * while it has a while left, else the key pair as HTTP Basic (which the server takes on every request).
   */
  currentAuthorization(): string | undefined {
    if (this.keyPair === undefined) return undefined;
    const held = this.token;
    if (held !== undefined && this.now() + MIN_SYNC_VALIDITY_MS < held.expiresAt) return held.authorization;
    return basicAuthorization(this.keyPair);
  }

  /**
   * Sends a request with the credentials: `attempt` gets the `Authorization` value to send (undefined without a key
   * pair) and answers the reply. After a 401 to a token, the token is dropped, and the request is sent once more
   * with a fresh one (`discard` first frees the refused reply). A 401 never means the request was carried out: the
   * server checks credentials before anything else, so sending it again does nothing twice.
   */
  async send<TReply extends { status: number }>(
    attempt: (authorization: string | undefined) => Promise<TReply>,
    discard?: (reply: TReply) => void,
  ): Promise<TReply> {
    const used = await this.authorization();
    const reply = await attempt(used);
    if (reply.status !== 401 || used === undefined) return reply;
    discard?.(reply);
    this.forget(used);
    return attempt(await this.authorization());
  }

  /** Drops a token the server refused, so the next request logs in again (unless another request did already). */
  forget(authorization: string): void {
    if (this.token?.authorization === authorization) this.token = undefined;
  }

  /**
   * The error to show for a refusal (401, or 429 after too many failed sign-ins): what the server said, and what to
   * fix — where the key pair was configured, or how to configure one when none is. Other errors pass unchanged.
   */
  explain(error: unknown): unknown {
    if (!(error instanceof TasklaneError) || (error.code !== 'UNAUTHORIZED' && error.code !== 'TOO_MANY_REQUESTS')) return error;
    const reason = typeof error.details?.reason === 'string' ? error.details.reason : undefined;
    const where = `the Tasklane server at ${this.baseUrl}`;
    if (this.keyPair === undefined) {
      const what =
        reason === 'no_credentials'
          ? `${capitalize(where)} requires credentials, and none are configured.`
          : `${capitalize(where)} refused the request${reason ? ` (${reason})` : ''}: ${error.message}`;
      return new TasklaneError(error.code, `${what} ${howToConfigure(this.configFile)}`, error.details, { cause: error });
    }
    const access = this.keyPair.accessKeySource ?? 'the access key';
    const secret = this.keyPair.secretKeySource ?? 'the secret key';
    const both = access === secret ? access : `${access} and ${secret}`;
    const sources = { access_key_source: access, secret_key_source: secret };
    if (error.code === 'TOO_MANY_REQUESTS') {
      return new TasklaneError(error.code, `${capitalize(where)} refused to log in: ${error.message} Check ${both} before trying again.`, { ...error.details, ...sources }, { cause: error });
    }
    const fix =
      reason === 'unknown_key'
        ? `Fix ${access}.`
        : reason === 'wrong_secret'
          ? `Fix ${secret}.`
          : reason === 'revoked_key' || reason === 'removed_user'
            ? `Put a new key pair in ${both}.`
            : `Check ${both}.`;
    return new TasklaneError(
      error.code,
      `${capitalize(where)} refused the key pair${reason ? ` (${reason})` : ''}: ${error.message} ${fix}`,
      { ...error.details, ...sources },
      { cause: error },
    );
  }

  private renew(): Promise<HeldToken> {
    this.renewing ??= this.obtain().finally(() => {
      this.renewing = undefined;
    });
    return this.renewing;
  }

  private async obtain(): Promise<HeldToken> {
    const held = this.token;
    if (held !== undefined && this.now() < held.expiresAt) {
      try {
        return this.keep(await this.login(held.authorization));
      } catch (error) {
        // The server is away: the token still works until it expires (the request will tell whether it arrives).
        if (error instanceof TasklaneError && error.code === 'SERVER_UNREACHABLE') return held;
        // Refused (a new signing secret, a clock jump): the key pair decides below.
      }
    }
    this.token = undefined;
    try {
      return this.keep(await this.login(basicAuthorization(this.keyPair!)));
    } catch (error) {
      const explained = this.explain(error);
      // A key pair refused once stays refused (a revoked key is never valid again): later requests fail here, without
      // a failed sign-in each on the server. Too many failed sign-ins (429) and an unreachable server pass.
      if (explained instanceof TasklaneError && explained.code === 'UNAUTHORIZED') this.refused = explained;
      throw explained;
    }
  }

  private async login(authorization: string): Promise<string> {
    const url = `${this.baseUrl}/auth.login`;
    this.logins += 1;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { ...this.headers, 'content-type': 'application/json', authorization },
        body: '{}',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw unreachableError(this.baseUrl, url, cause);
    }
    const envelope = await readEnvelope(response, url);
    if (envelope.meta.result_code !== 200 || !response.ok) throw envelopeError(envelope.meta);
    const token = (envelope.data as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') {
      throw new TasklaneError('INTERNAL', `${url} answered without a token; is that address a Tasklane (or ClearML) server?`, { url });
    }
    return token;
  }

  /** Holds a new token; its lifetime is read from the token (`exp - iat`) and counted on this machine's clock. */
  private keep(token: string): HeldToken {
    const receivedAt = this.now();
    const claims = readClaims(token);
    let lifetimeMs = Number.POSITIVE_INFINITY; // no `exp`: it never expires (as ClearML's SDK reads it)
    if (claims.exp !== undefined) lifetimeMs = Math.max(0, claims.iat !== undefined ? (claims.exp - claims.iat) * 1000 : claims.exp * 1000 - receivedAt);
    const expiresAt = receivedAt + lifetimeMs;
    this.token = { authorization: `Bearer ${token}`, expiresAt, refreshAt: expiresAt - Math.min(lifetimeMs / 10, MAX_REFRESH_MARGIN_MS) };
    return this.token;
  }
}

/** `Basic base64(access_key:secret_key)`, UTF-8 (works in browsers and Node.js). @internal */
export function basicAuthorization(keyPair: Pick<KeyPair, 'accessKey' | 'secretKey'>): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(`${keyPair.accessKey}:${keyPair.secretKey}`)) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** The `exp` and `iat` claims of a JWT, read without checking its signature (only the server can, and does). */
function readClaims(token: string): { exp?: number; iat?: number } {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)))) as { exp?: unknown; iat?: unknown };
    return {
      ...(typeof claims?.exp === 'number' ? { exp: claims.exp } : {}),
      ...(typeof claims?.iat === 'number' ? { iat: claims.iat } : {}),
    };
  } catch {
    return {}; // not a JWT: used until the server refuses it
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
