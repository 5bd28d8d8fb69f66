import type Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database as Tables } from './schema.js';

/** Statements prepared per SQL text, at most this many (the query shapes of the repositories are a few hundred). */
const MAX_CACHED_STATEMENTS = 2000;

/**
 * Kysely over the store's one better-sqlite3 connection. Kysely prepares every query it runs; better-sqlite3's
 * `prepare` costs more than running a simple statement, so the prepared statements are kept by their SQL text.
 * Transactions are the store's (BEGIN IMMEDIATE under its lock, see sqlite.ts): every query runs on this one
 * connection, inside whatever transaction is open.
 */
export function sqliteKysely(db: Database.Database): Kysely<Tables> {
  const statements = new Map<string, Database.Statement>();
  const database = {
    close: () => {
      // the store closes the connection itself
    },
    prepare: (text: string) => {
      let statement = statements.get(text);
      if (statement === undefined) {
        if (statements.size >= MAX_CACHED_STATEMENTS) statements.clear();
        statement = db.prepare(text);
        statements.set(text, statement);
      }
      return statement;
    },
  };
  return new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
}
