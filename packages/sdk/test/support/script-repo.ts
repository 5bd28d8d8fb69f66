import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SDK_DIR } from './build-sdk.js';

const execFileAsync = promisify(execFile);

/** The real examples, copied into the scripts' repository under `examples/`. */
export const EXAMPLES_DIR = join(REPO_ROOT, 'examples');
/** Small scripts for what the examples do not show, copied under `fixtures/`. */
export const FIXTURE_SCRIPTS_DIR = join(SDK_DIR, 'test/fixtures/scripts');

export const ORIGIN_URL = 'https://example.com/team/project.git';
export const BRANCH = 'main';
/** The uncommitted change to a tracked file (appended to examples/train-basic.mjs). */
export const TRACKED_CHANGE = '// lr tuned locally, not committed yet';
export const UNTRACKED_FILE = 'src/new-helper.mjs';
export const UNTRACKED_CONTENT = 'export const warmupSteps = 100;\n';

/** A temporary git repository holding the examples and fixture scripts, as a user's project would. */
export interface ScriptRepo {
  /** Temp folder holding the repository and everything else of the test file (state dirs, config home). */
  dir: string;
  /** The repository's root (realpath). */
  root: string;
  /** `git rev-parse HEAD`. */
  head: string;
  /** SHA-256 (hex) of the repository's package-lock.json. */
  lockSha256: string;
  /** Versions of commander and yargs installed (what `node_modules/<name>` resolves to). */
  installed: { commander: string; yargs: string };
  /** A new empty folder for the SDK's reuse cache (`TASKLANE_STATE_DIR`). */
  newStateDir(): Promise<string>;
  /** A folder outside any git repository holding a copy of the given example and a `node_modules/tasklane` link. */
  newLooseDir(example: string): Promise<string>;
  cleanup(): Promise<void>;
}

async function git(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, env: gitEnv() });
  return stdout.trim();
}

/** The environment without GIT_* variables of the caller (a GIT_DIR would point git elsewhere). */
function gitEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
}

async function copyAll(from: string, to: string, filter: (name: string) => boolean): Promise<string[]> {
  await mkdir(to, { recursive: true });
  const names = (await readdir(from)).filter(filter);
  await Promise.all(names.map((name) => copyFile(join(from, name), join(to, name))));
  return names;
}

async function linkPackages(dir: string, names: string[]): Promise<void> {
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  for (const name of names) {
    const target = name === 'tasklane' ? SDK_DIR : join(REPO_ROOT, 'node_modules', name);
    await symlink(target, join(dir, 'node_modules', name), 'dir');
  }
}

async function versionOf(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Makes the repository: package.json (commander, yargs) and package-lock.json, `node_modules/` links to the built
 * SDK and the workspace's commander and yargs (ignored by git), the examples and fixture scripts; one commit on
 * `main` with an `origin` remote (never fetched); then an uncommitted change to a tracked file and a new untracked
 * source file.
 */
export async function makeScriptRepo(): Promise<ScriptRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-sdk-int-'));
  const root = join(dir, 'repo');
  await mkdir(root);
  const [commander, yargs] = await Promise.all([versionOf('commander'), versionOf('yargs')]);
  const lock = JSON.stringify({ name: 'ml-project', lockfileVersion: 3, packages: { '': { dependencies: { commander, yargs } } } }, null, 2);
  await Promise.all([
    writeFile(
      join(root, 'package.json'),
      JSON.stringify({ name: 'ml-project', private: true, type: 'module', dependencies: { commander: `^${commander}`, yargs: `^${yargs}` } }, null, 2),
    ),
    writeFile(join(root, 'package-lock.json'), lock),
    writeFile(join(root, '.gitignore'), 'node_modules/\n'),
    copyAll(EXAMPLES_DIR, join(root, 'examples'), (name) => name.endsWith('.mjs')),
    copyAll(FIXTURE_SCRIPTS_DIR, join(root, 'fixtures'), (name) => name.endsWith('.mjs')),
    linkPackages(root, ['tasklane', 'commander', 'yargs']),
  ]);
  await git(root, ['init', '--quiet', '--initial-branch', BRANCH]);
  await git(root, ['config', 'user.name', 'Test User']);
  await git(root, ['config', 'user.email', 'test@example.com']);
  await git(root, ['config', 'commit.gpgsign', 'false']);
  await git(root, ['remote', 'add', 'origin', ORIGIN_URL]);
  await git(root, ['add', '--all']);
  await git(root, ['commit', '--quiet', '--message', 'initial']);
  const head = await git(root, ['rev-parse', 'HEAD']);

  const trainBasic = join(root, 'examples/train-basic.mjs');
  await writeFile(trainBasic, `${await readFile(trainBasic, 'utf8')}${TRACKED_CHANGE}\n`);
  await mkdir(join(root, 'src'));
  await writeFile(join(root, UNTRACKED_FILE), UNTRACKED_CONTENT);

  let stateDirs = 0;
  let looseDirs = 0;
  return {
    dir,
    root,
    head,
    lockSha256: createHash('sha256').update(lock).digest('hex'),
    installed: { commander, yargs },
    async newStateDir() {
      const stateDir = join(dir, `state-${++stateDirs}`);
      await mkdir(stateDir);
      return stateDir;
    },
    async newLooseDir(example) {
      const loose = join(dir, `loose-${++looseDirs}`);
      await mkdir(loose);
      await copyFile(join(EXAMPLES_DIR, example), join(loose, example));
      await linkPackages(loose, ['tasklane']);
      return loose;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
