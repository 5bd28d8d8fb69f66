/** One line of a hunk: its kind, its text without the leading marker, and its numbers in the old and new file. */
export interface DiffLine {
  kind: 'add' | 'del' | 'context' | 'note';
  text: string;
  oldNo?: number;
  newNo?: number;
}

export interface DiffHunk {
  /** The `@@ -a,b +c,d @@ …` line. */
  header: string;
  lines: DiffLine[];
}

export interface DiffFile {
  /** The path to show: the new path, or the old one for a deleted file. */
  path: string;
  oldPath?: string;
  newPath?: string;
  /** `index …`, `new file mode …`, `Binary files … differ` and other lines between the file's start and its hunks. */
  meta: string[];
  hunks: DiffHunk[];
  added: number;
  deleted: number;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** `a/src/x.py` → `src/x.py`; `/dev/null` stays as it is (a created or deleted file). */
function stripPrefix(path: string): string {
  const clean = path.replace(/\t.*$/, '');
  return /^[ab]\//.test(clean) ? clean.slice(2) : clean;
}

/**
 * Parses unified diff text (what `git diff` prints) into files and hunks with line numbers. Hunks are read by the
 * counts in their `@@` header, so a removed line that itself starts with `-- ` is not mistaken for a file header.
 * Answers `undefined` when the text has no hunk at all (ClearML keeps the whole script there when outside git).
 */
export function parseDiff(text: string): DiffFile[] | undefined {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const files: DiffFile[] = [];
  let file: DiffFile | undefined;
  let hunk: DiffHunk | undefined;
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;
  const startFile = (): DiffFile => {
    file = { path: '', meta: [], hunks: [], added: 0, deleted: 0 };
    files.push(file);
    hunk = undefined;
    return file;
  };
  for (const line of lines) {
    if (hunk && (oldLeft > 0 || newLeft > 0)) {
      const marker = line[0];
      const body = line.slice(1);
      if (marker === '+' && newLeft > 0) {
        hunk.lines.push({ kind: 'add', text: body, newNo: newNo++ });
        newLeft -= 1;
        file!.added += 1;
        continue;
      }
      if (marker === '-' && oldLeft > 0) {
        hunk.lines.push({ kind: 'del', text: body, oldNo: oldNo++ });
        oldLeft -= 1;
        file!.deleted += 1;
        continue;
      }
      // Editors and mail clients drop the single space of empty context lines; accept those too.
      if ((marker === ' ' || line === '') && oldLeft > 0 && newLeft > 0) {
        hunk.lines.push({ kind: 'context', text: body, oldNo: oldNo++, newNo: newNo++ });
        oldLeft -= 1;
        newLeft -= 1;
        continue;
      }
      if (marker === '\\') {
        hunk.lines.push({ kind: 'note', text: line });
        continue;
      }
      // A line that does not fit the counts ends the hunk early (a hand-edited or truncated diff).
      oldLeft = 0;
      newLeft = 0;
    }
    if (hunk && line.startsWith('\\')) {
      hunk.lines.push({ kind: 'note', text: line });
      continue;
    }
    const header = HUNK_HEADER.exec(line);
    if (header) {
      const current = file ?? startFile();
      hunk = { header: line, lines: [] };
      current.hunks.push(hunk);
      oldNo = Number(header[1]);
      newNo = Number(header[3]);
      oldLeft = header[2] === undefined ? 1 : Number(header[2]);
      newLeft = header[4] === undefined ? 1 : Number(header[4]);
      continue;
    }
    if (line.startsWith('diff --git ') || line.startsWith('diff ')) {
      const current = startFile();
      const paths = /^diff --git (\S+) (\S+)$/.exec(line);
      if (paths) {
        current.oldPath = stripPrefix(paths[1]!);
        current.newPath = stripPrefix(paths[2]!);
      }
      current.meta.push(line);
      continue;
    }
    if (line.startsWith('--- ') && (!file || file.hunks.length > 0)) {
      // A `---` after hunks (or before any file) starts the next file of a diff without `diff --git` lines.
      startFile();
    }
    if (line.startsWith('--- ')) {
      file!.oldPath = stripPrefix(line.slice(4));
      continue;
    }
    if (line.startsWith('+++ ') && file) {
      file.newPath = stripPrefix(line.slice(4));
      continue;
    }
    (file ?? startFile()).meta.push(line);
  }
  const withHunks = files.some((f) => f.hunks.length > 0);
  if (!withHunks) return undefined;
  for (const f of files) {
    f.path = (f.newPath && f.newPath !== '/dev/null' ? f.newPath : f.oldPath) ?? f.meta[0] ?? '';
  }
  return files;
}
