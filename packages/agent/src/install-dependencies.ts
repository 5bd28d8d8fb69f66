import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { npmSpecsFromRequirements, PROVIDED_PACKAGES } from './npm-requirements.js';
import { SetupError } from './setup-error.js';
import type { SetupRunner, WorkingCopy } from './working-copy.js';

const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json'];

export interface InstallOptions {
  copy: WorkingCopy;
  /** `script.requirements` of the task (`npm`: one `name@version` per line). */
  requirements: Record<string, unknown> | undefined;
  /** npm's cache, shared by the runs of this agent (repeat installs come from it). */
  npmCacheDir: string;
  run: SetupRunner;
  say: (line: string) => void;
}

/** The npm that belongs to the running Node.js (so nvm and similar setups use the matching pair), else `npm`. */
export function npmCommand(): string {
  const beside = join(dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}

/**
 * Installs the task's dependencies: `npm ci` where a lock file is (the working directory, else the repository
 * root), else `npm install` of the recorded requirements into the root (nothing when there are none). Answers the
 * folders whose `node_modules` the script resolves from, for {@link linkSdk}.
 */
export async function installDependencies(options: InstallOptions): Promise<string[]> {
  const { copy, run, say } = options;
  const common = ['--cache', options.npmCacheDir, '--no-audit', '--no-fund', '--no-progress', '--prefer-offline'];
  const candidates = [...new Set([copy.cwd, copy.root])];
  const lockDir = candidates.find((dir) => LOCK_FILES.some((name) => existsSync(join(dir, name))));
  if (lockDir) {
    const where = lockDir === copy.root ? 'the repository root' : lockDir.slice(copy.root.length + 1);
    say(`installing dependencies: npm ci in ${where}`);
    const result = await runNpm(run, ['ci', '--prefix', lockDir, ...common], lockDir);
    if (result.code !== 0) throw new SetupError('install', `npm ci failed: ${npmReason(result.lastLines)}`);
    return [...new Set([lockDir, copy.root])];
  }
  const specs = npmSpecsFromRequirements(options.requirements);
  if (specs.length === 0) {
    say('no npm dependencies to install (no lock file, no recorded requirements)');
    return [copy.root];
  }
  say(`installing dependencies: npm install ${specs.join(' ')}`);
  const result = await runNpm(run, ['install', '--prefix', copy.root, '--no-save', '--no-package-lock', ...common, ...specs], copy.root);
  if (result.code !== 0) throw new SetupError('install', `npm install failed: ${npmReason(result.lastLines)}`);
  return [copy.root];
}

function runNpm(run: SetupRunner, args: string[], cwd: string) {
  return run(npmCommand(), args, cwd).catch((error: unknown) => {
    throw new SetupError('install', `cannot run npm (${(error as Error).message}); install Node.js with npm on this machine`, { cause: error });
  });
}

/** npm's own error lines (`npm error ...`), else its last lines. */
function npmReason(lines: string[]): string {
  const errors = lines.filter((line) => /^npm (ERR!|error)/.test(line)).map((line) => line.replace(/^npm (ERR!|error)\s*/, ''));
  const picked = (errors.length > 0 ? errors : lines).filter((line) => line.trim() !== '').slice(0, 4);
  return picked.join(' / ') || 'no output';
}

/** Where a package this agent depends on is installed (its folder, symlinks resolved). */
function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return realpathSync(dir);
    if (dirname(dir) === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = dirname(dir);
  }
}

/** The folders of the SDK packages the agent links into working copies (its own copies: no registry needed). */
export function sdkPackageDirs(): Record<string, string> {
  return Object.fromEntries(PROVIDED_PACKAGES.map((name) => [name, packageDir(name)]));
}

/**
 * Makes this agent's own `tasklane` SDK (and `@tasklane/protocol`) importable from the working copy: a symlink in
 * each folder's `node_modules`, replacing whatever was installed under that name.
 */
export async function linkSdk(dirs: readonly string[]): Promise<void> {
  let targets: Record<string, string>;
  try {
    targets = sdkPackageDirs();
  } catch (error) {
    throw new SetupError('link sdk', `${(error as Error).message}; reinstall the agent`, { cause: error });
  }
  for (const dir of dirs) {
    for (const [name, target] of Object.entries(targets)) {
      const link = join(dir, 'node_modules', name);
      try {
        await mkdir(dirname(link), { recursive: true });
        if (await lstat(link).catch(() => undefined)) await rm(link, { recursive: true, force: true });
        await symlink(target, link, 'dir');
      } catch (error) {
        throw new SetupError('link sdk', `cannot link ${link} → ${target}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
}
