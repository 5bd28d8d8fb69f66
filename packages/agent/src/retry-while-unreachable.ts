import { isTransientError } from '@tasklane/protocol';
import type { AgentLog } from './agent-log.js';

/**
 * Tells whether an API call failed because the server could not be reached (down, restarting, network) or answered
 * that its database is away for now (503 DATABASE_UNAVAILABLE): either passes by itself, so the call is worth repeating.
 */
export function isUnreachable(error: unknown): boolean {
  return isTransientError(error);
}

/** Waits `ms`, or less when `signal` aborts (never throws). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Delays between tries while the server is away: 0.25 s doubling up to `maxDelayMs`. */
export function backoffDelayMs(attempt: number, maxDelayMs = 5000): number {
  return Math.min(maxDelayMs, 250 * 2 ** Math.min(attempt, 10));
}

export interface RetryOptions {
  /** What the call does, for the log (`mark the task completed`). */
  what: string;
  log: AgentLog;
  /** Give up (rethrow the last error) after this long. @default no limit */
  timeoutMs?: number;
  /** Stop retrying when this aborts (the last error is rethrown). */
  signal?: AbortSignal;
  /** @default 5000 */
  maxDelayMs?: number;
}

/**
 * Calls `call` until it succeeds, waiting with back-off while the server is unreachable (restart, network); any
 * other error is thrown at once. Logs once when the server goes away and once when it is back.
 */
export async function retryWhileUnreachable<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt += 1) {
    try {
      const result = await call();
      if (attempt > 0) options.log.info({ tries: attempt + 1 }, `server reachable again: ${options.what} done`);
      return result;
    } catch (error) {
      if (!isUnreachable(error) || options.signal?.aborted || Date.now() >= deadline) throw error;
      const delayMs = Math.min(backoffDelayMs(attempt, options.maxDelayMs), Math.max(0, deadline - Date.now()));
      if (attempt === 0) options.log.warn({ err: (error as Error).message }, `server unreachable; will retry to ${options.what}`);
      await sleep(delayMs, options.signal);
    }
  }
}
