import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * A read-only look beneath a test server's store, in raw SQL, for facts the API does not show (how a plot is stored,
 * the summary rows of a series, that nothing changed): on an SQLite file (`sqlite://`) or a PostgreSQL database
 * (`postgres://`), the URL a TestServer or TestDatabase names. SQL is written once where both databases speak it,
 * with `?` for parameters on both; where they do not, a test picks by `kind`.
 */
export interface DatabaseReader {
  readonly kind: 'sqlite' | 'postgres';
  /** The rows a query answers. PostgreSQL's 64-bit integers come back as numbers (as SQLite's do), jsonb as values. */
  all<TRow = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<TRow[]>;
  /** The first column of the first row (undefined without a row). */
  value<T = unknown>(sql: string, params?: readonly unknown[]): Promise<T>;
  /**
   * Every table of the database with all its rows, each row as JSON text (binary values as their SHA-256) and each
   * table's rows sorted, plus `<schema>`: its tables, columns and indexes. Two dumps of an unchanged database are
   * equal, whatever order a query would answer rows in.
   */
  dump(): Promise<Record<string, string[]>>;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** Opens a reader on a database URL of a test server (see DatabaseReader). */
export async function openDatabaseReader(dbUrl: string): Promise<DatabaseReader> {
  if (dbUrl.startsWith('sqlite://')) return sqliteReader(dbUrl.slice('sqlite://'.length));
  if (dbUrl.startsWith('postgres://') || dbUrl.startsWith('postgresql://')) return postgresReader(dbUrl);
  throw new Error(`openDatabaseReader: expected a sqlite:// or postgres:// URL, got ${JSON.stringify(dbUrl.split(':')[0])}`);
}

function sqliteReader(file: string): DatabaseReader {
  // The server's own file, read beside it (WAL: a consistent snapshot after each answered request).
  const db = new Database(file, { readonly: true });
  const all = async <TRow>(sql: string, params: readonly unknown[] = []) => db.prepare(sql).all(...params) as TRow[];
  return {
    kind: 'sqlite',
    all,
    value: async <T>(sql: string, params: readonly unknown[] = []) => db.prepare(sql).pluck().get(...params) as T,
    dump: async () => {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[];
      const dump = Object.fromEntries(tables.map((table) => [table, sortedRows(db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][])]));
      dump['<schema>'] = sortedRows(db.prepare('SELECT type, name, sql FROM sqlite_master').raw().all() as unknown[][]);
      return dump;
    },
    close: async () => db.close(),
  };
}

async function postgresReader(url: string): Promise<DatabaseReader> {
  const client = new pg.Client({
    connectionString: url,
    types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser },
  });
  // A reader still open when its database is dropped must not crash the run.
  client.on('error', () => {});
  await client.connect();
  await client.query('SET default_transaction_read_only = on');
  const all = async <TRow>(sql: string, params: readonly unknown[] = []) => (await client.query(numbered(sql), [...params])).rows as TRow[];
  return {
    kind: 'postgres',
    all,
    value: async <T>(sql: string, params: readonly unknown[] = []) => {
      const result = await client.query({ text: numbered(sql), values: [...params], rowMode: 'array' });
      return result.rows[0]?.[0] as T;
    },
    dump: async () => {
      const tables = (
        await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
      ).rows.map((row) => row.name);
      const dump: Record<string, string[]> = {};
      const raw = async (text: string) => (await client.query({ text, rowMode: 'array' })).rows as unknown[][];
      for (const table of tables) dump[table] = sortedRows(await raw(`SELECT * FROM "${table}"`));
      dump['<schema>'] = sortedRows([
        ...(await raw(
          `SELECT 'column', table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
           WHERE table_schema = current_schema()`,
        )),
        ...(await raw(`SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()`)),
      ]);
      return dump;
    },
    close: () => client.end(),
  };
}

/** `?` placeholders as PostgreSQL's `$1`, `$2`, … (outside quoted strings and names). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (match) => (match === '?' ? `$${(n += 1)}` : match));
}

function sortedRows(rows: unknown[][]): string[] {
  return rows.map((row) => JSON.stringify(row.map(dumpValue))).sort();
}

function dumpValue(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return `<${createHash('sha256').update(value).digest('hex')}>`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}
