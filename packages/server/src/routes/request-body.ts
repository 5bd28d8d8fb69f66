import type { IncomingMessage } from 'node:http';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { MAX_JSON_DEPTH, TasklaneError, countJsonValues, findJsonHazard, isForbiddenKey } from '@tasklane/protocol';

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
    'REQUEST_TOO_LARGE',
    `Request body is larger than ${maxBytes} bytes; send smaller batches (Tasklane's and ClearML's SDKs split them by ` +
      'themselves) or raise maxRequestBytes (TASKLANE_MAX_REQUEST_BYTES) on the server.',
    { limit_bytes: maxBytes },
  );
}

const JSON_TYPES = ['application/json', 'application/json-lines', 'application/x-ndjson'];

/** Whether a Content-Type declares JSON (`application/json`, with parameters or not) or JSON lines. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const media = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return JSON_TYPES.includes(media);
}

function isJsonLines(contentType: string | undefined): boolean {
  const media = contentType?.split(';', 1)[0]!.trim().toLowerCase();
  return media === 'application/json-lines' || media === 'application/x-ndjson';
}

/** JSON lines are parsed this many characters or lines at a time, the event loop free in between (~10 ms each). */
const LINES_SLICE_CHARS = 2 * 1024 * 1024;
const LINES_SLICE_COUNT = 10_000;

/**
 * Parses a body as ClearML does: JSON (empty means `{}`), or JSON lines (one object per line) for
 * `application/json-lines`. Every value is checked before anything sees it: no key may reach a prototype
 * (`__proto__`, `constructor`, `prototype`), nothing may nest deeper than {@link MAX_JSON_DEPTH} levels, so a
 * stored value can never break a later query or walk, and the body may hold at most `maxValues` values (list items
 * and object members; see MAX_JSON_VALUES), so that validating it stays cheap. Large JSON-lines bodies are parsed in
 * slices, yielding to other requests in between.
 */
export async function parseBody(
  raw: Buffer | undefined,
  contentType: string | undefined,
  maxValues = Number.POSITIVE_INFINITY,
): Promise<unknown> {
  const body = await parseJsonOrLines(raw, contentType);
  if (Number.isFinite(maxValues) && countJsonValues(body, maxValues) > maxValues) throw tooManyValues(maxValues);
  return body;
}

function tooManyValues(maxValues: number): TasklaneError {
  return new TasklaneError(
    'REQUEST_TOO_LARGE',
    `Request body holds more than ${maxValues.toLocaleString('en')} values (list items and object fields, at every level ` +
      'together); no request of this endpoint needs that many. Send the data in several requests.',
    { limit_values: maxValues },
  );
}

async function parseJsonOrLines(raw: Buffer | undefined, contentType: string | undefined): Promise<unknown> {
  const text = raw ? raw.toString('utf8').trim() : '';
  if (isJsonLines(contentType)) {
    const events: unknown[] = [];
    let sliceStart = 0;
    let sliceLines = 0;
    let lineNumber = 0;
    for (let start = 0; start < text.length; ) {
      const newline = text.indexOf('\n', start);
      const end = newline < 0 ? text.length : newline;
      const line = text.slice(start, end);
      lineNumber += 1;
      if (line.trim().length > 0) events.push(parseJson(line, `line ${lineNumber} of the body`, `line ${lineNumber}`));
      start = end + 1;
      sliceLines += 1;
      if ((start - sliceStart >= LINES_SLICE_CHARS || sliceLines >= LINES_SLICE_COUNT) && start < text.length) {
        sliceStart = start;
        sliceLines = 0;
        await yieldToLoop();
      }
    }
    return events;
  }
  return text.length === 0 ? {} : parseJson(text, 'the body', 'body');
}

/** Parses one JSON text; `where` names it in a syntax error, `path` starts the path of a hazard found in it. */
function parseJson(text: string, where: string, path: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const reason = (cause as Error).message;
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: ${where} is not valid JSON (${reason.length > 120 ? `${reason.slice(0, 117)}...` : reason}).`,
      {},
      { cause },
    );
  }
  const hazard = findJsonHazard(value, path);
  if (hazard) {
    throw new TasklaneError('INVALID_INPUT', `Invalid request: ${hazard.path}: ${hazard.problem}.`, { fields: [hazard.path] });
  }
  return value;
}

/**
 * Merges query-string fields into the body as ClearML does: dotted keys nest, `a[]` makes a list, and "true",
 * "false" and digit strings become booleans and numbers. Fields in the body win. The objects built have no
 * prototype, and a key part that would reach one (`__proto__.x`, `a.constructor`) is refused, so the query string
 * can never write to `Object.prototype`.
 */
export function mergeQuery(body: unknown, query: Record<string, unknown>): unknown {
  const keys = Object.keys(query);
  // Checked even when nothing is merged (a JSON-lines batch is a list), so a hostile key is refused wherever it comes.
  const parsedKeys = keys.map(parseQueryKey);
  if (keys.length === 0 || typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const fromQuery = Object.create(null) as Record<string, unknown>;
  for (const [i, rawKey] of keys.entries()) {
    const { isList, parts } = parsedKeys[i]!;
    const rawValue = query[rawKey];
    const values = (Array.isArray(rawValue) ? rawValue : [rawValue]).map(coerce);
    let target = fromQuery;
    for (const part of parts.slice(0, -1)) {
      const next = target[part];
      target = (typeof next === 'object' && next !== null && !Array.isArray(next) ? next : (target[part] = Object.create(null))) as Record<
        string,
        unknown
      >;
    }
    target[parts.at(-1)!] = isList || values.length > 1 ? values : values[0];
  }
  return { ...fromQuery, ...(body as Record<string, unknown>) };
}

/** A query key's parts (`a.b[]` is `a`, `b` and a list); refuses a part that would reach a prototype, or too many. */
function parseQueryKey(rawKey: string): { isList: boolean; parts: string[] } {
  const isList = rawKey.endsWith('[]');
  const key = isList ? rawKey.slice(0, -2) : rawKey;
  const parts = key.split('.');
  const bad = parts.find(isForbiddenKey);
  if (bad !== undefined) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: query.${key.slice(0, 80)}: the key "${bad}" is not allowed (it would reach object prototypes).`,
      { fields: [`query.${key.slice(0, 80)}`] },
    );
  }
  if (parts.length > MAX_JSON_DEPTH) {
    throw new TasklaneError('INVALID_INPUT', `Invalid request: query.${key.slice(0, 80)}...: nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  return { isList, parts };
}

function coerce(value: unknown): unknown {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (typeof value === 'string' && /^-?\d+$/.test(value) && value.length < 16) return Number(value);
  return value;
}
