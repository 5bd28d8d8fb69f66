import { TasklaneError, shortId, type Model, type Task } from '@tasklane/protocol';
import type { ServiceContext } from './context.js';

/**
 * The links between tasks and models that task operations need (reset, publish, delete, add_or_update_model). The
 * `models.*` endpoints live in models.ts; this module depends on storage only, so that the task services can use it.
 */

export async function getModelOrThrow(ctx: ServiceContext, id: string, hint = 'List models with models.get_all.'): Promise<Model> {
  const model = await ctx.repos.models.get(id);
  if (!model) {
    throw new TasklaneError('MODEL_NOT_FOUND', `Model ${shortId(id)} not found: no model has id "${id}". ${hint}`, { model: id });
  }
  return model;
}

/** What happened to the models a task created when the task was reset or deleted. */
export interface ReleasedModels {
  /** Models deleted. */
  deleted: number;
  /** Models kept (published, or used by another task, or not asked to delete) whose `task` link was cleared. */
  updated: number;
}

/**
 * Lets go of the models a task created, before it is reset or deleted. A model it created (`model.task` is the
 * task) is deleted when `deleteModels` is set, it is not published, and no task uses it other than as this task's
 * output; any other such model is kept and loses its link to the task (as ClearML's task cleanup does). The task's
 * own lists are the caller's to clear.
 */
export async function releaseTaskModels(ctx: ServiceContext, task: Task, deleteModels: boolean): Promise<ReleasedModels> {
  const created = await ctx.repos.models.list({ tasks: [task.id], includeHidden: true });
  if (created.length === 0) return { deleted: 0, updated: 0 };
  const uses = await ctx.repos.tasks.modelUses(created.map((m) => m.id));
  const isUsedElsewhere = (model: Model) =>
    uses.some((use) => use.model === model.id && !(use.task === task.id && use.type === 'output'));
  const doomed = created.filter((m) => deleteModels && !m.ready && !isUsedElsewhere(m));
  const now = ctx.now();
  const kept = created.filter((m) => !doomed.includes(m));
  for (const model of kept) await ctx.repos.models.replace({ ...model, task: null, last_update: now });
  await ctx.repos.models.delete(doomed.map((m) => m.id));
  return { deleted: doomed.length, updated: kept.length };
}

/** Publishes (ready) the output models of a task that are not published yet; answers how many. */
export async function publishOutputModels(ctx: ServiceContext, task: Task): Promise<number> {
  let published = 0;
  const now = ctx.now();
  for (const id of new Set(task.models.output.map((ref) => ref.model))) {
    const model = await ctx.repos.models.get(id);
    if (!model || model.ready) continue;
    await ctx.repos.models.replace({ ...model, ready: true, last_update: now });
    published += 1;
  }
  return published;
}
