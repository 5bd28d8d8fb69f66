/** Ids are uuid4 hex without dashes: 32 lowercase hex characters, as ClearML's (its agent relies on the shape). */
export const ID_PATTERN = /^[0-9a-f]{32}$/;

/** Makes a new random 32-character hex id. */
export function newId(): string {
  return globalThis.crypto.randomUUID().replaceAll('-', '');
}

/** Tells whether a string has the shape of a Tasklane/ClearML id. */
export function isId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The first eight characters of an id, as shown in messages and tables. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
