import { useMemo } from 'react';
import type { TaskEvent } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { PlotlyFigure, type PlotlyFigureSpec } from '../components/plotly-figure';
import { useAsync } from '../use-async';
import type { ComparedTask } from './compare-rows';
import { taskLabels } from './compare-scalars';

interface PlotCell {
  iteration: number | undefined;
  figure?: PlotlyFigureSpec;
  error?: string;
}

function parseFigure(event: TaskEvent): PlotCell {
  try {
    const figure = JSON.parse(event.plot_str ?? '{}') as unknown;
    if (typeof figure !== 'object' || figure === null) throw new Error('not an object');
    return { iteration: event.iter, figure: figure as PlotlyFigureSpec };
  } catch (err) {
    return { iteration: event.iter, error: `This plot is not a readable Plotly figure (${err instanceof Error ? err.message : String(err)}).` };
  }
}

/** The latest plot of each metric/variant, the compared tasks side by side. */
export function ComparePlots({ tasks, refresh }: { tasks: ComparedTask[]; refresh: number }) {
  const ids = tasks.map((t) => t.id);
  const plots = useAsync(
    () => Promise.all(ids.map((task) => api.call('events.get_task_plots', { task, iters: 1, no_scroll: true }))),
    [ids.join(','), refresh],
  );
  const labels = useMemo(() => taskLabels(tasks), [tasks]);
  const rows = useMemo(() => {
    const byKey = new Map<string, { metric: string; variant: string; cells: (PlotCell | undefined)[] }>();
    (plots.data ?? []).forEach((reply, taskIndex) => {
      for (const event of reply.plots) {
        const metric = event.metric ?? '';
        const variant = event.variant ?? '';
        const key = `${metric}\u0000${variant}`;
        const row = byKey.get(key) ?? { metric, variant, cells: ids.map(() => undefined) };
        const previous = row.cells[taskIndex];
        // The reply may hold several events of one plot: keep the newest iteration.
        if (!previous || (event.iter ?? 0) >= (previous.iteration ?? 0)) row.cells[taskIndex] = parseFigure(event);
        byKey.set(key, row);
      }
    });
    return [...byKey.values()].sort((a, b) => a.metric.localeCompare(b.metric) || a.variant.localeCompare(b.variant));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [plots.data]);

  if (plots.error) return <ErrorBox message={plots.error} />;
  if (!plots.data) return <p className="muted">Loading plots…</p>;
  if (rows.length === 0) return <p className="muted">None of these tasks reported plots.</p>;
  return (
    <div className="compare-plots">
      {rows.map((row) => (
        <section key={`${row.metric}/${row.variant}`} data-plot={`${row.metric}/${row.variant}`}>
          <h3>
            {row.metric} / {row.variant}
          </h3>
          <div className="compare-plot-row" style={{ gridTemplateColumns: `repeat(${Math.min(ids.length, 3)}, minmax(0, 1fr))` }}>
            {row.cells.map((cell, i) => (
              <figure key={ids[i]} className="compare-plot">
                <figcaption>
                  {labels.get(ids[i]!)}
                  {cell?.iteration !== undefined && <span className="muted"> · iteration {cell.iteration}</span>}
                </figcaption>
                {!cell && <p className="muted">No such plot.</p>}
                {cell?.error && <ErrorBox message={cell.error} />}
                {cell?.figure && <PlotlyFigure figure={cell.figure} height={320} />}
              </figure>
            ))}
          </div>
        </section>
      ))}
    </div>
  );
}
