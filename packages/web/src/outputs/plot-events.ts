import type { TaskEvent } from '@tasklane/protocol';
import { api } from '../api';
import type { PlotlyFigureSpec } from '../components/plotly-figure';

/** How many of the latest iterations of each plot the plots tab loads (the iteration chooser's range). */
export const PLOT_ITERATIONS = 10;
/** At most this many plot events are loaded, whatever the number of plots. */
const MAX_PLOT_EVENTS = 2000;

/** One reported figure: its title (metric), series (variant) and iteration. */
export interface PlotEntry {
  id: string;
  metric: string;
  variant: string;
  iter: number;
  figure: PlotlyFigureSpec | null;
  /** Why the figure cannot be shown, when it cannot. */
  problem?: string;
}

// Parsed figures by event id: the same object across live refreshes, so charts are not redrawn for nothing.
const parsed = new Map<string, PlotEntry>();

function toEntry(event: TaskEvent): PlotEntry {
  const cached = parsed.get(event.id);
  if (cached) return cached;
  let entry: PlotEntry = { id: event.id, metric: event.metric ?? '', variant: event.variant ?? '', iter: event.iter ?? 0, figure: null };
  try {
    const figure: unknown = JSON.parse(event.plot_str ?? '');
    if (typeof figure === 'object' && figure !== null && Array.isArray((figure as PlotlyFigureSpec).data)) {
      entry = { ...entry, figure: figure as PlotlyFigureSpec };
    } else {
      entry = { ...entry, problem: 'The reported plot is not a Plotly figure (no data list).' };
    }
  } catch {
    entry = { ...entry, problem: 'The reported plot is not valid JSON.' };
  }
  parsed.set(event.id, entry);
  return entry;
}

/** The last PLOT_ITERATIONS iterations of every plot of a task, page after page. */
export async function loadPlots(task: string): Promise<{ entries: PlotEntry[]; truncated: boolean }> {
  const entries: PlotEntry[] = [];
  let scroll: string | undefined;
  for (;;) {
    const page = await api.call('events.get_task_plots', { task, iters: PLOT_ITERATIONS, ...(scroll ? { scroll_id: scroll } : {}) });
    entries.push(...page.plots.map(toEntry));
    if (page.returned === 0 || entries.length >= page.total) return { entries, truncated: false };
    if (entries.length >= MAX_PLOT_EVENTS) return { entries, truncated: true };
    scroll = page.scroll_id;
  }
}

/** Plots by title, then series, each with its reports newest first. */
export function groupPlots(entries: readonly PlotEntry[]): [string, [string, PlotEntry[]][]][] {
  const byMetric = new Map<string, Map<string, PlotEntry[]>>();
  for (const e of entries) {
    const variants = byMetric.get(e.metric) ?? new Map<string, PlotEntry[]>();
    byMetric.set(e.metric, variants);
    variants.set(e.variant, [...(variants.get(e.variant) ?? []), e]);
  }
  return [...byMetric.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([metric, variants]) => [
      metric,
      [...variants.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([v, list]) => [v, [...list].sort((a, b) => b.iter - a.iter)] as [string, PlotEntry[]]),
    ]);
}
