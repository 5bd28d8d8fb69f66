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

/** Lists (JSON lines, a top-level JSON array) are parsed this many characters or items at a time (~10 ms each). */
const SLICE_CHARS = 2 * 1024 * 1024;
const SLICE_ITEMS = 10_000;
/** The array splitter looks at this many characters between two yields. */
const SCAN_SLICE_CHARS = 1024 * 1024;

/**
 * The largest body that is one JSON document rather than a list of items (JSON lines, a top-level array): it is parsed
 * in one go, which must not hold the event loop for long (8 MiB parse in ~50 ms). No single request needs more: a
 * diff is cut at 1 MB by the SDKs, and large batches go as lists, which are parsed item by item.
 */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

export interface ParseBodyOptions {
  /** Most values (list items and object members, every level together) the body may hold; see MAX_JSON_VALUES. */
  maxValues?: number;
  /** Refuses a list body by its number of items, counted before any item is parsed (events.add_batch's cap). */
  checkItemCount?: (count: number) => TasklaneError | undefined;
}

/**
 * Parses a body as ClearML does: JSON (empty means `{}`), or JSON lines (one object per line) for
 * `application/json-lines`. Every value is checked before anything sees it: no key may reach a prototype
 * (`__proto__`, `constructor`, `prototype`), nothing may nest deeper than {@link MAX_JSON_DEPTH} levels, so a
 * stored value can never break a later query or walk, and the body may hold at most `maxValues` values, so that
 * validating it stays cheap. A list (JSON lines, or a JSON array as the whole body) is counted first, then parsed an
 * item at a time in slices, yielding to other requests in between; any other body is one document of at most
 * {@link MAX_DOCUMENT_BYTES}.
 */
export async function parseBody(raw: Buffer | undefined, contentType: string | undefined, options: ParseBodyOptions = {}): Promise<unknown> {
  const { maxValues = Number.POSITIVE_INFINITY } = options;
  const body = await parseJsonOrLines(raw, contentType, options);
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

/** A slice of a text: an item of a list body. */
interface Item {
  start: number;
  end: number;
}

/** The items of a list body, made on demand (a list of a million items is refused by its count, never built). */
interface ItemList {
  count: number;
  item(index: number): Item;
}

async function parseJsonOrLines(raw: Buffer | undefined, contentType: string | undefined, options: ParseBodyOptions): Promise<unknown> {
  const text = raw ? raw.toString('utf8').trim() : '';
  if (isJsonLines(contentType)) {
    // Counted before anything is made of them, so that a million-line body costs a scan, not a million objects.
    const refusal = options.checkItemCount?.(countLines(text));
    if (refusal) throw refusal;
    const lines = splitLines(text);
    return parseItems(text, { count: lines.length, item: (i) => lines[i]! }, (i) => `line ${lines[i]!.line}`, 1);
  }
  if (text.length === 0) return {};
  if (text.startsWith('[')) {
    const items = await splitArray(text);
    const refusal = options.checkItemCount?.(items.count);
    if (refusal) throw refusal;
    // Each item sits one level below the body.
    return parseItems(text, items, (i) => `body.${i}`, 2);
  }
  if (text.length > MAX_DOCUMENT_BYTES) {
    throw new TasklaneError(
      'REQUEST_TOO_LARGE',
      `Request body is one JSON document of ${text.length.toLocaleString('en')} characters; a document may have at most ` +
        `${MAX_DOCUMENT_BYTES.toLocaleString('en')} (only lists of items — event batches as JSON lines or a JSON array — may be larger). ` +
        'Send the data in several requests.',
      { limit_bytes: MAX_DOCUMENT_BYTES },
    );
  }
  return parseJson(text, 'the body', 'body', 1);
}

/** How many non-blank lines a text has. */
function countLines(text: string): number {
  let count = 0;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    if (hasContent(text, start, end)) count += 1;
    start = end + 1;
  }
  return count;
}

/** The non-blank lines of a text, with their line numbers (counting blank ones, as an editor would). */
function splitLines(text: string): (Item & { line: number })[] {
  const lines: (Item & { line: number })[] = [];
  let line = 0;
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    line += 1;
    if (hasContent(text, start, end)) lines.push({ start, end, line });
    start = end + 1;
  }
  return lines;
}

function hasContent(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i += 1) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return true;
  }
  return false;
}

/**
 * Finds the items of a body that is one JSON array, without parsing them: a scan that follows strings and nesting,
 * resumed after a yield every {@link SCAN_SLICE_CHARS} characters.
 */
async function splitArray(text: string): Promise<ItemList> {
  // Where each item ends (its comma, or the closing bracket): plain numbers, so a million items cost little.
  const ends: number[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let closedAt = -1;
  for (let sliceStart = 1; sliceStart < text.length && closedAt < 0; sliceStart += SCAN_SLICE_CHARS) {
    if (sliceStart > 1) await yieldToLoop();
    const sliceEnd = Math.min(text.length, sliceStart + SCAN_SLICE_CHARS);
    for (let i = sliceStart; i < sliceEnd; i += 1) {
      const c = text.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true; // backslash
        else if (c === 34) inString = false; // quote
      } else if (c === 34) {
        inString = true;
      } else if (c === 123 || c === 91) {
        depth += 1; // { [
      } else if (c === 125 || c === 93) {
        if (depth === 0) {
          closedAt = i;
          break;
        }
        depth -= 1; // } ]
      } else if (c === 44 && depth === 0) {
        ends.push(i); // ,
      }
    }
  }
  // Not an array with nothing after it: parsed whole, so that the error names what JSON.parse finds wrong.
  if (closedAt !== text.length - 1) parseJson(text, 'the body', 'body', 1);
  ends.push(closedAt);
  const isEmpty = ends.length === 1 && !hasContent(text, 1, closedAt);
  // An empty item (`[1,,2]`, `[1,]`) is refused as the item it is when it is parsed.
  return {
    count: isEmpty ? 0 : ends.length,
    item: (k) => ({ start: k === 0 ? 1 : ends[k - 1]! + 1, end: ends[k]! }),
  };
}

/** Parses the items of a list body a slice at a time, yielding in between; `where` names item i, at level `depth`. */
async function parseItems(text: string, items: ItemList, where: (i: number) => string, depth: number): Promise<unknown[]> {
  const values: unknown[] = new Array(items.count);
  let sliceChars = 0;
  let sliceItems = 0;
  for (let i = 0; i < items.count; i += 1) {
    const { start, end } = items.item(i);
    const label = where(i);
    values[i] = parseJson(text.slice(start, end), label.startsWith('line') ? `${label} of the body` : label, label, depth);
    sliceChars += end - start;
    sliceItems += 1;
    if ((sliceChars >= SLICE_CHARS || sliceItems >= SLICE_ITEMS) && i + 1 < items.count) {
      sliceChars = 0;
      sliceItems = 0;
      await yieldToLoop();
    }
  }
  return values;
}

/**
 * Parses one JSON text; `where` names it in a syntax error, `path` starts the path of a hazard found in it, and
 * `depth` is its level in the body (1 for the body itself).
 */
function parseJson(text: string, where: string, path: string, depth: number): unknown {
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
  const hazard = findJsonHazard(value, path, MAX_JSON_DEPTH, depth);
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
