import { describe, expect, it } from 'vitest';
import { castParam, formatParamValue, inferParamType, parseArgv } from './argv.js';

describe('parseArgv', () => {
  it('reads --key value, --key=value and -k value, typed from the text', () => {
    expect(parseArgv(['--lr', '0.1', '--epochs=5', '-n', '3', '--name', 'run-1'])).toEqual([
      { name: 'lr', value: '0.1', type: 'float' },
      { name: 'epochs', value: '5', type: 'int' },
      { name: 'n', value: '3', type: 'int' },
      { name: 'name', value: 'run-1', type: 'str' },
    ]);
  });

  it('reads flags as true and --no-x as x = false', () => {
    expect(parseArgv(['--fast', '--no-cache', '--verbose'])).toEqual([
      { name: 'fast', value: 'true', type: 'bool' },
      { name: 'cache', value: 'false', type: 'bool' },
      { name: 'verbose', value: 'true', type: 'bool' },
    ]);
  });

  it('turns repeated keys into a typed JSON list and positionals into `_`', () => {
    expect(parseArgv(['data.csv', '--tag', 'a', '--tag', 'b', '--seed', '1', '--seed', '2', 'out'])).toEqual([
      { name: 'tag', value: '["a","b"]', type: 'list' },
      { name: 'seed', value: '[1,2]', type: 'list' },
      { name: '_', value: '["data.csv","out"]', type: 'list' },
    ]);
  });

  it('takes negative numbers as values and everything after -- as positionals', () => {
    expect(parseArgv(['--delta', '-1.5', '--', '--not-an-option', '-x'])).toEqual([
      { name: 'delta', value: '-1.5', type: 'float' },
      { name: '_', value: '["--not-an-option","-x"]', type: 'list' },
    ]);
  });

  it('returns nothing for no arguments', () => {
    expect(parseArgv([])).toEqual([]);
  });
});

describe('inferParamType', () => {
  it.each([
    ['5', 'int'],
    ['-12', 'int'],
    ['0.5', 'float'],
    ['1e-3', 'float'],
    ['.5', 'float'],
    ['true', 'bool'],
    ['false', 'bool'],
    ['007', 'str'],
    ['1.2.3', 'str'],
    ['12345678901234567890', 'str'],
    ['', 'str'],
    ['abc', 'str'],
  ])('%j is %s', (text, type) => {
    expect(inferParamType(text)).toBe(type);
  });
});

describe('castParam', () => {
  it('casts numbers, booleans and lists, and leaves strings alone', () => {
    expect(castParam('0.5', 'float')).toBe(0.5);
    expect(castParam('12', 'int')).toBe(12);
    expect(castParam('True', 'bool')).toBe(true);
    expect(castParam('0', 'bool')).toBe(false);
    expect(castParam('["a",1]', 'list')).toEqual(['a', 1]);
    expect(castParam('a, b', 'list')).toEqual(['a', 'b']);
    expect(castParam('', 'list')).toEqual([]);
    expect(castParam('007', 'str')).toBe('007');
    expect(castParam('x', 'anything-else')).toBe('x');
  });

  it('returns text it cannot cast unchanged rather than NaN or a guess', () => {
    expect(castParam('abc', 'int')).toBe('abc');
    expect(castParam('', 'float')).toBe('');
    expect(castParam('maybe', 'bool')).toBe('maybe');
  });

  it('round-trips what parseArgv records', () => {
    for (const param of parseArgv(['--lr', '0.1', '--fast', '--tag', 'a', '--tag', 'b', 'pos'])) {
      const value = castParam(param.value, param.type);
      expect(formatParamValue(value)).toBe(param.value);
    }
  });
});
