import { parseCsv } from '../parse-csv.js';

/** A table given as rows of cells and column names. */
export interface TableData {
  columns: string[];
  rows: unknown[][];
}

/** One row of a table read back: column name → number, text, boolean-as-text, or null for an empty cell. */
export type TableRecord = Record<string, string | number | null>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function isCell(value: unknown): boolean {
  return value === null || value === undefined || ['string', 'number', 'boolean', 'bigint'].includes(typeof value) || value instanceof Date;
}

/**
 * Whether `value` is tabular: a non-empty array of plain objects whose values are all plain cells (text, numbers,
 * booleans, dates, null), or `{ columns: string[], rows: unknown[][] }`.
 */
export function asTable(value: unknown): TableData | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0 || !value.every((row) => isPlainObject(row) && Object.values(row).every(isCell))) return undefined;
    const columns: string[] = [];
    const seen = new Set<string>();
    for (const row of value as Record<string, unknown>[]) {
      for (const key of Object.keys(row)) {
        if (!seen.has(key)) {
          seen.add(key);
          columns.push(key);
        }
      }
    }
    if (columns.length === 0) return undefined;
    return { columns, rows: (value as Record<string, unknown>[]).map((row) => columns.map((c) => row[c])) };
  }
  if (isPlainObject(value) && Object.keys(value).length === 2 && Array.isArray(value.columns) && Array.isArray(value.rows)) {
    const { columns, rows } = value as { columns: unknown[]; rows: unknown[] };
    const isValid =
      columns.length > 0 &&
      columns.every((c) => typeof c === 'string') &&
      rows.every((r) => Array.isArray(r) && r.length === columns.length && r.every(isCell));
    return isValid ? { columns: columns as string[], rows: rows as unknown[][] } : undefined;
  }
  return undefined;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = value instanceof Date ? value.toISOString() : String(value);
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV text of a table (RFC 4180, LF line ends, a header line of the column names). */
export function tableToCsv(table: TableData, maxRows = Infinity): string {
  const lines = [table.columns.map(csvCell).join(',')];
  for (const row of table.rows.slice(0, maxRows)) lines.push(row.map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:Infinity|NaN)$/;

/** Reads CSV text with a header line back into records: numbers as numbers, empty cells as null, the rest as text. */
export function csvToRecords(text: string): TableRecord[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows
    .filter((row) => !(row.length === 1 && row[0] === ''))
    .map((row) =>
      Object.fromEntries(
        header.map((column, i) => {
          const cell = row[i] ?? '';
          return [column, cell === '' ? null : NUMBER.test(cell) ? Number(cell) : cell];
        }),
      ),
    );
}
