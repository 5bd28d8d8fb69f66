import type { IncomingMessage } from 'node:http';
import { TasklaneError } from '@tasklane/protocol';

/** Reads a request body that Fastify left unread (it does not parse bodies of GET requests). */
export async function readRawBody(stream: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

export function tooLarge(maxBytes: number): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `Request body is larger than ${maxBytes} bytes; send smaller batches (or raise maxRequestBytes on the server).`,
  );
}

/**
 * Parses a body as ClearML does: JSON whatever the Content-Type (empty means `{}`), or JSON lines (one object per
 * line) for `application/json-lines`.
 */
export function parseBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  const text = raw ? raw.toString('utf8').trim() : '';
  if (contentType?.toLowerCase().startsWith('application/json-lines')) {
    return text
      .split('\n')
      .filter((line) => line.trim().length > 0)
      .map((line, i) => parseJson(line, `line ${i + 1} of the body`));
  }
  return text.length === 0 ? {} : parseJson(text, 'the body');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TasklaneError('INVALID_INPUT', `Invalid request: ${where} is not valid JSON (${(cause as Error).message}).`, {}, { cause });
  }
}

/**
 * Merges query-string fields into the body as ClearML does: dotted keys nest, `a[]` makes a list, and "true",
 * "false" and digit strings become booleans and numbers. Fields in the body win.
 */
export function mergeQuery(body: unknown, query: Record<string, unknown>): unknown {
  const keys = Object.keys(query);
  if (keys.length === 0 || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const fromQuery: Record<string, unknown> = {};
  for (const rawKey of keys) {
    const isList = rawKey.endsWith('[]');
    const key = isList ? rawKey.slice(0, -2) : rawKey;
    const rawValue = query[rawKey];
    const values = (Array.isArray(rawValue) ? rawValue : [rawValue]).map(coerce);
    const parts = key.split('.');
    let target = fromQuery;
    for (const part of parts.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    target[parts.at(-1)!] = isList || values.length > 1 ? values : values[0];
  }
  return { ...fromQuery, ...(body as Record<string, unknown>) };
}

function coerce(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (typeof value === 'string' && /^-?\d+$/.test(value) && value.length < 16) return Number(value);
  return value;
}
