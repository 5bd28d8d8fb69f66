import { useMemo } from 'react';
import { shortId, type ScalarSeries } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { ScalarChart } from '../components/scalar-chart';
import { useAsync } from '../use-async';
import type { ComparedTask } from './compare-rows';

/** Task labels for legends: the name, plus the short id where two compared tasks share a name. */
export function taskLabels(tasks: ComparedTask[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  return new Map(tasks.map((t) => [t.id, (counts.get(t.name) ?? 0) > 1 ? `${t.name} (${shortId(t.id)})` : t.name]));
}

/** Scalars overlaid: one chart per metric, one series per task × variant. */
export function CompareScalars({ tasks, refresh }: { tasks: ComparedTask[]; refresh: number }) {
  const ids = tasks.map((t) => t.id);
  const histogram = useAsync(
    () => api.call('events.multi_task_scalar_metrics_iter_histogram', { tasks: ids }),
    [ids.join(','), refresh],
  );
  const labels = useMemo(() => taskLabels(tasks), [tasks]);
  const charts = useMemo(() => {
    const metrics = histogram.data?.metrics ?? {};
    return Object.keys(metrics)
      .sort()
      .map((metric) => {
        const byVariant = metrics[metric] ?? {};
        const series: ScalarSeries[] = [];
        // Task-major order keeps one task's variants next to each other in the legend.
        for (const id of ids) {
          for (const variant of Object.keys(byVariant).sort()) {
            const one = byVariant[variant]?.[id];
            if (one) series.push({ name: `${labels.get(id) ?? one.name} · ${variant}`, x: one.x, y: one.y });
          }
        }
        return { metric, series };
      });
    // ids are derived from tasks, already a dependency through labels.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [histogram.data, labels]);

  if (histogram.error) return <ErrorBox message={histogram.error} />;
  if (!histogram.data) return <p className="muted">Loading scalars…</p>;
  if (charts.length === 0) return <p className="muted">None of these tasks reported scalars.</p>;
  return (
    <div className="charts">
      {charts.map(({ metric, series }) => (
        <ScalarChart key={metric} metric={metric} variants={series} />
      ))}
    </div>
  );
}
