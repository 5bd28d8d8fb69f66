import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';

/** Programs that run a script file given as their first non-option argument. */
const INTERPRETER = /^(python[\d.]*|pypy[\d.]*|node|nodejs|bash|sh|dash|zsh|ksh|fish|ruby|perl|Rscript|julia|lua[\d.]*|php|tsx|ts-node)$/;
/** Interpreter options whose value is the next word (`python3 -W ignore train.py`, `node -r ts-node/register x.ts`). */
const OPTIONS_WITH_VALUE = new Set(['-W', '-X', '-r', '--require', '--import', '--loader', '--experimental-loader', '-o']);
/** Interpreter options after which there is no script file (a module, inline code). */
const NO_SCRIPT_OPTIONS = new Set(['-m', '-c', '-e', '--eval', '-p', '--print']);
/** How to ask an interpreter its version (the first line of the answer is kept). */
const VERSION_ARGS: Record<string, string[]> = { perl: ['-e', 'print "perl $^V\\n"'], Rscript: ['--version'], php: ['--version'] };

/** What a command line is, as `tasklane run` records it. */
export interface CommandShape {
  /** The program as typed: `python3`, `./train`, `/usr/bin/env`. */
  program: string;
  /** The program's base name when it is a known interpreter (`python3`), else undefined. */
  interpreter?: string;
  /** Index in the words after the program of the script the interpreter runs, when there is one. */
  entryIndex?: number;
  /** The file that is the task's code: the interpreter's script, or the program when it is a path (`./train.sh`). */
  entryFile?: string;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads a command line: which program, whether it is an interpreter, and which word is its script (a file that
 * exists, after the interpreter's own options).
 *
 * @example describeCommand(['python3', '-u', 'train.py', '--lr', '0.1'], '/srv/exp')
 * // { program: 'python3', interpreter: 'python3', entryIndex: 1, entryFile: '/srv/exp/train.py' }
 */
export function describeCommand(words: readonly string[], cwd: string): CommandShape {
  const [program = '', ...rest] = words;
  const name = basename(program);
  if (!INTERPRETER.test(name)) {
    const isPath = program.includes('/');
    return { program, entryFile: isPath && isFile(resolve(cwd, program)) ? resolve(cwd, program) : undefined };
  }
  for (let index = 0; index < rest.length; index += 1) {
    const word = rest[index]!;
    if (NO_SCRIPT_OPTIONS.has(word)) break;
    if (word === '--') continue;
    if (word.startsWith('-')) {
      if (OPTIONS_WITH_VALUE.has(word)) index += 1;
      continue;
    }
    const file = resolve(cwd, word);
    return isFile(file) ? { program, interpreter: name, entryIndex: index, entryFile: file } : { program, interpreter: name };
  }
  return { program, interpreter: name };
}

/** Tells whether `program` can be started: a path to an existing file, or a name found on PATH. */
export function findProgram(program: string, cwd: string, path = process.env.PATH ?? ''): boolean {
  if (program.includes('/')) return existsSync(resolve(cwd, program));
  return path.split(':').some((dir) => dir !== '' && isFile(resolve(dir, program)));
}

/** The interpreter's version (`Python 3.12.1`, `v20.19.0`, `GNU bash, version 5.2...`), or undefined after 5 s. */
export function interpreterVersion(program: string, interpreter: string): Promise<string | undefined> {
  const args = VERSION_ARGS[interpreter.replace(/[\d.]+$/, '')] ?? ['--version'];
  return new Promise((done) => {
    execFile(program, args, { timeout: 5000, env: process.env }, (error, stdout, stderr) => {
      if (error) return done(undefined);
      const line = `${stdout}\n${stderr}`.split('\n').map((l) => l.trim()).find((l) => l !== '');
      done(line?.slice(0, 200));
    });
  });
}
