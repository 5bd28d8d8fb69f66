import type Database from 'better-sqlite3';

/**
 * Writes rows with multi-row INSERT statements: one call into SQLite per `maxRows` rows instead of one per row, which
 * is most of the cost of a row. A batch of any size takes ceil(n / maxRows) calls: the last, shorter statement is
 * prepared once per size, on first use.
 */
export class RowWriter {
  private readonly statements = new Map<number, Database.Statement>();
  readonly params: unknown[];
  private filled = 0;
  /** Rows the statements written so far changed (inserted or updated), as SQLite counts them. */
  changes = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly head: string,
    private readonly columns: number,
    private readonly tail: string,
    private readonly maxRows: number,
  ) {
    this.params = new Array(columns * maxRows);
  }

  /**
   * Reserves the next row: answers where its first value goes in `params` (the caller fills `columns` values from
   * there). A full statement is written first when needed; `flush` writes the rest.
   */
  next(): number {
    if (this.filled === this.maxRows) this.flush();
    this.filled += 1;
    return (this.filled - 1) * this.columns;
  }

  flush(): void {
    if (this.filled === 0) return;
    const rows = this.filled;
    // Reset first: should the write fail, no stale rows are left for the next one.
    this.filled = 0;
    let stmt = this.statements.get(rows);
    if (!stmt) {
      const row = `(${Array(this.columns).fill('?').join(', ')})`;
      stmt = this.db.prepare(`${this.head} VALUES ${Array(rows).fill(row).join(', ')} ${this.tail}`);
      this.statements.set(rows, stmt);
    }
    this.changes += stmt.run(rows === this.maxRows ? this.params : this.params.slice(0, rows * this.columns)).changes;
  }
}
