import { isDeepStrictEqual } from 'node:util';
import {
  SYSTEM_TAG,
  TasklaneError,
  newId,
  shortId,
  type Model,
  type ModelMetadataItem,
  type ParsedRequestOf,
  type ResponseOf,
} from '@tasklane/protocol';
import { MODEL_ORDER_FIELDS, type ModelOrderField, type ModelQuery } from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { checkOrderKeys, toListFilter } from './list-filter.js';
import { getModelOrThrow } from './model-links.js';
import { compilePattern } from '../storage/patterns.js';
import { descendantIds } from './projects.js';
import { paging, project } from './projection.js';
import { publishTaskRecord } from './task-status.js';
import { getTaskOrThrow, resolveProject, saveTask } from './tasks.js';

function sortedTags(tags: readonly string[]): string[] {
  return [...new Set(tags)].sort();
}

function metadataMap(items: readonly ModelMetadataItem[]): Model['metadata'] {
  return Object.fromEntries(items.map((item) => [item.key, { key: item.key, type: item.type, value: item.value }]));
}

async function checkParent(ctx: ServiceContext, parent: string | null | undefined, self?: string): Promise<void> {
  if (!parent) return;
  if (parent === self) {
    throw new TasklaneError('INVALID_INPUT', `Invalid request: body.parent: a model cannot be its own parent, got "${parent}"`, {
      fields: ['body.parent'],
    });
  }
  await getModelOrThrow(ctx, parent, 'Check body.parent (the id of the model this one derives from).');
}

export async function createModel(ctx: ServiceContext, body: ParsedRequestOf<'models.create'>): Promise<ResponseOf<'models.create'>> {
  const projectId = await resolveProject(ctx, body.project, body.project_name);
  await checkParent(ctx, body.parent);
  if (body.task) await getTaskOrThrow(ctx, body.task);
  const now = ctx.now();
  const model: Model = {
    id: newId(),
    name: body.name,
    created: now,
    last_update: now,
    task: body.task ?? null,
    parent: body.parent ?? null,
    project: projectId ?? null,
    comment: body.comment ?? '',
    tags: sortedTags(body.tags ?? []),
    system_tags: sortedTags(body.system_tags ?? []),
    framework: body.framework ?? null,
    design: body.design ?? {},
    labels: body.labels ?? {},
    uri: body.uri,
    ready: body.ready,
    metadata: metadataMap(body.metadata ?? []),
    last_iteration: 0,
    // The model is its creator's, as a task is (the signed-in user; where auth is off, the one the client names).
    ...(ctx.caller?.user ? { user: ctx.caller.user } : {}),
  };
  await ctx.repos.models.insert(model);
  return { id: model.id, created: true };
}

export async function getModel(ctx: ServiceContext, body: ParsedRequestOf<'models.get_by_id'>): Promise<ResponseOf<'models.get_by_id'>> {
  return { model: await getModelOrThrow(ctx, body.model) };
}

function orderBy(raw: readonly string[] | undefined): ModelQuery['orderBy'] {
  checkOrderKeys(raw);
  return (raw ?? []).map((entry) => {
    const descending = entry.startsWith('-');
    const field = descending ? entry.slice(1) : entry;
    if (!(MODEL_ORDER_FIELDS as readonly string[]).includes(field)) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Invalid request: body.order_by: cannot order models by ${JSON.stringify(field)}; use one of ${MODEL_ORDER_FIELDS.join(', ')} (prefix "-" for descending)`,
        { fields: ['body.order_by'] },
      );
    }
    return { field: field as ModelOrderField, descending };
  });
}

export async function listModels(ctx: ServiceContext, body: ParsedRequestOf<'models.get_all'>): Promise<ResponseOf<'models.get_all'>> {
  if (body.name !== undefined) compilePattern(body.name);
  let projects = body.project;
  if (projects && body.include_subprojects) projects = descendantIds(projects, await ctx.repos.projects.list());
  const models = await ctx.repos.models.list({
    ids: body.id,
    namePattern: body.name,
    projects,
    tasks: body.task,
    uris: body.uri,
    frameworks: toListFilter(body.framework),
    tags: toListFilter(body.tags),
    systemTags: toListFilter(body.system_tags),
    ready: body.ready,
    users: body.user,
    searchText: body.search_text,
    includeHidden: body.search_hidden === true || body.id !== undefined,
    orderBy: orderBy(body.order_by),
    ...paging(body),
  });
  return { models: models.map((m) => project(m, body.only_fields)) };
}

/** `models.get_frameworks`: the distinct frameworks of the (unhidden) models, for the models table's filter. */
export async function listModelFrameworks(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.get_frameworks'>,
): Promise<ResponseOf<'models.get_frameworks'>> {
  const models = await ctx.repos.models.list({ projects: body.projects });
  const frameworks = new Set(models.map((m) => m.framework).filter((f): f is string => !!f));
  return { frameworks: [...frameworks].sort((a, b) => a.localeCompare(b)) };
}

/** What a published (ready) model may still change without force: what describes it, not what it is. */
const PUBLISHED_MODEL_EDITABLE: ReadonlySet<string> = new Set(['name', 'comment', 'tags', 'system_tags', 'project', 'metadata']);

type ModelEdit = Omit<ParsedRequestOf<'models.edit'>, 'force'> & { force: boolean };

/** `models.edit` and `models.update`: given fields replace the stored ones; a published model keeps what it is. */
export async function editModel(ctx: ServiceContext, body: ModelEdit): Promise<ResponseOf<'models.edit'>> {
  const model = await getModelOrThrow(ctx, body.model);
  const next: Model = { ...model };
  const fields: Record<string, unknown> = {};
  const set = <TKey extends keyof Model>(key: TKey, value: Model[TKey]) => {
    next[key] = value;
    fields[key] = value;
  };
  if (body.name !== undefined) set('name', body.name);
  if (body.uri !== undefined) set('uri', body.uri);
  if (body.comment !== undefined) set('comment', body.comment);
  if (body.tags !== undefined) set('tags', sortedTags(body.tags));
  if (body.system_tags !== undefined) set('system_tags', sortedTags(body.system_tags));
  if (body.framework !== undefined) set('framework', body.framework);
  if (body.design !== undefined) set('design', body.design);
  if (body.labels !== undefined) set('labels', body.labels);
  if (body.ready !== undefined) set('ready', body.ready);
  if (body.metadata !== undefined) set('metadata', metadataMap(body.metadata));
  if (body.project !== undefined || body.project_name !== undefined) {
    set('project', (await resolveProject(ctx, body.project, body.project_name)) ?? null);
  }
  if (body.parent !== undefined) {
    await checkParent(ctx, body.parent, model.id);
    set('parent', body.parent);
  }
  if (body.task !== undefined) {
    if (body.task) await getTaskOrThrow(ctx, body.task);
    set('task', body.task);
  }
  if (model.ready && !body.force) assertPublishedEditable(model, next);
  const now = ctx.now();
  if (body.iteration !== undefined) {
    if (body.iteration > next.last_iteration) next.last_iteration = body.iteration;
    await raiseTaskIteration(ctx, next.task, body.iteration, now);
  }
  if (Object.keys(fields).length === 0 && next.last_iteration === model.last_iteration) return { updated: 0, fields };
  await ctx.repos.models.replace({ ...next, last_update: now });
  return { updated: 1, fields };
}

function assertPublishedEditable(before: Model, after: Model): void {
  // In name order: a document's keys come back in another order from PostgreSQL's jsonb.
  const changed = (Object.keys(after) as (keyof Model)[])
    .filter((key) => !PUBLISHED_MODEL_EDITABLE.has(key) && !isDeepStrictEqual(before[key], after[key]))
    .sort();
  if (changed.length === 0) return;
  throw new TasklaneError(
    'MODEL_READ_ONLY',
    `Cannot change ${changed.join(', ')} of model ${shortId(before.id)} ("${before.name}"): it is published, and a ` +
      'published model keeps its weights and description; only its name, comment, tags, project and metadata change. ' +
      'Register a new model (models.create) for new weights, or pass force to change this one anyway.',
    { model: before.id, fields: changed },
  );
}

/** ClearML's `iteration` on a model edit also raises the last iteration of the model's task (unless published). */
async function raiseTaskIteration(ctx: ServiceContext, taskId: string | null, iteration: number, now: string): Promise<void> {
  if (!taskId) return;
  const task = await ctx.repos.tasks.get(taskId);
  if (!task || task.status === 'published' || iteration <= task.last_iteration) return;
  await saveTask(ctx, { ...task, last_iteration: iteration, last_update: now }, task.status);
}

export async function updateModel(ctx: ServiceContext, body: ParsedRequestOf<'models.update'>): Promise<ResponseOf<'models.update'>> {
  return editModel(ctx, body);
}

/**
 * Publishes a model and, with `publishTask`, the task that created it (unless it is published already). The task goes
 * first: if it cannot be published, nothing is written.
 */
async function publishModel(
  ctx: ServiceContext,
  id: string,
  options: { publishTask: boolean; forcePublishTask: boolean },
): Promise<ResponseOf<'models.set_ready'>> {
  const model = await getModelOrThrow(ctx, id);
  let publishedTask: ResponseOf<'models.set_ready'>['published_task'] = null;
  if (options.publishTask && model.task) {
    const task = await ctx.repos.tasks.get(model.task);
    if (task && task.status !== 'published') {
      const fields = await publishTaskRecord(ctx, task, { force: options.forcePublishTask, publishModels: true });
      publishedTask = { id: task.id, data: { updated: 1, fields } };
    }
  }
  if (model.ready) return { updated: 0, published_task: publishedTask };
  // Publishing the task may have published this model (one of its outputs) already.
  const current = (await ctx.repos.models.get(id)) ?? model;
  if (!current.ready) await ctx.repos.models.replace({ ...current, ready: true, last_update: ctx.now() });
  return { updated: 1, published_task: publishedTask };
}

export async function setModelReady(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.set_ready'>,
): Promise<ResponseOf<'models.set_ready'>> {
  return publishModel(ctx, body.model, { publishTask: body.publish_task, forcePublishTask: body.force_publish_task });
}

interface BulkFailure {
  id: string;
  error: { codes: number[]; msg: string; data: Record<string, unknown> };
}

/** Runs an action on each id, reporting successes and failures separately (ClearML's `*_many`). */
async function forEachModel<TResult extends { id: string }>(
  ids: readonly string[],
  action: (id: string) => Promise<TResult>,
): Promise<{ succeeded: TResult[]; failed: BulkFailure[] }> {
  const succeeded: TResult[] = [];
  const failed: BulkFailure[] = [];
  for (const id of ids) {
    try {
      succeeded.push(await action(id));
    } catch (error) {
      if (!(error instanceof TasklaneError)) throw error;
      failed.push({ id, error: { codes: [error.status, error.subcode], msg: error.message, data: error.details ?? {} } });
    }
  }
  return { succeeded, failed };
}

export async function publishManyModels(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.publish_many'>,
): Promise<ResponseOf<'models.publish_many'>> {
  const options = { publishTask: body.publish_task, forcePublishTask: body.force_publish_task };
  return forEachModel(body.ids, async (id) => ({ id, ...(await publishModel(ctx, id, options)) }));
}

async function setArchived(ctx: ServiceContext, id: string, archived: boolean): Promise<{ id: string }> {
  const model = await getModelOrThrow(ctx, id);
  if (model.system_tags.includes(SYSTEM_TAG.archived) !== archived) {
    const systemTags = archived
      ? sortedTags([...model.system_tags, SYSTEM_TAG.archived])
      : model.system_tags.filter((t) => t !== SYSTEM_TAG.archived);
    await ctx.repos.models.replace({ ...model, system_tags: systemTags, last_update: ctx.now() });
  }
  return { id };
}

export async function archiveManyModels(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.archive_many'>,
): Promise<ResponseOf<'models.archive_many'>> {
  return forEachModel(body.ids, (id) => setArchived(ctx, id, true));
}

export async function unarchiveManyModels(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.unarchive_many'>,
): Promise<ResponseOf<'models.unarchive_many'>> {
  return forEachModel(body.ids, (id) => setArchived(ctx, id, false));
}

/**
 * Deletes a model and takes it out of the model lists of the tasks that use it. A draft's use gives way; the use by
 * any other task (running, finished, published: it records what the task ran with or produced) refuses the delete
 * unless forced. The weights files are left alone; `url` says where they are.
 */
export async function deleteModel(ctx: ServiceContext, body: ParsedRequestOf<'models.delete'>): Promise<ResponseOf<'models.delete'>> {
  const model = await getModelOrThrow(ctx, body.model);
  const uses = await ctx.repos.tasks.modelUses([model.id]);
  const blocking = uses.filter((use) => use.status !== 'created');
  if (blocking.length > 0 && !body.force) {
    const listed = blocking
      .slice(0, 5)
      .map((use) => `${shortId(use.task)} (${use.type} model, status "${use.status}")`)
      .join(', ');
    const more = blocking.length > 5 ? ` and ${blocking.length - 5} more` : '';
    throw new TasklaneError(
      'MODEL_IN_USE',
      `Cannot delete model ${shortId(model.id)} ("${model.name}"): tasks that are not drafts use it: ${listed}${more}. ` +
        'Reset or delete those tasks first, or pass force to delete the model and take it out of their model lists.',
      { model: model.id, tasks: [...new Set(blocking.map((use) => use.task))] },
    );
  }
  const now = ctx.now();
  for (const taskId of new Set(uses.map((use) => use.task))) {
    const task = await ctx.repos.tasks.get(taskId);
    if (!task) continue;
    const models = {
      input: task.models.input.filter((ref) => ref.model !== model.id),
      output: task.models.output.filter((ref) => ref.model !== model.id),
    };
    await saveTask(ctx, { ...task, models, last_update: now, last_change: now }, task.status);
  }
  await ctx.repos.models.delete([model.id]);
  return { deleted: true, url: model.uri };
}

export async function addOrUpdateModelMetadata(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.add_or_update_metadata'>,
): Promise<ResponseOf<'models.add_or_update_metadata'>> {
  const model = await getModelOrThrow(ctx, body.model);
  const metadata = { ...(body.replace_metadata ? {} : model.metadata), ...metadataMap(body.metadata) };
  await ctx.repos.models.replace({ ...model, metadata, last_update: ctx.now() });
  return { updated: 1 };
}

export async function deleteModelMetadata(
  ctx: ServiceContext,
  body: ParsedRequestOf<'models.delete_metadata'>,
): Promise<ResponseOf<'models.delete_metadata'>> {
  const model = await getModelOrThrow(ctx, body.model);
  const metadata = { ...model.metadata };
  const present = body.keys.filter((key) => Object.hasOwn(metadata, key));
  if (present.length === 0) return { updated: 0 };
  for (const key of present) delete metadata[key];
  await ctx.repos.models.replace({ ...model, metadata, last_update: ctx.now() });
  return { updated: 1 };
}
