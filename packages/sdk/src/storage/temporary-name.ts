import { randomBytes } from 'node:crypto';

/** Suffix of files still being written; listings skip them and the cache clears old ones. */
export const PARTIAL_SUFFIX = '.part';

/**
 * A hidden, unique name beside `name` for writing a file before renaming it into place
 * (`.model.bin.3f2c9a1b.part`), so no reader ever sees half a file. @internal
 */
export function temporaryName(name: string): string {
  return `.${name.slice(0, 100)}.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`;
}

/** Whether a file name is one {@link temporaryName} made. @internal */
export function isTemporaryName(name: string): boolean {
  return /^\..*\.[0-9a-f]{12}\.part$/s.test(name);
}
