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
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: required field is missing`;
  const got = 'input' in issue && issue.input !== undefined ? `, got ${preview(issue.input)}` : '';
  return `${path}: ${lowerFirst(issue.message)}${got}`;
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
