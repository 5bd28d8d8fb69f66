import { describe, expect, it } from 'vitest';
import { capDiffSections, capText, listFiles, splitGitDiff } from './diff-size-cap.js';

describe('splitGitDiff', () => {
  it('splits per file and names each file', () => {
    const text = 'diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-1\n+2\ndiff --git a/y y b/y y\ndeleted file mode 100644\n';
    expect(splitGitDiff(text).map(({ file, bytes }) => [file, bytes])).toEqual([
      ['x', 53],
      ['y y', 48],
    ]);
    expect(splitGitDiff('')).toEqual([]);
  });
});

describe('capDiffSections', () => {
  it('keeps what fits, in order, and names the rest in a note line', () => {
    const sections = [
      { file: 'a', bytes: 4, text: 'aaa\n' },
      { file: 'b', bytes: 8, text: 'bbbbbbb\n' },
      { file: 'c', bytes: 2_000_000 },
      { file: 'd', bytes: 4, text: 'ddd\n' },
    ];
    expect(capDiffSections(sections, 10)).toEqual({
      diff: 'aaa\nddd\n# tasklane: diff cut at 10 bytes (2 MB in all); files not shown: b, c\n',
      omittedFiles: ['b', 'c'],
      totalBytes: 2_000_016,
    });
    expect(capDiffSections(sections.slice(0, 2), 100).diff).toBe('aaa\nbbbbbbb\n');
  });
});

describe('capText', () => {
  it('cuts at the last line boundary within the limit, counting UTF-8 bytes', () => {
    expect(capText('éé\nxx\n', 6, 'script')).toEqual({
      text: 'éé\n# tasklane: script cut at 6 bytes (8 bytes in all)\n',
      isCut: true,
    });
    expect(capText('short\n', 6, 'script')).toEqual({ text: 'short\n', isCut: false });
  });
});

describe('listFiles', () => {
  it('names twenty files, then counts the rest', () => {
    const files = Array.from({ length: 22 }, (_, index) => `f${index}`);
    expect(listFiles(files)).toBe(`${files.slice(0, 20).join(', ')} and 2 more`);
  });
});
