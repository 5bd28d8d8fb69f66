import type { ScalarSeries } from '@tasklane/protocol';

/** What the x values of a chart mean: iterations, or epoch milliseconds shown as wall time or time since the start. */
export type XAxisMode = 'iter' | 'time' | 'relative';
export const X_AXIS_MODES: readonly XAxisMode[] = ['iter', 'time', 'relative'];
export const X_AXIS_LABEL: Record<XAxisMode, string> = { iter: 'Iterations', time: 'Wall time', relative: 'Relative time' };

/** Columns on one shared x: `xs` ascending, one y column per series (null where a series has no point at that x). */
export interface AlignedColumns {
  xs: number[];
  ys: (number | null)[][];
}

/**
 * Exponential moving average with the start-up bias removed (as TensorBoard's smoothing): `weight` 0 leaves the
 * values as they are, 0.99 smooths hard. The first points are not pulled towards 0.
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return [...values];
  const out = new Array<number>(values.length);
  let last = 0;
  let debias = 1;
  for (let i = 0; i < values.length; i++) {
    last = last * weight + (1 - weight) * values[i]!;
    debias *= weight;
    out[i] = last / (1 - debias);
  }
  return out;
}

/** The x of a point in chart units: iterations as they are, times in seconds (uPlot's time unit). */
function toChartX(x: number | string, mode: XAxisMode, origin: number): number {
  const n = typeof x === 'number' ? x : Date.parse(x);
  if (mode === 'iter') return n;
  return (n - origin) / 1000;
}

/**
 * Lines series up on one x axis. `mode` says how to read their x (`time`/`relative`: epoch ms, as the server answers
 * with key=timestamp); `relative` counts from the earliest point of all series. `values` picks the y of each series
 * (e.g. smoothed); `log` drops values a log scale cannot show.
 */
export function alignColumns(
  series: readonly ScalarSeries[],
  mode: XAxisMode = 'iter',
  values: (s: ScalarSeries) => readonly number[] = (s) => s.y,
  log = false,
): AlignedColumns {
  let origin = 0;
  if (mode === 'relative') {
    origin = Infinity;
    for (const s of series) {
      for (const x of s.x) origin = Math.min(origin, typeof x === 'number' ? x : Date.parse(x));
    }
    if (!Number.isFinite(origin)) origin = 0;
  }
  const seen = new Set<number>();
  const perSeries = series.map((s) => s.x.map((x) => toChartX(x, mode, origin)));
  for (const column of perSeries) for (const x of column) seen.add(x);
  const xs = [...seen].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s, si) => {
    const column = new Array<number | null>(xs.length).fill(null);
    const ysOf = values(s);
    perSeries[si]!.forEach((x, i) => {
      const y = ysOf[i];
      if (y === undefined || !Number.isFinite(y) || (log && y <= 0)) return;
      column[index.get(x)!] = y;
    });
    return column;
  });
  return { xs, ys };
}

/** "1h 02m", "3m 05s", "12.5s": a duration in seconds, for relative-time axes and legends. */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? '-' : '';
  let s = Math.abs(seconds);
  if (s < 60) return `${sign}${Number.isInteger(s) ? s : s.toFixed(1)}s`;
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${sign}${h}h ${String(m).padStart(2, '0')}m`;
  return `${sign}${m}m ${String(rest).padStart(2, '0')}s`;
}

/** A colour with transparency, for the faint original line under a smoothed one. */
export function fade(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
