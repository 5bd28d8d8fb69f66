import { execFile } from 'node:child_process';
import { lstat, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { capDiffSections, capText, listFiles, splitGitDiff, type DiffSection } from './diff-size-cap.js';
import { formatBytes } from './format-bytes.js';
import { newFileDiff, type NewFileMode } from './new-file-diff.js';

const execFileAsync = promisify(execFile);

/** What Task.init records about the script's code, with the wire's (ClearML's) field names. */
export interface CodeInfo {
  /** URL of the `origin` remote (else the first remote; else the repository root's absolute path); '' outside git. */
  repository: string;
  /** Current branch; '' when HEAD is detached or outside git. */
  branch: string;
  /** HEAD commit; '' in a repository without commits or outside git. */
  version_num: string;
  /** Uncommitted changes against HEAD plus untracked source files as a unified diff; outside git, the script itself. */
  diff: string;
  /** Entry script relative to the repository root (POSIX separators); outside git, its file name. */
  entry_point: string;
  /** Working directory relative to the repository root, `.` when equal (outside git, `.`). */
  working_dir: string;
  /** The interpreter: always `node` (its version is in the environment's runtime section). */
  binary: string;
  /** Whether the entry script is inside a git work tree. */
  isGitRepo: boolean;
  /** What went differently from the plain case (no commits, diff cut, files skipped, git missing), for people. */
  notes: string[];
}

/** Options of {@link captureCode}. */
export interface CaptureCodeOptions {
  /** The script being run (absolute, or relative to `cwd`), usually `process.argv[1]`. */
  entryFile: string;
  /** The process's working directory, usually `process.cwd()`. */
  cwd: string;
  /**
   * Largest diff kept, in bytes; larger diffs keep whole files while they fit and end with a note line.
   * @default 1_000_000
   */
  maxDiffBytes?: number;
  /**
   * Time allowed to each git command before it is stopped and its part left out.
   * @default 10_000
   */
  gitTimeoutMs?: number;
}

const DEFAULT_MAX_DIFF_BYTES = 1_000_000;
const DEFAULT_GIT_TIMEOUT_MS = 10_000;
/** Untracked files above this size are not put in the diff (data, checkpoints, logs). */
const MAX_UNTRACKED_FILE_BYTES = 200_000;
/** A NUL byte in this many leading bytes marks a file as binary, as git decides. */
const BINARY_SNIFF_BYTES = 8000;
/** Untracked files looked at in all; beyond this the rest are only counted. */
const MAX_UNTRACKED_FILES = 5000;
const FS_CONCURRENCY = 32;
const EMPTY_TREE: Record<string, string> = {
  sha1: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  sha256: '6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321',
};
/**
 * Diff flags that make the output independent of the user's git configuration (colors, external diff tools,
 * textconv filters, `diff.noprefix`, `diff.relative`), so the agent can `git apply` it.
 */
const DIFF_ARGS = [
  '-c',
  'diff.relative=false',
  'diff',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];

type GitResult =
  | { ok: true; stdout: string }
  | { ok: false; stdout: string; stderr: string; code: string | number | undefined; isTimeout: boolean };

interface ExecError extends Error {
  code?: string | number;
  killed?: boolean;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
}

/**
 * Runs git without a shell. `--no-optional-locks` keeps read-only commands from taking `index.lock`, so a capture
 * never collides with the user's own git commands.
 */
async function runGit(args: readonly string[], cwd: string, timeoutMs: number, maxBuffer = 16 * 1024 * 1024): Promise<GitResult> {
  try {
    const { stdout } = await execFileAsync('git', ['--no-optional-locks', ...args], {
      cwd,
      timeout: timeoutMs,
      maxBuffer,
      encoding: 'utf8',
      windowsHide: true,
    });
    return { ok: true, stdout };
  } catch (error) {
    const failure = error as ExecError;
    return {
      ok: false,
      stdout: failure.stdout ?? '',
      stderr: (failure.stderr ?? failure.message).trim(),
      code: failure.code,
      isTimeout: failure.killed === true && failure.signal === 'SIGTERM',
    };
  }
}

function describeFailure(command: string, result: Extract<GitResult, { ok: false }>, timeoutMs: number): string {
  if (result.isTimeout) return `${command} took longer than ${timeoutMs} ms and was stopped`;
  if (result.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') return `${command} printed more than the output limit`;
  const firstLine = result.stderr.split('\n')[0] ?? '';
  return `${command} failed (exit ${String(result.code)}): ${firstLine}`;
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

async function realPathOr(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Runs `task` over `items` with at most {@link FS_CONCURRENCY} at a time, keeping the order of results. */
async function mapLimited<TItem, TResult>(items: readonly TItem[], task: (item: TItem) => Promise<TResult>): Promise<TResult[]> {
  const results: TResult[] = [];
  for (let start = 0; start < items.length; start += FS_CONCURRENCY) {
    results.push(...(await Promise.all(items.slice(start, start + FS_CONCURRENCY).map(task))));
  }
  return results;
}

/** Drops user name and password from http(s) remote URLs: they often hold access tokens. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!/^(https?|ftps?):$/.test(parsed.protocol) || (parsed.username === '' && parsed.password === '')) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url; // scp-like `git@host:org/repo.git` is not a URL and holds no secret
  }
}

/** Picks `origin`'s URL, else the first remote's, from `git config --get-regexp '^remote\..*\.url$'` output. */
function pickRemote(configOutput: string): string | undefined {
  const urls = new Map<string, string>();
  for (const line of configOutput.split('\n')) {
    const space = line.indexOf(' ');
    if (space === -1) continue;
    const key = line.slice(0, space);
    const name = key.slice('remote.'.length, -'.url'.length);
    if (!urls.has(name)) urls.set(name, line.slice(space + 1).trim());
  }
  const url = urls.get('origin') ?? urls.values().next().value;
  return url === undefined || url === '' ? undefined : withoutCredentials(url);
}

interface UntrackedFiles {
  sections: DiffSection[];
  skipped: string[];
}

/**
 * Renders untracked, not-ignored files as new-file diffs. Binary files (a NUL byte early on) and files over
 * {@link MAX_UNTRACKED_FILE_BYTES} are skipped; once `budgetBytes` worth of files have been read, the rest are
 * listed with their size only, to be named in the cut note.
 */
async function renderUntracked(root: string, paths: readonly string[], budgetBytes: number): Promise<UntrackedFiles> {
  const looked = paths.slice(0, MAX_UNTRACKED_FILES);
  const stats = await mapLimited(looked, async (path) => {
    try {
      return { path, stats: await lstat(join(root, path)) };
    } catch {
      return { path, stats: undefined }; // removed since git listed it
    }
  });
  const skipped: string[] = [];
  const toRead: Array<{ path: string; mode: NewFileMode; isLink: boolean }> = [];
  const sized: Array<{ path: string; bytes: number }> = [];
  let plannedBytes = 0;
  for (const { path, stats: fileStats } of stats) {
    if (!fileStats) continue;
    if (fileStats.isSymbolicLink()) {
      toRead.push({ path, mode: '120000', isLink: true });
    } else if (!fileStats.isFile()) {
      continue;
    } else if (fileStats.size > MAX_UNTRACKED_FILE_BYTES) {
      skipped.push(`${path} (${formatBytes(fileStats.size)})`);
    } else if (plannedBytes + fileStats.size > budgetBytes) {
      sized.push({ path, bytes: fileStats.size });
    } else {
      plannedBytes += fileStats.size;
      toRead.push({ path, mode: (fileStats.mode & 0o111) !== 0 ? '100755' : '100644', isLink: false });
    }
  }
  const rendered = await mapLimited(toRead, async ({ path, mode, isLink }): Promise<DiffSection | 'binary' | undefined> => {
    try {
      if (isLink) return toSection(path, newFileDiff(path, await readlink(join(root, path)), mode));
      const content = await readFile(join(root, path));
      if (content.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return 'binary';
      return toSection(path, newFileDiff(path, content.toString('utf8'), mode));
    } catch {
      return undefined;
    }
  });
  const sections: DiffSection[] = [];
  rendered.forEach((section, index) => {
    if (section === 'binary') skipped.push(`${toRead[index]?.path ?? '?'} (binary)`);
    else if (section) sections.push(section);
  });
  // Files past the budget still count, so the cut note names them and the total is honest.
  for (const { path, bytes } of sized) sections.push({ file: path, bytes });
  sections.sort((left, right) => (left.file < right.file ? -1 : left.file > right.file ? 1 : 0));
  if (paths.length > looked.length) skipped.push(`${paths.length - looked.length} more untracked files not examined`);
  return { sections, skipped };
}

function toSection(file: string, text: string): DiffSection {
  return { file, bytes: Buffer.byteLength(text), text };
}

/**
 * Records the script's code the way ClearML does: repository, branch, commit, the uncommitted diff (tracked changes
 * against HEAD plus untracked source files, size-capped), the entry point and working directory relative to the
 * repository root. Outside git (or without git installed) the script's own content is stored instead of a diff.
 * Never throws for a normal script: anything git cannot tell is left empty and explained in `notes`.
 *
 * @example
 * const code = await captureCode({ entryFile: process.argv[1]!, cwd: process.cwd() });
 * // { repository: 'git@github.com:me/train.git', branch: 'main', version_num: '3f2c…', entry_point: 'src/train.js', … }
 */
export async function captureCode(options: CaptureCodeOptions): Promise<CodeInfo> {
  const maxDiffBytes = options.maxDiffBytes ?? DEFAULT_MAX_DIFF_BYTES;
  const timeoutMs = options.gitTimeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const cwd = await realPathOr(resolve(options.cwd));
  const entryFile = await realPathOr(resolve(cwd, options.entryFile));
  const entryDir = (await isDirectory(dirname(entryFile))) ? dirname(entryFile) : cwd;
  const notes: string[] = [];
  const git = (args: readonly string[], maxBuffer?: number): Promise<GitResult> => runGit(args, entryDir, timeoutMs, maxBuffer);

  // All independent: one round of processes instead of six in a row (this runs on Task.init's path).
  const [topLevel, head, branch, remotes, trackedDiff, untracked] = await Promise.all([
    git(['rev-parse', '--show-toplevel']),
    git(['rev-parse', '--verify', '--quiet', 'HEAD']),
    git(['symbolic-ref', '--quiet', '--short', 'HEAD']),
    git(['config', '--get-regexp', '^remote\\..*\\.url$']),
    git([...DIFF_ARGS, 'HEAD'], Math.max(64 * 1024 * 1024, maxDiffBytes * 4)),
    // `:/` is the repository root: list the whole work tree even when run from a sub-folder.
    git(['ls-files', '--others', '--exclude-standard', '-z', '--full-name', '--', ':/']),
  ]);

  if (!topLevel.ok) {
    if (topLevel.code === 'ENOENT') notes.push('git is not installed (or not on PATH): stored the script instead of a diff');
    else if (/not a git repository/i.test(topLevel.stderr)) notes.push('not inside a git repository: stored the script instead of a diff');
    else notes.push(`${describeFailure('git rev-parse --show-toplevel', topLevel, timeoutMs)}; stored the script instead of a diff`);
    return outsideGit(entryFile, maxDiffBytes, notes);
  }

  const root = await realPathOr(topLevel.stdout.trim());
  let diffText = '';
  if (head.ok) {
    if (trackedDiff.ok) diffText = trackedDiff.stdout;
    else diffText = await trackedDiffFallback(trackedDiff, git, timeoutMs, notes);
  } else {
    notes.push('the repository has no commits yet: the diff holds every tracked file as new');
    const format = await git(['rev-parse', '--show-object-format']);
    const emptyTree = EMPTY_TREE[format.ok ? format.stdout.trim() : 'sha1'] ?? EMPTY_TREE.sha1!;
    const fromEmpty = await git([...DIFF_ARGS, emptyTree], Math.max(64 * 1024 * 1024, maxDiffBytes * 4));
    if (fromEmpty.ok) diffText = fromEmpty.stdout;
    else notes.push(`${describeFailure('git diff', fromEmpty, timeoutMs)}: tracked changes left out`);
  }

  const sections = splitGitDiff(diffText);
  let skipped: string[] = [];
  if (untracked.ok) {
    const paths = untracked.stdout.split('\0').filter((path) => path !== '');
    const trackedBytes = Buffer.byteLength(diffText);
    const rendered = await renderUntracked(root, paths, Math.max(0, maxDiffBytes - trackedBytes));
    sections.push(...rendered.sections);
    skipped = rendered.skipped;
  } else {
    notes.push(`${describeFailure('git ls-files', untracked, timeoutMs)}: untracked files left out`);
  }

  const capped = capDiffSections(sections, maxDiffBytes);
  let diff = capped.diff;
  if (capped.omittedFiles.length > 0) {
    notes.push(
      `diff cut at ${maxDiffBytes} bytes (${formatBytes(capped.totalBytes)} in all); files not shown: ${listFiles(capped.omittedFiles)}`,
    );
  }
  if (skipped.length > 0) {
    const line = `untracked files not included (binary or over ${formatBytes(MAX_UNTRACKED_FILE_BYTES)}): ${listFiles(skipped)}`;
    diff += `# tasklane: ${line}\n`;
    notes.push(line);
  }

  const workingDir = toPosix(relative(root, cwd)) || '.';
  if (workingDir.startsWith('../') || workingDir === '..') {
    notes.push(`the working directory ${cwd} is outside the repository ${root}`);
  }
  if (!branch.ok && head.ok) notes.push('HEAD is detached: no branch recorded');

  return {
    repository: (remotes.ok ? pickRemote(remotes.stdout) : undefined) ?? root,
    branch: branch.ok ? branch.stdout.trim() : '',
    version_num: head.ok ? head.stdout.trim() : '',
    diff,
    entry_point: toPosix(relative(root, entryFile)),
    working_dir: workingDir,
    binary: 'node',
    isGitRepo: true,
    notes,
  };
}

/** When `git diff HEAD` fails: name the changed files at least, so the reader knows the diff is incomplete. */
async function trackedDiffFallback(
  failure: Extract<GitResult, { ok: false }>,
  git: (args: readonly string[]) => Promise<GitResult>,
  timeoutMs: number,
  notes: string[],
): Promise<string> {
  const names = await git(['-c', 'diff.relative=false', 'diff', '--name-only', '-z', 'HEAD']);
  const files = names.ok ? names.stdout.split('\0').filter((name) => name !== '') : [];
  const listed = files.length > 0 ? `; files not shown: ${listFiles(files)}` : '';
  notes.push(`${describeFailure('git diff HEAD', failure, timeoutMs)}: tracked changes left out${listed}`);
  return files.length > 0 ? `# tasklane: tracked changes left out (git diff failed)${listed}\n` : '';
}

async function outsideGit(entryFile: string, maxDiffBytes: number, notes: string[]): Promise<CodeInfo> {
  let diff = '';
  try {
    diff = capText(await readFile(entryFile, 'utf8'), maxDiffBytes, 'script').text;
  } catch (error) {
    notes.push(`could not read the entry script ${entryFile}: ${(error as Error).message}`);
  }
  return {
    repository: '',
    branch: '',
    version_num: '',
    diff,
    entry_point: basename(entryFile),
    working_dir: '.',
    binary: 'node',
    isGitRepo: false,
    notes,
  };
}
