import { z } from 'zod';
import { MAX_LISTED_PROBLEMS } from './event-limits.js';
import { TasklaneError } from './errors.js';

/** The `params` key that marks a zod issue as a request over a cap (see {@link refuseOverCap}). */
const OVER_CAP = 'tasklane_over_cap';

/** What {@link refuseOverCap} answers for a value over a cap: the message, and figures for `error_data`. */
export interface CapExcess {
  message: string;
  details: Record<string, unknown>;
}

/**
 * Parses input with a schema; on failure throws INVALID_INPUT whose message names the first few wrong fields (and
 * how many more there are) and what was expected, e.g. `body.priority: expected an integer ≤ 100, got 250`. A value
 * over a cap ({@link refuseOverCap}) throws REQUEST_TOO_LARGE with the cap's message instead.
 */
export function parseInput<TSchema extends z.ZodType>(schema: TSchema, input: unknown, where = 'body'): z.output<TSchema> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const { issues } = result.error;
  const overCap = issues.find((issue) => issue.code === 'custom' && issue.params?.[OVER_CAP] !== undefined);
  if (overCap?.code === 'custom') {
    throw new TasklaneError('REQUEST_TOO_LARGE', overCap.message, overCap.params![OVER_CAP] as Record<string, unknown>);
  }
  const listed = issues.slice(0, MAX_LISTED_PROBLEMS);
  const more = issues.length - listed.length;
  const problems = listed.map((issue) => describeIssue(issue, where));
  if (more > 0) problems.push(`and ${more.toLocaleString('en')} more ${more === 1 ? 'problem' : 'problems'}`);
  throw new TasklaneError('INVALID_INPUT', `Invalid request: ${problems.join('; ')}`, {
    fields: listed.map((issue) => [where, ...issue.path.map(String)].join('.')),
    ...(more > 0 ? { more_problems: more } : {}),
  });
}

/**
 * `schema`, refusing first a value over a cap: `overCap` looks at the raw value (cheaply: counts, not contents) and
 * answers what is over, or undefined; then `schema` never runs, and {@link parseInput} throws REQUEST_TOO_LARGE
 * (413) with that message. The schema's types and its documentation stay those of `schema`.
 */
export function refuseOverCap<TSchema extends z.ZodType>(
  schema: TSchema,
  overCap: (value: unknown) => CapExcess | undefined,
): z.ZodPreprocess<TSchema, z.input<TSchema>> {
  return z.preprocess<unknown, TSchema, z.input<TSchema>>((value, ctx) => {
    const excess = overCap(value);
    if (excess) ctx.addIssue({ code: 'custom', message: excess.message, params: { [OVER_CAP]: excess.details } });
    return value;
  }, schema);
}

/**
 * A check that refuses a value over a cap as {@link refuseOverCap} does, for a schema that does not parse the
 * value's items anyway (a check runs after the schema's own parse, and costs nothing per item).
 */
export function overCapCheck<T>(overCap: (value: T) => CapExcess | undefined): z.core.$ZodCheck<T> {
  return z.check<T>((ctx) => {
    const excess = overCap(ctx.value);
    if (excess) ctx.issues.push({ code: 'custom', message: excess.message, params: { [OVER_CAP]: excess.details }, input: undefined });
  });
}

/**
 * `schema`, refusing first (with INVALID_INPUT, before `schema` looks at each item) a value that `problem` finds
 * wrong as a whole, e.g. too many items in nested lists together; `problem` answers the message or undefined.
 */
export function checkFirst<TSchema extends z.ZodType>(
  schema: TSchema,
  problem: (value: unknown) => string | undefined,
): z.ZodPreprocess<TSchema, z.input<TSchema>> {
  return z.preprocess<unknown, TSchema, z.input<TSchema>>((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
    return value;
  }, schema);
}

function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const path = [where, ...issue.path.map(String)].join('.');
  const input = 'input' in issue ? issue.input : undefined;
  if (issue.code === 'invalid_type' && input === undefined) return `${path}: required field is missing`;
  const got = input !== undefined ? `, got ${preview(input)}` : '';
  return `${path}: ${expectation(issue)}${got}`;
}

/** What the field should have been, in plain words; a schema's own message is kept as written. */
function expectation(issue: z.core.$ZodIssue): string {
  const isDefault = /^(Invalid input|Too big|Too small|Invalid option)/.test(issue.message);
  if (!isDefault) return lowerFirst(issue.message);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${article(issue.expected)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_big':
    case 'too_small': {
      const bound = issue.code === 'too_big' ? issue.maximum : issue.minimum;
      const sign = issue.code === 'too_big' ? (issue.inclusive ? '≤' : '<') : issue.inclusive ? '≥' : '>';
      if (issue.origin === 'string' && issue.code === 'too_small' && Number(bound) === 1) return 'cannot be empty';
      if (issue.origin === 'string') return `expected a text of ${issue.code === 'too_big' ? 'at most' : 'at least'} ${String(bound)} characters`;
      if (issue.origin === 'array') return `expected a list of ${issue.code === 'too_big' ? 'at most' : 'at least'} ${String(bound)} items`;
      return `expected ${issue.origin === 'int' ? 'an integer' : 'a number'} ${sign} ${String(bound)}`;
    }
    default:
      return lowerFirst(issue.message);
  }
}

function article(type: string): string {
  if (type === 'int') return 'an integer';
  if (type === 'array') return 'a list';
  if (type === 'object') return 'an object';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** How many characters of a value a message shows. */
const PREVIEW_CHARS = 60;

/** The start of a value as JSON, for a message; never serializes more of it than it shows. */
function preview(value: unknown): string {
  const text = boundedJson(value, PREVIEW_CHARS + 1);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 3)}...` : text;
}

/** JSON of a value, cut after about `budget` characters (a list of a million items costs what its start costs). */
function boundedJson(value: unknown, budget: number): string {
  if (typeof value === 'string') return JSON.stringify(value.length > budget ? value.slice(0, budget) : value);
  if (typeof value !== 'object' || value === null) {
    try {
      return JSON.stringify(value) ?? String(value);
    } catch {
      return String(value);
    }
  }
  const isList = Array.isArray(value);
  let text = isList ? '[' : '{';
  let count = 0;
  const add = (key: string | number, item: unknown): boolean => {
    if (text.length > budget) return false;
    const json = boundedJson(item, budget - text.length);
    text += `${count > 0 ? ',' : ''}${isList ? '' : `${JSON.stringify(key)}:`}${json}`;
    count += 1;
    return true;
  };
  if (isList) {
    for (let i = 0; i < value.length; i += 1) if (!add(i, value[i])) return text;
  } else {
    for (const key in value) {
      if (Object.hasOwn(value, key) && !add(key, (value as Record<string, unknown>)[key])) return text;
    }
  }
  return `${text}${isList ? ']' : '}'}`;
}
