import { describe, expect, it } from 'vitest';
import { flavourOf, highlightLine } from './highlight-code';

describe('highlightLine', () => {
  it('colours keywords, strings, numbers and a trailing comment of a Python line', () => {
    expect(highlightLine('def f(x="a#b"): return 0.5  # half', 'hash')).toEqual([
      { kind: 'keyword', text: 'def' },
      { kind: 'plain', text: ' f(x=' },
      { kind: 'string', text: '"a#b"' },
      { kind: 'plain', text: '): ' },
      { kind: 'keyword', text: 'return' },
      { kind: 'plain', text: ' ' },
      { kind: 'number', text: '0.5' },
      { kind: 'plain', text: '  ' },
      { kind: 'comment', text: '# half' },
    ]);
  });

  it('knows // comments in C-like files and leaves unknown files plain', () => {
    expect(highlightLine('const a = 1; // one', 'slash').map((t) => t.kind)).toEqual(['keyword', 'plain', 'number', 'plain', 'comment']);
    expect(highlightLine('<script>alert(1)</script>', undefined)).toEqual([{ kind: 'plain', text: '<script>alert(1)</script>' }]);
    expect(flavourOf('src/train.py')).toBe('hash');
    expect(flavourOf('web/app.tsx')).toBe('slash');
    expect(flavourOf('notes.md')).toBeUndefined();
  });

  it('rebuilds the line exactly from its tokens', () => {
    const line = "print('unterminated, x = 1e-3 and y";
    expect(highlightLine(line, 'hash').map((t) => t.text).join('')).toBe(line);
  });
});
