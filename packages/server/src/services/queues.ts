import { SYSTEM_TAG, TasklaneError, isId, newId, shortId, type ParsedRequestOf, type Queue, type ResponseOf } from '@tasklane/protocol';
import type { QueueRecord } from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { tagsMatch, toListFilter } from './list-filter.js';
import { compilePattern } from '../storage/patterns.js';
import { paging, project } from './projection.js';

/** The queue made at first start, where tasks go when no queue is named. */
export const DEFAULT_QUEUE_NAME = 'default';

export async function getQueueOrThrow(ctx: ServiceContext, id: string): Promise<QueueRecord> {
  const found = isId(id) ? await ctx.repos.queues.get(id) : undefined;
  if (!found) {
    const byName = await ctx.repos.queues.getByName(id);
    const hint = byName ? ` A queue named "${id}" exists with id ${byName.id}.` : ' List queues with queues.get_all.';
    throw new TasklaneError('QUEUE_NOT_FOUND', `Queue ${JSON.stringify(id)} not found: no queue has that id.${hint}`, {
      queue: id,
    });
  }
  return found;
}

/** Creates the default queue when there is none (at server start). */
export async function ensureDefaultQueue(ctx: ServiceContext): Promise<void> {
  const queues = await ctx.repos.queues.list();
  if (queues.some((q) => q.system_tags.includes(SYSTEM_TAG.defaultQueue))) return;
  if (queues.some((q) => q.name === DEFAULT_QUEUE_NAME)) return;
  await insertQueue(ctx, { name: DEFAULT_QUEUE_NAME, system_tags: [SYSTEM_TAG.defaultQueue] });
}

async function insertQueue(
  ctx: ServiceContext,
  fields: Partial<Omit<QueueRecord, 'id' | 'created'>> & { name: string },
): Promise<QueueRecord> {
  const now = ctx.now();
  const record: QueueRecord = {
    id: newId(),
    name: fields.name,
    display_name: fields.display_name ?? null,
    created: now,
    last_update: now,
    tags: fields.tags ?? [],
    system_tags: fields.system_tags ?? [],
    metadata: fields.metadata ?? {},
  };
  await ctx.repos.queues.insert(record);
  return record;
}

/** Finds a queue by exact name, creating it when missing (enqueue by `queue_name`). */
export async function ensureQueueByName(ctx: ServiceContext, name: string): Promise<QueueRecord> {
  return (await ctx.repos.queues.getByName(name)) ?? insertQueue(ctx, { name });
}

export async function getDefaultQueue(ctx: ServiceContext): Promise<QueueRecord> {
  const defaults = (await ctx.repos.queues.list()).filter((q) => q.system_tags.includes(SYSTEM_TAG.defaultQueue));
  if (defaults.length === 0) {
    throw new TasklaneError(
      'QUEUE_NOT_FOUND',
      'There is no default queue (a queue with system tag "default"). Name a queue, or create one with that system tag.',
    );
  }
  return defaults[0]!;
}

async function toQueue(ctx: ServiceContext, record: QueueRecord, maxEntries?: number): Promise<Queue> {
  const entries = await ctx.repos.queues.entries(record.id);
  return { ...record, entries: maxEntries === undefined ? entries : entries.slice(0, maxEntries) };
}

export async function createQueue(ctx: ServiceContext, body: ParsedRequestOf<'queues.create'>): Promise<ResponseOf<'queues.create'>> {
  if (await ctx.repos.queues.getByName(body.name)) {
    throw new TasklaneError('ALREADY_EXISTS', `Queue "${body.name}" already exists; pick another name or use the existing one.`, {
      name: body.name,
    });
  }
  const record = await insertQueue(ctx, body);
  return { id: record.id };
}

export async function getQueue(ctx: ServiceContext, body: ParsedRequestOf<'queues.get_by_id'>): Promise<ResponseOf<'queues.get_by_id'>> {
  return { queue: await toQueue(ctx, await getQueueOrThrow(ctx, body.queue), body.max_task_entries) };
}

export async function listQueues(ctx: ServiceContext, body: ParsedRequestOf<'queues.get_all'>): Promise<ResponseOf<'queues.get_all'>> {
  const name = body.name === undefined ? undefined : compilePattern(body.name);
  const tags = toListFilter(body.tags);
  const systemTags = toListFilter(body.system_tags);
  let found = (await ctx.repos.queues.list()).filter(
    (q) =>
      (!body.id || body.id.includes(q.id)) &&
      (!name || name.test(q.name)) &&
      tagsMatch(q.tags, tags) &&
      tagsMatch(q.system_tags, systemTags) &&
      (body.search_hidden || body.id || !q.system_tags.includes(SYSTEM_TAG.hidden)),
  );
  const { limit, offset = 0 } = paging(body);
  if (limit !== undefined) found = found.slice(offset, offset + limit);
  const queues: Partial<Queue>[] = [];
  for (const q of found) queues.push(project(await toQueue(ctx, q, body.max_task_entries), body.only_fields));
  return { queues };
}

export async function defaultQueue(ctx: ServiceContext): Promise<ResponseOf<'queues.get_default'>> {
  const queue = await getDefaultQueue(ctx);
  return { id: queue.id, name: queue.name };
}

export async function deleteQueue(
  ctx: ServiceContext,
  body: ParsedRequestOf<'queues.delete'>,
  releaseTask: (ctx: ServiceContext, taskId: string) => Promise<void>,
): Promise<ResponseOf<'queues.delete'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  const entries = await ctx.repos.queues.entries(queue.id);
  if (entries.length > 0 && !body.force) {
    throw new TasklaneError(
      'QUEUE_NOT_EMPTY',
      `Cannot delete queue "${queue.name}": ${entries.length} task(s) wait in it. Dequeue them first, or pass force to send them back to draft.`,
      { queue: queue.id, entries: entries.length },
    );
  }
  for (const entry of entries) await releaseTask(ctx, entry.task);
  return { deleted: await ctx.repos.queues.delete(queue.id) };
}

export async function addTaskToQueue(ctx: ServiceContext, body: ParsedRequestOf<'queues.add_task'>): Promise<ResponseOf<'queues.add_task'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  if (!(await ctx.repos.tasks.get(body.task))) {
    throw new TasklaneError('TASK_NOT_FOUND', `Task ${shortId(body.task)} not found: no task has id "${body.task}".`, {
      task: body.task,
    });
  }
  await ctx.repos.queues.push(queue.id, body.task, ctx.now());
  return { added: 1 };
}

export async function removeTaskFromQueue(
  ctx: ServiceContext,
  body: ParsedRequestOf<'queues.remove_task'>,
): Promise<ResponseOf<'queues.remove_task'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  return { removed: await ctx.repos.queues.remove(body.task, queue.id) };
}

export async function nextTask(ctx: ServiceContext, body: ParsedRequestOf<'queues.get_next_task'>): Promise<ResponseOf<'queues.get_next_task'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  const entry = await ctx.repos.queues.popHead(queue.id, body.task);
  if (!entry) return {};
  return body.get_task_info ? { entry, task_info: { company: '', user: '' } } : { entry };
}

export async function peekTask(ctx: ServiceContext, body: ParsedRequestOf<'queues.peek_task'>): Promise<ResponseOf<'queues.peek_task'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  const [head] = await ctx.repos.queues.entries(queue.id);
  return { task: head?.task ?? null };
}

export async function countEntries(
  ctx: ServiceContext,
  body: ParsedRequestOf<'queues.get_num_entries'>,
): Promise<ResponseOf<'queues.get_num_entries'>> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  return { num: (await ctx.repos.queues.entries(queue.id)).length };
}

/** Where a `queues.move_task_*` call puts the task, given its place and the queue's length. */
export type QueueMove = (from: number, length: number) => number;

/**
 * Moves a waiting task to another place in its queue, in the request's transaction (so concurrent pops and moves see
 * the queue before or after, never half-way). The queue orders by priority, then arrival: the moved task takes a
 * priority between its new neighbours' so that the order holds, and tasks enqueued later with a higher priority still
 * go ahead of it.
 */
export async function moveTaskInQueue(
  ctx: ServiceContext,
  body: { queue: string; task: string },
  move: QueueMove,
): Promise<{ position: number }> {
  const queue = await getQueueOrThrow(ctx, body.queue);
  const entries = await ctx.repos.queues.entries(queue.id);
  const from = entries.findIndex((e) => e.task === body.task);
  if (from < 0) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Task ${shortId(body.task)} is not waiting in queue "${queue.name}"; only a queued task can be moved. List the queue with queues.get_by_id.`,
      { queue: queue.id, task: body.task },
    );
  }
  const to = Math.max(0, Math.min(entries.length - 1, move(from, entries.length)));
  if (to === from) return { position: from };
  const [moved] = entries.splice(from, 1);
  entries.splice(to, 0, moved!);
  const ahead = entries[to - 1]?.priority ?? Number.POSITIVE_INFINITY;
  const behind = entries[to + 1]?.priority ?? Number.NEGATIVE_INFINITY;
  const priority = Math.min(ahead, Math.max(behind, moved!.priority ?? 0));
  entries[to] = { ...moved!, priority };
  await ctx.repos.queues.reorder(queue.id, entries);
  return { position: to };
}
