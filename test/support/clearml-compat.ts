import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';
import type { LoggedRequest } from './request-log.js';
import { WORKSPACE_ROOT } from './workspace-build.js';

/**
 * Debian's interpreter: it sees Debian's python3-* packages that ClearML's clients need (a pyenv `python3` on PATH
 * does not).
 */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** A PATH of the system's folders only, so clearml-agent finds Debian's `python3.x` for a task, not a pyenv shim. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The folder with ClearML's own Python SDK and agent, unmodified (`setup.sh` and `vendor/`): `TASKLANE_CLEARML_COMPAT`,
 * or `../shared/compat` beside the repository.
 */
export function locateClearmlCompat(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(WORKSPACE_ROOT, env.TASKLANE_CLEARML_COMPAT || '../shared/compat');
}

/** Why ClearML's clients cannot be run here, or `undefined` when they can. */
export function whyClearmlCompatIsMissing(compatDir: string): string | undefined {
  if (!existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} is missing (Debian's python3)`;
  if (!existsSync(resolve(compatDir, 'setup.sh'))) {
    return `no ClearML compat folder at ${compatDir} (set TASKLANE_CLEARML_COMPAT to the folder holding setup.sh)`;
  }
  return undefined;
}

/**
 * `describe(title, body)` where ClearML's clients can run; elsewhere the suite is skipped, saying why, except in CI
 * (`CI` set), where a missing compat folder fails instead: there the compat tests must run.
 */
export function describeWithClearmlCompat(title: string, options: { timeout: number }, body: () => void): void {
  const unavailable = whyClearmlCompatIsMissing(locateClearmlCompat());
  if (unavailable && process.env.CI) {
    describe(title, () => {
      it("has ClearML's clients to run (in CI this must not be skipped)", () => {
        throw new Error(`${unavailable}. CI runs bash .ci/run beside a copy of shared/, which has compat/.`);
      });
    });
    return;
  }
  if (unavailable) console.warn(`Skipping "${title}": ${unavailable}.`);
  describe.skipIf(unavailable !== undefined)(unavailable ? `${title} (skipped: ${unavailable})` : title, options, body);
}

/** PYTHONPATHs under which `from clearml import Task` and `python3 -m clearml_agent` work. */
export interface ClearmlPythonPaths {
  sdk: string;
  agent: string;
}

/** Runs the compat folder's `setup.sh` (idempotent: unpacks the clients, installs missing Debian packages). */
export async function setupClearmlCompat(compatDir: string): Promise<ClearmlPythonPaths> {
  const { code, stdout, stderr } = await runProcess('bash', [resolve(compatDir, 'setup.sh')], { env: process.env, timeoutMs: 300_000 });
  const sdk = /^CLEARML_SDK_PYTHONPATH=(.+)$/m.exec(stdout)?.[1];
  const agent = /^CLEARML_AGENT_PYTHONPATH=(.+)$/m.exec(stdout)?.[1];
  if (code !== 0 || !sdk || !agent) {
    throw new Error(`bash ${compatDir}/setup.sh failed (exit code ${code}):\n${stdout}${stderr}`);
  }
  return { sdk, agent };
}

export interface ClearmlEnvOptions {
  serverUrl: string;
  /** A fresh HOME: ClearML keeps its config, caches and task-reuse state under ~/.clearml. */
  home: string;
  /** TMPDIR: the clients' temporary files (downloads, the agent's output files) stay in the test's folder. */
  tmpDir: string;
  pythonPath: string;
  /** Git does not look for a repository above this folder, so a script there is recorded as standalone. */
  gitCeiling: string;
  /** The key pair the clients log in with. @default dummy keys (a server with auth off does not check them) */
  credentials?: ClearmlCredentials;
}

/** A key pair as `tasklane credentials create --json` prints it. */
export interface ClearmlCredentials {
  access_key: string;
  secret_key: string;
}

/**
 * The whole environment for ClearML's clients (nothing inherited from this process): Tasklane's API with the
 * built-in file server under `/files` on the same port, so the SDK sends its session's Bearer token with uploads and
 * downloads there (it does so only for URLs under its configured files host), and the key pair (dummy keys unless
 * given).
 */
export function clearmlEnv(options: ClearmlEnvOptions): Record<string, string> {
  return {
    PATH: SYSTEM_PATH,
    HOME: options.home,
    TMPDIR: options.tmpDir,
    LANG: 'C.UTF-8',
    PYTHONPATH: options.pythonPath,
    PYTHONUNBUFFERED: '1',
    GIT_CEILING_DIRECTORIES: options.gitCeiling,
    CLEARML_API_HOST: options.serverUrl,
    CLEARML_WEB_HOST: options.serverUrl,
    CLEARML_FILES_HOST: `${options.serverUrl}/files`,
    CLEARML_API_ACCESS_KEY: options.credentials?.access_key ?? 'tasklane-e2e-key',
    CLEARML_API_SECRET_KEY: options.credentials?.secret_key ?? 'tasklane-e2e-secret',
  };
}

/**
 * A folder `name` under `dir` to run one of ClearML's clients in, with a fresh HOME and TMPDIR inside it (ClearML
 * keeps config, caches and task-reuse state under ~/.clearml), and the environment for it; `dir` must lie outside any
 * git repository.
 */
export async function prepareClearmlRun(
  dir: string,
  name: string,
  options: { serverUrl: string; pythonPath: string; credentials?: ClearmlCredentials },
): Promise<{ cwd: string; env: Record<string, string> }> {
  const cwd = join(dir, name);
  await mkdir(join(cwd, 'home'), { recursive: true });
  await mkdir(join(cwd, 'tmp'));
  const env = clearmlEnv({ ...options, home: join(cwd, 'home'), tmpDir: join(cwd, 'tmp'), gitCeiling: dir });
  return { cwd, env };
}

/**
 * Calls ClearML's clients make that Tasklane refuses today, each with why that is accepted; any other refusal fails
 * the compat tests.
 */
export const ACCEPTED_CLEARML_REFUSALS: Readonly<Record<string, string>> = {
  'queues.get_by_id 404': "the SDK first looks a queue up with its name as the id, then falls back to queues.get_all (as with ClearML's server)",
  'workers.get_runtime_properties 404': "not in ClearML's open-source server either; the agent tolerates it",
  'workers.unregister 404': 'the daemon unregisters twice as it stops; the second finds no worker, and the agent only logs it',
};

/** The refused requests (status ≥ 400) that {@link ACCEPTED_CLEARML_REFUSALS} does not list, as `endpoint status` lines. */
export function unexpectedClearmlRefusals(requests: readonly LoggedRequest[]): string[] {
  return requests
    .filter((r) => r.status >= 400)
    .map((r) => `${r.endpoint} ${r.status}`)
    .filter((key) => !(key in ACCEPTED_CLEARML_REFUSALS));
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end in its own process group, with exactly `env`; past `timeoutMs` the group is killed
 * (ClearML's SDK forks helpers that would outlive a killed parent) and the output says so.
 */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]\n`;
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs `/usr/bin/python3 ARGS` as {@link runProcess} does. */
export function runSystemPython(args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<ProcessResult> {
  return runProcess(SYSTEM_PYTHON, args, options);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** A `python3 -m clearml_agent daemon` child process. */
export interface ClearmlAgentDaemon {
  output(): string;
  /** SIGTERM, then waits for it to exit (SIGKILL to its process group after 15 s); answers the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts ClearML's own agent as a daemon serving `queue`, in the foreground (its and its tasks' output in
 * `output()`), with `CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL`: it runs tasks with the interpreter and packages it has
 * itself, no virtual environment and no pip (no package index needed).
 */
export function startClearmlAgentDaemon(options: { queue: string; workerId: string; cwd: string; env: Record<string, string> }): ClearmlAgentDaemon {
  const env = { ...options.env, CLEARML_AGENT_SKIP_PYTHON_ENV_INSTALL: '1', CLEARML_WORKER_ID: options.workerId };
  const child = spawn(SYSTEM_PYTHON, ['-m', 'clearml_agent', 'daemon', '--queue', options.queue, '--foreground'], {
    cwd: options.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (out += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const exited = new Promise<number | null>((resolveExit) => child.once('close', (code) => resolveExit(code)));
  return {
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      // The tasks it ran have ended (their status is final), so nothing of the group should be left; if it is, end it.
      killGroup(child, 'SIGKILL');
      return code;
    },
  };
}
