import { describe, expect, it } from 'vitest';
import { configurationRows, hyperParamRows, metricRows, metricValue, paramValue, parseIds, refusalOf, type ComparedTask } from './compare-rows';

function task(id: string, fields: Partial<ComparedTask> = {}): ComparedTask {
  return { id, name: `task ${id}`, status: 'completed', hyperparams: {}, configuration: {}, last_metrics: {}, ...fields };
}

const param = (value: string) => ({ value });

describe('compare rows', () => {
  it('lines hyperparameters up by section and name, marking only the rows that differ', () => {
    const a = task('a', { hyperparams: { Args: { lr: param('0.1'), batch: param('64') }, General: { seed: param('1') } } });
    const b = task('b', { hyperparams: { Args: { lr: param('0.2'), batch: param('64') } } });
    expect(hyperParamRows([a, b])).toEqual([
      { section: 'Args', name: 'batch', values: ['64', '64'], isDifferent: false },
      { section: 'Args', name: 'lr', values: ['0.1', '0.2'], isDifferent: true },
      { section: 'General', name: 'seed', values: ['1', undefined], isDifferent: true },
    ]);
  });

  it('compares configuration objects by their text', () => {
    const a = task('a', { configuration: { model: { value: '{"layers": 2}' } } });
    const b = task('b', { configuration: { model: { value: '{"layers": 2}' } } });
    expect(configurationRows([a, b])).toEqual([
      { section: 'Configuration objects', name: 'model', values: ['{"layers": 2}', '{"layers": 2}'], isDifferent: false },
    ]);
  });

  it('reads last/min/max by metric and variant names whatever the keys of last_metrics', () => {
    const entry = (value: number) => ({ metric: 'loss', variant: 'train', value, min_value: value / 2, max_value: value * 2 });
    const a = task('a', { last_metrics: { h1: { h2: entry(1) } } });
    const b = task('b', { last_metrics: { other: { keys: entry(3) } } });
    expect(metricRows([a, b])).toEqual([
      { metric: 'loss', variant: 'train', values: [{ last: 1, min: 0.5, max: 2 }, { last: 3, min: 1.5, max: 6 }] },
    ]);
    expect(metricValue(b, 'loss', 'train', 'max')).toBe(6);
    expect(metricValue(b, 'loss', 'val', 'last')).toBeUndefined();
  });

  it('finds a parameter by section/name, the name may hold slashes', () => {
    const a = task('a', { hyperparams: { Args: { 'opt/lr': param('3') } } });
    expect(paramValue(a, 'Args/opt/lr')).toBe('3');
    expect(paramValue(a, 'Args')).toBeUndefined();
  });

  it('parses ids and refuses fewer than 2 or more than 10', () => {
    expect(parseIds(' a, b,a,,c ')).toEqual(['a', 'b', 'c']);
    expect(refusalOf(['a'])).toMatchInlineSnapshot(
      `"Compare needs at least 2 tasks; the address names only 1. Add a task below, or select tasks in a project's table and choose Compare."`,
    );
    expect(refusalOf(['a', 'b'])).toBeUndefined();
    expect(refusalOf('abcdefghijk'.split(''))).toMatchInlineSnapshot(`"Compare shows at most 10 tasks; the address names 11. Remove 1 of them below."`);
  });
});
