import { describe, expect, it } from 'vitest';
import { fromParamText, setAtPath } from './params.js';

describe('hyperparameters edited on the server cannot reach into the script’s objects', () => {
  it.each(['__proto__/polluted', 'constructor/prototype/polluted', 'a/__proto__/polluted', 'prototype'])(
    'setAtPath refuses the path %s and changes nothing',
    (path) => {
      const target: Record<string, unknown> = { a: { b: 1 } };
      expect(setAtPath(target, path, 'INJECTED')).toBe(false);
      expect(target).toEqual({ a: { b: 1 } });
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it('setAtPath still sets ordinary nested paths', () => {
    const target: Record<string, unknown> = { model: { depth: 2 } };
    expect(setAtPath(target, 'model/depth', 4)).toBe(true);
    expect(setAtPath(target, 'optimizer/lr', 0.1)).toBe(true);
    expect(target).toEqual({ model: { depth: 4 }, optimizer: { lr: 0.1 } });
  });

  it('a dict value holding __proto__ (or nested too deep) comes back as its text, not as an object', () => {
    const hostile = '{"__proto__": {"polluted": true}}';
    expect(fromParamText(hostile, 'dict')).toBe(hostile);
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    expect(fromParamText(deep, 'list')).toBe(deep);
    expect(fromParamText('{"a": {"b": [1, 2]}}', 'dict')).toEqual({ a: { b: [1, 2] } });
  });
});
