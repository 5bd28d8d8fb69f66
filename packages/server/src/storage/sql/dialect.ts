import { sql, type Expression, type RawBuilder } from 'kysely';

/**
 * What differs between the two databases, in one place: every repository is written once against Kysely and these
 * helpers, and each store supplies its own. Kysely itself covers the rest (upserts, limits, joins, `FOR UPDATE`).
 */
export interface SqlDialect {
  readonly kind: 'sqlite' | 'postgres';
  /** The text at a path inside a JSON column (`null` where there is none). */
  jsonText(column: string, path: readonly string[]): RawBuilder<string | null>;
  /** Whether a JSON array column holds this string. */
  jsonArrayHas(column: string, value: string): RawBuilder<boolean>;
  /** Whether a column's text matches a user's pattern (already checked as RE2 syntax), ignoring case. */
  matchesPattern(column: Expression<string | null> | string, pattern: string): RawBuilder<boolean>;
  /** Whether a text contains `needle`, ignoring case (the caller lower-cases `needle`). */
  containsText(text: Expression<string | null>, needle: string): RawBuilder<boolean>;
  /**
   * How a value inside a document sorts: text that reads as a finite number as that number, numbers before text.
   * Answers the expressions to order by, in turn.
   */
  sortKeys(value: Expression<string | null>): RawBuilder<unknown>[];
  /** `column IN (values)` for any number of values (SQLite binds a long list as one JSON array). */
  inList(column: string, values: readonly (string | number)[]): RawBuilder<boolean>;
  /** `FOR UPDATE SKIP LOCKED` where rows can be locked (PostgreSQL); nothing on SQLite, whose writers run one at a time. */
  readonly lockRowsSkippingLocked: boolean;
  /**
   * `(first, second) IN (pairs)` for any number of pairs, bound as one value (a JSON array on SQLite, two arrays on
   * PostgreSQL): a metrics filter lists up to 10,000 metric/variant pairs, and SQLite takes seconds to prepare that
   * many parameters.
   */
  inPairs(first: string, second: string, pairs: readonly (readonly [string, string])[]): RawBuilder<boolean>;
}

/** A JSON path as SQLite writes it: `$."a"."b"` (each key quoted, so dots and spaces stay inside a key). */
function sqlitePath(path: readonly string[]): string {
  return `$${path.map((key) => `."${key.replaceAll('"', '""')}"`).join('')}`;
}

/** Longer lists are bound as one JSON array: SQLite takes at most 32,766 parameters in a statement. */
const MAX_INLINE_VALUES = 500;

export const SQLITE_DIALECT: SqlDialect = {
  kind: 'sqlite',
  jsonText: (column, path) => sql<string | null>`json_extract(${sql.ref(column)}, ${sqlitePath(path)})`,
  jsonArrayHas: (column, value) => sql<boolean>`EXISTS (SELECT 1 FROM json_each(${sql.ref(column)}) WHERE json_each.value = ${value})`,
  // regexp() is registered by the SQLite store: RE2 semantics, linear time (patterns.ts).
  matchesPattern: (column, pattern) => sql<boolean>`regexp(${pattern}, ${typeof column === 'string' ? sql.ref(column) : column})`,
  containsText: (text, needle) => sql<boolean>`tasklane_icontains(${text}, ${needle})`,
  sortKeys: (value) => [sql`tasklane_sort_key(${value}) IS NULL`, sql`tasklane_sort_key(${value})`],
  inList: (column, values) =>
    values.length > MAX_INLINE_VALUES
      ? sql<boolean>`${sql.ref(column)} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`
      : values.length === 0
        ? sql<boolean>`0`
        : sql<boolean>`${sql.ref(column)} IN (${sql.join(values)})`,
  lockRowsSkippingLocked: false,
  inPairs: (first, second, pairs) =>
    pairs.length === 0
      ? sql<boolean>`0`
      : sql<boolean>`(${sql.ref(first)}, ${sql.ref(second)}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${JSON.stringify(pairs)}))`,
};

/** A PostgreSQL text-array path literal: `{a,b}` with each key quoted. */
function postgresPath(path: readonly string[]): string {
  return `{${path.map((key) => `"${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

/** Text that reads as a finite number (what tasklane_sort_key turns into a number on SQLite). */
const NUMERIC_TEXT = '^\\s*[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$';

export const POSTGRES_DIALECT: SqlDialect = {
  kind: 'postgres',
  jsonText: (column, path) => sql<string | null>`(${sql.ref(column)} #>> ${postgresPath(path)}::text[])`,
  jsonArrayHas: (column, value) => sql<boolean>`jsonb_exists(${sql.ref(column)}, ${value})`,
  // PostgreSQL's own engine (the pattern passed RE2's syntax check first, so it has no backreferences, which are what
  // makes that engine backtrack).
  matchesPattern: (column, pattern) => sql<boolean>`(${typeof column === 'string' ? sql.ref(column) : column} ~* ${pattern})`,
  // lower() folds by the collation: the text columns' "C" folds ASCII letters only, so fold by the database's default
  // (its LC_CTYPE: a UTF-8 locale folds every letter, as tasklane_icontains does on SQLite).
  containsText: (text, needle) => sql<boolean>`(strpos(lower((${text}) COLLATE "default"), ${needle}) > 0)`,
  sortKeys: (value) => [
    sql`(${value}) IS NULL`,
    sql`CASE WHEN (${value}) ~ ${NUMERIC_TEXT} THEN 0 ELSE 1 END`,
    sql`CASE WHEN (${value}) ~ ${NUMERIC_TEXT} THEN (${value})::double precision END`,
    sql`(${value})`,
  ],
  inList: (column, values) =>
    values.length === 0 ? sql<boolean>`false` : sql<boolean>`${sql.ref(column)} = ANY(${[...values]})`,
  lockRowsSkippingLocked: true,
  inPairs: (first, second, pairs) =>
    pairs.length === 0
      ? sql<boolean>`false`
      : sql<boolean>`(${sql.ref(first)}, ${sql.ref(second)}) IN (SELECT * FROM unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]))`,
};
