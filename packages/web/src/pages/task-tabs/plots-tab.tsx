import { useMemo } from 'react';
import { ErrorBox } from '../../components/error-box';
import { PlotlyFigure } from '../../components/plotly-figure';
import { PLOT_ITERATIONS, groupPlots, loadPlots } from '../../outputs/plot-events';
import { href, navigate, useRoute } from '../../router';
import { POLL_MS, usePolling } from '../../use-polling';
import { useAsync } from '../../use-async';
import '../../styles/outputs.css';

export function PlotsTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const { query } = useRoute();
  const plots = useAsync(() => loadPlots(taskId), [taskId]);
  usePolling(isLive, POLL_MS * 5, plots.reload);
  const entries = plots.data?.entries;
  const groups = useMemo(() => groupPlots(entries ?? []), [entries]);
  const iterations = useMemo(() => [...new Set((entries ?? []).map((e) => e.iter))].sort((a, b) => b - a), [entries]);
  // The chosen iteration (the latest when none): each plot shows its report at it, or the last one before it.
  const chosen = query.get('iter') === null ? undefined : Number(query.get('iter'));
  const search = (query.get('search') ?? '').toLowerCase();
  const setQuery = (change: Record<string, string | undefined>) =>
    navigate(href(['tasks', taskId, 'plots'], { iter: query.get('iter') ?? undefined, search: query.get('search') ?? undefined, ...change }));
  const shown = groups.filter(([metric]) => metric.toLowerCase().includes(search));

  return (
    <>
      <div className="toolbar">
        <label className="setting">
          Iteration
          <select
            aria-label="Iteration"
            value={chosen === undefined ? '' : String(chosen)}
            onChange={(e) => setQuery({ iter: e.target.value || undefined })}
          >
            <option value="">Latest</option>
            {chosen !== undefined && !iterations.includes(chosen) && <option value={chosen}>{chosen}</option>}
            {iterations.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </label>
        <input
          type="search"
          key={query.get('search') ?? ''}
          placeholder="Filter plots by title"
          aria-label="Filter plots by title"
          defaultValue={query.get('search') ?? ''}
          onKeyDown={(e) => e.key === 'Enter' && setQuery({ search: e.currentTarget.value.trim() || undefined })}
        />
      </div>
      <ErrorBox message={plots.error} />
      {plots.loading && !plots.data && <p className="muted">Loading plots…</p>}
      {plots.data?.truncated && <p className="muted">Too many plots to load them all: showing the first ones.</p>}
      {plots.data && groups.length === 0 && <p className="muted">No plots reported.</p>}
      {iterations.length > 0 && (
        <p className="muted outputs-hint">The iteration list holds the last {PLOT_ITERATIONS} iterations at which each plot was reported.</p>
      )}
      {shown.map(([metric, variants]) => (
        <section key={metric} className="plot-group" data-plot-title={metric}>
          <h2>{metric}</h2>
          <div className="plot-grid">
            {variants.map(([variant, reports]) => {
              const entry = chosen === undefined ? reports[0] : reports.find((r) => r.iter <= chosen);
              return (
                <figure key={variant} className="plot-card" data-plot-series={variant} data-iteration={entry?.iter}>
                  <figcaption>
                    <strong>{variant}</strong>{' '}
                    <span className="muted">{entry ? `iteration ${entry.iter}` : `not reported by iteration ${chosen}`}</span>
                  </figcaption>
                  {entry?.problem && <p className="error">{entry.problem}</p>}
                  {entry?.figure && <PlotlyFigure figure={entry.figure} />}
                </figure>
              );
            })}
          </div>
        </section>
      ))}
    </>
  );
}
