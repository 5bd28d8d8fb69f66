import { describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import { toPostgresPattern } from './postgres-pattern.js';

// What PostgreSQL then matches is checked against RE2 itself in test/postgres-patterns.int.test.ts; here, the shape.
describe('toPostgresPattern', () => {
  it('leaves plain patterns plain, escaping ASCII punctuation', () => {
    expect(toPostgresPattern('^examples/sub$')).toBe('^examples\\/sub$');
    expect(toPostgresPattern('^train-[0-9]+$')).toBe('^train\\-(?:[0-9])+$');
    expect(toPostgresPattern('a|b')).toBe('a|b');
  });

  it('writes what PostgreSQL spells another way, or reads otherwise', () => {
    expect(toPostgresPattern('(?i)^Eval-\\d{2}\\z')).toBe('^Eval\\-(?:[0-9]){2}\\Z');
    expect(toPostgresPattern('(?P<kind>a)(?<b>c)')).toBe('(?:a)(?:c)');
    expect(toPostgresPattern('\\bcat\\B')).toBe('\\ycat\\Y');
    expect(toPostgresPattern('a.b')).toBe('a[^\\n]b');
    expect(toPostgresPattern('(?s)a.b')).toBe('a.b');
    expect(toPostgresPattern('(?m)^b$')).toBe('(?:^|(?<=\\n))b(?:$|(?=\\n))');
    expect(toPostgresPattern('[[:digit:]\\s]')).toBe('[\\u0009-\\u000a\\u000c-\\u000d\\u00200-9]');
    expect(toPostgresPattern('\\Qa.b\\E')).toBe('a\\.b');
    expect(toPostgresPattern('\\x{e9}')).toBe('é');
  });

  it('scopes flags to their group', () => {
    expect(toPostgresPattern('(?s:.).')).toBe('(?:.)[^\\n]');
    expect(toPostgresPattern('(x(?s).).')).toBe('(?:x.)[^\\n]');
  });

  it('splits repeats past PostgreSQL’s 255', () => {
    expect(toPostgresPattern('a{300}')).toBe('(?:(?:a){255}(?:a){45})');
    expect(toPostgresPattern('a{256,}')).toBe('(?:(?:a){255}(?:a)+)');
    expect(toPostgresPattern('a{0,300}')).toBe('(?:(?:a){0,255}(?:a){0,45})');
    expect(toPostgresPattern('a{2,5}?')).toBe('(?:a){2,5}');
    // not a repeat to RE2: literal braces
    expect(toPostgresPattern('a{,2}')).toBe('a\\{\\,2\\}');
  });

  it('refuses a case-sensitive part, which ~* cannot match, saying so', () => {
    let error: unknown;
    try {
      toPostgresPattern('(?-i)Abc');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TasklaneError);
    expect((error as TasklaneError).code).toBe('INVALID_INPUT');
    expect((error as TasklaneError).message).toMatchInlineSnapshot(
      `"Invalid request: body.name: a case-sensitive part ((?-i)) in the pattern cannot be matched on this server's database (PostgreSQL), got "(?-i)Abc". Write that part another way."`,
    );
  });
});
