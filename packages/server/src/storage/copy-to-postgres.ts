import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type pg from 'pg';
import { TasklaneError } from '@tasklane/protocol';
import { SQLITE_MIGRATIONS } from './migrations.js';
import { migratePostgres } from './postgres/migrate.js';
import { POSTGRES_MIGRATIONS } from './postgres/migrations.js';
import { connectPostgres, redactDatabaseUrl } from './postgres/pool.js';

/**
 * `tasklane db migrate-sqlite`: copies an embedded installation's SQLite database into an empty PostgreSQL database,
 * row for row (files stay where they are: the copy holds the same keys and URLs).
 *
 * - The source is opened read-only and read in one read transaction: one consistent snapshot even while another
 *   process writes (WAL). A copy of a running server is refused all the same, because what the server writes after
 *   the snapshot would be missing from PostgreSQL: when the file changed during the copy (`PRAGMA data_version`),
 *   the copy is rolled back.
 * - The source schema must be this Tasklane's (a newer or older one is refused, with what to run); the target's is
 *   created or brought up to date by the PostgreSQL migrator, and must then hold no rows.
 * - Tables, columns and types come from the two schemas themselves, so a table a later migration adds is copied
 *   without a change here; a source table or column the target lacks stops the copy before it starts.
 * - Everything is written in one PostgreSQL transaction holding every table locked against writers: a failed copy
 *   leaves no rows. Rows go in batches (one INSERT ... SELECT FROM unnest(arrays) per batch, bounded in rows and
 *   bytes) streamed from SQLite, in SQLite's order (rowid; parents before children where a table refers to itself),
 *   ids kept; identity columns get SQLite's rowids (other_events.seq), and each identity's sequence is set past the
 *   highest id copied (or ever handed out, for AUTOINCREMENT tables), so new rows never collide.
 * - PostgreSQL cannot store U+0000 (NUL) in text or jsonb, nor a lone UTF-16 surrogate in jsonb; SQLite can. Such a
 *   value is copied with U+FFFD (�) in place of each, and the report names every value changed (table, row,
 *   column). Refusing instead would leave no way forward: the PostgreSQL server cannot hold these values either.
 * - At the end every table is counted on both sides, inside the transaction; any difference rolls the copy back.
 */

export { redactDatabaseUrl } from './postgres/pool.js';

/** How far the copy of one table is; `rowsDone` equals `rowsTotal` once the table is done. */
export interface CopyProgress {
  table: string;
  rowsDone: number;
  rowsTotal: number;
}

export interface CopyToPostgresOptions {
  /** Called as each table starts (0 rows done; an empty table is then done) and after each batch written. */
  onProgress?: (progress: CopyProgress) => void;
  /**
   * Rows per INSERT at most.
   * @default 5_000
   */
  batchRows?: number;
  /**
   * Bytes of values per INSERT at most (roughly; a single larger row goes alone).
   * @default 8 MiB
   */
  batchBytes?: number;
  /**
   * How long to keep trying to reach PostgreSQL.
   * @default 15_000
   */
  connectTimeoutMs?: number;
  /**
   * How long to wait for the target's tables while another process holds them.
   * @default 10_000
   */
  lockTimeoutMs?: number;
}

/** One table's rows: in the SQLite snapshot, and in PostgreSQL after the copy. */
export interface TableCount {
  table: string;
  source: number;
  copied: number;
}

/** A value PostgreSQL could not store as it was, copied with U+FFFD in place of each NUL or lone surrogate. */
export interface ReplacedValue {
  table: string;
  /** The row's key, e.g. `id=4f2c…` or `task=4f2c…, event_id=…`. */
  row: string;
  column: string;
}

export interface CopyReport {
  /** The SQLite file copied. */
  source: string;
  /** The PostgreSQL URL, password hidden. */
  target: string;
  schemaVersion: number;
  tables: TableCount[];
  /** The values copied with replacements, the first {@link MAX_LISTED_REPLACEMENTS}. */
  replaced: ReplacedValue[];
  /** How many values were copied with replacements in all. */
  replacedCount: number;
  durationMs: number;
}

/** Values with replacements the report lists one by one; beyond that it only counts them. */
export const MAX_LISTED_REPLACEMENTS = 50;

const DEFAULT_BATCH_ROWS = 5_000;
const DEFAULT_BATCH_BYTES = 8 * 1024 * 1024;
const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
/** What SQLite keeps of its own and the migrators keep per store: not copied. */
const NOT_COPIED = new Set(['schema_migrations', 'sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);
/** Parents before children (queues before queue_entries); tables not named here follow in name order. */
const TABLE_ORDER = [
  'users',
  'credentials',
  'sessions',
  'projects',
  'tasks',
  'task_models',
  'models',
  'queues',
  'queue_entries',
  'workers',
  'event_series',
  'scalar_events',
  'scalar_summaries',
  'log_events',
  'other_events',
];

/**
 * The SQLite file `from` names: a data dir (its `tasklane.sqlite`), `sqlite://<path>` (`sqlite:///abs/file.sqlite`),
 * or the path of the file itself. Fails when there is no such file.
 */
export function sqliteSourceFile(from: string): string {
  const isUrl = from.startsWith('sqlite://');
  const path = resolve(isUrl ? from.slice('sqlite://'.length) : from);
  const stats = statOf(path);
  const file = stats?.isDirectory() ? join(path, 'tasklane.sqlite') : path;
  if (stats === undefined || !statOf(file)?.isFile()) {
    const what = stats?.isDirectory() ? `the folder ${path} holds no tasklane.sqlite` : `${path} does not exist`;
    throw new TasklaneError(
      'INVALID_INPUT',
      `No Tasklane SQLite database at ${JSON.stringify(from)}: ${what}. Give the data dir of the embedded installation ` +
        '(the folder holding tasklane.sqlite, as in tasklane server --data-dir DIR) or sqlite:///path/to/file.sqlite.',
      { from },
    );
  }
  return file;
}

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** A table as the copy sees it: where each target column's values come from, and how PostgreSQL takes them. */
interface TablePlan {
  name: string;
  /** The SQLite select list, in the order of `columns`. */
  select: string[];
  /** The target columns, in the order of the INSERT. */
  columns: TargetColumn[];
  /** Positions (in `columns`) of the row's key, to name a row. */
  keyColumns: number[];
  /** The SELECT's `WITH` (ending in a space) and `FROM`, the source table being `t`; its ORDER BY. */
  with: string;
  from: string;
  orderBy: string;
  /** Whether an identity column is written (INSERT ... OVERRIDING SYSTEM VALUE). */
  writesIdentity: boolean;
}

interface TargetColumn {
  name: string;
  /** PostgreSQL's name of the type: text, int8, int4, float8, jsonb, bytea, ... */
  type: string;
  isIdentity: boolean;
}

interface SourceTable {
  name: string;
  columns: { name: string; pk: number }[];
  hasRowid: boolean;
  /** A column referring to the same table's `references` (projects.parent → projects.id). */
  selfReference?: { column: string; references: string };
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Copies the SQLite database of `from` (see {@link sqliteSourceFile}) into the empty PostgreSQL database at `targetUrl`. */
export async function copySqliteToPostgres(from: string, targetUrl: string, options: CopyToPostgresOptions = {}): Promise<CopyReport> {
  const started = performance.now();
  const file = sqliteSourceFile(from);
  const target = redactDatabaseUrl(targetUrl);
  const source = openSource(file);
  try {
    const schemaVersion = checkSourceSchema(source, file);
    const tables = readSourceTables(source);
    const { pool } = await connectPostgres(targetUrl, {
      maxConnections: 1,
      applicationName: 'tasklane-migrate-sqlite',
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
    try {
      await migratePostgres(pool);
      const client = await pool.connect();
      let isBroken = false;
      try {
        await client.query('BEGIN');
        try {
          const report = await copyInTransaction(source, file, client, tables, target, schemaVersion, options);
          await client.query('COMMIT');
          return { ...report, durationMs: Math.round(performance.now() - started) };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {
            isBroken = true;
          });
          throw error;
        }
      } finally {
        client.release(isBroken);
      }
    } finally {
      // Not the Kysely's destroy(): it ends the pool only once it has run a query itself, and this copy never does.
      await pool.end();
    }
  } finally {
    source.close();
  }
}

function openSource(file: string): Database.Database {
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    // Reading now makes SQLite say at once whether this is a database at all.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (cause) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Cannot read the SQLite database ${file}: ${(cause as Error).message}. Check that it is a Tasklane database and ` +
        'readable by this user (its folder too: SQLite keeps tasklane.sqlite-wal and -shm beside it).',
      { file },
      { cause },
    );
  }
}

/** The source's schema version; refuses one this Tasklane cannot copy. */
function checkSourceSchema(source: Database.Database, file: string): number {
  const known = Math.max(...SQLITE_MIGRATIONS.map((m) => m.version));
  const postgresKnown = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));
  if (known !== postgresKnown) {
    // Same number, same schema (postgres/migrations.ts); a test checks both lists end together.
    throw new TasklaneError('INTERNAL', `This Tasklane's SQLite schema (version ${known}) and PostgreSQL schema (version ${postgresKnown}) differ; cannot copy.`);
  }
  const hasMigrations = source.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (hasMigrations === undefined) {
    throw new TasklaneError('INVALID_INPUT', `${file} is not a Tasklane database (it has no schema_migrations table); nothing was copied.`, { file });
  }
  const row = source.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
  const version = row.version ?? 0;
  if (version > known) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `${file} has schema version ${version}, newer than this Tasklane knows (${known}): a newer Tasklane wrote it. ` +
        'Copy it with that version (or a later one); nothing was copied.',
      { schema_version: version, known_version: known },
    );
  }
  if (version < known) {
    // Migrating here would write to the source, which this command promises not to; the server migrates at start.
    throw new TasklaneError(
      'INVALID_INPUT',
      `${file} has schema version ${version}; this Tasklane copies version ${known}. Bring it up to date first: start ` +
        `this version's server on it once and stop it (${serverCommandFor(file)}), then copy again. Nothing was copied.`,
      { schema_version: version, known_version: known },
    );
  }
  return version;
}

/** The `tasklane server` command that opens `file`: by its data dir when it is one's tasklane.sqlite. */
function serverCommandFor(file: string): string {
  return basename(file) === 'tasklane.sqlite' ? `tasklane server --data-dir ${dirname(file)}` : `tasklane server --db-url sqlite://${file}`;
}

function readSourceTables(source: Database.Database): SourceTable[] {
  const names = (source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[]).filter(
    (name) => !NOT_COPIED.has(name),
  );
  return names.map((name) => {
    const columns = (source.prepare(`PRAGMA table_info(${quote(name)})`).all() as { name: string; pk: number }[]).map(({ name, pk }) => ({ name, pk }));
    const info = source.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) as string;
    const hasRowid = !/\)\s*WITHOUT\s+ROWID\s*;?\s*$/i.test(info);
    const foreignKeys = source.prepare(`PRAGMA foreign_key_list(${quote(name)})`).all() as { table: string; from: string; to: string | null }[];
    const self = foreignKeys.find((key) => key.table === name && key.to !== null);
    return { name, columns, hasRowid, ...(self ? { selfReference: { column: self.from, references: self.to! } } : {}) };
  });
}

async function copyInTransaction(
  source: Database.Database,
  file: string,
  client: pg.PoolClient,
  sourceTables: SourceTable[],
  target: string,
  schemaVersion: number,
  options: CopyToPostgresOptions,
): Promise<Omit<CopyReport, 'durationMs'>> {
  const targetColumns = await readTargetColumns(client);
  const targetTables = [...targetColumns.keys()].filter((name) => !NOT_COPIED.has(name));
  // No other process writes the target while it is copied into (a server started on it early waits).
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
  try {
    await client.query(`LOCK TABLE ${targetTables.map(quote).join(', ')} IN EXCLUSIVE MODE`);
  } catch (cause) {
    if ((cause as { code?: string }).code !== '55P03') throw cause;
    throw new TasklaneError(
      'SERVER_UNREACHABLE',
      `Another process holds tables of ${target} (a Tasklane server running on it?); waited ${lockTimeoutMs / 1000} s. ` +
        'Stop it and copy again; nothing was copied.',
      { url: target },
      { cause },
    );
  }
  await refuseNonEmpty(client, targetTables, target);
  const plans = planTables(sourceTables, targetColumns, file, target);

  // One read transaction: every table read from the same snapshot. data_version moves when another connection
  // commits, so comparing it before and after tells whether the source changed while it was copied.
  const versionBefore = source.pragma('data_version', { simple: true }) as number;
  source.exec('BEGIN');
  try {
    const totals = new Map(plans.map((plan) => [plan.name, countSourceRows(source, plan.name)]));
    const sequences = readSqliteSequences(source);
    const replaced = { listed: [] as ReplacedValue[], count: 0 };
    const copiedRows = new Map<string, number>();
    for (const plan of plans) {
      const rows = await copyTable(source, client, plan, totals.get(plan.name) ?? 0, replaced, options);
      copiedRows.set(plan.name, rows);
    }
    await advanceSequences(client, plans, sequences);
    const counts: TableCount[] = [];
    for (const plan of plans) {
      const result = await client.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${quote(plan.name)}`);
      counts.push({ table: plan.name, source: totals.get(plan.name) ?? 0, copied: Number(result.rows[0]?.n ?? 0) });
    }
    const differ = counts.filter((count) => count.source !== count.copied || copiedRows.get(count.table) !== count.source);
    if (differ.length > 0) {
      const list = differ.map((count) => `${count.table}: ${count.source} in SQLite, ${count.copied} in PostgreSQL`).join('; ');
      throw new TasklaneError(
        'INTERNAL',
        `The counts differ after the copy (${list}); rolled back, ${target} holds no rows. Look for triggers or rules on ` +
          'those tables in PostgreSQL, then copy again into an empty database.',
        { url: target, tables: differ },
      );
    }
    source.exec('COMMIT');
    const versionAfter = source.pragma('data_version', { simple: true }) as number;
    if (versionAfter !== versionBefore) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `${file} changed while it was copied (a Tasklane server is running on it?): what it wrote after the copy began ` +
          `would be missing, so the copy was rolled back and ${target} holds no rows. Stop the server, then copy again.`,
        { file },
      );
    }
    return { source: file, target, schemaVersion, tables: counts, replaced: replaced.listed, replacedCount: replaced.count };
  } finally {
    if (source.inTransaction) source.exec('ROLLBACK');
  }
}

/** The target's tables (not views) and their columns, in column order. */
async function readTargetColumns(client: pg.PoolClient): Promise<Map<string, TargetColumn[]>> {
  const result = await client.query<{ table_name: string; column_name: string; udt_name: string; is_identity: string }>(
    `SELECT c.table_name, c.column_name, c.udt_name, c.is_identity
     FROM information_schema.columns AS c
     JOIN information_schema.tables AS t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
     ORDER BY c.table_name, c.ordinal_position`,
  );
  const tables = new Map<string, TargetColumn[]>();
  for (const row of result.rows) {
    const columns = tables.get(row.table_name) ?? [];
    columns.push({ name: row.column_name, type: row.udt_name, isIdentity: row.is_identity === 'YES' });
    tables.set(row.table_name, columns);
  }
  return tables;
}

async function refuseNonEmpty(client: pg.PoolClient, tables: string[], target: string): Promise<void> {
  const found: string[] = [];
  for (const table of tables) {
    // Counted up to 1,000: a database full of someone's data is not counted through.
    const result = await client.query<{ n: string | number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${quote(table)} LIMIT 1000) AS rows`);
    const rows = Number(result.rows[0]?.n ?? 0);
    if (rows > 0) found.push(`${table} (${rows === 1000 ? '1,000 or more rows' : rows === 1 ? '1 row' : `${rows} rows`})`);
  }
  if (found.length === 0) return;
  throw new TasklaneError(
    'INVALID_INPUT',
    `The PostgreSQL database ${target} is not empty: ${found.join(', ')}. Copy into an empty database (createdb -O USER ` +
      'NEW_DATABASE, then --to with its name); nothing was changed.',
    { url: target, tables: found },
  );
}

function planTables(sourceTables: SourceTable[], targetColumns: Map<string, TargetColumn[]>, file: string, target: string): TablePlan[] {
  const rank = (name: string) => {
    const at = TABLE_ORDER.indexOf(name);
    return at === -1 ? TABLE_ORDER.length : at;
  };
  const ordered = [...sourceTables].sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return ordered.map((table) => {
    const columns = targetColumns.get(table.name);
    if (columns === undefined) {
      throw new TasklaneError(
        'INTERNAL',
        `${file} has a table "${table.name}" that ${target} lacks, at the same schema version; cannot copy it. Nothing was copied.`,
        { table: table.name },
      );
    }
    const missing = table.columns.filter((column) => !columns.some((c) => c.name === column.name));
    if (missing.length > 0) {
      throw new TasklaneError(
        'INTERNAL',
        `The table "${table.name}" of ${file} has columns that ${target} lacks: ${missing.map((c) => c.name).join(', ')}. Nothing was copied.`,
        { table: table.name },
      );
    }
    const name = quote(table.name);
    const plan: TablePlan = { name: table.name, select: [], columns: [], keyColumns: [], with: '', from: `${name} AS t`, orderBy: '', writesIdentity: false };
    for (const column of columns) {
      const sourceColumn = table.columns.find((c) => c.name === column.name);
      if (sourceColumn !== undefined) {
        plan.select.push(`t.${quote(column.name)}`);
      } else if (column.isIdentity && table.hasRowid) {
        // SQLite orders such a table by its implicit rowid; PostgreSQL by this column (other_events.seq).
        plan.select.push('t.rowid');
      } else {
        continue; // the target's default fills it
      }
      plan.columns.push(column);
      plan.writesIdentity ||= column.isIdentity;
    }
    const keys = table.columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    plan.keyColumns = keys.map((key) => plan.columns.findIndex((c) => c.name === key.name)).filter((at) => at >= 0);
    const natural = table.hasRowid ? 't.rowid' : keys.map((key) => `t.${quote(key.name)}`).join(', ') || '1';
    plan.orderBy = natural;
    if (table.selfReference) {
      // Parents before children: by depth in the tree, from the rows without a parent (rows no walk reaches — a
      // cycle — come last, and PostgreSQL's foreign key says so if it minds).
      const column = quote(table.selfReference.column);
      const key = quote(table.selfReference.references);
      plan.with =
        `WITH RECURSIVE tree(key, depth) AS (SELECT ${key}, 0 FROM ${name} WHERE ${column} IS NULL OR ${column} NOT IN (SELECT ${key} FROM ${name}) ` +
        `UNION SELECT child.${key}, tree.depth + 1 FROM ${name} AS child JOIN tree ON child.${column} = tree.key) `;
      plan.from = `${name} AS t LEFT JOIN (SELECT key, MIN(depth) AS depth FROM tree GROUP BY key) AS d ON d.key = t.${key}`;
      plan.orderBy = `d.depth IS NULL, d.depth, ${natural}`;
    }
    return plan;
  });
}

function countSourceRows(source: Database.Database, table: string): number {
  return Number(source.prepare(`SELECT count(*) FROM ${quote(table)}`).pluck().get());
}

/** The highest id each AUTOINCREMENT table ever handed out (rows deleted since included). */
function readSqliteSequences(source: Database.Database): Map<string, number> {
  const hasTable = source.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").get();
  if (hasTable === undefined) return new Map();
  const rows = source.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[];
  return new Map(rows.map((row) => [row.name, Number(row.seq)]));
}

interface Replacements {
  listed: ReplacedValue[];
  count: number;
}

async function copyTable(
  source: Database.Database,
  client: pg.PoolClient,
  plan: TablePlan,
  total: number,
  replaced: Replacements,
  options: CopyToPostgresOptions,
): Promise<number> {
  const batchRows = Math.max(1, options.batchRows ?? DEFAULT_BATCH_ROWS);
  const batchBytes = Math.max(1, options.batchBytes ?? DEFAULT_BATCH_BYTES);
  options.onProgress?.({ table: plan.name, rowsDone: 0, rowsTotal: total });
  const statement = source
    .prepare(`${plan.with}SELECT ${plan.select.join(', ')} FROM ${plan.from} ORDER BY ${plan.orderBy}`)
    .raw(true)
    .safeIntegers(true);
  const insert =
    `INSERT INTO ${quote(plan.name)} (${plan.columns.map((c) => quote(c.name)).join(', ')})` +
    `${plan.writesIdentity ? ' OVERRIDING SYSTEM VALUE' : ''} ` +
    `SELECT * FROM unnest(${plan.columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ')})`;
  let batch: unknown[][] = [];
  let bytes = 0;
  let done = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await insertBatch(client, plan, insert, batch);
    done += batch.length;
    batch = [];
    bytes = 0;
    options.onProgress?.({ table: plan.name, rowsDone: done, rowsTotal: total });
  };
  for (const raw of statement.iterate() as IterableIterator<unknown[]>) {
    const row = raw.map((value, at) => toPostgresValue(value, plan, at, raw, replaced));
    batch.push(row);
    bytes += row.reduce<number>((sum, value) => sum + sizeOf(value), 16);
    if (batch.length >= batchRows || bytes >= batchBytes) await flush();
  }
  await flush();
  return done;
}

function sizeOf(value: unknown): number {
  if (typeof value === 'string') return value.length;
  if (Buffer.isBuffer(value)) return value.length * 2; // sent as hex
  return 8;
}

/**
 * Writes one batch. When PostgreSQL refuses it, the batch is tried again row by row to name the row it refuses.
 */
async function insertBatch(client: pg.PoolClient, plan: TablePlan, insert: string, batch: unknown[][]): Promise<void> {
  const arrays = (rows: unknown[][]) => plan.columns.map((_, at) => rows.map((row) => row[at]));
  await client.query('SAVEPOINT copy_batch');
  try {
    await client.query(insert, arrays(batch));
    await client.query('RELEASE SAVEPOINT copy_batch');
    return;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT copy_batch');
    for (const row of batch) {
      try {
        await client.query(insert, arrays([row]));
      } catch (cause) {
        throw refusedRow(plan, row, cause);
      }
    }
    throw refusedRow(plan, batch[0]!, error);
  }
}

function refusedRow(plan: TablePlan, row: unknown[], cause: unknown): TasklaneError {
  const detail = (cause as { detail?: string }).detail;
  return new TasklaneError(
    'INVALID_INPUT',
    `PostgreSQL refused the row ${describeRow(plan, row)} of ${plan.name}: ${(cause as Error).message}${detail ? ` (${detail.replace(/\.$/, '')})` : ''}. ` +
      'The copy was rolled back; the target holds no rows.',
    { table: plan.name, row: describeRow(plan, row) },
    { cause },
  );
}

/** `id=4f2c…`, `task=…, event_id=…`, or every column's value (shortened) when the table has no key. */
function describeRow(plan: TablePlan, row: unknown[]): string {
  const positions = plan.keyColumns.length > 0 ? plan.keyColumns : plan.columns.map((_, at) => at);
  return positions
    .map((at) => {
      const value = row[at];
      const text = value === null || value === undefined ? 'NULL' : Buffer.isBuffer(value) ? `<${value.length} bytes>` : String(value);
      return `${plan.columns[at]!.name}=${text.length > 80 ? `${text.slice(0, 79)}…` : text}`;
    })
    .join(', ');
}

/** NUL anywhere; a `\u0000` escape or an escaped surrogate in JSON text (a lone one is what PostgreSQL refuses). */
const JSON_NEEDS_LOOK = /\\u0000|\\u[dD][89a-fA-F]/;

/** A source value as PostgreSQL takes it in an array of the column's type (see the module's notes on U+0000). */
function toPostgresValue(value: unknown, plan: TablePlan, at: number, row: unknown[], replaced: Replacements): unknown {
  if (value === null) return null;
  const column = plan.columns[at]!;
  if (typeof value === 'bigint') return value.toString();
  if (column.type === 'bytea') return Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  if (Buffer.isBuffer(value)) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `The row ${describeRow(plan, row)} of ${plan.name} holds bytes in ${column.name}, where PostgreSQL keeps ${column.type}. Nothing was copied.`,
      { table: plan.name },
    );
  }
  if (typeof value !== 'string') return value;
  let text = value;
  if (column.type === 'jsonb' || column.type === 'json') {
    if (text.includes('\u0000') || JSON_NEEDS_LOOK.test(text)) text = cleanJson(text);
  } else if (text.includes('\u0000')) {
    text = text.replaceAll('\u0000', '\uFFFD');
  }
  if (text !== value) {
    replaced.count += 1;
    if (replaced.listed.length < MAX_LISTED_REPLACEMENTS) replaced.listed.push({ table: plan.name, row: describeRow(plan, row), column: column.name });
  }
  return text;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (String#toWellFormed is ES2024). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** JSON text with each NUL and lone surrogate in its strings and keys as U+FFFD; the text itself if none. */
function cleanJson(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text.replaceAll('\u0000', '\uFFFD'); // not JSON: PostgreSQL will say so, naming the row
  }
  let isChanged = false;
  const clean = (item: string) => {
    const cleaned = item.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
    if (cleaned !== item) isChanged = true;
    return cleaned;
  };
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return clean(item);
    if (Array.isArray(item)) return item.map(walk);
    if (item !== null && typeof item === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(item)) Object.defineProperty(out, clean(key), { value: walk(inner), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return item;
  };
  const result = walk(parsed);
  return isChanged ? JSON.stringify(result) : text;
}

/** Sets each identity's sequence past the highest id copied (or handed out by SQLite's AUTOINCREMENT). */
async function advanceSequences(client: pg.PoolClient, plans: TablePlan[], sqliteSequences: Map<string, number>): Promise<void> {
  for (const plan of plans) {
    for (const column of plan.columns.filter((c) => c.isIdentity)) {
      const result = await client.query<{ n: string | number | null }>(`SELECT max(${quote(column.name)}) AS n FROM ${quote(plan.name)}`);
      const copied = result.rows[0]?.n === null || result.rows[0]?.n === undefined ? 0 : Number(result.rows[0].n);
      const highest = Math.max(copied, sqliteSequences.get(plan.name) ?? 0);
      if (highest < 1) continue;
      await client.query('SELECT setval(pg_get_serial_sequence($1, $2), $3)', [quote(plan.name), column.name, highest]);
    }
  }
}
