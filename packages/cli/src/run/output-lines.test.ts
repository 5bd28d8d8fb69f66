import { describe, expect, it } from 'vitest';
import { outputLines } from './output-lines.js';

function collect(maxLineChars?: number) {
  const lines: string[] = [];
  return { lines, splitter: outputLines((line) => lines.push(line), maxLineChars) };
}

describe('outputLines', () => {
  it('cuts chunks into lines, the unfinished last one waiting for the rest or the end', () => {
    const { lines, splitter } = collect();
    splitter.write(Buffer.from('one\ntw'));
    splitter.write(Buffer.from('o\n\nthr'));
    expect(lines).toEqual(['one', 'two', '']);
    splitter.end();
    expect(lines).toEqual(['one', 'two', '', 'thr']);
  });

  it('decodes a UTF-8 character split between two chunks whole', () => {
    const { lines, splitter } = collect();
    const bytes = Buffer.from('épreuve ✓ 🙂\n', 'utf8');
    // Every cut, including inside the 2-, 3- and 4-byte characters.
    for (let cut = 1; cut < bytes.length; cut += 1) {
      splitter.write(bytes.subarray(0, cut));
      splitter.write(bytes.subarray(cut));
    }
    expect(new Set(lines)).toEqual(new Set(['épreuve ✓ 🙂']));
    expect(lines).toHaveLength(bytes.length - 1);
  });

  it('hands over a line that never ends (a progress bar rewriting itself with \\r) in pieces, not all at the end', () => {
    const { lines, splitter } = collect(100);
    for (let i = 0; i < 50; i += 1) splitter.write(Buffer.from(`\r${String(i).padStart(2, '0')}% |`));
    expect(lines).toEqual(Array.from({ length: 2 }, () => expect.any(String)));
    expect(lines.every((line) => line.length === 100)).toBe(true);
    splitter.end();
    expect(lines.join('')).toBe(Array.from({ length: 50 }, (_v, i) => `\r${String(i).padStart(2, '0')}% |`).join(''));
  });

  it('does not cut between the halves of a character outside the BMP', () => {
    const { lines, splitter } = collect(5);
    splitter.write(Buffer.from('abcd🙂ef'));
    splitter.end();
    expect(lines).toEqual(['abcd', '🙂ef']);
  });
});
