import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { rm } from 'node:fs/promises';
import { TasklaneError, shortId, type Task, type TaskStatus } from '@tasklane/protocol';
import type { ApiClient, KeyPair } from 'tasklane/client';
import { agentApiClient } from './agent-client.js';
import { SILENT_LOG, type AgentLog } from './agent-log.js';
import { buildScriptArgs } from './command-line.js';
import { installDependencies, linkSdk } from './install-dependencies.js';
import { endGroup, signalGroup, spawnGroup, type GroupProcess, type ProcessExit } from './process-tree.js';
import { retryWhileUnreachable } from './retry-while-unreachable.js';
import { runCommand } from './run-command.js';
import { isRunTask, metricLineTaker, runTaskCommand } from './run-task.js';
import { RunAbortedError, SetupError } from './setup-error.js';
import { TaskConsole } from './task-console.js';
import { WorkerPresence } from './worker-presence.js';
import { gitEnv, prepareWorkingCopy, type SetupRunner } from './working-copy.js';

/** Options of {@link executeTask}. */
export interface ExecuteTaskOptions {
  /** The Tasklane server, e.g. `http://127.0.0.1:8008`. */
  apiUrl: string;
  taskId: string;
  /** Working copies go to `<workdir>/<task id>`; npm's cache to `<workdir>/.npm-cache`. */
  workdir: string;
  /** Name of this worker on the server. @default `<hostname>:<pid>` */
  workerName?: string;
  /** The file server the task uploads to. @default `<apiUrl>/files` */
  filesUrl?: string;
  /** How often the task's status is checked for an abort. @default 2000 */
  watchIntervalMs?: number;
  /** How often console lines are sent. @default 1000 */
  logFlushIntervalMs?: number;
  /** Time between SIGTERM and SIGKILL when ending the process tree. @default 3000 */
  killGraceMs?: number;
  /** @default `<workdir>/.npm-cache` */
  npmCacheDir?: string;
  /** Keep `<workdir>/<task id>` after the run (to look at it). @default false */
  keepWorkingCopy?: boolean;
  /** Aborting it ends the run: the process tree is ended and the task marked aborted ("agent stopped"). */
  signal?: AbortSignal;
  log?: AgentLog;
  /** The daemon's status reporter; without one, the run reports (and unregisters) a worker of its own. */
  presence?: WorkerPresence;
  /** The environment the task's process starts from (credentials in it are dropped: see `keyPair`). @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * The agent's key pair: its own requests log in with it, and the task's process gets it (TASKLANE_API_ACCESS_KEY /
   * TASKLANE_API_SECRET_KEY, and ClearML's names for a task not run by node) so its SDK reports where auth is on.
   * Setup steps (git, npm) never see it, and it is blanked out of the console. @default none
   */
  keyPair?: KeyPair | undefined;
  /** The daemon's API client, so a run does not log in again. @internal */
  api?: ApiClient;
  /** Told when the task's process has started (benchmarks, tests). */
  onProcessStart?: (pid: number) => void;
}

/** How a run ended. */
export interface TaskRunResult {
  taskId: string;
  /** The task's status as the agent left it. */
  status: TaskStatus;
  reason: string;
  /** The process's exit code (null when it was killed by a signal or never started). */
  exitCode: number | null;
  durationMs: number;
}

type AbortCause = 'user' | 'reset' | 'deleted' | 'shutdown';

/**
 * Environment variables of the agent's own launcher that must not leak into the task's process or its npm: npm's
 * own, the task settings of an SDK run, and every credential (the key pair is handed to the task process alone, from
 * `keyPair`; a server's token-signing secret never).
 */
const DROPPED_ENV =
  /^(npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_local_prefix$)|INIT_CWD$|TASKLANE_TASK_ID$|TASKLANE_OFFLINE_MODE$|(TASKLANE|CLEARML|TRAINS)_API_(ACCESS|SECRET)_KEY$|CLEARML_AUTH_TOKEN$|TASKLANE_AUTH_SECRET$)/;

/** The key pair as the task's process reads it: Tasklane's SDK, and ClearML's for a task not run by node (Python). */
function credentialEnv(keyPair: KeyPair | undefined, isNode: boolean): Record<string, string> {
  if (keyPair === undefined) return {};
  const tasklane = { TASKLANE_API_ACCESS_KEY: keyPair.accessKey, TASKLANE_API_SECRET_KEY: keyPair.secretKey };
  return isNode ? tasklane : { ...tasklane, CLEARML_API_ACCESS_KEY: keyPair.accessKey, CLEARML_API_SECRET_KEY: keyPair.secretKey };
}

const STATUS_REASON_MAX_CHARS = 2000;

/** The default worker name: unique per agent process on a machine. */
export function defaultWorkerName(): string {
  return `${hostname()}:${process.pid}`;
}

function baseEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !DROPPED_ENV.test(key)));
}

/** `node` runs on the agent's own Node.js; any other binary (`python3`, `bash`, `python3 -u`) is looked up on PATH. */
function interpreterOf(binary: string | undefined): { command: string; args: string[] } {
  const [command = 'node', ...args] = (binary?.trim() || 'node').split(/\s+/);
  return { command: /^node(js)?$/.test(command) ? process.execPath : command, args };
}

/** `exit code 1; last output:` and the last lines, cut to fit a status reason. */
export function failureReason(exit: ProcessExit, tail: readonly string[]): string {
  const head = exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`;
  const lines = tail.filter((line) => line.trim() !== '').slice(-20);
  if (lines.length === 0) return head;
  let body = lines.join('\n');
  const room = STATUS_REASON_MAX_CHARS - head.length - 20;
  if (body.length > room) body = `…${body.slice(body.length - room)}`;
  return `${head}; last output:\n${body}`;
}

/**
 * Runs one task the way an agent does: marks it running on this worker, lays out its code in
 * `<workdir>/<task id>` (clone at the recorded commit, apply the diff, or write the stored script), installs its
 * dependencies, links this agent's Tasklane SDK, and runs the entry point with the recorded interpreter and
 * arguments (edited values applied) and `TASKLANE_TASK_ID` set. The console goes to the task's log; an abort
 * (status "stopping", aborted or reset) ends the whole process tree. Exit 0 completes the task (unless the script
 * set its status), anything else fails it with the last output; setup problems fail it as `setup failed at <step>`.
 *
 * Resolves with the outcome; throws only when the task does not exist.
 *
 * @example
 * const result = await executeTask({ apiUrl: 'http://127.0.0.1:8008', taskId, workdir: '/tmp/agent' });
 */
export async function executeTask(options: ExecuteTaskOptions): Promise<TaskRunResult> {
  const startedAt = Date.now();
  const { taskId } = options;
  const worker = options.workerName ?? options.presence?.worker ?? defaultWorkerName();
  const log = (options.log ?? SILENT_LOG).child({ task: shortId(taskId) });
  const api = options.api ?? agentApiClient(options.apiUrl, worker, options.keyPair);
  const retry = <T>(what: string, call: () => Promise<T>, timeoutMs?: number) => retryWhileUnreachable(call, { what, log, timeoutMs });

  const { task } = await retry('read the task', () => api.call('tasks.get_by_id', { task: taskId }));
  const ownPresence = options.presence ? undefined : new WorkerPresence({ api, worker, log });
  const presence = options.presence ?? ownPresence!;
  ownPresence?.start();

  if (task.status === 'queued' && task.execution.queue) {
    // Run directly (agent execute) while it waits in a queue: take it out, so no daemon runs it too.
    await api.call('queues.remove_task', { queue: task.execution.queue, task: taskId }).catch(() => undefined);
  }
  try {
    await retry('mark the task running', () =>
      api.call('tasks.started', { task: taskId, force: true, status_message: `running on ${worker}` }),
    );
  } catch (error) {
    await ownPresence?.unregister();
    throw error;
  }
  await presence.setTask(taskId);
  await api
    .call('tasks.edit', { task: taskId, force: true, runtime: { ...task.runtime, worker, worker_hostname: hostname() } })
    .catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not record the worker in the task runtime'));
  log.info({ name: task.name }, 'task started');

  // A `tasklane run` task has no SDK inside: its metric lines become scalars here.
  const isRun = isRunTask(task);
  const taskConsole: TaskConsole = new TaskConsole({
    taskId,
    worker,
    flushIntervalMs: options.logFlushIntervalMs,
    takeLine: isRun ? metricLineTaker(() => taskConsole) : undefined,
    secrets: options.keyPair ? [options.keyPair.secretKey] : [],
    send: async (events) => void (await api.callJsonLines('events.add_batch', events)),
    onError: (error) => log.warn({ err: (error as Error).message }, 'could not send console lines yet (will retry)'),
  });
  taskConsole.start();

  // Aborts: from the server (watch), or the agent shutting down (options.signal).
  const runAbort = new AbortController();
  let abortCause: AbortCause | undefined;
  const abortRun = (cause: AbortCause) => {
    if (abortCause) return;
    abortCause = cause;
    log.info({ cause }, 'ending the task process tree');
    runAbort.abort();
  };
  const onShutdown = () => abortRun('shutdown');
  if (options.signal?.aborted) onShutdown();
  else options.signal?.addEventListener('abort', onShutdown, { once: true });
  const watcher = watchTask(api, taskId, options.watchIntervalMs ?? 2000, abortRun, log);

  const killGraceMs = options.killGraceMs ?? 3000;
  const dir = join(options.workdir, taskId);
  const env = baseEnv(options.env ?? process.env);
  const run: SetupRunner = (command, args, cwd, runOptions) =>
    runCommand(command, args, {
      cwd,
      env: command === 'git' ? gitEnv(env) : { ...env, npm_config_update_notifier: 'false' },
      signal: runAbort.signal,
      killGraceMs,
      onOutput: runOptions?.isQuiet ? undefined : (stream, chunk) => taskConsole.write(stream, chunk),
    });
  const say = (line: string) => {
    taskConsole.agentLine(line);
    log.info({}, line);
  };
  const checkAborted = () => {
    if (abortCause) throw new RunAbortedError(abortCause);
  };

  let exit: ProcessExit | undefined;
  let setupError: SetupError | undefined;
  let unexpected: unknown;
  try {
    say(`task ${taskId} ("${task.name}") on worker ${worker}`);
    const copy = await prepareWorkingCopy({ script: task.script, dir, run, say, needsEntry: !isRun });
    checkAborted();
    if (copy.commit && !task.script.version_num) {
      // As ClearML's agent: a task recorded without a commit learns the one it ran.
      await api.call('tasks.edit', { task: taskId, force: true, script: { version_num: copy.commit } }).catch(() => undefined);
    }
    const nodeModulesDirs = await installDependencies({
      copy,
      requirements: task.script.requirements,
      npmCacheDir: options.npmCacheDir ?? join(options.workdir, '.npm-cache'),
      run,
      say,
    });
    checkAborted();
    let command: string;
    let args: string[];
    let shown: string[];
    let isNode = false;
    if (isRun) {
      ({ command, args, shown } = runTaskCommand(task, copy));
    } else {
      await linkSdk(nodeModulesDirs);
      const interpreter = interpreterOf(task.script.binary);
      isNode = interpreter.command === process.execPath;
      command = interpreter.command;
      args = [...interpreter.args, copy.entry, ...buildScriptArgs(task.hyperparams)];
      shown = [task.script.binary?.trim() || 'node', ...args.slice(interpreter.args.length).map((a, i) => (i === 0 ? relative(copy.cwd, a) : a))];
    }
    say(`running: ${shown.join(' ')} (in ${relative(copy.root, copy.cwd) || '.'})`);
    let running: GroupProcess;
    try {
      running = await spawnGroup(command, args, {
        cwd: copy.cwd,
        env: {
          ...env,
          // A run task's program reports through its output; an SDK inside would start a task of its own, as it
          // does under `tasklane run`.
          ...(isRun ? {} : { TASKLANE_TASK_ID: taskId }),
          TASKLANE_API_HOST: options.apiUrl,
          TASKLANE_FILES_HOST: options.filesUrl ?? `${options.apiUrl.replace(/\/+$/, '')}/files`,
          TASKLANE_WORKER_ID: worker,
          PYTHONUNBUFFERED: '1',
          ...credentialEnv(options.keyPair, isNode),
        },
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `"${command}" is not installed on this machine (not found on PATH)` : (error as Error).message;
      throw new SetupError('start', `cannot run ${task.script.binary || 'node'}: ${why}`, { cause: error });
    }
    options.onProcessStart?.(running.pid);
    log.info({ pid: running.pid }, 'task process started');
    exit = await superviseProcess(running, taskConsole, runAbort.signal, killGraceMs);
  } catch (error) {
    if (error instanceof SetupError) setupError = error;
    else if (!(error instanceof RunAbortedError)) unexpected = error;
  } finally {
    watcher.stop();
    options.signal?.removeEventListener('abort', onShutdown);
  }

  const outcome = await settle({ api, taskId, worker, log, retry, taskConsole, abortCause, exit, setupError, unexpected });
  await presence.setTask(undefined);
  if (ownPresence) await ownPresence.unregister();
  if (!options.keepWorkingCopy) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  const durationMs = Date.now() - startedAt;
  log.info({ status: outcome.status, seconds: Math.round(durationMs / 100) / 10 }, 'task finished');
  return { taskId, ...outcome, exitCode: exit?.code ?? null, durationMs };
}

/** Streams the process's output to the console and waits for it to end; ends the tree when `signal` aborts. */
async function superviseProcess(running: GroupProcess, taskConsole: TaskConsole, signal: AbortSignal, killGraceMs: number): Promise<ProcessExit> {
  for (const stream of ['stdout', 'stderr'] as const) {
    running.child[stream].setEncoding('utf8');
    running.child[stream].on('data', (chunk: string) => taskConsole.write(stream, chunk));
  }
  const closed = new Promise<void>((resolve) => running.child.once('close', () => resolve()));
  let ending: Promise<ProcessExit> | undefined;
  const onAbort = () => {
    ending ??= endGroup(running, killGraceMs);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await running.exited;
    if (ending) await ending;
    // Whatever the script left running in its group goes with it.
    signalGroup(running.pid, 'SIGKILL');
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return exit;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Polls the task's status; calls `onAbort` when it is being aborted, was reset or deleted. */
function watchTask(api: ApiClient, taskId: string, intervalMs: number, onAbort: (cause: AbortCause) => void, log: AgentLog): { stop(): void } {
  let isChecking = false;
  const check = async () => {
    if (isChecking) return;
    isChecking = true;
    try {
      const { tasks } = await api.call('tasks.get_all', { id: [taskId], only_fields: ['status', 'status_message'], search_hidden: true });
      const now = tasks[0];
      if (!now) onAbort('deleted');
      else if (now.status === 'stopped' || (now.status === 'in_progress' && now.status_message === 'stopping')) onAbort('user');
      else if (now.status === 'created' || now.status === 'queued') onAbort('reset');
    } catch (error) {
      if (error instanceof TasklaneError && error.code === 'TASK_NOT_FOUND') onAbort('deleted');
      else log.debug({ err: (error as Error).message }, 'could not check the task status (will retry)');
    } finally {
      isChecking = false;
    }
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

interface SettleInput {
  api: ApiClient;
  taskId: string;
  worker: string;
  log: AgentLog;
  retry: <T>(what: string, call: () => Promise<T>, timeoutMs?: number) => Promise<T>;
  taskConsole: TaskConsole;
  abortCause: AbortCause | undefined;
  exit: ProcessExit | undefined;
  setupError: SetupError | undefined;
  unexpected: unknown;
}

/** Time allowed to report a run's outcome while the server is away (e.g. restarting). */
const FINAL_REPORT_TIMEOUT_MS = 10 * 60_000;

/** Reports the outcome: the console's last lines, then the task's final status. */
async function settle(input: SettleInput): Promise<{ status: TaskStatus; reason: string }> {
  const { api, taskId, worker, log, retry, taskConsole, abortCause, exit, setupError, unexpected } = input;
  let target: { status: 'completed' | 'failed' | 'stopped'; reason: string; force: boolean } | undefined;
  let resetAgain = false;
  if (abortCause === 'user') {
    taskConsole.agentLine('process aborted by user');
    target = { status: 'stopped', reason: 'aborted by user', force: true };
  } else if (abortCause === 'shutdown') {
    taskConsole.agentLine(`process aborted: agent ${worker} is shutting down`, 'error');
    target = { status: 'stopped', reason: `aborted: agent ${worker} was shut down`, force: true };
  } else if (abortCause === 'reset') {
    taskConsole.agentLine('process ended: the task was reset');
    resetAgain = true;
  } else if (abortCause === 'deleted') {
    log.info({}, 'the task was deleted while it ran');
  } else if (setupError) {
    taskConsole.agentLine(setupError.message, 'error');
    target = { status: 'failed', reason: setupError.message, force: true };
  } else if (unexpected !== undefined || !exit) {
    const message = unexpected instanceof Error ? unexpected.message : String(unexpected);
    log.error({ err: unexpected }, 'agent error while running the task');
    taskConsole.agentLine(`agent error: ${message}`, 'error');
    target = { status: 'failed', reason: `agent error: ${message}`, force: true };
  } else if (exit.code === 0) {
    taskConsole.agentLine('process completed successfully');
    target = { status: 'completed', reason: 'worker execution done', force: false };
  } else {
    taskConsole.agentLine(`process failed, ${exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`}`, 'error');
    target = { status: 'failed', reason: failureReason(exit, taskConsole.tail()), force: true };
  }

  if (!(await taskConsole.close(Date.now() + 10_000))) {
    log.warn({ lines: taskConsole.pendingCount() }, 'some console lines could not be delivered');
  }
  if (abortCause === 'deleted') return { status: 'unknown', reason: 'the task was deleted' };

  try {
    const current = await retry('read the task status', () => readStatus(api, taskId), FINAL_REPORT_TIMEOUT_MS);
    if (resetAgain) {
      // The SDK inside marks the task aborted when it gets SIGTERM; the user asked for a draft.
      if (current === 'stopped') await retry('reset the task again', () => api.call('tasks.reset', { task: taskId, force: true }), FINAL_REPORT_TIMEOUT_MS);
      return { status: current === 'stopped' ? 'created' : current, reason: 'reset while running' };
    }
    if (!target) return { status: current, reason: '' };
    const isStillOurs = current === 'in_progress' || (target.status === 'failed' && current === 'failed') || target.status === 'stopped';
    if (target.status === 'stopped' && (current === 'created' || current === 'queued')) return { status: current, reason: 'reset while running' };
    if (!isStillOurs) {
      // The script (the SDK inside) already said how it ended; that stands.
      return { status: current, reason: 'set by the task' };
    }
    const { status, reason, force } = target;
    await retry(`mark the task ${status}`, () => api.call(`tasks.${status}`, { task: taskId, force, status_reason: reason }), FINAL_REPORT_TIMEOUT_MS);
    return { status, reason };
  } catch (error) {
    log.error({ err: (error as Error).message }, 'could not report how the task ended');
    return { status: target?.status ?? 'unknown', reason: target?.reason ?? '' };
  }
}

async function readStatus(api: ApiClient, taskId: string): Promise<TaskStatus> {
  const { tasks } = await api.call('tasks.get_all', { id: [taskId], only_fields: ['status'], search_hidden: true });
  return (tasks[0] as Partial<Task> | undefined)?.status ?? 'unknown';
}
