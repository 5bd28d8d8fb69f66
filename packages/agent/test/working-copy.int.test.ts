// prepareWorkingCopy, installDependencies and linkSdk against real git repositories in a temp folder (no server).
import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Script } from '@tasklane/protocol';
import { installDependencies, linkSdk } from '../src/install-dependencies.js';
import { runCommand } from '../src/run-command.js';
import { SetupError } from '../src/setup-error.js';
import { gitEnv, prepareWorkingCopy, type SetupRunner } from '../src/working-copy.js';

const execFileAsync = promisify(execFile);

let dir: string;
let repo: string;
let firstCommit: string;
let copies = 0;
const said: string[] = [];

const run: SetupRunner = (command, args, cwd) => runCommand(command, args, { cwd, env: gitEnv(process.env) });
const say = (line: string) => void said.push(line);

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await execFileAsync('git', args, { cwd, env: gitEnv(process.env) })).stdout.trim();
}

function prepare(script: Script) {
  return prepareWorkingCopy({ script, dir: join(dir, 'work', `copy-${++copies}`), run, say });
}

async function setupError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(SetupError);
  return (error as SetupError).message.replaceAll(repo, '<repo>');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tasklane-agent-copy-'));
  repo = join(dir, 'repo');
  await mkdir(join(repo, 'src'), { recursive: true });
  await writeFile(join(repo, 'src/train.mjs'), 'console.log("v1");\n');
  await git(repo, 'init', '--quiet', '--initial-branch', 'main');
  await git(repo, 'config', 'user.name', 'T');
  await git(repo, 'config', 'user.email', 't@example.com');
  await git(repo, 'add', '--all');
  await git(repo, 'commit', '--quiet', '-m', 'v1');
  firstCommit = await git(repo, 'rev-parse', 'HEAD');
  await git(repo, 'checkout', '--quiet', '-b', 'feature');
  await writeFile(join(repo, 'src/train.mjs'), 'console.log("feature");\n');
  await git(repo, 'commit', '--quiet', '-am', 'feature');
  await git(repo, 'checkout', '--quiet', 'main');
  await writeFile(join(repo, 'src/train.mjs'), 'console.log("v2");\n');
  await git(repo, 'commit', '--quiet', '-am', 'v2');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('prepareWorkingCopy', () => {
  it('checks out the recorded commit, else the branch head, else the default branch', async () => {
    const atCommit = await prepare({ repository: repo, version_num: firstCommit, entry_point: 'src/train.mjs', working_dir: 'src' });
    expect(await readFile(atCommit.entry, 'utf8')).toBe('console.log("v1");\n');
    expect(atCommit).toMatchObject({ commit: firstCommit, cwd: join(atCommit.root, 'src') });
    const atBranch = await prepare({ repository: repo, branch: 'feature', entry_point: 'src/train.mjs' });
    expect(await readFile(atBranch.entry, 'utf8')).toBe('console.log("feature");\n');
    const atDefault = await prepare({ repository: `file://${repo}`, entry_point: 'src/train.mjs' });
    expect(await readFile(atDefault.entry, 'utf8')).toBe('console.log("v2");\n');
    expect(atDefault.cwd).toBe(atDefault.root);
  });

  it('applies the recorded diff: changed and new files', async () => {
    const diff = [
      'diff --git a/src/train.mjs b/src/train.mjs',
      '--- a/src/train.mjs',
      '+++ b/src/train.mjs',
      '@@ -1 +1 @@',
      '-console.log("v2");',
      '+console.log("patched");',
      'diff --git a/src/extra.mjs b/src/extra.mjs',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/src/extra.mjs',
      '@@ -0,0 +1 @@',
      '+export const x = 1;',
      '# tasklane: untracked files not included (binary or over 195 KiB): data.bin (3 MiB)',
      '',
    ].join('\n');
    const copy = await prepare({ repository: repo, entry_point: 'src/train.mjs', diff });
    expect(await readFile(copy.entry, 'utf8')).toBe('console.log("patched");\n');
    expect(await readFile(join(copy.root, 'src/extra.mjs'), 'utf8')).toBe('export const x = 1;\n');
    expect(existsSync(`${copy.root}.diff`)).toBe(false);
  });

  it('writes the stored script when there is no repository', async () => {
    const copy = await prepare({ repository: '', entry_point: 'job.sh', diff: 'echo hi\n' });
    expect(await readFile(copy.entry, 'utf8')).toBe('echo hi\n');
  });

  it('says which step failed and why', async () => {
    expect(await setupError(prepare({ repository: join(dir, 'missing'), entry_point: 'a.mjs' }))).toMatch(
      /^setup failed at clone: git clone .*missing failed: fatal: repository '.*missing' does not exist$/,
    );
    expect(await setupError(prepare({ repository: repo, branch: 'nope', entry_point: 'src/train.mjs' }))).toBe(
      'setup failed at checkout: branch nope is not in <repo>',
    );
    expect(await setupError(prepare({ repository: repo, version_num: 'f'.repeat(40), branch: 'main', entry_point: 'src/train.mjs' }))).toBe(
      `setup failed at checkout: commit ${'f'.repeat(40)} is not in <repo> (recorded branch: main)`,
    );
    const badDiff = 'diff --git a/src/train.mjs b/src/train.mjs\n--- a/src/train.mjs\n+++ b/src/train.mjs\n@@ -1 +1 @@\n-not there\n+x\n';
    expect(await setupError(prepare({ repository: repo, entry_point: 'src/train.mjs', diff: badDiff }))).toMatch(
      /^setup failed at apply diff: git apply failed: .*patch failed: src\/train.mjs:1/,
    );
    expect(await setupError(prepare({ repository: repo, entry_point: 'src/other.mjs' }))).toBe(
      'setup failed at prepare: the entry point src/other.mjs is not in the working copy of <repo>',
    );
    expect(await setupError(prepare({ repository: '', entry_point: '../escape.sh', diff: 'x' }))).toBe(
      'setup failed at write script: the entry point "../escape.sh" points outside the working copy',
    );
    expect(await setupError(prepare({ repository: '', entry_point: 'a.mjs', diff: '' }))).toBe(
      'setup failed at prepare: the task has neither a repository nor a stored script (script.diff is empty)',
    );
    expect(await setupError(prepare({ repository: repo, entry_point: '' }))).toBe(
      'setup failed at prepare: the task records no entry point (script.entry_point); set one with tasklane task create --script',
    );
  });
});

describe('installDependencies and linkSdk', () => {
  it('installs nothing without a lock file or requirements, and links this agent\'s SDK into node_modules', async () => {
    const copy = await prepare({ repository: '', entry_point: 'a.mjs', diff: 'import "tasklane";\n' });
    const dirs = await installDependencies({ copy, requirements: { node: 'v20' }, npmCacheDir: join(dir, 'cache'), run, say });
    expect(dirs).toEqual([copy.root]);
    expect(said.at(-1)).toBe('no npm dependencies to install (no lock file, no recorded requirements)');
    await linkSdk(dirs);
    await linkSdk(dirs); // again: replaces the links
    const sdk = realpathSync(join(copy.root, 'node_modules/tasklane'));
    expect(JSON.parse(await readFile(join(sdk, 'package.json'), 'utf8'))).toMatchObject({ name: 'tasklane' });
    expect(await readlink(join(copy.root, 'node_modules/@tasklane/protocol'))).toMatch(/protocol$/);
    const imported = await runCommand(process.execPath, ['-e', 'import("tasklane").then((m) => console.log(typeof m.Task))'], {
      cwd: copy.root,
      env: process.env,
    });
    expect(imported.lastLines).toEqual(['function']);
  });

  it('fails at install with npm\'s own reason', async () => {
    const copy = await prepare({ repository: '', entry_point: 'a.mjs', diff: 'x' });
    await writeFile(join(copy.root, 'package-lock.json'), '{ not json');
    await writeFile(join(copy.root, 'package.json'), '{"name":"x","version":"1.0.0"}');
    const error = await setupError(installDependencies({ copy, requirements: undefined, npmCacheDir: join(dir, 'cache'), run, say }));
    expect(error).toMatch(/^setup failed at install: npm ci failed: /);
  });
});
