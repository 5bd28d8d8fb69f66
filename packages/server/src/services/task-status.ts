import {
  SYSTEM_TAG,
  TasklaneError,
  assertTransition,
  shortId,
  type ParsedRequestOf,
  type ResponseOf,
  type Task,
  type TaskStatus,
} from '@tasklane/protocol';
import type { ServiceContext } from './context.js';
import { deleteTaskEvents } from './events.js';
import { publishOutputModels, releaseTaskModels } from './model-links.js';
import { ensureQueueByName, getDefaultQueue, getQueueOrThrow } from './queues.js';
import { getTaskOrThrow, isArchived, saveTask } from './tasks.js';

interface StatusChange {
  action: string;
  to: TaskStatus;
  force?: boolean;
  reason?: string;
  message?: string;
  /** Other fields that change with the status. */
  patch?: (task: Task, now: string) => Partial<Task>;
}

/**
 * Checks a move against the state machine and writes it as one compare-and-set on the status that was read:
 * if another request moved the task meanwhile, nothing is written and STATUS_CONFLICT is raised.
 */
export async function changeStatus(ctx: ServiceContext, task: Task, change: StatusChange): Promise<{ task: Task; fields: Record<string, unknown> }> {
  assertTransition({ taskId: task.id, from: task.status, to: change.to, action: change.action, force: change.force });
  const now = ctx.now();
  const fields: Record<string, unknown> = {
    status: change.to,
    status_reason: change.reason ?? '',
    status_message: change.message ?? '',
    status_changed: now,
    ...change.patch?.(task, now),
  };
  const next: Task = { ...task, ...fields, last_update: now, last_change: now };
  await saveTask(ctx, next, task.status);
  return { task: next, fields };
}

// As ClearML, a finished task keeps its run time in seconds (active_duration), so that tables can sort by it.
const finishedAt = (task: Task, now: string): Partial<Task> => ({
  completed: now,
  active_duration: task.started ? Math.max(0, Math.round((Date.parse(now) - Date.parse(task.started)) / 1000)) : null,
});
const publishedAt = (_task: Task, now: string): Partial<Task> => ({ published: now });

const startedAt = (task: Task, now: string): Partial<Task> => ({ started: task.started ?? now });
const startEndpoint = statusEndpoint('start', 'in_progress', startedAt);

export async function markStarted(ctx: ServiceContext, body: ParsedRequestOf<'tasks.started'>): Promise<ResponseOf<'tasks.started'>> {
  return { ...(await startEndpoint(ctx, body)), started: 1 };
}

type StatusRequest = ParsedRequestOf<'tasks.stopped'>;

/** An endpoint that only moves a task to one status (with the fields that go with it). */
function statusEndpoint(action: string, to: TaskStatus, patch?: StatusChange['patch']) {
  return async (ctx: ServiceContext, body: StatusRequest): Promise<ResponseOf<'tasks.stopped'>> => {
    const task = await getTaskOrThrow(ctx, body.task);
    const { fields } = await changeStatus(ctx, task, {
      action,
      to,
      force: body.force,
      reason: body.status_reason,
      message: body.status_message,
      patch,
    });
    return { updated: 1, fields };
  };
}

export const markStopped = statusEndpoint('mark as aborted', 'stopped', finishedAt);
export const markFailed = statusEndpoint('mark as failed', 'failed', finishedAt);
export const markClosed = statusEndpoint('close', 'closed');

export async function markCompleted(ctx: ServiceContext, body: ParsedRequestOf<'tasks.completed'>): Promise<ResponseOf<'tasks.completed'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const { task: completed, fields } = await changeStatus(ctx, task, {
    action: 'complete',
    to: 'completed',
    force: body.force,
    reason: body.status_reason,
    message: body.status_message,
    patch: finishedAt,
  });
  if (!body.publish) return { updated: 1, fields, published: 0 };
  const published = await publishTaskRecord(ctx, completed, { publishModels: true });
  return { updated: 1, fields: { ...fields, ...published }, published: 1 };
}

/**
 * Publishes a task and, with `publishModels`, its output models that are not published yet (ClearML publishes the
 * task's output model with it). Answers the fields the status change wrote.
 */
export async function publishTaskRecord(
  ctx: ServiceContext,
  task: Task,
  options: { force?: boolean; reason?: string; message?: string; publishModels: boolean },
): Promise<Record<string, unknown>> {
  const { fields } = await changeStatus(ctx, task, {
    action: 'publish',
    to: 'published',
    force: options.force,
    reason: options.reason,
    message: options.message,
    patch: publishedAt,
  });
  if (options.publishModels) await publishOutputModels(ctx, task);
  return fields;
}

export async function publishTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.publish'>): Promise<ResponseOf<'tasks.publish'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const fields = await publishTaskRecord(ctx, task, {
    force: body.force,
    reason: body.status_reason,
    message: body.status_message,
    publishModels: body.publish_model,
  });
  return { updated: 1, fields };
}

/** Is a live agent running this task? (It reported within the worker timeout.) */
function hasLiveWorker(ctx: ServiceContext, task: Task): boolean {
  if (!task.last_worker || !task.last_worker_report) return false;
  const ageMs = Date.parse(ctx.now()) - Date.parse(task.last_worker_report);
  return ageMs <= ctx.settings.workerTimeoutSec * 1000;
}

/**
 * Abort, as ClearML's `tasks.stop`: a queued task leaves its queue and is aborted; a running task that no live
 * agent runs (e.g. a local script) is aborted at once; one that a live agent runs gets status_message "stopping",
 * and the agent ends the process and reports it stopped.
 */
export async function stopTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.stop'>): Promise<ResponseOf<'tasks.stop'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const reason = body.status_reason ?? 'stopped by user';
  if (task.status === 'in_progress' && !body.force && hasLiveWorker(ctx, task) && !task.system_tags.includes(SYSTEM_TAG.development)) {
    const now = ctx.now();
    const fields = { status_message: 'stopping', status_reason: reason };
    await saveTask(ctx, { ...task, ...fields, last_update: now, last_change: now }, task.status);
    return { updated: 1, fields };
  }
  if (task.status === 'queued') await ctx.repos.queues.remove(task.id);
  const { fields } = await changeStatus(ctx, task, {
    action: 'abort',
    to: 'stopped',
    force: body.force,
    reason,
    message: body.status_message ?? 'stopped',
    patch: finishedAt,
  });
  return { updated: 1, fields };
}

/** Deletes what a task produced: its events (stored files join here when their issue lands). */
async function deleteOutputs(ctx: ServiceContext, task: Task): Promise<{ events: number }> {
  await scheduleSampleFilesRemoval(ctx, task.id);
  return { events: await deleteTaskEvents(ctx, task.id) };
}

/**
 * Debug-sample files uploaded to the built-in file server live under `<project>/<task name>.<id>/metrics/`; the
 * key of any sample event names that folder. It is removed once the transaction that deletes the events commits.
 */
async function scheduleSampleFilesRemoval(ctx: ServiceContext, taskId: string): Promise<void> {
  if (!ctx.afterCommit) return;
  const [sample] = await ctx.repos.events.listEvents({ task: taskId, types: ['training_debug_image'], descending: false, limit: 1, offset: 0 });
  const key = sample && 'data' in sample ? sample.data.key : undefined;
  const marker = `.${taskId}/`;
  if (typeof key !== 'string' || !key.includes(marker)) return;
  const folder = `${key.slice(0, key.indexOf(marker) + marker.length)}metrics`;
  const { files } = ctx.settings;
  ctx.afterCommit(async () => {
    try {
      // The folder store removes only a real folder (never through a symbolic link in the files folder).
      await files.deleteFolder(files.parseFolder(folder));
    } catch {
      // A key from outside the files folder (another storage) has nothing here to remove.
    }
  });
}

export async function resetTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.reset'>): Promise<ResponseOf<'tasks.reset'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  assertTransition({ taskId: task.id, from: task.status, to: 'created', action: 'reset', force: body.force });
  const dequeued = await ctx.repos.queues.remove(task.id);
  const { events } = await deleteOutputs(ctx, task);
  const models = await releaseTaskModels(ctx, task, body.delete_output_models);
  const { fields } = await changeStatus(ctx, task, {
    action: 'reset',
    to: 'created',
    force: true,
    reason: body.status_reason ?? 'reset',
    message: body.status_message,
    patch: (t) => ({
      started: null,
      completed: null,
      published: null,
      active_duration: null,
      last_iteration: 0,
      last_metrics: {},
      runtime: {},
      last_worker: null,
      last_worker_report: null,
      enqueue_status: null,
      models: { ...t.models, output: [] },
      output: { destination: t.output.destination ?? null },
      script: body.clear_all ? {} : t.script,
      execution: {
        ...(body.clear_all ? {} : t.execution),
        queue: null,
        artifacts: (t.execution.artifacts ?? []).filter((a) => a.mode === 'input'),
      },
    }),
  });
  return { updated: 1, fields, dequeued, events, deleted_models: models.deleted };
}

export async function enqueueTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.enqueue'>): Promise<ResponseOf<'tasks.enqueue'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const queue = body.queue
    ? await getQueueOrThrow(ctx, body.queue)
    : body.queue_name
      ? await ensureQueueByName(ctx, body.queue_name)
      : await getDefaultQueue(ctx);
  if (isArchived(task)) {
    throw new TasklaneError('INVALID_TRANSITION', `Cannot enqueue task ${shortId(task.id)}: it is archived. Unarchive it first.`, {
      task: task.id,
    });
  }
  const { fields } = await changeStatus(ctx, task, {
    action: 'enqueue',
    to: 'queued',
    force: body.force,
    reason: body.status_reason,
    message: body.status_message,
    patch: (t) => ({
      // Re-enqueueing a queued task keeps the status it had before its first enqueue, for dequeue to return to.
      enqueue_status: t.status === 'queued' ? (t.enqueue_status ?? 'created') : t.status,
      system_tags: t.system_tags.filter((tag) => tag !== SYSTEM_TAG.development),
      execution: { ...t.execution, queue: queue.id },
    }),
  });
  await ctx.repos.queues.remove(task.id);
  await ctx.repos.queues.push(queue.id, task.id, ctx.now(), body.priority);
  return { updated: 1, fields, queued: 1, queue: queue.id };
}

export async function dequeueTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.dequeue'>): Promise<ResponseOf<'tasks.dequeue'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  if (task.status !== 'queued' && !(body.new_status && task.status === 'in_progress')) {
    throw new TasklaneError(
      'INVALID_TRANSITION',
      `Cannot dequeue task ${shortId(task.id)}: its status is "${task.status}", not "queued".`,
      { task: task.id, current_status: task.status },
    );
  }
  const dequeued = await ctx.repos.queues.remove(task.id);
  const to = body.new_status ?? task.enqueue_status ?? 'created';
  const { fields } = await changeStatus(ctx, task, {
    action: 'dequeue',
    to,
    force: true,
    reason: body.status_reason ?? 'dequeued',
    message: body.status_message,
    patch: (t, now) => ({ enqueue_status: null, ...(to === 'in_progress' ? { started: t.started ?? now } : {}) }),
  });
  return { updated: 1, fields, dequeued };
}

/** Sends a queued task back to the status it had before enqueue (used when its queue is deleted). */
export async function releaseQueuedTask(ctx: ServiceContext, taskId: string): Promise<void> {
  const task = await ctx.repos.tasks.get(taskId);
  if (!task || task.status !== 'queued') return;
  await changeStatus(ctx, task, {
    action: 'dequeue',
    to: task.enqueue_status ?? 'created',
    force: true,
    reason: 'queue deleted',
    patch: () => ({ enqueue_status: null }),
  });
}

async function setArchived(ctx: ServiceContext, task: Task, archived: boolean, reason?: string): Promise<void> {
  if (isArchived(task) === archived) return;
  let current = task;
  if (archived && task.status === 'queued') {
    await ctx.repos.queues.remove(task.id);
    current = (
      await changeStatus(ctx, task, {
        action: 'archive',
        to: task.enqueue_status ?? 'created',
        force: true,
        reason: reason ?? 'archived',
        patch: () => ({ enqueue_status: null }),
      })
    ).task;
  }
  const systemTags = archived
    ? [...current.system_tags, SYSTEM_TAG.archived].sort()
    : current.system_tags.filter((t) => t !== SYSTEM_TAG.archived);
  const now = ctx.now();
  await saveTask(ctx, { ...current, system_tags: systemTags, last_update: now, last_change: now }, current.status);
}

export async function archiveTasks(ctx: ServiceContext, body: ParsedRequestOf<'tasks.archive'>): Promise<ResponseOf<'tasks.archive'>> {
  const tasks = [];
  for (const id of body.tasks) tasks.push(await getTaskOrThrow(ctx, id));
  let archived = 0;
  for (const task of tasks) {
    if (!isArchived(task)) archived += 1;
    await setArchived(ctx, task, true, body.status_reason);
  }
  return { archived };
}

/** Runs an action on each id, reporting successes and failures separately (ClearML's `*_many`). */
async function forEachTask(
  ids: readonly string[],
  action: (id: string) => Promise<void>,
): Promise<ResponseOf<'tasks.archive_many'>> {
  const succeeded: { id: string }[] = [];
  const failed: { id: string; error: { codes: number[]; msg: string; data: Record<string, unknown> } }[] = [];
  for (const id of ids) {
    try {
      await action(id);
      succeeded.push({ id });
    } catch (error) {
      if (!(error instanceof TasklaneError)) throw error;
      failed.push({ id, error: { codes: [error.status, error.subcode], msg: error.message, data: error.details ?? {} } });
    }
  }
  return { succeeded, failed };
}

export async function archiveMany(ctx: ServiceContext, body: ParsedRequestOf<'tasks.archive_many'>): Promise<ResponseOf<'tasks.archive_many'>> {
  return forEachTask(body.ids, async (id) => setArchived(ctx, await getTaskOrThrow(ctx, id), true));
}

export async function unarchiveMany(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.unarchive_many'>,
): Promise<ResponseOf<'tasks.unarchive_many'>> {
  return forEachTask(body.ids, async (id) => setArchived(ctx, await getTaskOrThrow(ctx, id), false));
}

// ClearML's `*_many` status actions: each id runs the single action with the shared options.
export async function enqueueMany(ctx: ServiceContext, body: ParsedRequestOf<'tasks.enqueue_many'>): Promise<ResponseOf<'tasks.enqueue_many'>> {
  const { ids, ...options } = body;
  return forEachTask(ids, async (task) => void (await enqueueTask(ctx, { ...options, task, force: false })));
}

export async function stopMany(ctx: ServiceContext, body: ParsedRequestOf<'tasks.stop_many'>): Promise<ResponseOf<'tasks.stop_many'>> {
  const { ids, ...options } = body;
  return forEachTask(ids, async (task) => void (await stopTask(ctx, { ...options, task })));
}

export async function resetMany(ctx: ServiceContext, body: ParsedRequestOf<'tasks.reset_many'>): Promise<ResponseOf<'tasks.reset_many'>> {
  const { ids, ...options } = body;
  return forEachTask(ids, async (task) => void (await resetTask(ctx, { ...options, task })));
}

export async function deleteMany(ctx: ServiceContext, body: ParsedRequestOf<'tasks.delete_many'>): Promise<ResponseOf<'tasks.delete_many'>> {
  const { ids, ...options } = body;
  return forEachTask(ids, async (task) => void (await deleteTask(ctx, { ...options, task })));
}

/**
 * Deletes tasks with their outputs and queue entries, and (`deleteModels`) the models they created that nobody else
 * uses (see releaseTaskModels); children keep living without a parent.
 */
export async function deleteTasks(
  ctx: ServiceContext,
  ids: string[],
  deleteModels = true,
): Promise<{ children: number; events: number; deletedModels: number; updatedModels: number }> {
  let children = 0;
  let events = 0;
  let deletedModels = 0;
  let updatedModels = 0;
  for (const id of ids) {
    const task = await ctx.repos.tasks.get(id);
    if (!task) continue;
    await ctx.repos.queues.remove(id);
    events += (await deleteOutputs(ctx, task)).events;
    const models = await releaseTaskModels(ctx, task, deleteModels);
    deletedModels += models.deleted;
    updatedModels += models.updated;
    children += await ctx.repos.tasks.detachChildren(id);
  }
  await ctx.repos.tasks.delete(ids);
  return { children, events, deletedModels, updatedModels };
}

export async function deleteTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.delete'>): Promise<ResponseOf<'tasks.delete'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  if (!body.force && (task.status === 'in_progress' || task.status === 'published')) {
    const why =
      task.status === 'in_progress'
        ? 'it is running; abort it first (tasklane task abort ' + shortId(task.id) + ')'
        : 'it is published';
    throw new TasklaneError(
      'INVALID_TRANSITION',
      `Cannot delete task ${shortId(task.id)}: ${why}, or pass force to delete it anyway.`,
      { task: task.id, current_status: task.status, action: 'delete' },
    );
  }
  const { children, events, deletedModels, updatedModels } = await deleteTasks(ctx, [task.id], body.delete_output_models);
  return { deleted: 1, updated_children: children, events, deleted_models: deletedModels, updated_models: updatedModels };
}
