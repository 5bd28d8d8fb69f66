import { TasklaneError } from '@tasklane/protocol';

/** Compiles a user's name pattern (ClearML treats `name` filters as regular expressions), case-insensitive. */
export function compilePattern(pattern: string, field = 'name'): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch (cause) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.${field}: not a valid regular expression (${(cause as Error).message}), got ${JSON.stringify(pattern)}. ` +
        `Escape special characters for an exact match, e.g. "^my\\\\.name$".`,
      { fields: [`body.${field}`] },
      { cause },
    );
  }
}

/** Escapes text for an exact-match pattern. */
export function escapePattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
