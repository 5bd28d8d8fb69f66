import { ENDPOINTS, TasklaneError, type EndpointName, type RequestOf, type ResponseEnvelope, type ResponseOf } from '@tasklane/protocol';
import { envelopeError, readEnvelope, unreachableError } from './envelope.js';
import type { TokenManager } from './token-manager.js';

/** Options of {@link ApiClient}. */
export interface ApiClientOptions {
  /** Server base URL, e.g. `http://127.0.0.1:8008`. */
  baseUrl: string;
  /** Per-request timeout. @default 30000 */
  timeoutMs?: number;
  /** Extra headers for every request (e.g. `X-ClearML-Worker`). */
  headers?: Record<string, string>;
  /** Check every reply against the endpoint's response schema (tests use it to catch drift). @default false */
  validateResponses?: boolean;
  /** The fetch to use (a seam for tests). @default globalThis.fetch */
  fetch?: typeof fetch;
  /**
   * The credentials: logs in with a key pair and sends its token, renewed as it nears its end; one manager may serve
   * several clients of a process. Without one, requests carry only `headers`.
   */
  auth?: TokenManager;
}

/**
 * A thin, typed client of the Tasklane (ClearML-compatible) HTTP API. Works in Node.js and browsers.
 *
 * @example
 * const api = new ApiClient({ baseUrl: 'http://127.0.0.1:8008' });
 * const { tasks } = await api.call('tasks.get_all', { status: ['in_progress'] });
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly validateResponses: boolean;
  private readonly fetchImpl: typeof fetch;
  /** The client's credentials (also for requests it does not send itself, such as file uploads). */
  readonly auth: TokenManager | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = options.headers ?? {};
    this.validateResponses = options.validateResponses ?? false;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.auth = options.auth;
  }

  /** Calls `service.action` with a body; answers its `data`, or throws a {@link TasklaneError} with the server's code. */
  async call<TName extends EndpointName>(endpoint: TName, body: RequestOf<TName>): Promise<ResponseOf<TName>> {
    const data = await this.send(endpoint, JSON.stringify(body), 'application/json');
    if (this.validateResponses) {
      const parsed = ENDPOINTS[endpoint].response.safeParse(data);
      if (!parsed.success) {
        throw new TasklaneError('INTERNAL', `Reply of ${endpoint} does not match its schema: ${parsed.error.message}`);
      }
    }
    return data as ResponseOf<TName>;
  }

  /** Sends items as JSON lines (one object per line), as `events.add_batch` takes them; answers the reply's `data`. */
  async callJsonLines(endpoint: string, items: readonly object[]): Promise<unknown> {
    return this.send(endpoint, items.map((item) => JSON.stringify(item)).join('\n'), 'application/json-lines');
  }

  /** Sends a body already encoded (e.g. JSON lines cut to a size); answers the reply's `data`. */
  async sendBody(endpoint: string, body: string, contentType: string): Promise<unknown> {
    return this.send(endpoint, body, contentType);
  }

  /**
   * The headers every request carries, credentials included (for requests sent by other means, e.g. at process
   * exit): the current token, or the key pair when no token is at hand.
   */
  get requestHeaders(): Record<string, string> {
    const authorization = this.auth?.currentAuthorization();
    return { ...this.headers, ...(authorization !== undefined ? { authorization } : {}) };
  }

  private async send(endpoint: string, body: string, contentType: string): Promise<unknown> {
    const url = `${this.baseUrl}/${endpoint}`;
    const attempt = async (authorization: string | undefined): Promise<{ status: number; envelope: ResponseEnvelope }> => {
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: 'POST',
          headers: { 'content-type': contentType, ...this.headers, ...(authorization !== undefined ? { authorization } : {}) },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (cause) {
        throw unreachableError(this.baseUrl, url, cause);
      }
      const envelope = await readEnvelope(response, url);
      return { status: response.ok ? envelope.meta.result_code : response.status, envelope };
    };
    const { status, envelope } = this.auth !== undefined ? await this.auth.send(attempt) : await attempt(undefined);
    if (status !== 200) {
      const error = envelopeError(envelope.meta);
      throw this.auth !== undefined ? this.auth.explain(error) : error;
    }
    return envelope.data;
  }
}
