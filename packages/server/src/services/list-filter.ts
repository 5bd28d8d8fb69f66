import { TasklaneError } from '@tasklane/protocol';
import type { ListFilter } from '../storage/store.js';

/** Splits ClearML's list filter: plain values are ORed, values with a leading "-" are excluded. */
export function toListFilter(values: readonly string[] | undefined): ListFilter | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const include: string[] = [];
  const exclude: string[] = [];
  for (const value of values) {
    if (value.startsWith('-') && value.length > 1) exclude.push(value.slice(1));
    else include.push(value);
  }
  return { include, exclude };
}

/** Tells whether a list of tags passes a filter (any included, none excluded). */
export function tagsMatch(tags: readonly string[], filter: ListFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.include.length > 0 && !filter.include.some((t) => tags.includes(t))) return false;
  return !filter.exclude.some((t) => tags.includes(t));
}

/** The most keys an `order_by` may have (SQLite refuses an ORDER BY of 2,000 terms). */
const MAX_ORDER_KEYS = 32;

/** Refuses an `order_by` longer than a query can hold, with a clear INVALID_INPUT rather than a database error. */
export function checkOrderKeys(raw: readonly string[] | undefined): void {
  if (raw && raw.length > MAX_ORDER_KEYS) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.order_by: at most ${MAX_ORDER_KEYS} keys, got ${raw.length}; order by fewer fields.`,
      { fields: ['body.order_by'] },
    );
  }
}
