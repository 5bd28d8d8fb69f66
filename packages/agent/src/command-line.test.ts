import { describe, expect, it } from 'vitest';
import type { HyperParams } from '@tasklane/protocol';
import { buildScriptArgs, parseScriptArgs, splitCommandLine } from './command-line.js';

function args(items: Record<string, { value: string; type?: string; description?: string }>): HyperParams {
  return { Args: Object.fromEntries(Object.entries(items).map(([name, item]) => [name, { section: 'Args', name, ...item }])) };
}

describe('splitCommandLine', () => {
  it('splits on whitespace and keeps quoted text whole', () => {
    expect(splitCommandLine(`--lr 0.1  --name "my run" --tag 'a b' plain\\ space ""`)).toEqual(['--lr', '0.1', '--name', 'my run', '--tag', 'a b', 'plain space', '']);
    expect(splitCommandLine(`--say "he said \\"hi\\""`)).toEqual(['--say', 'he said "hi"']);
    expect(splitCommandLine('   ')).toEqual([]);
  });

  it('refuses an unclosed quote', () => {
    expect(() => splitCommandLine('--name "oops')).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Unclosed " quote in the arguments: --name "oops]`);
  });
});

describe('parseScriptArgs', () => {
  it('records values typed, flags as bools, repeats as lists and positionals under _', () => {
    expect(parseScriptArgs(['--lr', '0.1', '--epochs=3', '--verbose', '--no-cache', '-n', '5', '--tag', 'a', '--tag', 'b', 'data.csv', '--', '--raw'])).toEqual([
      { name: 'lr', value: '0.1', type: 'float' },
      { name: 'epochs', value: '3', type: 'int' },
      { name: 'verbose', value: 'true', type: 'bool' },
      { name: 'cache', value: 'false', type: 'bool' },
      { name: 'n', value: '5', type: 'int' },
      { name: 'tag', value: '["a","b"]', type: 'list' },
      { name: '_', value: '["data.csv","--raw"]', type: 'list' },
    ]);
  });

  it('reads a negative number as a value, not an option', () => {
    expect(parseScriptArgs(['--delta', '-1'])).toEqual([{ name: 'delta', value: '-1', type: 'int' }]);
  });
});

describe('buildScriptArgs', () => {
  it('puts positionals first, then --name value in the recorded order', () => {
    expect(buildScriptArgs(args({ lr: { value: '0.05', type: 'float' }, epochs: { value: '3', type: 'int' }, _: { value: '["a.csv","b.csv"]', type: 'list' } }))).toEqual([
      'a.csv',
      'b.csv',
      '--lr',
      '0.05',
      '--epochs',
      '3',
    ]);
  });

  it('writes booleans as flags, honouring a recorded default of true (commander --no-x options)', () => {
    expect(
      buildScriptArgs(
        args({
          verbose: { value: 'true', type: 'bool' },
          quiet: { value: 'false', type: 'bool' },
          shuffle: { value: 'false', type: 'bool', description: 'keep the data order — default: true' },
          cache: { value: 'true', type: 'bool', description: 'default: true' },
        }),
      ),
    ).toEqual(['--verbose', '--no-shuffle']);
  });

  it('repeats a list option, leaves out empty values and sub-command options, and kebab-cases camelCase names', () => {
    expect(
      buildScriptArgs(
        args({
          tag: { value: '["a","b"]', type: 'list' },
          model: { value: '' },
          'train.steps': { value: '10', type: 'int' },
          batchSize: { value: '64', type: 'int' },
          n: { value: '5', type: 'int' },
          delta: { value: '-1', type: 'int' },
        }),
      ),
    ).toEqual(['--tag', 'a', '--tag', 'b', '--batch-size', '64', '-n', '5', '--delta=-1']);
  });

  it('round-trips what parseScriptArgs records', () => {
    const line = ['in.txt', '--lr', '0.1', '--verbose', '--tag', 'x', '--tag', 'y'];
    const parsed = parseScriptArgs(line);
    const hyperparams = args(Object.fromEntries(parsed.map((a) => [a.name, { value: a.value, type: a.type }])));
    expect(buildScriptArgs(hyperparams)).toEqual(line);
  });

  it('answers no arguments without an Args section', () => {
    expect(buildScriptArgs({})).toEqual([]);
    expect(buildScriptArgs(undefined)).toEqual([]);
  });
});
