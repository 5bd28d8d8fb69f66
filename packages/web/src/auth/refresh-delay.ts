/** setTimeout's largest delay (about 24.8 days); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The soonest a renewal is retried or repeated, so a clock gone wrong cannot make the page call in a loop. */
export const MIN_REFRESH_MS = 5_000;

/**
 * How long to wait before renewing a session that ends at `expires`, learnt at `nowMs`: half of what is left of it,
 * so a session is renewed when half its lifetime has passed (6 h of the default 12 h), and a failed renewal has the
 * other half to be retried in.
 */
export function refreshDelayMs(expires: string, nowMs: number): number {
  const left = Date.parse(expires) - nowMs;
  if (!Number.isFinite(left)) return MIN_REFRESH_MS;
  return Math.min(MAX_TIMER_MS, Math.max(MIN_REFRESH_MS, Math.floor(left / 2)));
}

/** After a renewal failed without a 401 (server away): try again within a minute, before the session ends. */
export function retryDelayMs(expires: string, nowMs: number): number {
  return Math.min(60_000, refreshDelayMs(expires, nowMs));
}
