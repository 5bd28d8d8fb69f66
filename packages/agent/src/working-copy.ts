import { existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Script } from '@tasklane/protocol';
import type { CommandResult } from './run-command.js';
import { SetupError } from './setup-error.js';

/** Runs a setup command (its output goes to the task's console) and answers how it ended. */
export type SetupRunner = (command: string, args: readonly string[], cwd: string, options?: { isQuiet?: boolean }) => Promise<CommandResult>;

/** Where the task's code was laid out. */
export interface WorkingCopy {
  /** The repository root (or the folder holding the stored script). */
  root: string;
  /** The folder the process runs in: `script.working_dir` under the root. */
  cwd: string;
  /** The entry script, absolute ('' when the task has none: a `tasklane run` command of a program on PATH). */
  entry: string;
  /** The commit checked out, when there is a repository. */
  commit?: string;
}

export interface PrepareWorkingCopyOptions {
  script: Script;
  /** A new folder for this run (removed first if it exists). */
  dir: string;
  run: SetupRunner;
  /** Tells the user what happens (a line in the task's console). */
  say: (line: string) => void;
  /**
   * Whether the task must have an entry script. A `tasklane run` task may have none (`echo hi`, `torchrun ...`): it
   * then runs in its repository, or in an empty folder. @default true
   */
  needsEntry?: boolean;
}

/** The environment for git: no prompts (an agent has no terminal), no GIT_* of the caller pointing elsewhere. */
export function gitEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('GIT_')));
  return {
    ...clean,
    GIT_TERMINAL_PROMPT: '0',
    ...(env.GIT_SSH_COMMAND ? { GIT_SSH_COMMAND: env.GIT_SSH_COMMAND } : { GIT_SSH_COMMAND: 'ssh -o BatchMode=yes' }),
  };
}

function firstLines(result: CommandResult, count = 3): string {
  const lines = result.lastLines.filter((line) => !/^\s*$/.test(line));
  return lines.length > 0 ? lines.slice(-count).join(' / ') : `exit code ${String(result.code ?? result.signal)}`;
}

/** A path inside `root`, or a SetupError when the recorded path would leave it. */
function inside(root: string, path: string, what: string, step: 'prepare' | 'write script'): string {
  const full = resolve(root, path);
  const rel = relative(root, full);
  if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new SetupError(step, `the ${what} "${path}" points outside the working copy`);
  }
  return full;
}

/**
 * Lays out the task's code in `dir`: clones the recorded repository (a URL or a local path), checks out the
 * recorded commit (the branch head when there is none), applies the recorded uncommitted diff; or, without a
 * repository, writes the stored script as the entry point. Throws a {@link SetupError} naming the step.
 */
export async function prepareWorkingCopy(options: PrepareWorkingCopyOptions): Promise<WorkingCopy> {
  const { script, dir, run, say } = options;
  await rm(dir, { recursive: true, force: true });
  const repository = script.repository?.trim() ?? '';
  const entryPoint = script.entry_point?.trim() ?? '';
  const needsEntry = options.needsEntry ?? true;
  if (entryPoint === '' && needsEntry) {
    throw new SetupError('prepare', 'the task records no entry point (script.entry_point); set one with tasklane task create --script');
  }
  let commit: string | undefined;
  if (repository === '' && entryPoint === '') {
    await mkdir(dir, { recursive: true });
  } else if (repository === '') {
    const diff = script.diff ?? '';
    if (diff.trim() === '') {
      throw new SetupError('prepare', 'the task has neither a repository nor a stored script (script.diff is empty)');
    }
    await mkdir(dir, { recursive: true });
    const file = inside(dir, entryPoint, 'entry point', 'write script');
    say(`writing the stored script to ${entryPoint} (the task has no repository)`);
    try {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, diff, { mode: 0o755 });
    } catch (error) {
      throw new SetupError('write script', (error as Error).message, { cause: error });
    }
  } else {
    commit = await cloneAndCheckout(script, repository, dir, run, say);
    const diff = script.diff ?? '';
    if (diff.trim() !== '') {
      const diffFile = `${dir}.diff`;
      await writeFile(diffFile, diff.endsWith('\n') ? diff : `${diff}\n`);
      say(`applying the recorded uncommitted changes (${diff.split('\n').length} diff lines)`);
      try {
        const applied = await run('git', ['apply', '--whitespace=nowarn', diffFile], dir);
        if (applied.code !== 0) throw new SetupError('apply diff', `git apply failed: ${firstLines(applied)}`);
      } finally {
        await rm(diffFile, { force: true });
      }
    }
  }
  const cwd = inside(dir, script.working_dir?.trim() || '.', 'working directory', 'prepare');
  const entry = entryPoint === '' ? '' : inside(dir, entryPoint, 'entry point', 'prepare');
  if (entry !== '' && !existsSync(entry)) {
    throw new SetupError('prepare', `the entry point ${entryPoint} is not in the working copy${repository ? ` of ${repository}` : ''}`);
  }
  const cwdStat = await stat(cwd).catch(() => undefined);
  if (!cwdStat?.isDirectory()) {
    await mkdir(cwd, { recursive: true }).catch((error: unknown) => {
      throw new SetupError('prepare', `cannot make the working directory ${script.working_dir}: ${(error as Error).message}`);
    });
  }
  return { root: dir, cwd, entry, commit };
}

async function cloneAndCheckout(script: Script, repository: string, dir: string, run: SetupRunner, say: (line: string) => void): Promise<string> {
  const branch = script.branch?.trim() ?? '';
  const wanted = script.version_num?.trim() ?? '';
  say(`cloning ${repository}${wanted ? ` at commit ${wanted}` : branch ? ` at the head of branch ${branch}` : ''}`);
  await mkdir(dirname(dir), { recursive: true });
  const cloned = await run('git', ['clone', '--no-checkout', '--quiet', '--', repository, dir], dirname(dir));
  if (cloned.code !== 0) throw new SetupError('clone', `git clone ${repository} failed: ${firstLines(cloned)}`);

  const ref = wanted || (branch ? `origin/${branch}` : 'HEAD');
  const revParse = () => run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], dir, { isQuiet: true });
  let resolved = await revParse();
  if (resolved.code !== 0 && wanted) {
    // A commit no branch holds is not cloned; servers that allow it hand it out by id.
    await run('git', ['fetch', '--quiet', 'origin', wanted], dir, { isQuiet: true });
    resolved = await revParse();
  }
  if (resolved.code !== 0) {
    const what = wanted ? `commit ${wanted}` : branch ? `branch ${branch}` : 'a default branch with commits';
    throw new SetupError('checkout', `${what} is not in ${repository}${wanted && branch ? ` (recorded branch: ${branch})` : ''}`);
  }
  const commit = resolved.lastLines[0]?.trim() ?? ref;
  const checkedOut = await run('git', ['-c', 'advice.detachedHead=false', 'checkout', '--quiet', '--force', '--detach', commit], dir);
  if (checkedOut.code !== 0) throw new SetupError('checkout', `git checkout ${commit} failed: ${firstLines(checkedOut)}`);
  if (existsSync(join(dir, '.gitmodules'))) {
    say('updating git submodules');
    const submodules = await run('git', ['submodule', 'update', '--init', '--recursive', '--quiet'], dir);
    if (submodules.code !== 0) throw new SetupError('checkout', `git submodule update failed: ${firstLines(submodules)}`);
  }
  return commit;
}
