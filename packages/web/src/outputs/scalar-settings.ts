import { X_AXIS_MODES, type XAxisMode } from './chart-data';

/** The scalars tab's settings, all kept in the address so a view can be shared. */
export interface ScalarSettings {
  smoothing: number;
  xAxis: XAxisMode;
  logScale: boolean;
  /** Hidden series as [title, series] pairs. */
  hidden: [string, string][];
  /** Only charts whose title contains this (any case). */
  search: string;
}

export function readScalarSettings(query: URLSearchParams): ScalarSettings {
  const smoothing = Number(query.get('smooth') ?? 0);
  const x = query.get('x') as XAxisMode | null;
  let hidden: [string, string][] = [];
  try {
    const parsed: unknown = JSON.parse(query.get('hide') ?? '[]');
    if (Array.isArray(parsed)) {
      hidden = parsed.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === 'string'));
    }
  } catch {
    // A hand-edited address: show every series.
  }
  return {
    smoothing: Number.isFinite(smoothing) ? Math.min(Math.max(smoothing, 0), 0.99) : 0,
    xAxis: x && X_AXIS_MODES.includes(x) ? x : 'iter',
    logScale: query.get('log') === '1',
    hidden,
    search: query.get('search') ?? '',
  };
}

/** The query values of settings; defaults are left out so plain addresses stay short. */
export function scalarQuery(s: ScalarSettings): Record<string, string | undefined> {
  return {
    smooth: s.smoothing > 0 ? String(s.smoothing) : undefined,
    x: s.xAxis === 'iter' ? undefined : s.xAxis,
    log: s.logScale ? '1' : undefined,
    hide: s.hidden.length > 0 ? JSON.stringify(s.hidden) : undefined,
    search: s.search || undefined,
  };
}
