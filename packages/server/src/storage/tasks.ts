import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Task, TaskStatus } from '@tasklane/protocol';
import type { SqlDialect } from './sql/dialect.js';
import {
  columnOrder,
  listCondition,
  parseDocument,
  searchCondition,
  selectDocuments,
  tagCondition,
  type DocumentOrder,
} from './sql/documents.js';
import { QueryShape } from './sql/query-shape.js';
import type { Database } from './sql/schema.js';
import type { ProjectTaskStats, TaskMetricsUpdate, TaskModelUse, TaskOrder, TaskQuery, TaskRepository } from './store.js';

/** The task columns that may hold NULL (their order spells out where NULL goes, see columnOrder). */
const NULLABLE_COLUMNS: ReadonlySet<string> = new Set(['project', 'parent', 'user', 'started', 'completed']);

/** task_models rows per INSERT: 3 parameters each, well under SQLite's 32,766 per statement. */
const MODEL_REFS_PER_INSERT = 1000;

type ModelRefRow = Database['task_models'];

/** INSERTs of a few task_models rows (what a task has), compiled once per row count. */
const insertRefShapes: QueryShape<Record<string, string>, unknown>[] = [];
const MAX_COMPILED_REF_ROWS = 16;

function insertRefsShape(rows: number): QueryShape<Record<string, string>, unknown> {
  let shape = insertRefShapes[rows];
  if (shape === undefined) {
    const keys = Array.from({ length: rows }, (_, i) => [`task${i}`, `type${i}`, `model${i}`]).flat();
    shape = new QueryShape<Record<string, string>, unknown>(keys, (db, values) =>
      db
        .insertInto('task_models')
        .values(Array.from({ length: rows }, (_, i) => ({ task: values[`task${i}`]!, type: values[`type${i}`]!, model: values[`model${i}`]! }))),
    );
    insertRefShapes[rows] = shape;
  }
  return shape;
}

type TaskRow = Database['tasks'];

const TASK_COLUMNS = [
  'id',
  'name',
  'project',
  'parent',
  'type',
  'status',
  'user',
  'created',
  'started',
  'completed',
  'last_update',
  'last_iteration',
  'tags',
  'system_tags',
  'data',
] as const satisfies readonly (keyof TaskRow)[];

// The point queries of every request (and of every event batch), compiled once (sql/query-shape.ts).
const GET = new QueryShape<{ id: string }, { data: string }>(['id'], (db, { id }) =>
  db.selectFrom('tasks').select('data').where('id', '=', id),
);
const INSERT = new QueryShape<TaskRow, unknown>(TASK_COLUMNS, (db, row) => db.insertInto('tasks').values(row));
const UPDATE = new QueryShape<TaskRow, unknown>(TASK_COLUMNS, (db, { id, ...columns }) =>
  db.updateTable('tasks').set(columns).where('id', '=', id),
);
const UPDATE_IF_STATUS = new QueryShape<TaskRow & { expected_status: string }, unknown>(
  [...TASK_COLUMNS, 'expected_status'],
  (db, { id, expected_status, ...columns }) =>
    db.updateTable('tasks').set(columns).where('id', '=', id).where('status', '=', expected_status),
);
const UPDATE_LAST_METRICS = new QueryShape<
  { id: string; expected_status: string; last_metrics: string; last_iteration: number; last_update: string; iteration_json: string; update_json: string },
  unknown
>(
  ['id', 'expected_status', 'last_metrics', 'last_iteration', 'last_update', 'iteration_json', 'update_json'],
  (db, values, dialect) =>
    db
      .updateTable('tasks')
      .set({
        last_update: values.last_update,
        last_iteration: values.last_iteration,
        data: dialect.jsonSet('data', [
          { path: ['last_metrics'], json: values.last_metrics },
          { path: ['last_iteration'], json: values.iteration_json },
          { path: ['last_update'], json: values.update_json },
        ]),
      })
      .where('id', '=', values.id)
      .where('status', '=', values.expected_status),
);
const DELETE_MODEL_REFS = new QueryShape<{ task: string }, unknown>(['task'], (db, { task }) =>
  db.deleteFrom('task_models').where('task', '=', task),
);

function taskColumns(task: Task): TaskRow {
  return {
    id: task.id,
    name: task.name,
    project: task.project ?? null,
    parent: task.parent ?? null,
    type: task.type,
    status: task.status,
    user: task.user ?? null,
    created: task.created,
    started: task.started ?? null,
    completed: task.completed ?? null,
    last_update: task.last_update,
    last_iteration: task.last_iteration,
    // Mirrors of the document's tags (SQLite migration 6), so that listings filter on them without parsing documents.
    tags: JSON.stringify(task.tags ?? []),
    system_tags: JSON.stringify(task.system_tags ?? []),
    data: JSON.stringify(task),
  };
}

/**
 * Tasks, and task_models: the mirror of each task's models.input/models.output lists (SQLite migration 4), rewritten
 * with the task, so that "which tasks use model X" is an index lookup rather than a scan of every task's JSON. The
 * task row stays the truth. Written once for both stores.
 */
export class SqlTasks implements TaskRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async get(id: string) {
    return parseDocument<Task>((await GET.execute(this.db, this.dialect, { id })).rows[0]);
  }

  async list(query: TaskQuery) {
    const orderBy = (query.orderBy ?? []).flatMap((order) => this.orderKeys(order));
    return selectDocuments<Task>(this.db, this.dialect, 'tasks', this.where(query), {
      orderBy,
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
    });
  }

  /**
   * A column, or a value inside the document (a hyperparameter, a metric): the first of its paths the task has, by
   * the dialect's sort key, tasks without it last.
   */
  private orderKeys(order: TaskOrder): DocumentOrder[] {
    if ('field' in order) return [columnOrder(order.field, order.descending, NULLABLE_COLUMNS.has(order.field))];
    const values = order.paths.map((path) => this.dialect.jsonText('data', path));
    const value = values.length === 1 ? values[0]! : sql<string | null>`COALESCE(${sql.join(values)})`;
    return this.dialect.sortKeys(value).map((key) => ({ key, descending: order.descending, nulls: 'last' }));
  }

  private where(query: TaskQuery): Expression<SqlBool>[] {
    const { dialect } = this;
    const where: Expression<SqlBool>[] = [];
    if (query.ids) where.push(dialect.inList('id', query.ids));
    if (query.namePattern !== undefined) where.push(dialect.matchesPattern('name', query.namePattern));
    if (query.projects) {
      const ids = query.projects.filter((p): p is string => p !== null);
      const parts: Expression<SqlBool>[] = [];
      if (ids.length > 0) parts.push(dialect.inList('project', ids));
      if (query.projects.includes(null)) parts.push(sql<boolean>`${sql.ref('project')} IS NULL`);
      where.push(parts.length === 0 ? dialect.inList('project', []) : parts.length === 1 ? parts[0]! : sql<boolean>`(${sql.join(parts, sql` OR `)})`);
    }
    where.push(...listCondition(dialect, 'status', query.statuses));
    where.push(...listCondition(dialect, 'type', query.types));
    where.push(...tagCondition(dialect, 'tasks.tags', [], query.tags));
    where.push(...tagCondition(dialect, 'tasks.system_tags', [], query.systemTags));
    if (query.parent !== undefined) where.push(sql<boolean>`${sql.ref('parent')} = ${query.parent}`);
    if (query.users && query.users.length > 0) where.push(dialect.inList('user', query.users));
    if (query.searchText) where.push(searchCondition(dialect, query.searchText));
    if (!query.includeHidden) where.push(sql<boolean>`NOT ${dialect.jsonArrayHas('tasks.system_tags', 'hidden')}`);
    if (query.lastUpdateBefore !== undefined) where.push(sql<boolean>`${sql.ref('last_update')} < ${query.lastUpdateBefore}`);
    return where;
  }

  async countInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return 0;
    const row = await this.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(this.dialect.inList('project', projectIds))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async projectStats(archived: boolean) {
    const isArchived = this.dialect.jsonArrayHas('tasks.system_tags', 'archived');
    const rows = await this.db
      .selectFrom('tasks')
      .select((eb) => ['project', 'status', eb.fn.countAll<number>().as('count'), eb.fn.max('last_update').as('last_update')])
      .where(archived ? isArchived : sql<boolean>`NOT ${isArchived}`)
      .where(sql<boolean>`NOT ${this.dialect.jsonArrayHas('tasks.system_tags', 'hidden')}`)
      .groupBy(['project', 'status'])
      .execute();
    return rows.map(
      (row): ProjectTaskStats => ({ project: row.project, status: row.status as TaskStatus, count: Number(row.count), last_update: row.last_update }),
    );
  }

  /** The tasks of these projects (every task when undefined; none when empty), for the aggregate queries below. */
  private inProjects(projectIds: string[] | undefined): Expression<SqlBool>[] {
    return projectIds === undefined ? [] : [this.dialect.inList('tasks.project', projectIds)];
  }

  async hyperParameterNames(projectIds: string[] | undefined) {
    const { dialect } = this;
    let query = this.db
      .selectFrom(['tasks', dialect.jsonObjectEntries('tasks.data', ['hyperparams'], 'section'), dialect.jsonObjectEntries('section.value', [], 'param')])
      .select([dialect.binaryText(sql.ref('section.key')).as('section'), dialect.binaryText(sql.ref('param.key')).as('name')])
      .distinct();
    for (const condition of this.inProjects(projectIds)) query = query.where(condition);
    const rows = await query.orderBy('section').orderBy('name').execute();
    return rows as { section: string; name: string }[];
  }

  async metricVariants(projectIds: string[] | undefined) {
    const { dialect } = this;
    // The keys are hashes of the names, so each pair of keys has one pair of names: DISTINCT over all four is one row
    // per pair of keys (and costs less than an aggregate picking a name per group).
    const name = (field: string) => dialect.binaryText(dialect.jsonText('variant.value', [field]));
    let query = this.db
      .selectFrom(['tasks', dialect.jsonObjectEntries('tasks.data', ['last_metrics'], 'metric'), dialect.jsonObjectEntries('metric.value', [], 'variant')])
      .select([
        name('metric').as('metric'),
        name('variant').as('variant'),
        sql<string>`${sql.ref('metric.key')}`.as('metric_hash'),
        sql<string>`${sql.ref('variant.key')}`.as('variant_hash'),
      ])
      .distinct();
    for (const condition of this.inProjects(projectIds)) query = query.where(condition);
    const rows = await query.orderBy('metric').orderBy('variant').execute();
    return rows as { metric: string; variant: string; metric_hash: string; variant_hash: string }[];
  }

  async taskTags(projectIds: string[] | undefined) {
    const distinct = async (column: 'tags' | 'system_tags') => {
      let query = this.db
        .selectFrom(['tasks', this.dialect.jsonArrayTexts(`tasks.${column}`, 'tag')])
        .select(this.dialect.binaryText(sql.ref('tag.value')).as('value'))
        .distinct();
      for (const condition of this.inProjects(projectIds)) query = query.where(condition);
      return (await query.orderBy('value').execute()).map((row) => row.value as string);
    };
    return { tags: await distinct('tags'), system_tags: await distinct('system_tags') };
  }

  async idsInProjects(projectIds: string[]) {
    if (projectIds.length === 0) return [];
    const rows = await this.db.selectFrom('tasks').select('id').where(this.dialect.inList('project', projectIds)).execute();
    return rows.map((row) => row.id);
  }

  async insert(task: Task) {
    await INSERT.execute(this.db, this.dialect, taskColumns(task));
    await this.writeModelRefs(task);
  }

  async replace(task: Task, expectedStatus?: TaskStatus) {
    const isWritten = await this.update(task, expectedStatus);
    if (isWritten) await this.writeModelRefs(task);
    return isWritten;
  }

  /** Writes the task row (only if its status is still `expectedStatus`, when given); answers whether it did. */
  private async update(task: Task, expectedStatus?: TaskStatus): Promise<boolean> {
    const row = taskColumns(task);
    const result =
      expectedStatus === undefined
        ? await UPDATE.execute(this.db, this.dialect, row)
        : await UPDATE_IF_STATUS.execute(this.db, this.dialect, { ...row, expected_status: expectedStatus });
    return result.numAffectedRows === 1n;
  }

  async updateLastMetrics(id: string, update: TaskMetricsUpdate, expectedStatus: TaskStatus) {
    const { last_metrics, last_iteration, last_update } = update;
    const result = await UPDATE_LAST_METRICS.execute(this.db, this.dialect, {
      id,
      expected_status: expectedStatus,
      last_metrics: JSON.stringify(last_metrics),
      last_iteration,
      last_update,
      iteration_json: JSON.stringify(last_iteration),
      update_json: JSON.stringify(last_update),
    });
    return result.numAffectedRows === 1n;
  }

  async delete(ids: string[]) {
    if (ids.length === 0) return 0;
    await this.db.deleteFrom('task_models').where(this.dialect.inList('task', ids)).execute();
    const result = await this.db.deleteFrom('tasks').where(this.dialect.inList('id', ids)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async modelUses(modelIds: readonly string[]) {
    if (modelIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('task_models as m')
      .innerJoin('tasks as t', 't.id', 'm.task')
      .select(['m.task', 't.status', 'm.type', 'm.model'])
      .distinct()
      .where(this.dialect.inList('m.model', modelIds))
      .orderBy('m.task')
      .orderBy('m.type')
      .orderBy('m.model')
      .execute();
    return rows as TaskModelUse[];
  }

  /** Mirrors the task's model lists into task_models. */
  private async writeModelRefs(task: Task): Promise<void> {
    await DELETE_MODEL_REFS.execute(this.db, this.dialect, { task: task.id });
    const refs: ModelRefRow[] = (['input', 'output'] as const).flatMap((type) =>
      (task.models?.[type] ?? []).map((ref) => ({ task: task.id, type, model: ref.model })),
    );
    if (refs.length === 0) return;
    if (refs.length <= MAX_COMPILED_REF_ROWS) {
      const values: Record<string, string> = {};
      refs.forEach((ref, i) => {
        values[`task${i}`] = ref.task;
        values[`type${i}`] = ref.type;
        values[`model${i}`] = ref.model;
      });
      await insertRefsShape(refs.length).execute(this.db, this.dialect, values);
      return;
    }
    for (let from = 0; from < refs.length; from += MODEL_REFS_PER_INSERT) {
      await this.db.insertInto('task_models').values(refs.slice(from, from + MODEL_REFS_PER_INSERT)).execute();
    }
  }

  async detachFromProjects(projectIds: string[]) {
    return this.rewrite('project', projectIds, (task) => ({ ...task, project: null }));
  }

  async detachChildren(parentId: string) {
    return this.rewrite('parent', [parentId], (task) => ({ ...task, parent: null }));
  }

  /** Rewrites the tasks whose `column` is one of `values`; their model lists stay as they are, and so do their rows. */
  private async rewrite(column: 'project' | 'parent', values: string[], change: (task: Task) => Task): Promise<number> {
    if (values.length === 0) return 0;
    const rows = await this.db.selectFrom('tasks').select('data').where(this.dialect.inList(column, values)).execute();
    for (const row of rows) await this.update(change(JSON.parse(row.data) as Task));
    return rows.length;
  }
}
