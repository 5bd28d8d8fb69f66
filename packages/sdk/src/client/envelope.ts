import { ERROR_STATUS, TasklaneError, isErrorCode, type ErrorCode, type ResponseEnvelope } from '@tasklane/protocol';

/** Reads a reply's body as the API envelope; a reply that is not one (a proxy's page, another service) is an error. @internal */
export async function readEnvelope(response: Response, url: string): Promise<ResponseEnvelope> {
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

/** The error an envelope's `meta` describes, with the server's code (or one for its HTTP status) and details. @internal */
export function envelopeError(meta: ResponseEnvelope['meta']): TasklaneError {
  const code: ErrorCode = isErrorCode(meta.error_data?.code) ? meta.error_data.code : codeForStatus(meta.result_code);
  const { code: _code, ...details } = meta.error_data ?? {};
  return new TasklaneError(code, meta.result_msg, { ...details, result_subcode: meta.result_subcode });
}

/** A request that got no answer, as the error that says what to check. @internal */
export function unreachableError(baseUrl: string, url: string, cause: unknown): TasklaneError {
  return new TasklaneError(
    'SERVER_UNREACHABLE',
    `Cannot reach the Tasklane server at ${baseUrl} (${describeNetworkError(cause)}). ` +
      'Is it running? Start one with: tasklane server (or point TASKLANE_API_HOST / --server at yours).',
    { url },
    { cause },
  );
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
