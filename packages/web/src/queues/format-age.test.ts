import { describe, expect, it } from 'vitest';
import { formatAge } from './format-age';

describe('formatAge', () => {
  const now = Date.parse('2026-01-02T12:00:00Z');
  it('says how long ago, in the largest sensible units', () => {
    expect(formatAge('2026-01-02T11:59:48Z', now)).toBe('12 s');
    expect(formatAge('2026-01-02T11:56:00Z', now)).toBe('4 min');
    expect(formatAge('2026-01-02T09:55:00Z', now)).toBe('2 h 5 min');
    expect(formatAge('2026-01-02T10:00:00Z', now)).toBe('2 h');
    expect(formatAge('2025-12-30T08:00:00Z', now)).toBe('3 d 4 h');
  });
  it('shows a dash for missing or unreadable times, and never a negative age', () => {
    expect(formatAge(null, now)).toBe('—');
    expect(formatAge('yesterday', now)).toBe('—');
    expect(formatAge('2026-01-02T12:00:05Z', now)).toBe('0 s');
  });
});
