import { describe, expect, it } from 'vitest';
import { formatCount, formatDuration, progressLine } from './progress-line.js';

describe('progressLine', () => {
  it('draws the share done as a bar, a percentage and the counts', () => {
    expect(progressLine('scalar_events', 31_000, 100_000)).toMatchInlineSnapshot(`"scalar_events      [█████████░░░░░░░░░░░░░░░░░░░░░]  31%  31,000 / 100,000 rows"`);
    expect(progressLine('tasks', 0, 20)).toMatchInlineSnapshot(`"tasks              [░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░]   0%  0 / 20 rows"`);
    expect(progressLine('tasks', 20, 20)).toMatchInlineSnapshot(`"tasks              [██████████████████████████████] 100%  20 / 20 rows"`);
  });

  it('counts an empty table as done, and never goes past 100%', () => {
    expect(progressLine('sessions', 0, 0)).toContain('100%');
    expect(progressLine('sessions', 7, 5)).toContain('100%');
  });

  it('fits a narrow terminal: the bar shrinks, then goes; the label is cut', () => {
    for (const width of [20, 40, 50, 60]) expect(progressLine('a_rather_long_table_name', 5, 10, width).length).toBeLessThanOrEqual(width);
    expect(progressLine('tasks', 5, 10, 40)).not.toContain('[');
    expect(progressLine('a_rather_long_table_name', 5, 10)).toMatch(/^a_rather_long_tab… /);
  });
});

describe('formatCount and formatDuration', () => {
  it('groups thousands and names seconds or minutes', () => {
    expect([formatCount(1_234_567), formatCount(12)]).toEqual(['1,234,567', '12']);
    expect([formatDuration(420), formatDuration(12_340), formatDuration(245_000)]).toEqual(['0.4 s', '12.3 s', '4 min 05 s']);
  });
});
