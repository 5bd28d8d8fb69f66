import {
  MAX_PROJECT_DEPTH,
  TasklaneError,
  newId,
  shortId,
  type ParsedRequestOf,
  type Project,
  type ProjectTaskStats,
  type ResponseOf,
} from '@tasklane/protocol';
import type { ProjectRecord } from '../storage/store.js';
import type { ServiceContext } from './context.js';
import { tagsMatch, toListFilter } from './list-filter.js';
import { compilePattern } from '../storage/patterns.js';
import { paging, project as projectFields } from './projection.js';

/**
 * Normalises a project path as ClearML does: parts split on "/", trimmed, empty parts dropped. Names must have
 * at least 3 characters and at most {@link MAX_PROJECT_DEPTH} levels.
 */
export function normalizeProjectName(raw: string, field = 'name'): string[] {
  const parts = raw
    .split('/')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  const name = parts.join('/');
  if (name.length < 3) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.${field}: a project name needs at least 3 characters, got ${JSON.stringify(raw)}`,
      { fields: [`body.${field}`] },
    );
  }
  if (parts.length > MAX_PROJECT_DEPTH) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.${field}: projects nest at most ${MAX_PROJECT_DEPTH} levels deep, got ${parts.length} in ${JSON.stringify(raw)}`,
      { fields: [`body.${field}`] },
    );
  }
  return parts;
}

export async function getProjectOrThrow(ctx: ServiceContext, id: string): Promise<ProjectRecord> {
  const found = await ctx.repos.projects.get(id);
  if (!found) {
    throw new TasklaneError(
      'PROJECT_NOT_FOUND',
      `Project ${shortId(id)} not found: no project has id "${id}". List projects with projects.get_all.`,
      { project: id },
    );
  }
  return found;
}

/**
 * Finds the project with this full name, creating it and any missing parents. Answers its id and whether the
 * last level was created.
 */
export async function ensureProject(
  ctx: ServiceContext,
  rawName: string,
  extra: Partial<Pick<ProjectRecord, 'description' | 'tags' | 'system_tags' | 'default_output_destination'>> = {},
  field = 'name',
): Promise<{ id: string; created: boolean }> {
  const parts = normalizeProjectName(rawName, field);
  let parent: string | null = null;
  let created = false;
  for (let depth = 1; depth <= parts.length; depth++) {
    const name = parts.slice(0, depth).join('/');
    const existing = await ctx.repos.projects.getByName(name);
    if (existing) {
      parent = existing.id;
      created = false;
      continue;
    }
    const now = ctx.now();
    const isLeaf = depth === parts.length;
    const record: ProjectRecord = {
      id: newId(),
      name,
      basename: parts[depth - 1]!,
      parent,
      description: isLeaf ? (extra.description ?? '') : '',
      tags: isLeaf ? [...(extra.tags ?? [])] : [],
      system_tags: isLeaf ? [...(extra.system_tags ?? [])] : [],
      default_output_destination: isLeaf ? (extra.default_output_destination ?? null) : null,
      created: now,
      last_update: now,
    };
    await ctx.repos.projects.insert(record);
    parent = record.id;
    created = true;
  }
  return { id: parent!, created };
}

/** The wire shape of a project: the record plus `path`, its ancestors' ids. */
export function toProject(record: ProjectRecord, byId: Map<string, ProjectRecord>): Project {
  const path: string[] = [];
  for (let p = record.parent; p; p = byId.get(p)?.parent ?? null) path.unshift(p);
  return { ...record, path };
}

/** Ids of a project and all its descendants. */
export function descendantIds(rootIds: readonly string[], all: readonly ProjectRecord[]): string[] {
  const childrenOf = new Map<string, string[]>();
  for (const p of all) {
    if (!p.parent) continue;
    const list = childrenOf.get(p.parent) ?? [];
    list.push(p.id);
    childrenOf.set(p.parent, list);
  }
  const out = new Set<string>();
  const stack = [...rootIds];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    stack.push(...(childrenOf.get(id) ?? []));
  }
  return [...out];
}

export async function createProject(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.create'>,
): Promise<ResponseOf<'projects.create'>> {
  const parts = normalizeProjectName(body.name);
  const name = parts.join('/');
  if (await ctx.repos.projects.getByName(name)) {
    throw new TasklaneError('ALREADY_EXISTS', `Project "${name}" already exists; pick another name or use the existing one.`, {
      name,
    });
  }
  const { id } = await ensureProject(ctx, name, body);
  return { id };
}

export async function getProject(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_by_id'>,
): Promise<ResponseOf<'projects.get_by_id'>> {
  const record = await getProjectOrThrow(ctx, body.project);
  const all = await ctx.repos.projects.list();
  return { project: toProject(record, new Map(all.map((p) => [p.id, p]))) };
}

export async function listProjects(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_all'>,
): Promise<ResponseOf<'projects.get_all'>> {
  const all = await ctx.repos.projects.list();
  const byId = new Map(all.map((p) => [p.id, p]));
  const name = body.name === undefined ? undefined : compilePattern(body.name);
  const basename = body.basename === undefined ? undefined : compilePattern(body.basename, 'basename');
  const tags = toListFilter(body.tags);
  const systemTags = toListFilter(body.system_tags);
  let found = all.filter(
    (p) =>
      (!body.id || body.id.includes(p.id)) &&
      (!name || name.test(p.name)) &&
      (!basename || basename.test(p.basename)) &&
      (!body.parent || (p.parent !== null && body.parent.includes(p.parent))) &&
      (!body.shallow_search || body.parent || p.parent === null) &&
      (body.search_hidden || body.id || !p.system_tags.includes('hidden')) &&
      tagsMatch(p.tags, tags) &&
      tagsMatch(p.system_tags, systemTags),
  );
  found = sortBy(found, body.order_by);
  const { limit, offset = 0 } = paging(body);
  if (limit !== undefined) found = found.slice(offset, offset + limit);
  return { projects: found.map((p) => projectFields(toProject(p, byId), body.only_fields)) };
}

/**
 * `projects.get_all_ex`: the listing of get_all, plus task counts per project (own tasks, or with those of every
 * sub-project), counted by one grouped query rather than by reading tasks.
 */
export async function listProjectsEx(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_all_ex'>,
): Promise<ResponseOf<'projects.get_all_ex'>> {
  const { include_stats: includeStats, stats_with_children: withChildren, stats_for_state: state, ...rest } = body;
  const { projects } = await listProjects(ctx, rest);
  if (!includeStats) return { projects };
  const all = await ctx.repos.projects.list();
  const parentOf = new Map(all.map((p) => [p.id, p.parent]));
  const stats = new Map<string, ProjectTaskStats>();
  const add = (projectId: string, status: string, count: number, lastUpdate: string) => {
    const entry = stats.get(projectId) ?? { total_tasks: 0, status_count: {}, last_update: null };
    entry.total_tasks += count;
    entry.status_count[status] = (entry.status_count[status] ?? 0) + count;
    if (entry.last_update === null || lastUpdate > entry.last_update) entry.last_update = lastUpdate;
    stats.set(projectId, entry);
  };
  for (const row of await ctx.repos.tasks.projectStats(state === 'archived')) {
    if (row.project === null || !parentOf.has(row.project)) continue;
    add(row.project, row.status, row.count, row.last_update);
    if (!withChildren) continue;
    for (let p = parentOf.get(row.project) ?? null; p !== null; p = parentOf.get(p) ?? null) {
      add(p, row.status, row.count, row.last_update);
    }
  }
  const empty = (): ProjectTaskStats => ({ total_tasks: 0, status_count: {}, last_update: null });
  return {
    projects: projects.map((p) => ({ ...p, stats: { [state]: (p.id && stats.get(p.id)) || empty() } })),
  };
}

/** The project ids a project-wide summary covers: one project (and its sub-projects), or undefined for all tasks. */
async function scopeIds(ctx: ServiceContext, project: string | undefined, withChildren: boolean): Promise<string[] | undefined> {
  if (project === undefined) return undefined;
  await getProjectOrThrow(ctx, project);
  return withChildren ? descendantIds([project], await ctx.repos.projects.list()) : [project];
}

export async function getProjectHyperParameters(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_hyper_parameters'>,
): Promise<ResponseOf<'projects.get_hyper_parameters'>> {
  const all = await ctx.repos.tasks.hyperParameterNames(await scopeIds(ctx, body.project, body.include_subprojects));
  const start = body.page * body.page_size;
  const parameters = all.slice(start, start + body.page_size);
  return { parameters, total: all.length, remaining: Math.max(0, all.length - start - parameters.length) };
}

export async function getUniqueMetricVariants(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_unique_metric_variants'>,
): Promise<ResponseOf<'projects.get_unique_metric_variants'>> {
  return { metrics: await ctx.repos.tasks.metricVariants(await scopeIds(ctx, body.project, body.include_subprojects)) };
}

export async function getTaskTags(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.get_task_tags'>,
): Promise<ResponseOf<'projects.get_task_tags'>> {
  let ids = body.projects;
  if (ids && body.include_subprojects) ids = descendantIds(ids, await ctx.repos.projects.list());
  const { tags, system_tags } = await ctx.repos.tasks.taskTags(ids);
  return body.include_system ? { tags, system_tags } : { tags };
}

const PROJECT_ORDER_FIELDS = new Set(['name', 'basename', 'created', 'last_update', 'id']);

function sortBy(items: ProjectRecord[], orderBy: readonly string[] | undefined): ProjectRecord[] {
  const keys = (orderBy ?? ['name']).map((raw) => {
    const descending = raw.startsWith('-');
    const field = descending ? raw.slice(1) : raw;
    if (!PROJECT_ORDER_FIELDS.has(field)) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Invalid request: body.order_by: cannot order projects by ${JSON.stringify(field)}; use one of ${[...PROJECT_ORDER_FIELDS].join(', ')}`,
        { fields: ['body.order_by'] },
      );
    }
    return { field: field as keyof ProjectRecord, descending };
  });
  return [...items].sort((a, b) => {
    for (const { field, descending } of keys) {
      const x = String(a[field] ?? '');
      const y = String(b[field] ?? '');
      if (x !== y) return (x < y ? -1 : 1) * (descending ? -1 : 1);
    }
    return 0;
  });
}

export async function updateProject(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.update'>,
): Promise<ResponseOf<'projects.update'>> {
  const record = await getProjectOrThrow(ctx, body.project);
  const fields: Record<string, unknown> = {};
  let next: ProjectRecord = { ...record };
  for (const key of ['description', 'tags', 'system_tags', 'default_output_destination'] as const) {
    if (body[key] !== undefined) {
      (next as Record<string, unknown>)[key] = body[key];
      fields[key] = body[key];
    }
  }
  next.last_update = ctx.now();
  await ctx.repos.projects.update(next);
  if (body.name !== undefined) {
    const moved = await renameProject(ctx, next, normalizeProjectName(body.name));
    fields.name = moved;
  }
  return { updated: 1, fields };
}

export async function moveProject(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.move'>,
): Promise<ResponseOf<'projects.move'>> {
  const record = await getProjectOrThrow(ctx, body.project);
  const location = body.new_location
    .split('/')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  await renameProject(ctx, record, [...location, record.basename]);
  return { moved: 1 };
}

/** Gives a project a new full name, creating missing new parents and renaming every descendant with it. */
async function renameProject(ctx: ServiceContext, record: ProjectRecord, parts: string[]): Promise<string> {
  const newName = parts.join('/');
  if (newName === record.name) return newName;
  if (newName.startsWith(`${record.name}/`)) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Cannot move project "${record.name}" into its own sub-project "${newName}".`,
      { project: record.id },
    );
  }
  if (await ctx.repos.projects.getByName(newName)) {
    throw new TasklaneError('ALREADY_EXISTS', `Cannot rename project "${record.name}": "${newName}" already exists.`, {
      name: newName,
    });
  }
  const parentParts = parts.slice(0, -1);
  const parent = parentParts.length > 0 ? (await ensureProject(ctx, parentParts.join('/'), {}, 'name')).id : null;
  const now = ctx.now();
  const all = await ctx.repos.projects.list();
  const descendants = all.filter((p) => p.name.startsWith(`${record.name}/`));
  await ctx.repos.projects.update({ ...record, name: newName, basename: parts.at(-1)!, parent, last_update: now });
  for (const child of descendants) {
    await ctx.repos.projects.update({ ...child, name: newName + child.name.slice(record.name.length), last_update: now });
  }
  return newName;
}

export async function deleteProject(
  ctx: ServiceContext,
  body: ParsedRequestOf<'projects.delete'>,
  deleteTasks: (ctx: ServiceContext, ids: string[]) => Promise<void>,
): Promise<ResponseOf<'projects.delete'>> {
  const record = await getProjectOrThrow(ctx, body.project);
  const ids = descendantIds([record.id], await ctx.repos.projects.list());
  const taskCount = await ctx.repos.tasks.countInProjects(ids);
  if (taskCount > 0 && !body.force) {
    throw new TasklaneError(
      'PROJECT_NOT_EMPTY',
      `Cannot delete project "${record.name}": it and its sub-projects hold ${taskCount} task(s). ` +
        'Move or delete them first, or pass force (with delete_contents to delete the tasks too).',
      { project: record.id, tasks: taskCount },
    );
  }
  let deletedTasks = 0;
  let disassociated = 0;
  if (taskCount > 0) {
    if (body.delete_contents) {
      const taskIds = await ctx.repos.tasks.idsInProjects(ids);
      await deleteTasks(ctx, taskIds);
      deletedTasks = taskIds.length;
    } else {
      disassociated = await ctx.repos.tasks.detachFromProjects(ids);
    }
  }
  const deleted = await ctx.repos.projects.delete(ids);
  return { deleted, disassociated_tasks: disassociated, deleted_tasks: deletedTasks };
}
