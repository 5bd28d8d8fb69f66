import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';

/** Stands for one value of a query shape while it is built: compiled into the parameters in the value's place. */
class Slot {
  constructor(readonly key: string) {}
}

/**
 * A query whose shape never changes (a task by id, the update of a whole row), built and compiled once per dialect
 * and then run with new values. Building and compiling even `selectFrom('tasks').select('data').where('id', '=', id)`
 * takes ~1.8 µs, three times what SQLite takes to run it (~0.65 µs, prepared); putting new values into a compiled
 * query costs next to nothing. `build` must not look at the values (they are placeholders then), only put them
 * where values go.
 */
export class QueryShape<TValues extends Record<string, unknown>, TRow> {
  private readonly compiled = new Map<SqlDialect['kind'], { query: CompiledQuery<TRow>; keys: (string | undefined)[] }>();

  constructor(
    private readonly keys: readonly (keyof TValues & string)[],
    private readonly build: (db: Kysely<Database>, values: TValues, dialect: SqlDialect) => Compilable<TRow>,
  ) {}

  execute(db: Kysely<Database>, dialect: SqlDialect, values: TValues): Promise<QueryResult<TRow>> {
    // Keyed by the dialect: the SQL text (quotes, placeholders) is the database's.
    let shape = this.compiled.get(dialect.kind);
    if (shape === undefined) {
      const slots = Object.fromEntries(this.keys.map((key) => [key, new Slot(key)])) as unknown as TValues;
      const query = this.build(db, slots, dialect).compile();
      shape = { query, keys: query.parameters.map((parameter) => (parameter instanceof Slot ? parameter.key : undefined)) };
      this.compiled.set(dialect.kind, shape);
    }
    const { query, keys } = shape;
    const parameters = keys.map((key, i) => (key === undefined ? query.parameters[i] : values[key]));
    return db.executeQuery<TRow>({ ...query, parameters });
  }
}
