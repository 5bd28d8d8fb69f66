import { Fragment } from 'react';
import { METRIC_VALUE_KINDS, formatNumber, metricRows, type ComparedTask, type MetricValueKind } from './compare-rows';

const KIND_LABEL: Record<MetricValueKind, string> = { last: 'Last', min: 'Min', max: 'Max' };

/**
 * Last/min/max of every metric/variant per task, from the tasks' last_metrics. `shown` narrows the columns to one
 * kind (ClearML's Values / Min values / Max values switch); with all three, each task gets three columns.
 */
export function CompareMetrics({
  tasks,
  shown,
  onShown,
}: {
  tasks: ComparedTask[];
  shown: MetricValueKind | 'all';
  onShown: (value: MetricValueKind | 'all') => void;
}) {
  const rows = metricRows(tasks);
  const kinds = shown === 'all' ? METRIC_VALUE_KINDS : [shown];
  if (rows.length === 0) return <p className="muted">None of these tasks reported scalars.</p>;
  return (
    <div className="compare-metrics">
      <div className="toolbar">
        <label>
          Values{' '}
          <select aria-label="Metric values" value={shown} onChange={(e) => onShown(e.target.value as MetricValueKind | 'all')}>
            <option value="all">Last, min and max</option>
            {METRIC_VALUE_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {KIND_LABEL[kind]}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="compare-scroll">
        <table className="grid compare-table metric-table">
          <thead>
            <tr>
              <th scope="col" rowSpan={kinds.length > 1 ? 2 : 1}>
                Metric
              </th>
              <th scope="col" rowSpan={kinds.length > 1 ? 2 : 1}>
                Variant
              </th>
              {tasks.map((task) => (
                <th scope="colgroup" key={task.id} colSpan={kinds.length} title={task.id}>
                  {task.name}
                  {kinds.length === 1 ? ` (${KIND_LABEL[kinds[0]!].toLowerCase()})` : ''}
                </th>
              ))}
            </tr>
            {kinds.length > 1 && (
              <tr>
                {tasks.map((task) => (
                  <Fragment key={task.id}>
                    {kinds.map((kind) => (
                      <th scope="col" key={kind} className="num">
                        {KIND_LABEL[kind]}
                      </th>
                    ))}
                  </Fragment>
                ))}
              </tr>
            )}
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={`${row.metric}/${row.variant}`} data-metric={row.metric} data-variant={row.variant}>
                <td>{row.metric}</td>
                <td>{row.variant}</td>
                {row.values.map((values, i) => (
                  <Fragment key={tasks[i]?.id ?? i}>
                    {kinds.map((kind) => (
                      <td key={kind} className="num" data-kind={kind} title={values[kind] === undefined ? undefined : String(values[kind])}>
                        {formatNumber(values[kind])}
                      </td>
                    ))}
                  </Fragment>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
