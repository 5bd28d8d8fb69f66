import { findJsonHazard, isForbiddenKey } from '@tasklane/protocol';

/** A value as hyperparameters keep it on the wire: text, plus the type it had. */
export interface ParamText {
  value: string;
  type: ParamType;
}

/** Type names as ClearML's SDK writes them, so either SDK casts the other's values back. */
export type ParamType = 'int' | 'float' | 'bool' | 'str' | 'list' | 'dict' | 'none';

/** Turns a JavaScript value into hyperparameter text and type. */
export function toParamText(value: unknown): ParamText {
  if (value === null || value === undefined) return { value: '', type: 'none' };
  if (typeof value === 'number') return { value: String(value), type: Number.isInteger(value) ? 'int' : 'float' };
  if (typeof value === 'boolean') return { value: String(value), type: 'bool' };
  if (typeof value === 'string') return { value, type: 'str' };
  if (typeof value === 'bigint') return { value: value.toString(), type: 'int' };
  if (Array.isArray(value)) return { value: JSON.stringify(value), type: 'list' };
  if (value instanceof Date) return { value: value.toISOString(), type: 'str' };
  return { value: JSON.stringify(value), type: 'dict' };
}

/**
 * Reads hyperparameter text back as a typed value. `type` is the stored type (ClearML's names; `integer`,
 * `number`, `boolean`... are accepted too); an unknown type gives the text as it is.
 */
export function fromParamText(text: string, type: string | undefined): unknown {
  switch (type) {
    case 'int':
    case 'integer':
    case 'float':
    case 'number': {
      const n = Number(text);
      return text.trim() === '' || Number.isNaN(n) ? text : n;
    }
    case 'bool':
    case 'boolean':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no|)$/i.test(text)) return false;
      return text;
    case 'list':
    case 'tuple':
    case 'dict':
    case 'object':
      return parseJsonValue(text);
    case 'none':
      return text === '' ? null : text;
    default:
      return text;
  }
}

/**
 * A list or dict value read back from its JSON text; the text itself when it is not JSON, or when it holds a key that
 * would reach a prototype or nests too deep (a value edited on the server must not reach into the script's objects).
 */
function parseJsonValue(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  return findJsonHazard(value) === undefined ? value : text;
}

/** Tells whether a value is a plain object (to flatten), not an array, date, map or class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Flattens nested plain objects into `a/b/c` keys (arrays and other values are leaves). */
export function flattenObject(obj: Record<string, unknown>, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(obj)) {
    const path = prefix ? `${prefix}/${key}` : key;
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of flattenObject(value, path)) out.set(k, v);
    } else {
      out.set(path, value);
    }
  }
  return out;
}

/**
 * Sets a value at an `a/b/c` path inside nested plain objects (creating missing levels). A path with a part that
 * would reach a prototype (`__proto__/x`, `constructor/prototype/x` — a parameter name anyone who can edit the task
 * chooses) is not set: answers false.
 */
export function setAtPath(obj: Record<string, unknown>, path: string, value: unknown): boolean {
  const parts = path.split('/');
  if (parts.some(isForbiddenKey)) return false;
  let target = obj;
  for (const part of parts.slice(0, -1)) {
    const next = target[part];
    if (!isPlainObject(next)) target[part] = {};
    target = target[part] as Record<string, unknown>;
  }
  target[parts.at(-1)!] = value;
  return true;
}
