import { describe, expect, it } from 'vitest';
import { machineSummary } from './workers-table';

describe('machineSummary', () => {
  it('sums up what ClearML\'s agent reports', () => {
    expect(machineSummary({ cpu_usage: [10, 20], memory_used: 3276.8, memory_free: 12697.6, gpu_usage: [80, 94] })).toBe(
      'CPU 15% · memory 3.2 / 15.6 GiB · GPU 87%',
    );
    expect(machineSummary({ memory_used: 2048 })).toBe('memory 2.0 GiB');
  });

  it('says nothing of what is missing or not a number', () => {
    for (const stats of [null, undefined, {}, { cpu_usage: [] }, { cpu_usage: ['x', null], memory_used: 'lots', gpu_usage: 7 }]) {
      expect(machineSummary(stats as Record<string, unknown> | null | undefined)).toBe('—');
    }
  });
});
