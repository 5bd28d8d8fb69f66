/**
 * Counts failed sign-ins per key (an access key, a user name) and per client address, and blocks one that failed too
 * often in the window until the window of its first failure ends. In memory, per process: with several processes an
 * attacker gets each one's allowance, which still makes guessing a 64-character secret or a password slow.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly windowMs: number,
    private readonly maxPerKey: number,
    private readonly maxPerAddress: number,
    private readonly now: () => number = Date.now,
    /** Entries kept at most (the oldest go first), so a flood of made-up keys cannot grow memory without bound. */
    private readonly maxEntries = 10_000,
  ) {}

  /** Seconds until `key` (or `address`) may try again, or 0 when it may now. */
  retryAfterSec(key: string | undefined, address: string): number {
    const wait = Math.max(this.waitMs(`k:${key ?? ''}`, this.maxPerKey, key !== undefined), this.waitMs(`a:${address}`, this.maxPerAddress, true));
    return Math.ceil(wait / 1000);
  }

  fail(key: string | undefined, address: string): void {
    if (key !== undefined) this.count(`k:${key}`);
    this.count(`a:${address}`);
  }

  /** A success clears the key's failures (not the address's: one good key must not unlock guessing others). */
  succeed(key: string): void {
    this.failures.delete(`k:${key}`);
  }

  private waitMs(entry: string, max: number, applies: boolean): number {
    if (!applies) return 0;
    const seen = this.failures.get(entry);
    if (seen === undefined) return 0;
    const left = seen.since + this.windowMs - this.now();
    if (left <= 0) {
      this.failures.delete(entry);
      return 0;
    }
    return seen.count >= max ? left : 0;
  }

  private count(entry: string): void {
    const now = this.now();
    const seen = this.failures.get(entry);
    if (seen === undefined || seen.since + this.windowMs <= now) {
      this.failures.delete(entry);
      this.failures.set(entry, { count: 1, since: now });
      if (this.failures.size > this.maxEntries) this.failures.delete(this.failures.keys().next().value!);
    } else {
      seen.count += 1;
    }
  }
}
