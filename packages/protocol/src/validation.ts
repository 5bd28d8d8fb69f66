import type { z } from 'zod';
import { TasklaneError } from './errors.js';

/**
 * Parses input with a schema; on failure throws INVALID_INPUT whose message names every wrong field and what was
 * expected, e.g. `body.priority: expected an integer ≤ 100, got 250`.
 */
export function parseInput<TSchema extends z.ZodType>(schema: TSchema, input: unknown, where = 'body'): z.output<TSchema> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => describeIssue(issue, where));
  throw new TasklaneError('INVALID_INPUT', `Invalid request: ${problems.join('; ')}`, {
    fields: result.error.issues.map((issue) => [where, ...issue.path.map(String)].join('.')),
  });
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

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
