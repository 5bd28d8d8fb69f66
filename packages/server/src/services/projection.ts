/** Keeps only the given dotted paths of an object (plus `id`), as ClearML's `only_fields`. */
export function project<T extends object>(item: T, fields: readonly string[] | undefined): Partial<T> {
  if (!fields || fields.length === 0) return item;
  const out: Record<string, unknown> = {};
  for (const path of ['id', ...fields]) copyPath(item as Record<string, unknown>, out, path.split('.'));
  return out as Partial<T>;
}

function copyPath(from: Record<string, unknown>, to: Record<string, unknown>, parts: string[]): void {
  const [head, ...rest] = parts;
  if (head === undefined || !Object.hasOwn(from, head)) return;
  const value = from[head];
  if (rest.length === 0) {
    to[head] = value;
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const target = (to[head] ??= {}) as Record<string, unknown>;
  copyPath(value as Record<string, unknown>, target, rest);
}

/** Applies ClearML paging: `page` + `page_size`, or `size` alone. */
export function paging(options: { page?: number; page_size?: number; size?: number }): { limit?: number; offset?: number } {
  const limit = options.page_size ?? options.size;
  if (limit === undefined) return {};
  return { limit, offset: (options.page ?? 0) * limit };
}
