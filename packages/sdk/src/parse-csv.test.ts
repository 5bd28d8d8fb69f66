import { describe, expect, it } from 'vitest';
import { parseCsv } from './parse-csv.js';

describe('parseCsv', () => {
  it('reads quoted fields, embedded commas, quotes and line breaks, and CRLF', () => {
    expect(parseCsv('name,score\r\n"Smith, J",0.9\n"say ""hi""","a\nb"\n')).toEqual([
      ['name', 'score'],
      ['Smith, J', '0.9'],
      ['say "hi"', 'a\nb'],
    ]);
  });

  it('keeps empty fields and a last line without a newline', () => {
    expect(parseCsv('a,,c\n1,2,')).toEqual([
      ['a', '', 'c'],
      ['1', '2', ''],
    ]);
    expect(parseCsv('')).toEqual([]);
  });
});
