import type { RequestOf } from '@tasklane/protocol';
import { md5Hex } from './md5';

/** Rows per page of the tasks table. */
export const PAGE_SIZE = 50;
export const DEFAULT_ORDER = '-last_update';

/** A user-chosen column: a hyperparameter (section/name) or the last value of a metric (metric/variant). */
export type ExtraColumn = { kind: 'hp'; section: string; name: string } | { kind: 'metric'; metric: string; variant: string };

/** Everything the tasks table shows, as read from (and written to) the address. */
export interface TableState {
  order: string;
  status: string;
  type: string;
  tag: string;
  user: string;
  q: string;
  page: number;
  /** With the tasks of sub-projects. */
  deep: boolean;
  /** The archive instead of the live tasks. */
  archived: boolean;
  columns: ExtraColumn[];
  selected: string[];
}

/**
 * Reads the table state from the query. Columns are repeated `hp=Args/lr` (section up to the first "/") and
 * `metric=loss/val` (variant after the last "/", since metric names often hold "/" themselves).
 */
export function readTableState(query: URLSearchParams): TableState {
  const columns: ExtraColumn[] = [];
  for (const value of query.getAll('hp')) {
    const at = value.indexOf('/');
    if (at > 0 && at < value.length - 1) columns.push({ kind: 'hp', section: value.slice(0, at), name: value.slice(at + 1) });
  }
  for (const value of query.getAll('metric')) {
    const at = value.lastIndexOf('/');
    if (at > 0 && at < value.length - 1) columns.push({ kind: 'metric', metric: value.slice(0, at), variant: value.slice(at + 1) });
  }
  return {
    order: query.get('order') || DEFAULT_ORDER,
    status: query.get('status') ?? '',
    type: query.get('type') ?? '',
    tag: query.get('tag') ?? '',
    user: query.get('user') ?? '',
    q: query.get('q') ?? '',
    page: Math.max(0, Math.floor(Number(query.get('page') ?? 0)) || 0),
    deep: query.get('deep') === '1',
    archived: query.get('archived') === '1',
    columns,
    selected: (query.get('sel') ?? '').split(',').filter(Boolean),
  };
}

/** The address of a table state (defaults left out, so plain links stay short). */
export function tableHref(projectId: string, state: TableState): string {
  const query = new URLSearchParams();
  const set = (key: string, value: string) => {
    if (value) query.set(key, value);
  };
  set('q', state.q);
  set('status', state.status);
  set('type', state.type);
  set('tag', state.tag);
  set('user', state.user);
  if (state.order !== DEFAULT_ORDER) query.set('order', state.order);
  if (state.deep) query.set('deep', '1');
  if (state.archived) query.set('archived', '1');
  if (state.page > 0) query.set('page', String(state.page));
  for (const column of state.columns) {
    if (column.kind === 'hp') query.append('hp', `${column.section}/${column.name}`);
    else query.append('metric', `${column.metric}/${column.variant}`);
  }
  set('sel', state.selected.join(','));
  const search = query.toString();
  return `#/projects/${encodeURIComponent(projectId)}/tasks${search ? `?${search}` : ''}`;
}

/** A stable id of a user column (React key, and the sort key's base). */
export function columnId(column: ExtraColumn): string {
  return column.kind === 'hp' ? `hp:${column.section}/${column.name}` : `metric:${column.metric}/${column.variant}`;
}

export function columnLabel(column: ExtraColumn): string {
  return column.kind === 'hp' ? `${column.section}/${column.name}` : `${column.metric}/${column.variant} (last)`;
}

/** The `order_by` key of a user column, as the server (and ClearML) spells it. */
export function columnSortKey(column: ExtraColumn): string {
  return column.kind === 'hp'
    ? `hyperparams.${column.section}.${column.name}.value`
    : `last_metrics.${md5Hex(column.metric)}.${md5Hex(column.variant)}.value`;
}

/** The fields a user column needs from each task (`only_fields`). */
export function columnFields(column: ExtraColumn): string {
  return column.kind === 'hp'
    ? `hyperparams.${column.section}.${column.name}`
    : `last_metrics.${md5Hex(column.metric)}.${md5Hex(column.variant)}`;
}

/** Fields of every row, whatever the columns. */
const BASE_FIELDS = [
  'id',
  'name',
  'type',
  'status',
  'status_message',
  'tags',
  'system_tags',
  'parent',
  'user',
  'created',
  'started',
  'completed',
  'last_update',
  'last_iteration',
  'active_duration',
  'runtime',
  'project',
];

/** The `tasks.get_all` body of a table state: one page. */
export function tasksRequest(projectId: string, state: TableState): RequestOf<'tasks.get_all'> {
  return {
    project: [projectId],
    ...(state.deep ? { include_subprojects: true } : {}),
    order_by: state.order === DEFAULT_ORDER ? [state.order] : [state.order, DEFAULT_ORDER],
    page: state.page,
    page_size: PAGE_SIZE,
    ...(state.status ? { status: [state.status] } : {}),
    ...(state.type ? { type: [state.type] } : {}),
    ...(state.tag ? { tags: [state.tag] } : {}),
    ...(state.user ? { user: [state.user] } : {}),
    ...(state.q ? { search_text: state.q } : {}),
    system_tags: [state.archived ? 'archived' : '-archived'],
    only_fields: [...BASE_FIELDS, ...state.columns.map(columnFields)],
  };
}

