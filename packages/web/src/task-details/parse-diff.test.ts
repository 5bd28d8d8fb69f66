import { describe, expect, it } from 'vitest';
import { parseDiff } from './parse-diff';

const GIT_DIFF = `diff --git a/train.py b/train.py
index 3b18e51..a9c4f2d 100644
--- a/train.py
+++ b/train.py
@@ -1,4 +1,5 @@
 import torch
-lr = 0.1
+lr = 0.01
+momentum = 0.9
 
 def main():
@@ -10,2 +11,2 @@ def main():
--- a comment line removed, it starts with three dashes
+-- kept with two
 print("done")
diff --git a/old.txt b/old.txt
deleted file mode 100644
index 1111111..0000000
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
\\ No newline at end of file
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
`;

describe('parseDiff', () => {
  it('reads files, hunks, kinds and line numbers of a git diff', () => {
    const files = parseDiff(GIT_DIFF)!;
    expect(files.map((f) => [f.path, f.added, f.deleted, f.hunks.length])).toEqual([
      ['train.py', 3, 2, 2],
      ['old.txt', 0, 1, 1],
      ['logo.png', 0, 0, 0],
    ]);
    const [first, second] = files[0]!.hunks;
    expect(first!.lines.map((l) => [l.kind, l.oldNo, l.newNo, l.text])).toEqual([
      ['context', 1, 1, 'import torch'],
      ['del', 2, undefined, 'lr = 0.1'],
      ['add', undefined, 2, 'lr = 0.01'],
      ['add', undefined, 3, 'momentum = 0.9'],
      ['context', 3, 4, ''],
      ['context', 4, 5, 'def main():'],
    ]);
    // A removed line starting with "---" inside a hunk is a line, not the next file's header.
    expect(second!.lines.map((l) => [l.kind, l.oldNo, l.newNo, l.text])).toEqual([
      ['del', 10, undefined, '-- a comment line removed, it starts with three dashes'],
      ['add', undefined, 11, '-- kept with two'],
      ['context', 11, 12, 'print("done")'],
    ]);
    expect(files[1]!.meta).toEqual(['diff --git a/old.txt b/old.txt', 'deleted file mode 100644', 'index 1111111..0000000']);
    expect(files[1]!.hunks[0]!.lines.at(-1)).toEqual({ kind: 'note', text: '\\ No newline at end of file' });
    expect(files[2]!.meta).toContain('Binary files a/logo.png and b/logo.png differ');
  });

  it('reads a plain unified diff without git headers, file after file', () => {
    const files = parseDiff('--- a.txt\n+++ a.txt\n@@ -1 +1 @@\n-x\n+y\n--- b.txt\n+++ b.txt\n@@ -0,0 +1 @@\n+new\n')!;
    expect(files.map((f) => [f.path, f.added, f.deleted])).toEqual([
      ['a.txt', 1, 1],
      ['b.txt', 1, 0],
    ]);
  });

  it('answers undefined for text that is not a diff (a whole script)', () => {
    expect(parseDiff('import os\nprint(os.getcwd())\n')).toBeUndefined();
    expect(parseDiff('')).toBeUndefined();
  });
});
