import {
  PROGRESS_RUNTIME_KEY,
  SYSTEM_TAG,
  TASK_STATUSES,
  MAX_CONFIGURATION_ITEMS_PER_TASK,
  MAX_HYPERPARAMS_PER_TASK,
  TasklaneError,
  assertTaskWritable,
  countHyperParams,
  newId,
  shortId,
  type Artifact,
  type ConfigurationItem,
  type HyperParamItem,
  type HyperParams,
  type ParsedRequestOf,
  type ResponseOf,
  type Task,
  type TaskWriteKind,
} from '@tasklane/protocol';
import { TASK_ORDER_FIELDS, type TaskMetricsUpdate, type TaskOrder, type TaskOrderField, type TaskQuery } from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { checkOrderKeys, toListFilter } from './list-filter.js';
import { getModelOrThrow } from './model-links.js';
import { compilePattern } from '../storage/patterns.js';
import { descendantIds, ensureProject, getProjectOrThrow } from './projects.js';
import { paging, project } from './projection.js';

export async function getTaskOrThrow(ctx: ServiceContext, id: string): Promise<Task> {
  const task = await ctx.repos.tasks.get(id);
  if (!task) {
    throw new TasklaneError(
      'TASK_NOT_FOUND',
      `Task ${shortId(id)} not found: no task has id "${id}". List tasks with: tasklane task list`,
      { task: id },
    );
  }
  return task;
}

/**
 * Refuses a task that would hold more hyperparameters or configuration objects than a task may (each request is
 * checked by its schema; this catches the sum after a merge, e.g. edit_hyper_params adding to what is there).
 */
function assertWithinTaskLimits(task: Task): void {
  const params = countHyperParams(task.hyperparams);
  if (params > MAX_HYPERPARAMS_PER_TASK) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.hyperparams: a task holds at most ${MAX_HYPERPARAMS_PER_TASK} hyperparameters, and task ${shortId(task.id)} would have ${params}; ` +
        'delete some first (tasks.delete_hyper_params) or keep large structures in a configuration object.',
      { fields: ['body.hyperparams'] },
    );
  }
  const configs = Object.keys(task.configuration).length;
  if (configs > MAX_CONFIGURATION_ITEMS_PER_TASK) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.configuration: a task holds at most ${MAX_CONFIGURATION_ITEMS_PER_TASK} configuration objects, and task ${shortId(task.id)} would have ${configs}.`,
      { fields: ['body.configuration'] },
    );
  }
}

/** Writes a task whose status the caller read; fails with STATUS_CONFLICT if someone changed it meanwhile. */
export async function saveTask(ctx: ServiceContext, next: Task, readStatus: Task['status']): Promise<void> {
  assertWithinTaskLimits(next);
  if (!(await ctx.repos.tasks.replace(next, readStatus))) throw await statusConflict(ctx, next.id, readStatus);
}

/**
 * Writes what an event batch changes in a task (last_metrics, last_iteration, last_update) whose status the caller
 * read, and nothing else of it; fails with STATUS_CONFLICT as saveTask does.
 */
export async function saveLastMetrics(
  ctx: ServiceContext,
  taskId: string,
  update: TaskMetricsUpdate,
  readStatus: Task['status'],
): Promise<void> {
  if (!(await ctx.repos.tasks.updateLastMetrics(taskId, update, readStatus))) throw await statusConflict(ctx, taskId, readStatus);
}

async function statusConflict(ctx: ServiceContext, taskId: string, readStatus: Task['status']): Promise<TasklaneError> {
  const now = await ctx.repos.tasks.get(taskId);
  return new TasklaneError(
    'STATUS_CONFLICT',
    `Task ${shortId(taskId)} changed while this request ran (its status is now "${now?.status ?? 'deleted'}"); read it again and retry.`,
    { task: taskId, expected_status: readStatus, current_status: now?.status },
  );
}

/** Loads a task and checks that this part of it may be written in its status. */
async function getWritableTask(ctx: ServiceContext, id: string, kind: TaskWriteKind, force?: boolean): Promise<Task> {
  const task = await getTaskOrThrow(ctx, id);
  assertTaskWritable(task.id, task.status, kind, force);
  return task;
}

/** Fills `section`/`name` of each item from the map keys, so stored items are whole. */
function normalizeHyperParams(params: HyperParams): HyperParams {
  const out: HyperParams = {};
  for (const [section, items] of Object.entries(params)) {
    out[section] = {};
    for (const [name, item] of Object.entries(items)) out[section][name] = { ...item, section, name };
  }
  return out;
}

function normalizeConfiguration(config: Record<string, ConfigurationItem>): Record<string, ConfigurationItem> {
  return Object.fromEntries(Object.entries(config).map(([name, item]) => [name, { ...item, name }]));
}

function sortArtifacts(artifacts: Artifact[]): Artifact[] {
  return [...artifacts].sort((a, b) => (a.key === b.key ? a.mode.localeCompare(b.mode) : a.key < b.key ? -1 : 1));
}

/** The project id a body names, by id (which must exist) or by full name (created when missing). */
export async function resolveProject(
  ctx: ServiceContext,
  projectId: string | null | undefined,
  projectName: string | undefined,
): Promise<string | null | undefined> {
  if (projectName !== undefined) return (await ensureProject(ctx, projectName, {}, 'project_name')).id;
  if (projectId) await getProjectOrThrow(ctx, projectId);
  return projectId;
}

export async function createTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.create'>): Promise<ResponseOf<'tasks.create'>> {
  const now = ctx.now();
  const projectId = await resolveProject(ctx, body.project, body.project_name);
  if (body.parent) await getTaskOrThrow(ctx, body.parent);
  const task: Task = {
    id: newId(),
    name: body.name,
    project: projectId ?? null,
    parent: body.parent ?? null,
    type: body.type ?? 'training',
    status: 'created',
    status_reason: '',
    status_message: '',
    status_changed: now,
    comment: body.comment ?? '',
    tags: [...new Set(body.tags ?? [])].sort(),
    system_tags: [...new Set(body.system_tags ?? [])].sort(),
    created: now,
    started: null,
    completed: null,
    published: null,
    last_update: now,
    last_change: now,
    active_duration: null,
    script: body.script ?? {},
    execution: { ...body.execution, artifacts: sortArtifacts(body.execution?.artifacts ?? []) },
    hyperparams: normalizeHyperParams(body.hyperparams ?? {}),
    configuration: normalizeConfiguration(body.configuration ?? {}),
    runtime: body.runtime ?? {},
    models: { input: body.models?.input ?? [], output: body.models?.output ?? [] },
    container: body.container ?? {},
    output: { destination: body.output_dest ?? null },
    last_iteration: 0,
    last_metrics: {},
    last_worker: null,
    last_worker_report: null,
    enqueue_status: null,
    ...(ctx.caller?.user ? { user: ctx.caller.user } : {}),
  };
  assertWithinTaskLimits(task);
  await ctx.repos.tasks.insert(task);
  return { id: task.id };
}

export async function getTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.get_by_id'>): Promise<ResponseOf<'tasks.get_by_id'>> {
  return { task: await getTaskOrThrow(ctx, body.task) };
}

/** Values inside the task document that listings may be ordered by, besides the columns (TASK_ORDER_FIELDS). */
const DOCUMENT_ORDER_FIELDS = new Set(['active_duration', 'comment', 'tags', 'system_tags', 'last_change', 'status_changed']);
const METRIC_ORDER_VALUES = new Set(['value', 'min_value', 'max_value', 'first_value', 'mean_value', 'count']);

/** How many dotted parts a hyperparameter section may have when ordering by it (each split is one more lookup). */
const MAX_SECTION_PARTS = 8;

/**
 * Reads ClearML's `order_by`: a column, a document field, `hyperparams.<section>.<name>.value` (section and name may
 * hold dots: each split is tried, the shortest section first) or
 * `last_metrics.<metric hash>.<variant hash>.<value|min_value|max_value|...>`; a leading "-" orders descending.
 */
function orderBy(raw: readonly string[] | undefined): TaskQuery['orderBy'] {
  checkOrderKeys(raw);
  return (raw ?? []).map((entry): TaskOrder => {
    const descending = entry.startsWith('-');
    const field = descending ? entry.slice(1) : entry;
    if ((TASK_ORDER_FIELDS as readonly string[]).includes(field)) return { field: field as TaskOrderField, descending };
    if (DOCUMENT_ORDER_FIELDS.has(field)) return { paths: [[field]], descending };
    const parts = field.split('.');
    if (parts[0] === 'hyperparams' && parts.length >= 4 && parts.at(-1) === 'value') {
      const middle = parts.slice(1, -1);
      const paths: string[][] = [];
      for (let split = 1; split < middle.length && split <= MAX_SECTION_PARTS; split += 1) {
        paths.push(['hyperparams', middle.slice(0, split).join('.'), middle.slice(split).join('.'), 'value']);
      }
      return { paths, descending };
    }
    if (parts[0] === 'last_metrics' && parts.length === 4 && METRIC_ORDER_VALUES.has(parts[3]!)) {
      return { paths: [parts], descending };
    }
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.order_by: cannot order tasks by ${JSON.stringify(field)}; use one of ` +
        `${[...TASK_ORDER_FIELDS, ...DOCUMENT_ORDER_FIELDS].join(', ')}, hyperparams.<section>.<name>.value or ` +
        'last_metrics.<metric hash>.<variant hash>.value (prefix "-" for descending)',
      { fields: ['body.order_by'] },
    );
  });
}

export async function listTasks(ctx: ServiceContext, body: ParsedRequestOf<'tasks.get_all'>): Promise<ResponseOf<'tasks.get_all'>> {
  if (body.name !== undefined) compilePattern(body.name);
  let projects: (string | null)[] | undefined = body.project;
  if (projects && body.include_subprojects) {
    const known = projects.filter((p): p is string => !!p);
    projects = [...descendantIds(known, await ctx.repos.projects.list()), ...projects.filter((p) => !p)];
  }
  const statuses = toListFilter(body.status);
  for (const status of [...(statuses?.include ?? []), ...(statuses?.exclude ?? [])]) {
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Invalid request: body.status: unknown status ${JSON.stringify(status)}; use one of ${TASK_STATUSES.join(', ')}`,
        { fields: ['body.status'] },
      );
    }
  }
  let ids = body.id;
  const inputModels = body['models.input.model'];
  if (inputModels) {
    const users = new Set((await ctx.repos.tasks.modelUses(inputModels)).filter((use) => use.type === 'input').map((use) => use.task));
    ids = ids ? ids.filter((id) => users.has(id)) : [...users];
  }
  const tasks = await ctx.repos.tasks.list({
    ids,
    namePattern: body.name,
    projects,
    statuses,
    types: toListFilter(body.type),
    tags: toListFilter(body.tags),
    systemTags: toListFilter(body.system_tags),
    parent: body.parent,
    users: body.user,
    searchText: body.search_text,
    includeHidden: body.search_hidden === true || body.id !== undefined,
    orderBy: orderBy(body.order_by),
    ...paging(body),
  });
  return { tasks: tasks.map((t) => project(t, body.only_fields)) };
}

/** Which part of a task each editable field belongs to (see `canWriteTask`). */
const EDIT_FIELD_KIND: Record<string, TaskWriteKind> = {
  name: 'metadata',
  comment: 'metadata',
  tags: 'metadata',
  system_tags: 'metadata',
  project: 'metadata',
  project_name: 'metadata',
  type: 'configuration',
  parent: 'configuration',
  output_dest: 'configuration',
  script: 'configuration',
  execution: 'configuration',
  hyperparams: 'configuration',
  configuration: 'configuration',
  models: 'configuration',
  container: 'configuration',
  runtime: 'runtime',
};

/** Bumps the update times of a task being written. */
function touched(task: Task, now: string): Task {
  return { ...task, last_update: now, last_change: now };
}

export async function editTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.edit'>): Promise<ResponseOf<'tasks.edit'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  const given = Object.keys(EDIT_FIELD_KIND).filter((key) => (body as Record<string, unknown>)[key] !== undefined);
  for (const kind of new Set(given.map((key) => EDIT_FIELD_KIND[key]!))) {
    assertTaskWritable(task.id, task.status, kind, body.force);
  }
  const next: Task = { ...task };
  const fields: Record<string, unknown> = {};
  const set = <TKey extends keyof Task>(key: TKey, value: Task[TKey]) => {
    next[key] = value;
    fields[key] = value;
  };
  if (body.name !== undefined) set('name', body.name);
  if (body.comment !== undefined) set('comment', body.comment);
  if (body.tags !== undefined) set('tags', [...new Set(body.tags)].sort());
  if (body.system_tags !== undefined) set('system_tags', [...new Set(body.system_tags)].sort());
  if (body.project !== undefined || body.project_name !== undefined) {
    set('project', (await resolveProject(ctx, body.project, body.project_name)) ?? null);
  }
  if (body.type !== undefined) set('type', body.type);
  if (body.parent !== undefined) {
    if (body.parent) await getTaskOrThrow(ctx, body.parent);
    set('parent', body.parent);
  }
  if (body.output_dest !== undefined) set('output', { ...task.output, destination: body.output_dest });
  // Embedded documents merge key by key; maps are replaced whole (ClearML's tasks.edit semantics).
  if (body.script !== undefined) set('script', { ...task.script, ...body.script });
  if (body.execution !== undefined) {
    const execution = { ...task.execution, ...body.execution };
    if (body.execution.artifacts) execution.artifacts = sortArtifacts(body.execution.artifacts);
    set('execution', execution);
  }
  if (body.hyperparams !== undefined) set('hyperparams', normalizeHyperParams(body.hyperparams));
  if (body.configuration !== undefined) set('configuration', normalizeConfiguration(body.configuration));
  if (body.models !== undefined) set('models', { ...task.models, ...body.models });
  if (body.container !== undefined) set('container', body.container);
  if (body.runtime !== undefined) set('runtime', body.runtime);
  await saveTask(ctx, touched(next, ctx.now()), task.status);
  return { updated: 1, fields };
}

export async function updateTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.update'>): Promise<ResponseOf<'tasks.update'>> {
  const { task, ...rest } = body;
  return editTask(ctx, { task, force: false, ...rest });
}

function hyperParamList(task: Task): HyperParamItem[] {
  return Object.values(task.hyperparams).flatMap((items) => Object.values(items));
}

export async function getHyperParams(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.get_hyper_params'>,
): Promise<ResponseOf<'tasks.get_hyper_params'>> {
  const params = [];
  for (const id of body.tasks) params.push({ task: id, hyperparams: hyperParamList(await getTaskOrThrow(ctx, id)) });
  return { params };
}

export async function editHyperParams(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.edit_hyper_params'>,
): Promise<ResponseOf<'tasks.edit_hyper_params'>> {
  const task = await getWritableTask(ctx, body.task, 'configuration', body.force);
  const params: HyperParams =
    body.replace_hyperparams === 'all' ? {} : structuredClone(task.hyperparams);
  if (body.replace_hyperparams === 'section') {
    for (const item of body.hyperparams) params[item.section] = {};
  }
  for (const item of body.hyperparams) {
    (params[item.section] ??= {})[item.name] = item;
  }
  await saveTask(ctx, touched({ ...task, hyperparams: params }, ctx.now()), task.status);
  return { updated: 1 };
}

export async function deleteHyperParams(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.delete_hyper_params'>,
): Promise<ResponseOf<'tasks.delete_hyper_params'>> {
  const task = await getWritableTask(ctx, body.task, 'configuration', body.force);
  const params = structuredClone(task.hyperparams);
  let deleted = 0;
  for (const { section, name } of body.hyperparams) {
    const items = params[section];
    if (!items) continue;
    if (name === undefined) {
      deleted += Object.keys(items).length;
      delete params[section];
    } else if (Object.hasOwn(items, name)) {
      delete items[name];
      deleted += 1;
      if (Object.keys(items).length === 0) delete params[section];
    }
  }
  if (deleted > 0) await saveTask(ctx, touched({ ...task, hyperparams: params }, ctx.now()), task.status);
  return { deleted };
}

export async function getConfigurations(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.get_configurations'>,
): Promise<ResponseOf<'tasks.get_configurations'>> {
  const configurations = [];
  for (const id of body.tasks) {
    const task = await getTaskOrThrow(ctx, id);
    const items = Object.values(task.configuration).filter((c) => !body.names || body.names.includes(c.name ?? ''));
    configurations.push({ task: id, configuration: items });
  }
  return { configurations };
}

export async function getConfigurationNames(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.get_configuration_names'>,
): Promise<ResponseOf<'tasks.get_configuration_names'>> {
  const configurations = [];
  for (const id of body.tasks) {
    configurations.push({ task: id, names: Object.keys((await getTaskOrThrow(ctx, id)).configuration).sort() });
  }
  return { configurations };
}

export async function editConfiguration(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.edit_configuration'>,
): Promise<ResponseOf<'tasks.edit_configuration'>> {
  const task = await getWritableTask(ctx, body.task, 'configuration', body.force);
  const configuration = body.replace_configuration ? {} : { ...task.configuration };
  for (const item of body.configuration) configuration[item.name] = item;
  await saveTask(ctx, touched({ ...task, configuration }, ctx.now()), task.status);
  return { updated: 1 };
}

export async function deleteConfiguration(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.delete_configuration'>,
): Promise<ResponseOf<'tasks.delete_configuration'>> {
  const task = await getWritableTask(ctx, body.task, 'configuration', body.force);
  const configuration = { ...task.configuration };
  let deleted = 0;
  for (const name of body.configuration) {
    if (Object.hasOwn(configuration, name)) {
      delete configuration[name];
      deleted += 1;
    }
  }
  if (deleted > 0) await saveTask(ctx, touched({ ...task, configuration }, ctx.now()), task.status);
  return { deleted };
}

export async function addOrUpdateArtifacts(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.add_or_update_artifacts'>,
): Promise<ResponseOf<'tasks.add_or_update_artifacts'>> {
  const task = await getWritableTask(ctx, body.task, 'outputs', body.force);
  const byKey = new Map((task.execution.artifacts ?? []).map((a) => [`${a.key}\u0000${a.mode}`, a]));
  for (const artifact of body.artifacts) byKey.set(`${artifact.key}\u0000${artifact.mode}`, artifact);
  const execution = { ...task.execution, artifacts: sortArtifacts([...byKey.values()]) };
  await saveTask(ctx, touched({ ...task, execution }, ctx.now()), task.status);
  return { updated: body.artifacts.length };
}

export async function deleteArtifacts(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.delete_artifacts'>,
): Promise<ResponseOf<'tasks.delete_artifacts'>> {
  const task = await getWritableTask(ctx, body.task, 'outputs', body.force);
  const before = task.execution.artifacts ?? [];
  const artifacts = before.filter(
    (a) => !body.artifacts.some((d) => d.key === a.key && (d.mode === undefined || d.mode === a.mode)),
  );
  const deleted = before.length - artifacts.length;
  if (deleted > 0) await saveTask(ctx, touched({ ...task, execution: { ...task.execution, artifacts } }, ctx.now()), task.status);
  return { deleted };
}

export async function addOrUpdateModel(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.add_or_update_model'>,
): Promise<ResponseOf<'tasks.add_or_update_model'>> {
  const task = await getWritableTask(ctx, body.task, body.type === 'input' ? 'configuration' : 'outputs', body.force);
  const model = await getModelOrThrow(ctx, body.model, 'Register the model with models.create first, then record it on the task.');
  const now = ctx.now();
  const list = task.models[body.type].filter((m) => m.name !== body.name);
  list.push({ name: body.name, model: body.model, updated: now });
  const next: Task = { ...task, models: { ...task.models, [body.type]: list } };
  if (body.iteration !== undefined && body.iteration > next.last_iteration) next.last_iteration = body.iteration;
  await saveTask(ctx, touched(next, now), task.status);
  if (body.type === 'output') {
    // The task that records a model as its output without one named at creation is the model's creating task.
    const iteration = Math.max(model.last_iteration, body.iteration ?? 0);
    if (model.task === null || iteration !== model.last_iteration) {
      await ctx.repos.models.replace({ ...model, task: model.task ?? task.id, last_iteration: iteration, last_update: now });
    }
  }
  return { updated: 1 };
}

export async function setRequirements(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.set_requirements'>,
): Promise<ResponseOf<'tasks.set_requirements'>> {
  const task = await getWritableTask(ctx, body.task, 'requirements', body.force);
  const script = { ...task.script, requirements: body.requirements };
  await saveTask(ctx, touched({ ...task, script }, ctx.now()), task.status);
  return { updated: 1, fields: { 'script.requirements': body.requirements } };
}

export async function setProgress(
  ctx: ServiceContext,
  body: ParsedRequestOf<'tasks.set_progress'>,
): Promise<ResponseOf<'tasks.set_progress'>> {
  const task = await getWritableTask(ctx, body.task, 'runtime');
  const next = { ...task };
  const fields: Record<string, unknown> = {};
  if (body.progress !== undefined) {
    // ClearML's SDK keeps progress as text in runtime; keep the same so its clients read it back.
    const progress = String(Math.round(body.progress));
    next.runtime = { ...task.runtime, [PROGRESS_RUNTIME_KEY]: progress };
    fields[`runtime.${PROGRESS_RUNTIME_KEY}`] = progress;
  }
  if (body.status_message !== undefined) {
    next.status_message = body.status_message;
    fields.status_message = body.status_message;
  }
  await saveTask(ctx, touched(next, ctx.now()), task.status);
  return { updated: 1, fields };
}

export async function pingTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.ping'>): Promise<ResponseOf<'tasks.ping'>> {
  const task = await getTaskOrThrow(ctx, body.task);
  await saveTask(ctx, { ...task, last_update: ctx.now() }, task.status);
  return {};
}

/** Tells whether a task carries the archived system tag. */
export function isArchived(task: Task): boolean {
  return task.system_tags.includes(SYSTEM_TAG.archived);
}

export async function cloneTask(ctx: ServiceContext, body: ParsedRequestOf<'tasks.clone'>): Promise<ResponseOf<'tasks.clone'>> {
  const source = await getTaskOrThrow(ctx, body.task);
  let newProject: { id: string; name: string } | undefined;
  let projectId = source.project ?? null;
  if (body.new_project_name !== undefined) {
    const ensured = await ensureProject(ctx, body.new_project_name, {}, 'new_project_name');
    projectId = ensured.id;
    if (ensured.created) newProject = { id: ensured.id, name: body.new_project_name };
  } else if (body.new_task_project !== undefined) {
    if (body.new_task_project) await getProjectOrThrow(ctx, body.new_task_project);
    projectId = body.new_task_project;
  }
  const now = ctx.now();
  const clone: Task = {
    ...structuredClone(source),
    id: newId(),
    name: body.new_task_name ?? `Clone Of ${source.name}`,
    // The clone is the cloner's (when the caller says who it is), as in ClearML.
    ...(ctx.caller?.user ? { user: ctx.caller.user } : {}),
    project: projectId,
    parent: body.new_task_parent ?? source.id,
    status: 'created',
    status_reason: '',
    status_message: '',
    status_changed: now,
    comment: body.new_task_comment ?? source.comment ?? '',
    tags: body.new_task_tags ? [...new Set(body.new_task_tags)].sort() : [...source.tags],
    system_tags: body.new_task_system_tags
      ? [...new Set(body.new_task_system_tags)].sort()
      : source.system_tags.filter((t) => t !== SYSTEM_TAG.development && t !== SYSTEM_TAG.archived),
    created: now,
    started: null,
    completed: null,
    published: null,
    last_update: now,
    last_change: now,
    active_duration: null,
    execution: {
      ...structuredClone(source.execution),
      ...body.execution_overrides,
      queue: null,
      artifacts: (source.execution.artifacts ?? []).filter((a) => a.mode === 'input'),
    },
    hyperparams: body.new_task_hyperparams ? normalizeHyperParams(body.new_task_hyperparams) : structuredClone(source.hyperparams),
    configuration: body.new_task_configuration
      ? normalizeConfiguration(body.new_task_configuration)
      : structuredClone(source.configuration),
    container: body.new_task_container ?? { ...source.container },
    runtime: {},
    models: { input: structuredClone(source.models.input), output: [] },
    output: { destination: source.output.destination ?? null },
    last_iteration: 0,
    last_metrics: {},
    last_worker: null,
    last_worker_report: null,
    enqueue_status: null,
  };
  assertWithinTaskLimits(clone);
  await ctx.repos.tasks.insert(clone);
  return newProject ? { id: clone.id, new_project: newProject } : { id: clone.id };
}
