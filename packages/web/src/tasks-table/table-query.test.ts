import { describe, expect, it } from 'vitest';
import { columnSortKey, readTableState, tableHref, tasksRequest } from './table-query';
import { formatAgo, formatDuration } from './format-duration';

describe('tasks table address', () => {
  it('reads and writes filters, user columns and the selection, leaving defaults out', () => {
    const query = new URLSearchParams('status=completed&hp=Args/lr&metric=train/loss/val&deep=1&sel=a,b&order=-name&page=2');
    const state = readTableState(query);
    expect(state).toMatchObject({ status: 'completed', deep: true, archived: false, order: '-name', page: 2, selected: ['a', 'b'] });
    expect(state.columns).toEqual([
      { kind: 'hp', section: 'Args', name: 'lr' },
      { kind: 'metric', metric: 'train/loss', variant: 'val' },
    ]);
    const again = readTableState(new URLSearchParams(tableHref('p1', state).split('?')[1]));
    expect(again).toEqual(state);
    expect(tableHref('p1', readTableState(new URLSearchParams('')))).toBe('#/projects/p1/tasks');
  });

  it('asks the server for one page with the columns and the ClearML order keys', () => {
    const state = readTableState(new URLSearchParams('hp=Args/lr&metric=loss/val&archived=1&tag=best'));
    const body = tasksRequest('p1', state);
    expect(body).toMatchObject({ project: ['p1'], system_tags: ['archived'], tags: ['best'], page: 0 });
    expect(body.only_fields).toContain('hyperparams.Args.lr');
    expect(body.only_fields).toContain('last_metrics.81513effdf5790b79549208838404407.3a6d0284e743dc4a9b86f97d6dd1a3bf');
    expect(columnSortKey({ kind: 'hp', section: 'Args', name: 'lr' })).toBe('hyperparams.Args.lr.value');
  });

  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(125), formatDuration(3 * 3600 + 120), formatDuration(null)]).toEqual([
      '5s',
      '2m 05s',
      '3h 02m',
      '—',
    ]);
  });
});

describe('formatAgo', () => {
  it('says how long ago, in the largest unit', () => {
    const now = Date.parse('2026-01-10T12:00:00Z');
    expect(formatAgo('2026-01-10T11:59:30Z', now)).toBe('just now');
    expect(formatAgo('2026-01-10T11:55:00Z', now)).toBe('5 min ago');
    expect(formatAgo('2026-01-10T09:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2026-01-08T12:00:00Z', now)).toBe('2 d ago');
    expect(formatAgo('2025-01-08T12:00:00Z', now)).toBe('2025-01-08');
    expect(formatAgo(null, now)).toBeUndefined();
  });
});
