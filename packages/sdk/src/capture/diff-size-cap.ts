import { formatBytes } from './format-bytes.js';

/** One file's part of a diff; `text` is absent when the file was too big to read and only its size is known. */
export interface DiffSection {
  file: string;
  bytes: number;
  text?: string;
}

/** A diff cut to size, with what was left out. */
export interface CappedDiff {
  diff: string;
  omittedFiles: string[];
  totalBytes: number;
}

const MAX_LISTED_FILES = 20;

/**
 * Splits `git diff` output into one section per file (each starts with `diff --git `).
 * @internal
 */
export function splitGitDiff(text: string): DiffSection[] {
  if (text === '') return [];
  const sections: DiffSection[] = [];
  const starts = [...text.matchAll(/^diff --git /gm)].map((match) => match.index);
  if (starts.length === 0 || starts[0] !== 0) starts.unshift(0);
  for (let index = 0; index < starts.length; index += 1) {
    const part = text.slice(starts[index], starts[index + 1] ?? text.length);
    sections.push({ file: fileOfSection(part), bytes: Buffer.byteLength(part), text: part });
  }
  return sections;
}

function fileOfSection(section: string): string {
  const header = section.slice(0, section.indexOf('\n') === -1 ? undefined : section.indexOf('\n'));
  const plus = /^\+\+\+ b\/(.*)$/m.exec(section);
  if (plus?.[1]) return plus[1];
  const at = header.lastIndexOf(' b/');
  return at === -1 ? header : header.slice(at + 3);
}

/**
 * Keeps whole file sections, in order, while they fit in `maxBytes` (so what is kept still applies with
 * `git apply`), and appends one note line naming what was left out:
 * `# tasklane: diff cut at 1000000 bytes (12.3 MB in all); files not shown: a.ts, b.ts`.
 * @internal
 */
export function capDiffSections(sections: readonly DiffSection[], maxBytes: number): CappedDiff {
  const totalBytes = sections.reduce((sum, section) => sum + section.bytes, 0);
  let used = 0;
  let diff = '';
  const omittedFiles: string[] = [];
  for (const section of sections) {
    if (section.text !== undefined && used + section.bytes <= maxBytes) {
      diff += section.text;
      used += section.bytes;
    } else {
      omittedFiles.push(section.file);
    }
  }
  if (omittedFiles.length > 0) {
    diff += `# tasklane: diff cut at ${maxBytes} bytes (${formatBytes(totalBytes)} in all); files not shown: ${listFiles(omittedFiles)}\n`;
  }
  return { diff, omittedFiles, totalBytes };
}

/**
 * Names files for a note: the first twenty, then how many more.
 * @internal
 */
export function listFiles(files: readonly string[]): string {
  const shown = files.slice(0, MAX_LISTED_FILES).join(', ');
  return files.length > MAX_LISTED_FILES ? `${shown} and ${files.length - MAX_LISTED_FILES} more` : shown;
}

/**
 * Cuts text to at most `maxBytes` UTF-8 bytes at a line boundary, appending a note line when it was cut.
 * @internal
 */
export function capText(text: string, maxBytes: number, what: string): { text: string; isCut: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return { text, isCut: false };
  const lastNewline = bytes.subarray(0, maxBytes).lastIndexOf(0x0a);
  const kept = lastNewline === -1 ? '' : bytes.subarray(0, lastNewline + 1).toString('utf8');
  return { text: `${kept}# tasklane: ${what} cut at ${maxBytes} bytes (${formatBytes(bytes.length)} in all)\n`, isCut: true };
}
