import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureCode } from './git.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'tasklane-git-')));
  dirs.push(dir);
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

async function write(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** A repository with one commit: a training script, a README and a .gitignore. */
async function makeRepo(): Promise<string> {
  const root = await tempDir();
  git(root, 'init', '-q', '-b', 'main');
  await write(root, {
    'src/train.js': 'console.log("v1");\n',
    'README.md': 'hello\n',
    '.gitignore': 'out/\n',
  });
  git(root, 'add', '.');
  git(root, 'commit', '-q', '-m', 'init');
  return root;
}

describe('captureCode in a git repository', () => {
  it('records remote, branch, commit, entry point, working dir and an appliable diff', async () => {
    const root = await makeRepo();
    git(root, 'remote', 'add', 'origin', 'https://user:ghp_secret@github.com/me/train.git');
    await write(root, {
      'src/train.js': 'console.log("v2");\n', // unstaged change
      'src/staged.js': 'export const staged = 1;\n',
      'src/new-file.ts': 'export const x = 1;', // untracked, no final newline
      'src/with space/ünïcode.js': 'odd name\n',
      'data/weights.bin': Buffer.from([1, 0, 2, 3]), // untracked binary
      'data/big.csv': 'x\n'.repeat(150_000), // untracked, 300 KB
      'out/ignored.log': 'ignored\n',
    });
    git(root, 'add', 'src/staged.js');
    await symlink('src/train.js', join(root, 'link.js'));

    const code = await captureCode({ entryFile: join(root, 'src/train.js'), cwd: join(root, 'src') });

    expect(code).toMatchObject({
      repository: 'https://github.com/me/train.git',
      branch: 'main',
      version_num: git(root, 'rev-parse', 'HEAD').trim(),
      entry_point: 'src/train.js',
      working_dir: 'src',
      binary: 'node',
      isGitRepo: true,
    });
    expect(code.diff).toContain('+console.log("v2");');
    expect(code.diff).toContain('diff --git a/src/staged.js b/src/staged.js');
    expect(code.diff).toContain('diff --git a/src/new-file.ts b/src/new-file.ts\nnew file mode 100644\n');
    expect(code.diff).not.toContain('ignored');
    expect(code.diff).toContain(
      '# tasklane: untracked files not included (binary or over 200 KB): data/big.csv (300 KB), data/weights.bin (binary)\n',
    );
    expect(code.notes).toEqual([
      'untracked files not included (binary or over 200 KB): data/big.csv (300 KB), data/weights.bin (binary)',
    ]);

    // What the agent will do: check the commit out and apply the diff.
    const clone = await tempDir();
    git(clone, 'clone', '-q', root, '.');
    await writeFile(join(clone, 'changes.diff'), code.diff);
    git(clone, 'apply', 'changes.diff');
    for (const path of ['src/train.js', 'src/staged.js', 'src/new-file.ts', 'src/with space/ünïcode.js']) {
      expect(await readFile(join(clone, path), 'utf8')).toBe(await readFile(join(root, path), 'utf8'));
    }
    expect(await readFile(join(clone, 'link.js'), 'utf8')).toBe('console.log("v2");\n');
  });

  it('uses the first remote without origin, and the repository path without remotes', async () => {
    const root = await makeRepo();
    const entryFile = join(root, 'src/train.js');
    expect((await captureCode({ entryFile, cwd: root })).repository).toBe(root);
    git(root, 'remote', 'add', 'upstream', 'git@github.com:org/train.git');
    git(root, 'remote', 'add', 'zz-mirror', 'https://example.com/train.git');
    const code = await captureCode({ entryFile, cwd: root });
    expect(code.repository).toBe('git@github.com:org/train.git');
    expect(code.working_dir).toBe('.');
    expect(code.diff).toBe('');
    expect(code.notes).toEqual([]);
  });

  it('records no branch on a detached HEAD', async () => {
    const root = await makeRepo();
    git(root, 'checkout', '-q', '--detach');
    const code = await captureCode({ entryFile: join(root, 'src/train.js'), cwd: root });
    expect(code.branch).toBe('');
    expect(code.version_num).toMatch(/^[0-9a-f]{40}$/);
    expect(code.notes).toEqual(['HEAD is detached: no branch recorded']);
  });

  it('puts every file in the diff of a repository without commits', async () => {
    const root = await tempDir();
    git(root, 'init', '-q', '-b', 'dev');
    await write(root, { 'train.js': 'tracked\n', 'notes.txt': 'untracked\n' });
    git(root, 'add', 'train.js');
    await write(root, { 'train.js': 'tracked\nchanged\n' });

    const code = await captureCode({ entryFile: 'train.js', cwd: root });

    expect(code).toMatchObject({ branch: 'dev', version_num: '', entry_point: 'train.js', isGitRepo: true });
    expect(code.diff).toContain('diff --git a/train.js b/train.js\nnew file mode 100644\n');
    expect(code.diff).toContain('+tracked\n+changed\n');
    expect(code.diff).toContain('diff --git a/notes.txt b/notes.txt\nnew file mode 100644\n');
    expect(code.notes).toEqual(['the repository has no commits yet: the diff holds every tracked file as new']);
  });

  it('keeps whole files while they fit and names the rest when the diff is too big', async () => {
    const root = await makeRepo();
    await write(root, {
      'a.js': 'a\n'.repeat(100),
      'b.js': 'b\n'.repeat(1000),
      'c.js': 'c\n'.repeat(100),
    });

    const code = await captureCode({ entryFile: join(root, 'src/train.js'), cwd: root, maxDiffBytes: 1000 });

    expect(code.diff).toContain('diff --git a/a.js b/a.js');
    expect(code.diff).toContain('diff --git a/c.js b/c.js');
    expect(code.diff).not.toContain('diff --git a/b.js');
    expect(code.diff.endsWith('# tasklane: diff cut at 1000 bytes (2.8 KB in all); files not shown: b.js\n')).toBe(true);
    expect(code.notes).toEqual(['diff cut at 1000 bytes (2.8 KB in all); files not shown: b.js']);
  });
});

describe('captureCode outside git', () => {
  it('stores the script itself', async () => {
    const dir = await tempDir();
    await write(dir, { 'run.mjs': 'console.log(1);\n' });
    const code = await captureCode({ entryFile: join(dir, 'run.mjs'), cwd: dir });
    expect(code).toEqual({
      repository: '',
      branch: '',
      version_num: '',
      diff: 'console.log(1);\n',
      entry_point: 'run.mjs',
      working_dir: '.',
      binary: 'node',
      isGitRepo: false,
      notes: ['not inside a git repository: stored the script instead of a diff'],
    });
  });

  it('cuts a big script at a line boundary', async () => {
    const dir = await tempDir();
    await write(dir, { 'run.js': 'line\n'.repeat(100) });
    const code = await captureCode({ entryFile: join(dir, 'run.js'), cwd: dir, maxDiffBytes: 12 });
    expect(code.diff).toBe('line\nline\n# tasklane: script cut at 12 bytes (500 bytes in all)\n');
  });

  it('says so when git is not installed', async () => {
    const root = await makeRepo();
    const path = process.env.PATH;
    process.env.PATH = '';
    try {
      const code = await captureCode({ entryFile: join(root, 'src/train.js'), cwd: root });
      expect(code.isGitRepo).toBe(false);
      expect(code.entry_point).toBe('train.js');
      expect(code.diff).toBe('console.log("v1");\n');
      expect(code.notes).toEqual(['git is not installed (or not on PATH): stored the script instead of a diff']);
    } finally {
      process.env.PATH = path;
    }
  });

  it('does not throw for a missing entry script', async () => {
    const dir = await tempDir();
    const code = await captureCode({ entryFile: join(dir, 'gone.js'), cwd: dir });
    expect(code.diff).toBe('');
    expect(code.notes[1]).toMatch(/^could not read the entry script .*gone\.js: ENOENT/);
  });
});
