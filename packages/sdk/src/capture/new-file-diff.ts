/** Git file modes a new-file diff can carry. */
export type NewFileMode = '100644' | '100755' | '120000';

/**
 * Renders a file that git does not track yet as the unified diff `git diff --no-index /dev/null <file>` would print
 * (without the `index` line), so `git apply` recreates it. `path` is relative to the repository root, POSIX
 * separators. For a symbolic link (`120000`), `content` is the link target.
 * @internal
 */
export function newFileDiff(path: string, content: string, mode: NewFileMode = '100644'): string {
  const oldName = quotePath(`a/${path}`);
  const newName = quotePath(`b/${path}`);
  let text = `diff --git ${oldName} ${newName}\nnew file mode ${mode}\n`;
  if (content === '') return text;
  const endsWithNewline = content.endsWith('\n');
  const lines = (endsWithNewline ? content.slice(0, -1) : content).split('\n');
  text += `--- /dev/null\n+++ ${newName}\n@@ -0,0 +1${lines.length === 1 ? '' : `,${lines.length}`} @@\n`;
  text += `+${lines.join('\n+')}\n`;
  if (!endsWithNewline) text += '\\ No newline at end of file\n';
  return text;
}

const C_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Quotes a path the way git does when it holds quotes, backslashes or control characters. */
function quotePath(path: string): string {
  if (!/["\\\u0000-\u001f\u007f]/.test(path)) return path;
  let quoted = '"';
  for (const char of path) {
    const code = char.charCodeAt(0);
    quoted += C_ESCAPES[char] ?? (code < 0x20 || code === 0x7f ? `\\${code.toString(8).padStart(3, '0')}` : char);
  }
  return `${quoted}"`;
}
