import { sql, type AliasedRawBuilder, type Expression, type RawBuilder } from 'kysely';
import { toPostgresPattern } from './postgres-pattern.js';

/**
 * What differs between the two databases, in one place: every repository is written once against Kysely and these
 * helpers, and each store supplies its own. Kysely itself covers the rest (upserts, limits, joins, `FOR UPDATE`).
 */
export interface SqlDialect {
  readonly kind: 'sqlite' | 'postgres';
  /** The text at a path inside a JSON column (`null` where there is none). */
  jsonText(column: string, path: readonly string[]): RawBuilder<string | null>;
  /** A JSON column's document with the values at these paths set (created where missing), each given as JSON text. */
  jsonSet(column: string, values: readonly { path: readonly string[]; json: string }[]): RawBuilder<string>;
  /** Whether a JSON array column holds this string. */
  jsonArrayHas(column: string, value: string): RawBuilder<boolean>;
  /**
   * Whether the JSON array at `path` in a column (the column itself when `path` is empty) holds any of these strings;
   * false where there is no array.
   */
  jsonArrayHasAny(column: string, path: readonly string[], values: readonly string[]): RawBuilder<boolean>;
  /**
   * A FROM item: one row (`key` text, `value` JSON) per member of the JSON object at `path` in a column; no rows where
   * there is no object. Its `value` is for the other JSON helpers (`jsonText`, `jsonObjectEntries`).
   */
  jsonObjectEntries<TAlias extends string>(
    column: string,
    path: readonly string[],
    alias: TAlias,
  ): AliasedRawBuilder<{ key: string; value: unknown }, TAlias>;
  /** A FROM item: one row (`value`) per string of a JSON array column; no rows where there is no array. */
  jsonArrayTexts<TAlias extends string>(column: string, alias: TAlias): AliasedRawBuilder<{ value: string }, TAlias>;
  /** Whether a column's text matches a user's pattern (already checked as RE2 syntax), ignoring case. */
  matchesPattern(column: Expression<string | null> | string, pattern: string): RawBuilder<boolean>;
  /** Whether a text contains `needle`, ignoring case (the caller lower-cases `needle`). */
  containsText(text: Expression<string | null>, needle: string): RawBuilder<boolean>;
  /**
   * Whether a text contains `needle` as SQL's LIKE finds it: ASCII letters ignoring case, every other character as it
   * is (`%`, `_` and `\` in `needle` too). SQLite's LIKE in C, no function call per row: the listings' search_text.
   */
  likeContains(text: Expression<string | null>, needle: string): RawBuilder<boolean>;
  /** Text computed in a query (a key inside a document) compared byte for byte, as the tables' text columns are. */
  binaryText(text: Expression<string | null>): RawBuilder<string | null>;
  /**
   * How a value inside a document sorts: text that reads as a finite number as that number, numbers before text.
   * Answers the expressions to order by, in turn, each in the listing's direction with NULLS LAST: tasks without the
   * value come last either way.
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

/**
 * A JSON path as SQLite reads it: `$."a"."b"`, each key written as a JSON string, whose escapes SQLite reads, so that
 * a key may hold any character (`"`, `\`, `.`, `$`, `[`).
 */
function sqlitePath(path: readonly string[]): string {
  return `$${path.map((key) => `.${JSON.stringify(key)}`).join('')}`;
}

/** `json_each` of a column, or of the value at a path inside it. */
function sqliteJsonEach(column: string, path: readonly string[]): RawBuilder<unknown> {
  return path.length === 0 ? sql`json_each(${sql.ref(column)})` : sql`json_each(${sql.ref(column)}, ${sqlitePath(path)})`;
}

/** Longer lists are bound as one JSON array: SQLite takes at most 32,766 parameters in a statement. */
const MAX_INLINE_VALUES = 500;

function sqliteIn(value: Expression<unknown>, values: readonly (string | number)[]): RawBuilder<boolean> {
  return values.length > MAX_INLINE_VALUES
    ? sql<boolean>`${value} IN (SELECT value FROM json_each(${JSON.stringify(values)}))`
    : values.length === 0
      ? sql<boolean>`0`
      : sql<boolean>`${value} IN (${sql.join(values)})`;
}

export const SQLITE_DIALECT: SqlDialect = {
  kind: 'sqlite',
  jsonText: (column, path) => sql<string | null>`json_extract(${sql.ref(column)}, ${sqlitePath(path)})`,
  jsonSet: (column, values) =>
    sql<string>`json_set(${sql.ref(column)}, ${sql.join(values.map(({ path, json }) => sql`${sqlitePath(path)}, json(${json})`))})`,
  jsonArrayHas: (column, value) => sql<boolean>`EXISTS (SELECT 1 FROM json_each(${sql.ref(column)}) WHERE json_each.value = ${value})`,
  jsonArrayHasAny: (column, path, values) =>
    sql<boolean>`EXISTS (SELECT 1 FROM ${sqliteJsonEach(column, path)} AS element WHERE ${sqliteIn(sql.ref('element.value'), values)})`,
  jsonObjectEntries: (column, path, alias) => sqliteJsonEach(column, path).as(alias) as AliasedRawBuilder<{ key: string; value: unknown }, typeof alias>,
  jsonArrayTexts: (column, alias) => sqliteJsonEach(column, []).as(alias) as AliasedRawBuilder<{ value: string }, typeof alias>,
  // regexp() is registered by the SQLite store: RE2 semantics, linear time (patterns.ts).
  matchesPattern: (column, pattern) => sql<boolean>`regexp(${pattern}, ${typeof column === 'string' ? sql.ref(column) : column})`,
  containsText: (text, needle) => sql<boolean>`tasklane_icontains(${text}, ${needle})`,
  likeContains: (text, needle) => sql<boolean>`(${text} LIKE ${likePattern(needle)} ESCAPE '\\')`,
  binaryText: (text) => sql<string | null>`${text}`,
  // tasklane_sort_key() is registered by the SQLite store: a number, or the text as it is (SQLite sorts numbers first).
  sortKeys: (value) => [sql`tasklane_sort_key(${value})`],
  inList: (column, values) => sqliteIn(sql.ref(column), values),
  lockRowsSkippingLocked: false,
  inPairs: (first, second, pairs) =>
    pairs.length === 0
      ? sql<boolean>`0`
      : sql<boolean>`(${sql.ref(first)}, ${sql.ref(second)}) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${JSON.stringify(pairs)}))`,
};

/** `%needle%` with LIKE's wildcards in `needle` escaped by `\`. */
function likePattern(needle: string): string {
  return `%${needle.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** A PostgreSQL text-array path literal: `{a,b}` with each key quoted. */
function postgresPath(path: readonly string[]): string {
  return `{${path.map((key) => `"${key.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
}

/** The value at a path inside a JSON column (the column itself when `path` is empty). */
function postgresJson(column: string, path: readonly string[]): RawBuilder<unknown> {
  return path.length === 0 ? sql`${sql.ref(column)}` : sql`(${sql.ref(column)} #> ${postgresPath(path)}::text[])`;
}

/**
 * Text that reads as a number (what tasklane_sort_key turns into a number on SQLite). The exponent has at most four
 * digits and the text at most 1,000 characters (NUMERIC_TEXT_MAX_LENGTH), so the cast to numeric cannot overflow: one
 * odd hyperparameter must not fail every listing. (Between 1e309 and 1e9999 a value sorts as a number here and as text
 * on SQLite, where it is not a finite double.)
 */
const NUMERIC_TEXT = '^\\s*[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]{1,4})?\\s*$';
const NUMERIC_TEXT_MAX_LENGTH = 1000;

function postgresIsNumber(value: Expression<string | null>): RawBuilder<boolean> {
  return sql<boolean>`(length(${value}) <= ${sql.lit(NUMERIC_TEXT_MAX_LENGTH)} AND (${value}) ~ ${NUMERIC_TEXT})`;
}

export const POSTGRES_DIALECT: SqlDialect = {
  kind: 'postgres',
  jsonText: (column, path) => sql<string | null>`(${sql.ref(column)} #>> ${postgresPath(path)}::text[])`,
  jsonSet: (column, values) =>
    values.reduce<RawBuilder<string>>(
      (document, { path, json }) => sql<string>`jsonb_set(${document}, ${postgresPath(path)}::text[], ${json}::jsonb)`,
      sql<string>`${sql.ref(column)}`,
    ),
  jsonArrayHas: (column, value) => sql<boolean>`jsonb_exists(${sql.ref(column)}, ${value})`,
  // `?|` looks at the strings of an array (and the keys of an object: tag lists are always arrays).
  jsonArrayHasAny: (column, path, values) =>
    values.length === 0 ? sql<boolean>`false` : sql<boolean>`COALESCE(${postgresJson(column, path)} ?| ${[...values]}::text[], false)`,
  // jsonb_each and jsonb_array_elements_text fail on other JSON values; NULL gives no rows, as SQLite's json_each.
  jsonObjectEntries: (column, path, alias) => {
    const json = postgresJson(column, path);
    return sql<{ key: string; value: unknown }>`jsonb_each(CASE WHEN jsonb_typeof(${json}) = 'object' THEN ${json} END)`.as(alias);
  },
  jsonArrayTexts: (column, alias) => {
    const json = sql.ref(column);
    return sql<{ value: string }>`jsonb_array_elements_text(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} END)`.as<typeof alias>(
      sql`${sql.id(alias)}(value)`,
    );
  },
  // PostgreSQL's own engine, on the pattern rewritten from RE2's syntax into its own (postgres-pattern.ts; it passed
  // RE2's syntax check first, so it has no backreferences, which are what makes that engine backtrack). Under the ICU
  // root collation, so that case is ignored beyond ASCII as RE2 does (the text columns are COLLATE "C", where ~* folds
  // ASCII letters only).
  matchesPattern: (column, pattern) =>
    sql<boolean>`((${typeof column === 'string' ? sql.ref(column) : column}) COLLATE "und-x-icu" ~* ${toPostgresPattern(pattern)})`,
  // lower() folds by the collation: the text columns' "C" folds ASCII letters only, so fold by the database's default
  // (its LC_CTYPE: a UTF-8 locale folds every letter, as tasklane_icontains does on SQLite).
  containsText: (text, needle) => sql<boolean>`(strpos(lower((${text}) COLLATE "default"), ${needle}) > 0)`,
  // ILIKE in the C collation folds ASCII letters only, as SQLite's LIKE.
  likeContains: (text, needle) => sql<boolean>`((${text}) COLLATE "C" ILIKE ${likePattern(needle)} ESCAPE '\\')`,
  binaryText: (text) => sql<string | null>`((${text}) COLLATE "C")`,
  // Numbers first (by value; equal numbers tie, as on SQLite), then text byte for byte; NULL in all three when there
  // is no value.
  sortKeys: (value) => {
    const isNumber = postgresIsNumber(value);
    return [
      sql`CASE WHEN (${value}) IS NULL THEN NULL WHEN ${isNumber} THEN 0 ELSE 1 END`,
      sql`CASE WHEN ${isNumber} THEN (${value})::numeric END`,
      sql`CASE WHEN NOT ${isNumber} THEN (${value}) COLLATE "C" END`,
    ];
  },
  // One value as `=`: the planner can then walk an index in its order (a project's first page of tasks by
  // last_update), which it does not for `= ANY(array)`.
  inList: (column, values) =>
    values.length === 0
      ? sql<boolean>`false`
      : values.length === 1
        ? sql<boolean>`${sql.ref(column)} = ${values[0]}`
        : sql<boolean>`${sql.ref(column)} = ANY(${[...values]})`,
  lockRowsSkippingLocked: true,
  inPairs: (first, second, pairs) =>
    pairs.length === 0
      ? sql<boolean>`false`
      : sql<boolean>`(${sql.ref(first)}, ${sql.ref(second)}) IN (SELECT * FROM unnest(${pairs.map((p) => p[0])}::text[], ${pairs.map((p) => p[1])}::text[]))`,
};
