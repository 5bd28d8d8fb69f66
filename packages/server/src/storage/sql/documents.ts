import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { ListFilter } from '../store.js';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';

/** The tables that keep a JSON document per row in `data` and are listed a page at a time (tasks.ts, models.ts). */
export type DocumentTable = 'tasks' | 'models';

/** One key of a listing's order. */
export interface DocumentOrder {
  key: Expression<unknown>;
  descending: boolean;
  /** Where rows without a value go; the database's own place for them when undefined. */
  nulls?: 'first' | 'last';
}

/** What page of a listing to read, in what order. */
export interface DocumentPage {
  orderBy: readonly DocumentOrder[];
  limit?: number;
  offset?: number;
}

/**
 * The order of a nullable column as SQLite sorts it, where NULL is the smallest value (first going up, last going
 * down); PostgreSQL takes it for the largest, so listings spell it out. NOT NULL columns leave it unsaid, so that
 * PostgreSQL can walk an index for them.
 */
export function columnOrder(column: string, descending: boolean, isNullable: boolean): DocumentOrder {
  return { key: sql.ref(column), descending, ...(isNullable ? { nulls: descending ? 'last' : 'first' } : {}) };
}

/**
 * Reads the JSON documents of a table whose rows meet every condition of `where`, in the asked order (then by creation
 * and id, so paging is stable), one page when `limit` is given.
 */
export async function selectDocuments<TDocument>(
  db: Kysely<Database>,
  dialect: SqlDialect,
  table: DocumentTable,
  where: readonly Expression<SqlBool>[],
  page: DocumentPage,
): Promise<TDocument[]> {
  // Both tables have id, created and data; the query is typed as over tasks (the column names it uses are checked).
  const from = table as 'tasks';
  let listing = db.selectFrom(from);
  if (where.length > 0) listing = listing.where((eb) => eb.and([...where]));
  for (const order of page.orderBy) {
    listing = listing.orderBy(order.key, (ob) => {
      const direction = order.descending ? ob.desc() : ob.asc();
      return order.nulls === undefined ? direction : order.nulls === 'last' ? direction.nullsLast() : direction.nullsFirst();
    });
  }
  listing = listing.orderBy('created').orderBy('id');
  if (page.limit === undefined) {
    return (await listing.select('data').execute()).map((row) => JSON.parse(row.data) as TDocument);
  }
  // A page picks its ids first and reads their documents after: sorting only ids keeps the (large) documents of the
  // rows that do not make the page out of SQLite's sorter, ~3x faster on a 100,000-task project.
  const ids = (await listing.select('id').limit(page.limit).offset(page.offset ?? 0).execute()).map((row) => row.id);
  if (ids.length === 0) return [];
  const rows = await db.selectFrom(from).select(['id', 'data']).where(dialect.inList('id', ids)).execute();
  const byId = new Map(rows.map((row) => [row.id, row.data]));
  return ids.flatMap((id) => {
    const data = byId.get(id);
    return data === undefined ? [] : [JSON.parse(data) as TDocument];
  });
}

/** The document of a row read by id, or undefined when there is none. */
export function parseDocument<TDocument>(row: { data: string } | undefined): TDocument | undefined {
  return row === undefined ? undefined : (JSON.parse(row.data) as TDocument);
}

/** A list filter on a column: one of the included values (when any), none of the excluded ones. */
export function listCondition(dialect: SqlDialect, column: string, filter: ListFilter | undefined): Expression<SqlBool>[] {
  if (!filter) return [];
  const out: Expression<SqlBool>[] = [];
  if (filter.include.length > 0) out.push(dialect.inList(column, filter.include));
  if (filter.exclude.length > 0) out.push(sql<boolean>`NOT (${dialect.inList(column, filter.exclude)})`);
  return out;
}

/**
 * A list filter on tags: the JSON array at `path` in a column (the column itself when `path` is empty) holds one of
 * the included tags (when any) and none of the excluded ones.
 */
export function tagCondition(
  dialect: SqlDialect,
  column: string,
  path: readonly string[],
  filter: ListFilter | undefined,
): Expression<SqlBool>[] {
  if (!filter) return [];
  const out: Expression<SqlBool>[] = [];
  if (filter.include.length > 0) out.push(dialect.jsonArrayHasAny(column, path, filter.include));
  if (filter.exclude.length > 0) out.push(sql<boolean>`NOT (${dialect.jsonArrayHasAny(column, path, filter.exclude)})`);
  return out;
}

/** `column IN (values)`, or nothing when `values` is undefined (an empty list matches no row). */
export function inListCondition(dialect: SqlDialect, column: string, values: readonly string[] | undefined): Expression<SqlBool>[] {
  return values === undefined ? [] : [dialect.inList(column, values)];
}

/** search_text of a listing: the id, the name or the comment contains the text (ASCII letters ignoring case). */
export function searchCondition(dialect: SqlDialect, text: string): Expression<SqlBool> {
  const contains = (value: Expression<string | null>) => dialect.likeContains(value, text);
  return sql<boolean>`(${contains(sql.ref<string>('id'))} OR ${contains(sql.ref<string>('name'))} OR ${contains(dialect.jsonText('data', ['comment']))})`;
}
