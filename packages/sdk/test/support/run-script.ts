import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/** How a script run ended, and what it printed. */
export interface ScriptRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The task id the SDK printed ("task <id> created", "reusing task <id>", "continuing task <id>"), if any. */
  taskId: string | undefined;
}

export interface ScriptOptions {
  /** Working directory of the child. */
  cwd: string;
  /** TASKLANE_* settings (and anything else) on top of the cleaned environment. */
  env: Record<string, string>;
  /** Killed with SIGKILL after this long. @default 20000 */
  timeoutMs?: number;
}

/** A running script, for tests that act while it runs (signals). */
export interface RunningScript {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (rejects if the script ends first). */
  waitForLine(pattern: RegExp): Promise<string>;
  /** Resolves when the script has ended. */
  done: Promise<ScriptRun>;
}

const TASK_ID_LINE = /^Tasklane: (?:task|reusing task|continuing task) ([0-9a-f]{32})\b/m;

/**
 * The environment of a script: the test process's, minus TASKLANE_*, GIT_* and NODE_OPTIONS (a developer's settings
 * must not leak into the runs), plus `env`.
 */
export function scriptEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TASKLANE_') && !key.startsWith('GIT_') && key !== 'NODE_OPTIONS'),
  );
  return { ...base, ...env };
}

/** Starts `node <script> ...args` (script relative to `cwd`, or absolute). */
export function startScript(script: string, args: readonly string[], options: ScriptOptions): RunningScript {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [join(options.cwd, script), ...args], {
    cwd: options.cwd,
    env: scriptEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lineWaiters: Array<{ pattern: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of [...lineWaiters]) {
      const line = stdout.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<ScriptRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const waiter of lineWaiters.splice(0)) {
        waiter.reject(new Error(`${script} ended (code ${code}, signal ${signal}) before printing ${waiter.pattern}:\n${stdout}\n${stderr}`));
      }
      resolve({ code, signal, stdout, stderr, durationMs: performance.now() - startedAt, taskId: TASK_ID_LINE.exec(stdout)?.[1] });
    });
  });
  return {
    child,
    done,
    waitForLine: (pattern) =>
      new Promise((resolve, reject) => {
        const line = stdout.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) resolve(line);
        else if (child.exitCode !== null || child.signalCode !== null) reject(new Error(`${script} already ended`));
        else lineWaiters.push({ pattern, resolve, reject });
      }),
  };
}

/** Runs `node <script> ...args` to its end. */
export function runScript(script: string, args: readonly string[], options: ScriptOptions): Promise<ScriptRun> {
  return startScript(script, args, options).done;
}

/** The task id a run printed; throws with the run's output when there is none (easier to read than `undefined`). */
export function taskIdOf(run: ScriptRun): string {
  if (!run.taskId) {
    throw new Error(`the script printed no task id (code ${run.code}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}`);
  }
  return run.taskId;
}
