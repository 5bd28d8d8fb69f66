import { performance } from 'node:perf_hooks';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import { compilePattern, estimateProgramSize, MAX_PATTERN_BYTES } from './patterns.js';

/** RE2 itself, without this module's shortcuts: what every answer must agree with. */
const reference = (pattern: string, text: string) => RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE).test(text);

function errorOf(pattern: string, field?: string): TasklaneError {
  try {
    compilePattern(pattern, field);
  } catch (error) {
    expect(error).toBeInstanceOf(TasklaneError);
    return error as TasklaneError;
  }
  throw new Error(`pattern ${JSON.stringify(pattern)} compiled`);
}

describe('compilePattern', () => {
  it('matches catastrophic patterns against 40-character names in linear time', () => {
    const names = [`${'a'.repeat(39)}b`, `${'a'.repeat(38)}bb`, `${'A'.repeat(30)}${'a'.repeat(9)}!`, 'a'.repeat(40), `${'a'.repeat(19)}${'b'.repeat(21)}`];
    const start = performance.now();
    const matches = (pattern: string) => names.map((name) => compilePattern(pattern).test(name));
    expect(matches('^(a+)+$')).toEqual([false, false, false, true, false]);
    expect(matches('(a|aa)+$')).toEqual([false, false, false, true, false]);
    expect(matches('(.*a){20}')).toEqual([true, true, true, true, false]);
    expect(matches('^(a|a?)+$')).toEqual([false, false, false, true, false]);
    expect(performance.now() - start).toBeLessThan(200);
  });

  it('ignores case, keeps anchors, classes and RE2 (Python-style) syntax', () => {
    const test = (pattern: string, text: string) => compilePattern(pattern).test(text);
    expect(test('^examples/sub$', 'Examples/SUB')).toBe(true);
    expect(test('^examples/sub$', 'examples/sub2')).toBe(false);
    expect(test('^examples\\/sub\\ 2$', 'examples/sub 2')).toBe(true);
    expect(test('sub$', 'a/sub')).toBe(true);
    expect(test('^sub', 'a/sub')).toBe(false);
    expect(test('^train-[0-9]+$', 'TRAIN-01')).toBe(true);
    expect(test('^my\\.name$', 'myxname')).toBe(false);
    expect(test('(?P<run>\\d+)\\z', 'run 12')).toBe(true);
    expect(test('^[[:alpha:]]+$', 'abc1')).toBe(false);
    expect(test('(?-i)^ABC', 'abc')).toBe(false);
  });

  it('answers what RE2 answers on every shortcut (plain text, required text), ASCII or not', () => {
    const patterns = [
      '', '^', '$', '^$', 'abc', '^abc', 'abc$', '^abc$', 'a\\.b', '^a\\ b\\-c$', 'a\\$', '\\^a', 'k', '^s$', 'ss',
      'straße', 'i', 'abc*', 'ab+c', 'a{2}bc', 'abc{0,1}d', 'ab|cd', 'x(abc)y', '[abc]def', 'de[f]g', '\\Qa.b\\E',
      '\\x41bc', '\\x{41}bc', '\\0121', 'ab\\d{2}cd', 'run \\d+$', '(?-i)ABC', '(?i)abc', 'abc(?:x|y)?def', '\\pLabc',
      '\\p{Greek}abc', 'a.c', 'abc\\b', '\\babc', '\\Aabc', 'abc\\z',
    ];
    const texts = [
      '', 'abc', 'ABC', 'xabcx', 'a.b', 'a b-c', 'a$', '^a', 'K', '\u212a', 'S', '\u017f', 'ss', 'SS', 'STRASSE',
      'straße', 'STRAẞE', 'I', 'İ', 'ı', 'abcccd', 'abbc', 'aabc', 'abd', 'cd', 'xabcy', 'adef', 'defg', 'Abc',
      'ab12cd', 'run 42', 'rUn 42', 'abcdef', 'abcxdef', 'αabc', 'a\nc', 'abc d', 'dabc', 'x\u212aabc', '\u017ftraße',
    ];
    const mismatches: string[] = [];
    for (const pattern of patterns) {
      for (const text of texts) {
        if (compilePattern(pattern).test(text) !== reference(pattern, text)) mismatches.push(`${pattern} ~ ${text}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    // Makes RE2's lazy DFA build a state per character: the module moves it to another matcher.
    '[ab]*a[ab]{20}$',
    // Its required texts ("aab", "bba") are in most of these texts: the module stops checking them first.
    'aab[ab]{2}bba',
  ])('answers what RE2 answers for %s over many texts, as its shortcuts change', (pattern) => {
    let seed = 7;
    const texts = Array.from({ length: 3000 }, () =>
      Array.from({ length: 40 }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return (seed >> 16) & 1 ? 'a' : 'B';
      }).join(''),
    );
    const re = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
    const compiled = compilePattern(pattern);
    const found = texts.filter((text) => compiled.test(text));
    expect(found).toEqual(texts.filter((text) => re.test(text)));
    expect(found.length).toBeGreaterThan(100);
  });

  it('refuses what RE2 refuses, naming it and the field, quoting only a preview', () => {
    expect(errorOf('(a)\\1').message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (the backreference \\1 is not supported; patterns use RE2 syntax), got "(a)\\\\1". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('^(?=exp)', 'basename').message).toMatchInlineSnapshot(
      `"Invalid request: body.basename: not a valid regular expression (lookahead (?=…) is not supported; patterns use RE2 syntax), got "^(?=exp)". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('(?<=a)b').message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (lookbehind (?<=…) is not supported; patterns use RE2 syntax), got "(?<=a)b". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('(?P<x>a)(?P=x)').message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (the named backreference (?P=…) is not supported; patterns use RE2 syntax), got "(?P<x>a)(?P=x)". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('(?>a)').message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (the atomic group (?>…) is not supported; patterns use RE2 syntax), got "(?>a)". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('a++').message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (the possessive quantifier ++ is not supported; patterns use RE2 syntax), got "a++". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf(`(${'x'.repeat(100)}`).message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (missing closing ): "(xxxxxxxxxxxxxxxxxxx…"), got "(xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (101 characters). Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(errorOf('(a)\\1', 'basename').details).toEqual({ fields: ['body.basename'] });
  });

  it('refuses a pattern over 1 KiB of UTF-8, and one that expands too far', () => {
    expect(compilePattern('x'.repeat(MAX_PATTERN_BYTES)).test('x'.repeat(MAX_PATTERN_BYTES))).toBe(true);
    expect(errorOf('é'.repeat(513)).message).toMatchInlineSnapshot(
      `"Invalid request: body.name: pattern is too long (1026 bytes; at most 1024), got "éééééééééééééééééééééééééééééééééééééééé…" (513 characters). Filter with a shorter pattern."`,
    );
    expect(errorOf('(?:.{0,1000}){1}'.repeat(6)).message).toMatchInlineSnapshot(
      `"Invalid request: body.name: pattern is too complex (it expands to about 12032 steps; at most 5000), got "(?:.{0,1000}){1}(?:.{0,1000}){1}(?:.{0,1…" (96 characters). Use fewer or smaller counted repeats such as {1000}."`,
    );
  });

  it('caches compiled patterns, within a bound', () => {
    const first = compilePattern('^cached-[0-9]+$');
    expect(compilePattern('^cached-[0-9]+$')).toBe(first);
    for (let i = 0; i < 300; i += 1) compilePattern(`^other-${i}-[0-9]+$`);
    const again = compilePattern('^cached-[0-9]+$');
    expect(again).not.toBe(first);
    expect(again.test('CACHED-7')).toBe(true);
  });
});

describe('estimateProgramSize', () => {
  it('is not below the size RE2 compiles to', () => {
    const patterns = [
      'abc', '^examples/sub$', 'a*b+c?', '(a|b|c)+', '[a-z]{3,10}', '(a{10}){10}', '.{1000}', '(?:x|y{5,}){2}', '\\pL{20}',
      '[[:alpha:]]{1,64}', '(?P<x>ab|cd){0,30}', 'a{2,}', '(?:(?:a|b){2,3}c){4,}', '(a|)+', '\\x{41}{50}', '((((a))))',
      '\\d+-\\d{2}', '(.*a){20}', '[^a]{100}', '(abc){3}(def){0,5}', '\\b\\w+\\b', '[]a]{9}', '\\Qab{c\\E{5}',
    ];
    const low = patterns.filter((p) => estimateProgramSize(p) < RE2JS.compile(p, RE2JS.CASE_INSENSITIVE).re2().prog.numInst());
    expect(low).toEqual([]);
  });
});
