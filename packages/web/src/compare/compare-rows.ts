import type { Task } from '@tasklane/protocol';

/** One compared field: its value in each task (undefined where the task lacks it). */
export interface CompareRow {
  section: string;
  name: string;
  values: (string | undefined)[];
  isDifferent: boolean;
}

/** The fields of a task the compare page reads. */
export type ComparedTask = Pick<Task, 'id' | 'name' | 'status' | 'hyperparams' | 'configuration' | 'last_metrics'> &
  Partial<Pick<Task, 'type' | 'tags' | 'script' | 'last_iteration' | 'parent' | 'project' | 'started' | 'completed'>>;

function differs(values: (string | undefined)[]): boolean {
  return values.some((v) => v !== values[0]);
}

function rowsOf(section: string, names: string[], valueOf: (name: string) => (string | undefined)[]): CompareRow[] {
  return names.map((name) => {
    const values = valueOf(name);
    return { section, name, values, isDifferent: differs(values) };
  });
}

/** Keys in the order first seen across the tasks (the first task's order first), so rows stay where users expect. */
function unionKeys(objects: (Record<string, unknown> | undefined)[]): string[] {
  const keys = new Set<string>();
  for (const object of objects) for (const key of Object.keys(object ?? {})) keys.add(key);
  return [...keys];
}

/** Hyperparameters side by side, grouped by section. */
export function hyperParamRows(tasks: ComparedTask[]): CompareRow[] {
  const sections = unionKeys(tasks.map((t) => t.hyperparams)).sort();
  return sections.flatMap((section) => {
    const names = unionKeys(tasks.map((t) => t.hyperparams?.[section])).sort();
    return rowsOf(section, names, (name) => tasks.map((t) => t.hyperparams?.[section]?.[name]?.value));
  });
}

/** Configuration objects side by side (one row per object name; the value is its text). */
export function configurationRows(tasks: ComparedTask[]): CompareRow[] {
  const names = unionKeys(tasks.map((t) => t.configuration)).sort();
  return rowsOf('Configuration objects', names, (name) => tasks.map((t) => t.configuration?.[name]?.value));
}

/** General fields that often explain why two runs differ: code version, type, tags. */
export function generalRows(tasks: ComparedTask[]): CompareRow[] {
  const fields: [string, (t: ComparedTask) => string | undefined][] = [
    ['type', (t) => t.type],
    ['tags', (t) => (t.tags && t.tags.length > 0 ? t.tags.join(', ') : undefined)],
    ['repository', (t) => t.script?.repository],
    ['branch', (t) => t.script?.branch],
    ['commit', (t) => t.script?.version_num],
    ['entry point', (t) => t.script?.entry_point],
    ['last iteration', (t) => (t.last_iteration === undefined ? undefined : String(t.last_iteration))],
  ];
  return fields
    .map(([name, read]) => {
      const values = tasks.map(read);
      return { section: 'General', name, values, isDifferent: differs(values) };
    })
    .filter((row) => row.values.some((v) => v !== undefined));
}

export type MetricValueKind = 'last' | 'min' | 'max';
export const METRIC_VALUE_KINDS: MetricValueKind[] = ['last', 'min', 'max'];

/** One metric/variant of the metric table: last, min and max per task. */
export interface MetricRow {
  metric: string;
  variant: string;
  values: { last?: number; min?: number; max?: number }[];
}

/** The last/min/max of every metric/variant any task reported, from the tasks' last_metrics (no event reads). */
export function metricRows(tasks: ComparedTask[]): MetricRow[] {
  const names = new Map<string, { metric: string; variant: string }>();
  for (const task of tasks) {
    for (const byVariant of Object.values(task.last_metrics ?? {})) {
      for (const entry of Object.values(byVariant)) names.set(`${entry.metric}\u0000${entry.variant}`, entry);
    }
  }
  return [...names.values()]
    .sort((a, b) => a.metric.localeCompare(b.metric) || a.variant.localeCompare(b.variant))
    .map(({ metric, variant }) => ({
      metric,
      variant,
      values: tasks.map((task) => {
        const entry = findMetric(task, metric, variant);
        return {
          last: entry?.value ?? undefined,
          min: entry?.min_value ?? undefined,
          max: entry?.max_value ?? undefined,
        };
      }),
    }));
}

/** last_metrics is keyed by hashes of metric and variant (as ClearML's): look entries up by their names. */
function findMetric(task: ComparedTask, metric: string, variant: string) {
  for (const byVariant of Object.values(task.last_metrics ?? {})) {
    for (const entry of Object.values(byVariant)) {
      if (entry.metric === metric && entry.variant === variant) return entry;
    }
  }
  return undefined;
}

/** A metric value of a task for the scatter's y axis. */
export function metricValue(task: ComparedTask, metric: string, variant: string, kind: MetricValueKind): number | undefined {
  const entry = findMetric(task, metric, variant);
  const value = kind === 'last' ? entry?.value : kind === 'min' ? entry?.min_value : entry?.max_value;
  return value ?? undefined;
}

/** `section/name` of a hyperparameter, the scatter's x choice in the address. */
export function paramKey(section: string, name: string): string {
  return `${section}/${name}`;
}

/** A hyperparameter value of a task by `section/name` (the section is up to the first slash). */
export function paramValue(task: ComparedTask, key: string): string | undefined {
  const slash = key.indexOf('/');
  if (slash < 0) return undefined;
  return task.hyperparams?.[key.slice(0, slash)]?.[key.slice(slash + 1)]?.value;
}

/** Numbers shown in tables: up to 6 significant digits, the full value in the title. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '—';
  if (Number.isInteger(value)) return String(value);
  return Number(value.toPrecision(6)).toString();
}

/** Ids from the address: `ids=a,b,c`, without blanks and repeats, in the order given. */
export function parseIds(raw: string | null): string[] {
  return [...new Set((raw ?? '').split(',').map((id) => id.trim()).filter(Boolean))];
}

export const MIN_COMPARED = 2;
export const MAX_COMPARED = 10;

/** Why an id list cannot be compared, or undefined when it can. */
export function refusalOf(ids: string[]): string | undefined {
  if (ids.length < MIN_COMPARED) {
    return `Compare needs at least ${MIN_COMPARED} tasks; the address names ${ids.length === 0 ? 'none' : 'only 1'}. Add a task below, or select tasks in a project's table and choose Compare.`;
  }
  if (ids.length > MAX_COMPARED) {
    return `Compare shows at most ${MAX_COMPARED} tasks; the address names ${ids.length}. Remove ${ids.length - MAX_COMPARED} of them below.`;
  }
  return undefined;
}
