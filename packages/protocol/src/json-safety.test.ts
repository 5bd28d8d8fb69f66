import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, capJsonDepth, countJsonValues, findJsonHazard, findNulCharacter, findUnstorableText, storableText } from './json-safety.js';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i += 1) value = { a: value };
  return value;
}

describe('findJsonHazard', () => {
  it('passes ordinary values, keys that merely contain the forbidden words included', () => {
    expect(findJsonHazard({ task: 'x', hyperparams: { Args: { lr: { value: '0.1' } } }, list: [1, [2, { b: null }]] })).toBeUndefined();
    expect(findJsonHazard({ my_constructor: 1, prototypes: 2, __proto: 3, 'a/__proto__': 4 })).toBeUndefined();
    expect(findJsonHazard('text')).toBeUndefined();
    expect(findJsonHazard(null)).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'prototype'])('finds the key %s at any depth, naming where', (key) => {
    const value = JSON.parse(`{"runtime": {"list": [{"ok": 1}, {"${key}": {"polluted": true}}]}}`);
    expect(findJsonHazard(value)).toEqual({
      path: `body.runtime.list.1.${key}`,
      problem: `the key "${key}" is not allowed (it would reach object prototypes)`,
    });
  });

  it('finds a key written with JSON escapes (JSON.parse decodes them)', () => {
    expect(findJsonHazard(JSON.parse('{"\\u005f_proto__": {}}'))?.path).toBe('body.__proto__');
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more, with a short path`, () => {
    expect(findJsonHazard(nested(MAX_JSON_DEPTH))).toBeUndefined();
    const hazard = findJsonHazard(nested(MAX_JSON_DEPTH + 1));
    expect(hazard?.problem).toBe(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    expect(hazard?.path).toBe('body.a.a.a.a.…(59 more levels)….a');
  });

  it('walks 100,000 levels without exhausting the stack', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(findJsonHazard(deep, 'line 3')?.problem).toBe(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });
});

describe('countJsonValues', () => {
  it('counts list items and object members at every level', () => {
    expect(countJsonValues({ a: 1, b: [1, 2, { c: null }], d: {} })).toBe(7);
    expect(countJsonValues('text')).toBe(0);
    expect(countJsonValues([])).toBe(0);
  });

  it('stops descending as soon as the count passes the limit', () => {
    const lists = [[1, 2, 3], [4, 5, 6], [7, 8, 9]];
    expect(countJsonValues(lists)).toBe(12);
    expect(countJsonValues(lists, 4)).toBe(6);
  });
});

describe('capJsonDepth', () => {
  it('keeps what sits deeper than the limit as its JSON text, and nests no deeper', () => {
    const value = JSON.parse(`{"keep": [1, {"b": 2}], "deep": ${'{"a":'.repeat(100)}"x"${'}'.repeat(100)}}`);
    const capped = capJsonDepth(value, 10) as { keep: unknown; deep: unknown };
    expect(capped.keep).toEqual([1, { b: 2 }]);
    expect(findJsonHazard(capped, 'body', 10)).toBeUndefined();
    let part: unknown = capped.deep;
    let levels = 0;
    while (typeof part === 'object' && part !== null) {
      part = (part as { a: unknown }).a;
      levels += 1;
    }
    expect(levels).toBe(8);
    expect(`${'{"a":'.repeat(levels)}${part as string}${'}'.repeat(levels)}`).toBe(JSON.stringify(value.deep));
  });
});

describe('findNulCharacter', () => {
  it('finds NUL in a text or a key, anywhere, and names where', () => {
    expect(findNulCharacter({ name: 'a\u0000b' })).toBe('body.name');
    expect(findNulCharacter({ tags: ['fine', 'bad\u0000'] })).toBe('body.tags.1');
    expect(findNulCharacter({ hyperparams: { Args: { lr: { value: '\u0000' } } } })).toBe('body.hyperparams.Args.lr.value');
    expect(findNulCharacter({ hyperparams: { 'Ar\u0000gs': {} } })).toBe('body.hyperparams.Ar\\u0000gs');
    expect(findNulCharacter(['ok', { msg: 'x\u0000' }], 'line 3')).toBe('line 3.1.msg');
    expect(findNulCharacter('\u0000')).toBe('body');
  });

  it('answers undefined where there is none (U+FFFD, the escape written out, other controls)', () => {
    for (const value of [{ name: 'plain' }, { msg: '\uFFFD' }, { text: '\\u0000' }, { text: '\u0001\u001f' }, [1, null, true, { a: [] }], 42, null, undefined]) {
      expect(findNulCharacter(value)).toBeUndefined();
    }
  });
});

describe('findUnstorableText and storableText', () => {
  it('finds a lone surrogate, high or low, in a text or a key, and says which it found', () => {
    expect(findUnstorableText({ name: 'a\ud800' })).toEqual({ path: 'body.name', problem: 'a lone UTF-16 surrogate (not Unicode text)' });
    expect(findUnstorableText({ list: ['\udc00b'] })).toEqual({ path: 'body.list.0', problem: 'a lone UTF-16 surrogate (not Unicode text)' });
    expect(findUnstorableText({ 'k\udfff': 1 })?.path).toBe('body.k\\udfff');
    expect(findUnstorableText({ a: 'x\u0000', b: '\ud800' })).toEqual({ path: 'body.a', problem: 'the NUL character (U+0000)' });
    expect(findNulCharacter({ a: '\ud800' })).toBeUndefined();
  });

  it('takes surrogate pairs and other text as they are', () => {
    for (const value of [{ emoji: '\u{1F680}' }, { pair: '\ud83d\ude80' }, { text: '\\ud800' }, ['\uFFFD'], 'plain']) expect(findUnstorableText(value)).toBeUndefined();
  });

  it('replaces each NUL and lone surrogate with U+FFFD, keeping pairs', () => {
    expect(storableText('a\u0000b\ud800c\udc00\ud83d\ude80')).toBe('a\uFFFDb\uFFFDc\uFFFD\u{1F680}');
    expect(storableText('\udc00\ud800')).toBe('\uFFFD\uFFFD');
    const plain = 'nothing to do';
    expect(storableText(plain)).toBe(plain);
  });
});
