import { describe, expect, it } from 'vitest';
import { newFileDiff } from './new-file-diff.js';

describe('newFileDiff', () => {
  it('renders a file as git diff --no-index /dev/null would', () => {
    expect(newFileDiff('src/a.js', 'one\ntwo\n')).toBe(
      'diff --git a/src/a.js b/src/a.js\nnew file mode 100644\n--- /dev/null\n+++ b/src/a.js\n@@ -0,0 +1,2 @@\n+one\n+two\n',
    );
  });

  it('marks a missing final newline, and an empty file has no hunk', () => {
    expect(newFileDiff('a', 'x', '100755')).toBe(
      'diff --git a/a b/a\nnew file mode 100755\n--- /dev/null\n+++ b/a\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n',
    );
    expect(newFileDiff('empty.txt', '')).toBe('diff --git a/empty.txt b/empty.txt\nnew file mode 100644\n');
  });

  it('quotes paths with quotes, backslashes or control characters as git does', () => {
    expect(newFileDiff('q"\t\\.js', 'x\n').split('\n')[0]).toBe('diff --git "a/q\\"\\t\\\\.js" "b/q\\"\\t\\\\.js"');
  });
});
