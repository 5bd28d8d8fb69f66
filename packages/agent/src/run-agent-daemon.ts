import { TasklaneError, isId, shortId } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { agentApiClient } from './agent-client.js';
import { SILENT_LOG, type AgentLog } from './agent-log.js';
import { defaultWorkerName, executeTask, type ExecuteTaskOptions, type TaskRunResult } from './execute-task.js';
import { backoffDelayMs, isUnreachable, retryWhileUnreachable, sleep } from './retry-while-unreachable.js';
import { WorkerPresence } from './worker-presence.js';

/** Options of {@link runAgentDaemon}. */
export interface AgentDaemonOptions extends Omit<ExecuteTaskOptions, 'taskId' | 'presence' | 'signal' | 'onProcessStart' | 'api'> {
  /** Queue names (or ids) to serve, in priority order: the first queue with a task wins. */
  queues: string[];
  /** Time between polls of the queues when they are empty. @default 2000 */
  pollIntervalMs?: number;
  /** Time between status reports to the server. @default 5000 */
  reportIntervalMs?: number;
  /** Create queues that do not exist (else starting fails, naming them). @default false */
  createQueues?: boolean;
  /** Aborting it stops the daemon: a running task is aborted (marked stopped), the worker unregistered. */
  signal?: AbortSignal;
  /** Told once the daemon is registered and polling. */
  onReady?: (info: { worker: string; queues: { name: string; id: string }[] }) => void;
  /** Told when a task's process starts. */
  onTaskStart?: (info: { taskId: string; pid: number }) => void;
  /** Told after each task. */
  onTaskDone?: (result: TaskRunResult) => void;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function findQueueByName(api: ApiClient, name: string): Promise<{ name: string; id: string } | undefined> {
  const { queues } = await api.call('queues.get_all', { name: `^${escapeRegex(name)}$`, only_fields: ['id', 'name'], search_hidden: true });
  const exact = queues.find((q) => q.name === name) ?? (queues.length === 1 ? queues[0] : undefined);
  return exact?.id ? { name: exact.name ?? name, id: exact.id } : undefined;
}

/** Creates a queue; when another agent starting at the same moment made it first, answers that one. */
async function createQueue(api: ApiClient, name: string): Promise<{ name: string; id: string }> {
  try {
    return { name, id: (await api.call('queues.create', { name })).id };
  } catch (error) {
    const made = error instanceof TasklaneError && error.code === 'ALREADY_EXISTS' ? await findQueueByName(api, name) : undefined;
    if (made) return made;
    throw error;
  }
}

/** Finds each queue by id or exact name (creating missing ones when asked); throws QUEUE_NOT_FOUND naming the missing. */
export async function resolveQueues(api: ApiClient, names: readonly string[], createMissing: boolean): Promise<{ name: string; id: string }[]> {
  const resolved: { name: string; id: string }[] = [];
  const missing: string[] = [];
  for (const name of names) {
    if (isId(name)) {
      const byId = await api.call('queues.get_by_id', { queue: name }).catch((error: unknown) => {
        if (error instanceof TasklaneError && error.code === 'QUEUE_NOT_FOUND') return undefined;
        throw error;
      });
      if (byId) {
        resolved.push({ name: byId.queue.name, id: byId.queue.id });
        continue;
      }
    }
    const found = await findQueueByName(api, name);
    if (found) resolved.push(found);
    else if (createMissing) resolved.push(await createQueue(api, name));
    else missing.push(name);
  }
  if (missing.length > 0) {
    const list = missing.map((name) => `"${name}"`).join(', ');
    throw new TasklaneError(
      'QUEUE_NOT_FOUND',
      `No queue named ${list} on ${api.baseUrl}. Create it as the agent starts (--create-queue), or by enqueueing a task to it ` +
        `(tasklane task enqueue <task> --queue ${missing[0]}).`,
      { queues: missing },
    );
  }
  return resolved;
}

/**
 * The agent daemon: registers as a worker, then takes tasks from its queues (in the order given, one task at a
 * time) and runs each with {@link executeTask}. While the server is unreachable it waits and tries again; a task it
 * took is its own and is never handed back. When `signal` aborts, a running task is aborted and the worker
 * unregistered, then the promise resolves.
 *
 * @example
 * const stop = new AbortController();
 * process.once('SIGINT', () => stop.abort());
 * await runAgentDaemon({ apiUrl: 'http://127.0.0.1:8008', queues: ['default'], workdir: '/tmp/agent', signal: stop.signal });
 */
export async function runAgentDaemon(options: AgentDaemonOptions): Promise<void> {
  if (options.queues.length === 0) throw new TasklaneError('INVALID_INPUT', 'The agent needs at least one queue to serve (--queue NAME).');
  const worker = options.workerName ?? defaultWorkerName();
  const log = (options.log ?? SILENT_LOG).child({ worker });
  const api = agentApiClient(options.apiUrl, worker, options.keyPair);
  const signal = options.signal ?? new AbortController().signal;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const reportIntervalMs = options.reportIntervalMs ?? 5000;

  const queues = await retryWhileUnreachable(() => resolveQueues(api, options.queues, options.createQueues ?? false), {
    what: 'look up the queues',
    log,
    signal,
  });
  const queueIds = queues.map((q) => q.id);
  await retryWhileUnreachable(
    () => api.call('workers.register', { worker, queues: queueIds, timeout: Math.max(60, Math.ceil((reportIntervalMs * 6) / 1000)) }),
    { what: 'register the worker', log, signal },
  );
  const presence = new WorkerPresence({ api, worker, queues: queueIds, reportIntervalMs, log });
  presence.start();
  log.info({ queues: queues.map((q) => q.name).join(',') }, 'agent ready: waiting for tasks');
  options.onReady?.({ worker, queues });

  let failures = 0;
  try {
    while (!signal.aborted) {
      let popped: { taskId: string; queue: string } | undefined;
      try {
        popped = await nextTask(api, queues);
        if (failures > 0) log.info({}, 'server reachable again');
        failures = 0;
      } catch (error) {
        if (error instanceof TasklaneError && error.code === 'UNAUTHORIZED') {
          // The key pair was refused after a fresh login (revoked, its user removed): no later poll can work.
          log.error({ err: error.message }, 'the server refused the agent\'s credentials; stopping');
          throw error;
        }
        if (failures === 0) {
          const level = isUnreachable(error) ? 'warn' : 'error';
          log[level]({ err: (error as Error).message }, 'could not poll the queues; retrying with back-off');
        }
        await sleep(backoffDelayMs(failures++, Math.max(5000, pollIntervalMs)), signal);
        continue;
      }
      if (!popped) {
        await sleep(pollIntervalMs, signal);
        continue;
      }
      await runPopped(api, popped, { ...options, workerName: worker, log, signal, presence });
    }
  } finally {
    presence.stop();
    // The server may be away: do not hang the shutdown on it.
    const giveUp = new AbortController();
    await Promise.race([presence.unregister().finally(() => giveUp.abort()), sleep(5000, giveUp.signal)]);
    log.info({}, 'agent stopped: worker unregistered');
  }
}

/** Pops the head of the first non-empty queue, in priority order. */
async function nextTask(api: ApiClient, queues: readonly { name: string; id: string }[]): Promise<{ taskId: string; queue: string } | undefined> {
  for (const queue of queues) {
    const { entry } = await api.call('queues.get_next_task', { queue: queue.id });
    if (entry?.task) return { taskId: entry.task, queue: queue.name };
  }
  return undefined;
}

/** Runs a task taken from a queue; never throws (the daemon goes on with the next task). */
async function runPopped(
  api: ApiClient,
  popped: { taskId: string; queue: string },
  options: AgentDaemonOptions & { workerName: string; log: AgentLog; signal: AbortSignal; presence: WorkerPresence },
): Promise<void> {
  const { taskId, queue } = popped;
  const log = options.log.child({ task: shortId(taskId) });
  try {
    // The task is ours from the moment it left the queue: wait out a server restart rather than lose it.
    const { tasks } = await retryWhileUnreachable(
      () => api.call('tasks.get_all', { id: [taskId], only_fields: ['status', 'name'], search_hidden: true }),
      { what: 'read the task taken from the queue', log },
    );
    const status = tasks[0]?.status;
    if (status !== 'queued' && status !== 'created') {
      log.warn({ queue, status: status ?? 'deleted' }, 'skipping a task taken from the queue: it is no longer waiting to run');
      return;
    }
    log.info({ queue, name: tasks[0]?.name }, 'took a task from the queue');
    const result = await executeTask({
      ...options,
      api,
      taskId,
      onProcessStart: (pid) => options.onTaskStart?.({ taskId, pid }),
    });
    options.onTaskDone?.(result);
  } catch (error) {
    log.error({ err: (error as Error).message }, 'could not run the task');
  }
}
