import { createHash, randomBytes, randomInt, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt's cost: N = 2^15, r = 8, p = 1 (32 MiB, ~60-100 ms a hash here). It runs on libuv's thread pool, so a hash
 * never holds the event loop. The parameters are stored with each hash, so they can be raised later.
 */
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_BYTES = 32;
const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function scryptAsync(secret: string, salt: Buffer, cost: ScryptOptions): Promise<Buffer> {
  return new Promise((done, fail) => {
    // maxmem: scrypt needs 128·N·r bytes; Node's default limit (32 MiB) is exactly that and refuses it.
    scrypt(secret, salt, KEY_BYTES, { ...cost, maxmem: 256 * 1024 * 1024 }, (error, key) => (error ? fail(error) : done(key)));
  });
}

/** A salted slow hash of a password or secret key: `scrypt$N$r$p$salt$hash` (base64url). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Whether `secret` matches a hash made by {@link hashSecret}, compared in constant time. A malformed hash never matches. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_BYTES) return false;
  const actual = await scryptAsync(secret, Buffer.from(parts[4]!, 'base64url'), { N, r, p });
  return timingSafeEqual(actual, expected);
}

/** A new access key: 30 characters of A-Z and 0-9, as ClearML makes them. */
export function newAccessKey(): string {
  let key = '';
  for (let i = 0; i < 30; i += 1) key += ACCESS_KEY_ALPHABET[randomInt(ACCESS_KEY_ALPHABET.length)];
  return key;
}

/** A new secret key: 48 random bytes, base64url (64 characters). */
export function newSecretKey(): string {
  return randomBytes(48).toString('base64url');
}

/** A fast digest of a secret, to remember in memory that it was verified without keeping the secret itself. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
