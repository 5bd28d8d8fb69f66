import { useState } from 'react';
import { api } from '../api';
import { Dialog } from '../components/dialog';
import { ErrorBox } from '../components/error-box';
import { useAsync } from '../use-async';
import { columnId, columnLabel, type ExtraColumn } from './table-query';

/**
 * Picks the hyperparameter and metric columns among those the project's tasks have (asked of the server only when
 * the dialog opens: on a large project that scan takes a moment).
 */
export function ColumnPicker({
  projectId,
  deep,
  columns,
  onClose,
  onApply,
}: {
  projectId: string;
  deep: boolean;
  columns: ExtraColumn[];
  onClose: () => void;
  onApply: (columns: ExtraColumn[]) => void;
}) {
  const [chosen, setChosen] = useState(() => new Set(columns.map(columnId)));
  const options = useAsync(async () => {
    const scope = { project: projectId, include_subprojects: deep };
    const [params, metrics] = await Promise.all([
      api.call('projects.get_hyper_parameters', { ...scope, page_size: 10_000 }),
      api.call('projects.get_unique_metric_variants', scope),
    ]);
    const hp: ExtraColumn[] = params.parameters.map((p) => ({ kind: 'hp', section: p.section, name: p.name }));
    const metric: ExtraColumn[] = metrics.metrics.map((m) => ({ kind: 'metric', metric: m.metric, variant: m.variant }));
    return { hp, metric };
  }, [projectId, deep]);
  const all = [...(options.data?.hp ?? []), ...(options.data?.metric ?? [])];
  // Columns in the address that no task has (any more) stay listed, so they can be removed.
  const known = new Set(all.map(columnId));
  const orphans = columns.filter((c) => !known.has(columnId(c)));
  const toggle = (id: string) =>
    setChosen((before) => {
      const next = new Set(before);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const group = (title: string, list: ExtraColumn[], empty: string) => (
    <fieldset className="column-group">
      <legend>{title}</legend>
      {list.length === 0 && <p className="muted">{empty}</p>}
      {list.map((column) => {
        const id = columnId(column);
        return (
          <label key={id} className="check">
            <input type="checkbox" checked={chosen.has(id)} onChange={() => toggle(id)} />
            {columnLabel(column)}
          </label>
        );
      })}
    </fieldset>
  );
  return (
    <Dialog
      title="Columns"
      submitLabel="Apply"
      onClose={onClose}
      busy={options.loading && !options.data}
      onSubmit={() => {
        // Keep the order the columns had, new ones after, hyperparameters before metrics.
        const byId = new Map([...columns, ...all].map((c) => [columnId(c), c]));
        const kept = columns.filter((c) => chosen.has(columnId(c)));
        const added = all.filter((c) => chosen.has(columnId(c)) && !columns.some((k) => columnId(k) === columnId(c)));
        onApply([...kept, ...added].filter((c) => byId.has(columnId(c))));
      }}
    >
      <ErrorBox message={options.error} />
      {options.loading && !options.data && <p className="muted">Reading what the tasks of this project have…</p>}
      {options.data && (
        <div className="column-picker">
          {group('Hyperparameters', options.data.hp, 'No task here has hyperparameters.')}
          {group('Metrics (last value)', options.data.metric, 'No task here has reported scalars.')}
          {orphans.length > 0 && group('Not found in these tasks', orphans, '')}
        </div>
      )}
    </Dialog>
  );
}
