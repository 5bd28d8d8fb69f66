import { TasklaneError, type ParsedRequestOf, type ResponseOf, type Worker } from '@tasklane/protocol';
import type { WorkerRecord } from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { getTaskOrThrow, saveTask } from './tasks.js';

export async function registerWorker(ctx: ServiceContext, body: ParsedRequestOf<'workers.register'>): Promise<ResponseOf<'workers.register'>> {
  const now = ctx.now();
  const existing = await ctx.repos.workers.get(body.worker);
  await ctx.repos.workers.upsert({
    id: body.worker,
    ip: existing?.ip ?? null,
    register_time: existing?.register_time ?? now,
    last_activity_time: now,
    last_report_time: existing?.last_report_time ?? null,
    task_id: existing?.task_id ?? null,
    queue: existing?.queue ?? null,
    queues: body.queues ?? existing?.queues ?? [],
    tags: body.tags ?? existing?.tags ?? [],
    machine_stats: existing?.machine_stats ?? null,
    timeout_sec: body.timeout,
  });
  return {};
}

export async function unregisterWorker(
  ctx: ServiceContext,
  body: ParsedRequestOf<'workers.unregister'>,
): Promise<ResponseOf<'workers.unregister'>> {
  if ((await ctx.repos.workers.delete(body.worker)) === 0) {
    throw new TasklaneError('WORKER_NOT_FOUND', `Worker "${body.worker}" is not registered.`, { worker: body.worker });
  }
  return {};
}

export async function reportWorkerStatus(
  ctx: ServiceContext,
  body: ParsedRequestOf<'workers.status_report'>,
): Promise<ResponseOf<'workers.status_report'>> {
  const now = ctx.now();
  const existing = await ctx.repos.workers.get(body.worker);
  if (body.task) {
    const task = await getTaskOrThrow(ctx, body.task);
    await saveTask(ctx, { ...task, last_worker: body.worker, last_worker_report: now, last_update: now }, task.status);
  }
  await ctx.repos.workers.upsert({
    id: body.worker,
    ip: existing?.ip ?? null,
    register_time: existing?.register_time ?? now,
    last_activity_time: now,
    last_report_time: now,
    task_id: body.task ?? null,
    queue: body.queue ?? null,
    queues: body.queues ?? existing?.queues ?? [],
    tags: body.tags ?? existing?.tags ?? [],
    machine_stats: body.machine_stats ?? null,
    timeout_sec: existing?.timeout_sec ?? ctx.settings.workerTimeoutSec,
  });
  return {};
}

export async function listWorkers(ctx: ServiceContext, body: ParsedRequestOf<'workers.get_all'>): Promise<ResponseOf<'workers.get_all'>> {
  const nowMs = Date.parse(ctx.now());
  const workers: Worker[] = [];
  for (const record of await ctx.repos.workers.list()) {
    const idleSec = (nowMs - Date.parse(record.last_activity_time)) / 1000;
    if (idleSec > record.timeout_sec || idleSec > body.last_seen) continue;
    workers.push(await toWorker(ctx, record, nowMs));
  }
  return { workers };
}

async function toWorker(ctx: ServiceContext, record: WorkerRecord, nowMs: number): Promise<Worker> {
  const { task_id: taskId, timeout_sec: _timeout, ...rest } = record;
  const task = taskId ? await ctx.repos.tasks.get(taskId) : undefined;
  const project = task?.project ? await ctx.repos.projects.get(task.project) : undefined;
  return {
    ...rest,
    task: task
      ? {
          id: task.id,
          name: task.name,
          running_time: task.started ? Math.round((nowMs - Date.parse(task.started)) / 1000) : 0,
          last_iteration: task.last_iteration,
        }
      : null,
    project: project ? { id: project.id, name: project.name } : null,
  };
}
