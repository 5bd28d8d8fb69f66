import { expect } from 'vitest';
import {
  ERROR_STATUS,
  TasklaneError,
  shortId,
  type ErrorCode,
  type Model,
  type RequestOf,
  type Task,
  type TaskStatus,
} from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';

let counter = 0;

/** A name no other test uses (tests share one server per file, so their data must not collide). */
export function uniqueName(prefix = 'task'): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(16).slice(2, 8)}`;
}

/** Waits a little, so that timestamps (millisecond ISO strings) taken before and after differ. */
export function tick(ms = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates a top-level project with a unique name (or the given one); answers its id and name. */
export async function makeProject(api: ApiClient, name = uniqueName('proj')): Promise<{ id: string; name: string }> {
  const { id } = await api.call('projects.create', { name });
  return { id, name };
}

/** Registers a model with a unique name and a made-up weights URI (or the fields given); answers its id. */
export async function makeModel(api: ApiClient, fields: Partial<RequestOf<'models.create'>> = {}): Promise<string> {
  const name = fields.name ?? uniqueName('model');
  const { id } = await api.call('models.create', { name, uri: `file:///weights/${name}.bin`, ...fields });
  return id;
}

/** Reads a model back. */
export async function getModel(api: ApiClient, id: string): Promise<Model> {
  return (await api.call('models.get_by_id', { model: id })).model;
}

export type MakeTaskOptions = Partial<RequestOf<'tasks.create'>> & {
  /** The status to drive the task to through the API. @default 'created' */
  status?: TaskStatus;
  /** Queue id for `status: 'queued'` (the default queue otherwise). */
  queue?: string;
};

/**
 * Creates a task and moves it to `status` through the same calls a client would make (enqueue, started,
 * completed, ...). Answers its id.
 */
export async function makeTask(api: ApiClient, options: MakeTaskOptions = {}): Promise<string> {
  const { status = 'created', queue, ...fields } = options;
  const { id } = await api.call('tasks.create', { name: uniqueName(), ...fields });
  const task = { task: id };
  switch (status) {
    case 'created':
      break;
    case 'queued':
      await api.call('tasks.enqueue', queue ? { ...task, queue } : task);
      break;
    case 'in_progress':
      await api.call('tasks.started', task);
      break;
    case 'completed':
      await api.call('tasks.started', task);
      await api.call('tasks.completed', task);
      break;
    case 'stopped':
      await api.call('tasks.started', task);
      await api.call('tasks.stopped', task);
      break;
    case 'failed':
      await api.call('tasks.started', task);
      await api.call('tasks.failed', task);
      break;
    case 'closed':
      await api.call('tasks.started', task);
      await api.call('tasks.stopped', task);
      await api.call('tasks.close', task);
      break;
    case 'published':
      await api.call('tasks.started', task);
      await api.call('tasks.completed', task);
      await api.call('tasks.publish', task);
      break;
    default:
      throw new Error(`makeTask cannot reach status "${status}" through the API`);
  }
  return id;
}

/** Reads a task back. */
export async function getTask(api: ApiClient, id: string): Promise<Task> {
  return (await api.call('tasks.get_by_id', { task: id })).task;
}

/** The ids of the tasks waiting in a queue, oldest first. */
export async function queuedIds(api: ApiClient, queue: string): Promise<string[]> {
  return (await api.call('queues.get_by_id', { queue })).queue.entries.map((e) => e.task);
}

/**
 * Awaits a call that must fail with `code`; answers the error for more checks. Fails the test if the call succeeds
 * or fails in another way.
 */
export async function expectError(call: Promise<unknown>, code: ErrorCode): Promise<TasklaneError> {
  let result: unknown;
  try {
    result = await call;
  } catch (error) {
    expect(error).toBeInstanceOf(TasklaneError);
    const err = error as TasklaneError;
    expect({ code: err.code, status: err.status, message: err.message }).toMatchObject({ code, status: ERROR_STATUS[code] });
    return err;
  }
  throw new Error(`Expected the call to fail with ${code}, but it succeeded: ${JSON.stringify(result)}`);
}

/** Replaces a task's short id in a message with `<id>`, so snapshots do not depend on random ids. */
export function withoutId(message: string, id: string): string {
  return message.replaceAll(id, '<full id>').replaceAll(shortId(id), '<id>');
}
