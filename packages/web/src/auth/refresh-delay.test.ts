import { describe, expect, it } from 'vitest';
import { MIN_REFRESH_MS, refreshDelayMs, retryDelayMs } from './refresh-delay';

const NOW = Date.parse('2026-03-01T12:00:00.000Z');

describe('refreshDelayMs', () => {
  it('renews when half of what is left of the session has passed', () => {
    expect(refreshDelayMs('2026-03-02T00:00:00.000Z', NOW)).toBe(6 * 3600 * 1000);
    expect(refreshDelayMs('2026-03-01T12:01:00.000Z', NOW)).toBe(30_000);
  });

  it('waits at least a few seconds, also for a session already over or an unreadable time', () => {
    expect(refreshDelayMs('2026-03-01T12:00:04.000Z', NOW)).toBe(MIN_REFRESH_MS);
    expect(refreshDelayMs('2026-03-01T11:00:00.000Z', NOW)).toBe(MIN_REFRESH_MS);
    expect(refreshDelayMs('not a time', NOW)).toBe(MIN_REFRESH_MS);
  });

  it('never asks for a timer longer than setTimeout can wait', () => {
    expect(refreshDelayMs('2027-03-01T12:00:00.000Z', NOW)).toBe(2 ** 31 - 1);
  });
});

describe('retryDelayMs', () => {
  it('retries a failed renewal within a minute, sooner when the session ends sooner', () => {
    expect(retryDelayMs('2026-03-02T00:00:00.000Z', NOW)).toBe(60_000);
    expect(retryDelayMs('2026-03-01T12:01:00.000Z', NOW)).toBe(30_000);
  });
});
