/** What a secret is replaced with in console text. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not looked for: they would match ordinary text. */
const MIN_SECRET_CHARS = 8;

/**
 * Replaces every occurrence of the secrets (a secret key, a token) in a line of console text with `[redacted]`, so a
 * script that prints its environment does not store the secret in the task's console.
 *
 * @example
 * redactSecrets('TASKLANE_API_SECRET_KEY=s3cr3t-v4lue', ['s3cr3t-v4lue']) // 'TASKLANE_API_SECRET_KEY=[redacted]'
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_CHARS && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}
