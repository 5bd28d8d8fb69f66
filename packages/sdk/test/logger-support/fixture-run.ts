import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SDK_DIR } from './build-packages.js';

/** The fixture scripts, copied into a temp folder where `import 'tasklane'` resolves to the built SDK. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../logger-fixtures');

/**
 * A temp folder outside any git repository holding copies of the fixture scripts, `node_modules/tasklane` linked to
 * the SDK package, and a state dir for the SDK (its reuse cache and spill files).
 */
export interface FixtureDir {
  dir: string;
  stateDir: string;
  cleanup(): Promise<void>;
}

export async function makeFixtureDir(): Promise<FixtureDir> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-logger-fixtures-'));
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  await symlink(SDK_DIR, join(dir, 'node_modules/tasklane'), 'dir');
  const names = (await readdir(FIXTURES_DIR)).filter((n) => n.endsWith('.mjs'));
  await Promise.all(names.map((n) => copyFile(join(FIXTURES_DIR, n), join(dir, n))));
  const stateDir = join(dir, 'state');
  return { dir, stateDir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** How a fixture run ended and what it printed. */
export interface FixtureResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fixture script running in a child process. */
export interface FixtureRun {
  child: ChildProcess;
  /** Resolves with the first `@@<marker> <json>` line's JSON once the script prints it. */
  marker<T = Record<string, unknown>>(name: string, timeoutMs?: number): Promise<T>;
  /** Writes one line to the script's stdin (fixtures wait for commands such as "go" there). */
  send(line: string): void;
  /** Resolves when the script has ended. */
  done: Promise<FixtureResult>;
}

export interface FixtureOptions {
  /** The server the SDK talks to (TASKLANE_API_HOST). */
  apiHost: string;
  stateDir: string;
  /** Handed to the script as JSON in LOGGER_FIXTURE_INPUT. */
  input?: unknown;
  env?: Record<string, string>;
  /** The script is killed past this. @default 30000 */
  timeoutMs?: number;
}

export function startFixture(fixtures: FixtureDir, script: string, options: FixtureOptions): FixtureRun {
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TASKLANE_') && !key.startsWith('VITEST'))),
    TASKLANE_API_HOST: options.apiHost,
    TASKLANE_STATE_DIR: options.stateDir,
    XDG_CONFIG_HOME: join(fixtures.dir, 'config-home'),
    TASKLANE_FLUSH_INTERVAL_MS: '100',
    LOGGER_FIXTURE_INPUT: JSON.stringify(options.input ?? {}),
    ...options.env,
  };
  const child = spawn(process.execPath, [join(fixtures.dir, script)], { cwd: fixtures.dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdin!.on('error', () => undefined);
  const timeout = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<FixtureResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timeout);
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal, stdout, stderr });
    });
  });
  let hasEnded = false;
  void done.then(() => {
    hasEnded = true;
  });

  const findMarker = (name: string): string | undefined =>
    stdout
      .split('\n')
      .find((line) => line.startsWith(`@@${name} `))
      ?.slice(name.length + 3);

  return {
    child,
    done,
    send: (line) => {
      child.stdin!.write(`${line}\n`);
    },
    marker: async <T>(name: string, timeoutMs = 20_000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = findMarker(name);
        if (found !== undefined) return JSON.parse(found) as T;
        if (hasEnded || Date.now() > deadline) {
          const result = await Promise.race([done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10))]);
          throw new Error(
            `${script} did not print @@${name}${result ? ` (exit code ${result.code}, signal ${result.signal})` : ' in time'}\n` +
              `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
          );
        }
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, Math.max(0, deadline - Date.now()) + 1);
          waiters.push(() => {
            clearTimeout(timer);
            wake();
          });
        });
      }
    },
  };
}

/** Runs a fixture script to its end and answers its result and the task id it printed (`@@task {"id": ...}`). */
export async function runFixture(
  fixtures: FixtureDir,
  script: string,
  options: FixtureOptions,
): Promise<FixtureResult & { taskId: string }> {
  const run = startFixture(fixtures, script, options);
  const result = await run.done;
  if (result.code !== 0) {
    throw new Error(`${script} exited with code ${result.code} (signal ${result.signal})\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
  const { id } = await run.marker<{ id: string }>('task', 0);
  return { ...result, taskId: id };
}
