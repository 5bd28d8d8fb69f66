/**
 * Keys no input may hold anywhere: assigned to an ordinary object they reach its prototype (`obj.__proto__ = …`,
 * `obj.constructor.prototype.x = …`), and one such write changes every object of the process.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The deepest nesting any input may have (the body itself is level 1). Real requests stay below 10; SQLite's JSON
 * functions fail on values nested 1,000 deep, and every recursive walk of a stored value would have to guard itself.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The most values (list items and object members, at every level together) one request body may hold. A validator
 * makes an error of each wrong value, so a 16 MiB body of eight million wrong list items cost the server gigabytes
 * of memory; real requests stay far below (10,000 hyperparameters with their fields make 60,000). The endpoints that
 * store events take more and count them by their own caps.
 */
export const MAX_JSON_VALUES = 100_000;

/**
 * Counts the values of a parsed JSON value (list items and object members, at every level), stopping as soon as the
 * count passes `limit`. Call it on a value {@link findJsonHazard} passed: the walk recurses as deep as the value nests.
 */
export function countJsonValues(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'object' || value === null) return 0;
  const items: unknown[] = Array.isArray(value) ? value : Object.values(value);
  let count = items.length;
  for (let i = 0; i < items.length && count <= limit; i += 1) {
    const item = items[i];
    if (typeof item === 'object' && item !== null) count += countJsonValues(item, limit - count);
  }
  return count;
}

/** Tells whether a key would reach a prototype if assigned; such keys are refused, never stored. */
export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.has(key);
}

/** What is wrong with a value: where (`body.runtime.__proto__`) and why, in words for an error message. */
export interface JsonHazard {
  path: string;
  problem: string;
}

interface Found {
  segments: string[];
  problem: string;
}

/**
 * Finds the first part of a parsed JSON value that no input may hold: a key in {@link FORBIDDEN_KEYS}, or nesting
 * deeper than `maxDepth` (the value itself is at level `depth`: 2 for an item of a list body). Answers undefined when the value is safe. The walk is recursive but bounded by `maxDepth`,
 * so a hostile value cannot exhaust the stack; it visits each node once (a few ms for a 15 MB body).
 */
export function findJsonHazard(value: unknown, where = 'body', maxDepth = MAX_JSON_DEPTH, depth = 1): JsonHazard | undefined {
  const found = walk(value, depth, maxDepth);
  if (found === undefined) return undefined;
  return { path: formatPath(where, found.segments.reverse()), problem: found.problem };
}

function walk(value: unknown, depth: number, maxDepth: number): Found | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > maxDepth) return { segments: [], problem: `nested deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (typeof item !== 'object' || item === null) continue;
      const found = walk(item, depth + 1, maxDepth);
      if (found) {
        found.segments.push(String(i));
        return found;
      }
    }
    return undefined;
  }
  // Object.keys, not for…in: own keys only, whatever the prototype chain holds.
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) {
      return { segments: [key], problem: `the key "${key}" is not allowed (it would reach object prototypes)` };
    }
    const item: unknown = (value as Record<string, unknown>)[key];
    if (typeof item !== 'object' || item === null) continue;
    const found = walk(item, depth + 1, maxDepth);
    if (found) {
      found.segments.push(key);
      return found;
    }
  }
  return undefined;
}

/** `body.a.b.c`, cut in the middle when deep (`body.a.b.c.….z`), so a message stays short. */
function formatPath(where: string, segments: string[]): string {
  const shown = segments.map((s) => (s.length > 40 ? `${s.slice(0, 37)}...` : s));
  const parts = shown.length > 6 ? [...shown.slice(0, 4), `…(${shown.length - 5} more levels)…`, shown.at(-1)!] : shown;
  return [where, ...parts].join('.');
}

/**
 * A copy of a parsed JSON value in which every part nested deeper than `maxDepth` is replaced by its JSON text (a
 * string), so the value keeps everything it held and nests no deeper. For values stored before the edge limited depth.
 */
export function capJsonDepth(value: unknown, maxDepth = MAX_JSON_DEPTH, depth = 1): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= maxDepth) return JSON.stringify(value);
  if (Array.isArray(value)) return value.map((item) => capJsonDepth(item, maxDepth, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = capJsonDepth((value as Record<string, unknown>)[key], maxDepth, depth + 1);
  return copy;
}

/** A UTF-16 surrogate with no partner: not Unicode text (each match is one code unit, so nothing backtracks). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What makes a text unstorable, for messages; undefined for a text that can be stored. */
export function unstorableTextIn(text: string): 'the NUL character (U+0000)' | 'a lone UTF-16 surrogate (not Unicode text)' | undefined {
  if (text.includes('\u0000')) return 'the NUL character (U+0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (not Unicode text)';
  return undefined;
}

/** `text` with each NUL and lone surrogate as U+FFFD (console text, which may be any process's output). */
export function storableText(text: string): string {
  if (unstorableTextIn(text) === undefined) return text;
  return text.replaceAll('\u0000', '\uFFFD').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}

/**
 * Finds the first key or text of a parsed JSON value that PostgreSQL cannot store: one holding the NUL character
 * (U+0000, in no text or JSON column) or a lone UTF-16 surrogate (`"\ud800"` is valid JSON, but not Unicode, which
 * jsonb refuses). SQLite would store both, so the server refuses them wherever they come, on either store, rather than
 * store them on one and fail on the other. Answers where it is (`body.hyperparams.Args.lr.value`) and what it holds,
 * or undefined. The walk is recursive: call it on a value {@link findJsonHazard} passed (its depth is bounded).
 */
export function findUnstorableText(value: unknown, where = 'body'): { path: string; problem: string } | undefined {
  const found = unstorablePath(value);
  return found === undefined ? undefined : { path: formatPath(where, found.segments.reverse().map(showKey)), problem: found.problem };
}

/** The path of the first NUL character in a parsed JSON value ({@link findUnstorableText} for NULs alone). */
export function findNulCharacter(value: unknown, where = 'body'): string | undefined {
  const found = findUnstorableText(value, where);
  return found?.problem === 'the NUL character (U+0000)' ? found.path : undefined;
}

function unstorablePath(value: unknown): { segments: string[]; problem: string } | undefined {
  if (typeof value === 'string') {
    const problem = unstorableTextIn(value);
    return problem === undefined ? undefined : { segments: [], problem };
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = unstorablePath(value[i]);
      if (found) {
        found.segments.push(String(i));
        return found;
      }
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const problem = unstorableTextIn(key);
    if (problem !== undefined) return { segments: [key], problem };
    const found = unstorablePath((value as Record<string, unknown>)[key]);
    if (found) {
      found.segments.push(key);
      return found;
    }
  }
  return undefined;
}

/** A key as a message may show it: its NUL characters and lone surrogates written as escapes. */
function showKey(key: string): string {
  return key.replaceAll('\u0000', '\\u0000').replace(new RegExp(LONE_SURROGATE.source, 'g'), (unit) => `\\u${unit.charCodeAt(0).toString(16)}`);
}
