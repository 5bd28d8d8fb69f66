import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Model } from '@tasklane/protocol';
import type { SqlDialect } from './sql/dialect.js';
import {
  columnOrder,
  inListCondition,
  listCondition,
  parseDocument,
  searchCondition,
  selectDocuments,
  tagCondition,
} from './sql/documents.js';
import { QueryShape } from './sql/query-shape.js';
import type { Database } from './sql/schema.js';
import type { ModelQuery, ModelRepository } from './store.js';

/** The model columns that may hold NULL (their order spells out where NULL goes, see columnOrder). */
const NULLABLE_COLUMNS: ReadonlySet<string> = new Set(['project', 'task', 'parent', 'framework', 'user']);

type ModelRow = Database['models'];

const MODEL_COLUMNS = [
  'id',
  'name',
  'project',
  'task',
  'parent',
  'framework',
  'uri',
  'ready',
  'user',
  'created',
  'last_update',
  'last_iteration',
  'data',
] as const satisfies readonly (keyof ModelRow)[];

// Point queries, compiled once (sql/query-shape.ts).
const GET = new QueryShape<{ id: string }, { data: string }>(['id'], (db, { id }) =>
  db.selectFrom('models').select('data').where('id', '=', id),
);
const INSERT = new QueryShape<ModelRow, unknown>(MODEL_COLUMNS, (db, row) => db.insertInto('models').values(row));
const UPDATE = new QueryShape<ModelRow, unknown>(MODEL_COLUMNS, (db, { id, ...columns }) =>
  db.updateTable('models').set(columns).where('id', '=', id),
);

function modelColumns(model: Model): ModelRow {
  return {
    id: model.id,
    name: model.name,
    project: model.project,
    task: model.task,
    parent: model.parent,
    framework: model.framework,
    uri: model.uri,
    ready: model.ready ? 1 : 0,
    user: model.user ?? null,
    created: model.created,
    last_update: model.last_update,
    last_iteration: model.last_iteration,
    data: JSON.stringify(model),
  };
}

/** Models (SQLite migration 4): their tags are read inside the document. Written once for both stores. */
export class SqlModels implements ModelRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async get(id: string) {
    return parseDocument<Model>((await GET.execute(this.db, this.dialect, { id })).rows[0]);
  }

  async list(query: ModelQuery) {
    const orderBy = (query.orderBy ?? []).map((order) => columnOrder(order.field, order.descending, NULLABLE_COLUMNS.has(order.field)));
    return selectDocuments<Model>(this.db, this.dialect, 'models', this.where(query), {
      orderBy,
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.offset !== undefined ? { offset: query.offset } : {}),
    });
  }

  private where(query: ModelQuery): Expression<SqlBool>[] {
    const { dialect } = this;
    const where: Expression<SqlBool>[] = [];
    where.push(...inListCondition(dialect, 'id', query.ids));
    if (query.namePattern !== undefined) where.push(dialect.matchesPattern('name', query.namePattern));
    where.push(...inListCondition(dialect, 'project', query.projects));
    where.push(...inListCondition(dialect, 'task', query.tasks));
    where.push(...inListCondition(dialect, 'uri', query.uris));
    where.push(...listCondition(dialect, 'framework', query.frameworks));
    where.push(...tagCondition(dialect, 'models.data', ['tags'], query.tags));
    where.push(...tagCondition(dialect, 'models.data', ['system_tags'], query.systemTags));
    if (query.ready !== undefined) where.push(sql<boolean>`${sql.ref('ready')} = ${query.ready ? 1 : 0}`);
    if (query.users && query.users.length > 0) where.push(dialect.inList('user', query.users));
    if (query.searchText) where.push(searchCondition(dialect, query.searchText));
    if (!query.includeHidden) where.push(sql<boolean>`NOT ${dialect.jsonArrayHasAny('models.data', ['system_tags'], ['hidden'])}`);
    return where;
  }

  async insert(model: Model) {
    await INSERT.execute(this.db, this.dialect, modelColumns(model));
  }

  async replace(model: Model) {
    await UPDATE.execute(this.db, this.dialect, modelColumns(model));
  }

  async delete(ids: readonly string[]) {
    if (ids.length === 0) return 0;
    const result = await this.db.deleteFrom('models').where(this.dialect.inList('id', ids)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
