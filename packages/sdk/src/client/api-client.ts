import {
  ENDPOINTS,
  ERROR_STATUS,
  TasklaneError,
  isErrorCode,
  type EndpointName,
  type ErrorCode,
  type RequestOf,
  type ResponseEnvelope,
  type ResponseOf,
} from '@tasklane/protocol';

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

  constructor(options: ApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = options.headers ?? {};
    this.validateResponses = options.validateResponses ?? false;
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
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

  /** The headers every request carries (for requests sent by other means, e.g. at process exit). */
  get requestHeaders(): Record<string, string> {
    return { ...this.headers };
  }

  private async send(endpoint: string, body: string, contentType: string): Promise<unknown> {
    const url = `${this.baseUrl}/${endpoint}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': contentType, ...this.headers },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new TasklaneError(
        'SERVER_UNREACHABLE',
        `Cannot reach the Tasklane server at ${this.baseUrl} (${describeNetworkError(cause)}). ` +
          'Is it running? Start one with: tasklane server (or point TASKLANE_API_HOST / --server at yours).',
        { url },
        { cause },
      );
    }
    const envelope = await readEnvelope(response, url);
    const { meta } = envelope;
    if (meta.result_code !== 200 || !response.ok) {
      const code: ErrorCode = isErrorCode(meta.error_data?.code) ? meta.error_data.code : codeForStatus(meta.result_code);
      const { code: _code, ...details } = meta.error_data ?? {};
      throw new TasklaneError(code, meta.result_msg, { ...details, result_subcode: meta.result_subcode });
    }
    return envelope.data;
  }
}

async function readEnvelope(response: Response, url: string): Promise<ResponseEnvelope> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('meta' in parsed)) {
    throw new TasklaneError(
      response.status === 503 ? 'SERVER_UNREACHABLE' : 'INTERNAL',
      `${url} answered HTTP ${response.status} without the API envelope; is that address a Tasklane server? ` +
        `Got: ${text.slice(0, 120) || '(empty body)'}`,
      { url, status: response.status },
    );
  }
  return parsed as ResponseEnvelope;
}

function codeForStatus(status: number): ErrorCode {
  const match = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((code) => ERROR_STATUS[code] === status);
  return match ?? 'INTERNAL';
}

function describeNetworkError(cause: unknown): string {
  if (cause instanceof Error) {
    if (cause.name === 'TimeoutError') return 'no answer in time';
    const inner = (cause as Error & { cause?: { code?: string; message?: string } }).cause;
    return inner?.code ?? inner?.message ?? cause.message;
  }
  return String(cause);
}
