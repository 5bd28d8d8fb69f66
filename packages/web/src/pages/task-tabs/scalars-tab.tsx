import { useCallback, useEffect, useMemo, useState } from 'react';
import { api } from '../../api';
import { ErrorBox } from '../../components/error-box';
import { ScalarChart } from '../../components/scalar-chart';
import { X_AXIS_LABEL, X_AXIS_MODES, type XAxisMode } from '../../outputs/chart-data';
import { readScalarSettings, scalarQuery, type ScalarSettings } from '../../outputs/scalar-settings';
import { href, navigate, useRoute } from '../../router';
import { POLL_MS, usePolling } from '../../use-polling';
import { useAsync } from '../../use-async';
import '../../styles/outputs.css';

/** Points per series asked of the server: it keeps each bucket's min and max, so spikes of long series stay visible. */
const SAMPLES = 2000;

export function ScalarsTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const { query } = useRoute();
  const settings = readScalarSettings(query);
  const key = settings.xAxis === 'iter' ? 'iter' : 'timestamp';
  // The reply says which x it has: while another axis loads, the charts keep the one they can draw.
  const scalars = useAsync(
    async () => ({ key, series: await api.call('events.scalar_metrics_iter_histogram', { task: taskId, samples: SAMPLES, key }) }),
    [taskId, key],
  );
  const xAxis: XAxisMode = scalars.data?.key === key ? settings.xAxis : scalars.data?.key === 'iter' ? 'iter' : 'time';
  const singles = useAsync(() => api.call('events.get_task_single_value_metrics', { tasks: [taskId] }), [taskId]);
  usePolling(isLive, POLL_MS * 5, scalars.reload);
  usePolling(isLive, POLL_MS * 5, singles.reload);

  const update = useCallback(
    (change: Partial<ScalarSettings>) => navigate(href(['tasks', taskId, 'scalars'], scalarQuery({ ...readScalarSettings(query), ...change }))),
    [taskId, query],
  );
  // The slider moves freely; the address follows once it rests (each address change re-renders the page).
  const [smoothing, setSmoothing] = useState(settings.smoothing);
  useEffect(() => setSmoothing(settings.smoothing), [settings.smoothing]);
  useEffect(() => {
    if (smoothing === settings.smoothing) return;
    const timer = setTimeout(() => update({ smoothing }), 250);
    return () => clearTimeout(timer);
  }, [smoothing, settings.smoothing, update]);

  const metrics = useMemo(
    () =>
      Object.entries(scalars.data?.series ?? {})
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([metric, variants]) => [metric, Object.values(variants).sort((a, b) => a.name.localeCompare(b.name))] as const),
    [scalars.data],
  );
  const needle = settings.search.toLowerCase();
  const shown = metrics.filter(([metric]) => metric.toLowerCase().includes(needle));
  const hideParam = query.get('hide') ?? '';
  const hiddenByMetric = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const [metric, variant] of readScalarSettings(new URLSearchParams({ hide: hideParam })).hidden) {
      map.set(metric, [...(map.get(metric) ?? []), variant]);
    }
    return map;
  }, [hideParam]);
  const toggle = useCallback(
    (metric: string, variant: string, visible: boolean) => {
      const current = readScalarSettings(query).hidden.filter(([m, v]) => m !== metric || v !== variant);
      update({ hidden: visible ? current : [...current, [metric, variant]] });
    },
    [query, update],
  );
  const singleValues = singles.data?.tasks[0]?.values ?? [];

  return (
    <>
      <div className="toolbar chart-settings">
        <label className="setting">
          Smoothing
          <input
            type="range"
            min={0}
            max={0.99}
            step={0.01}
            value={smoothing}
            aria-label="Smoothing"
            onChange={(e) => setSmoothing(Number(e.target.value))}
          />
          <output className="smoothing-value">{smoothing.toFixed(2)}</output>
        </label>
        <label className="setting">
          X axis
          <select aria-label="X axis" value={settings.xAxis} onChange={(e) => update({ xAxis: e.target.value as XAxisMode })}>
            {X_AXIS_MODES.map((mode) => (
              <option key={mode} value={mode}>
                {X_AXIS_LABEL[mode]}
              </option>
            ))}
          </select>
        </label>
        <label className="setting">
          <input type="checkbox" aria-label="Log scale" checked={settings.logScale} onChange={(e) => update({ logScale: e.target.checked })} />
          Log scale
        </label>
        <input
          type="search"
          placeholder="Filter charts by title"
          aria-label="Filter charts by title"
          key={settings.search}
          defaultValue={settings.search}
          onKeyDown={(e) => e.key === 'Enter' && update({ search: e.currentTarget.value.trim() })}
          onBlur={(e) => e.currentTarget.value.trim() !== settings.search && update({ search: e.currentTarget.value.trim() })}
        />
        {settings.hidden.length > 0 && (
          <button type="button" onClick={() => update({ hidden: [] })}>
            Show all series ({settings.hidden.length} hidden)
          </button>
        )}
      </div>
      <p className="muted outputs-hint">Drag across a chart to zoom, double-click to reset; click a legend entry to hide or show its series.</p>
      <ErrorBox message={scalars.error ?? singles.error} />
      {singleValues.length > 0 && (
        <table className="grid single-values" aria-label="Summary values">
          <thead>
            <tr>
              <th>Summary</th>
              <th className="num">Value</th>
            </tr>
          </thead>
          <tbody>
            {singleValues.map((v) => (
              <tr key={`${v.metric}\u0000${v.variant}`}>
                <td>{v.variant}</td>
                <td className="num">{v.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {scalars.loading && !scalars.data && <p className="muted">Loading scalars…</p>}
      {scalars.data && metrics.length === 0 && <p className="muted">No scalars reported.</p>}
      {metrics.length > 0 && shown.length === 0 && <p className="muted">No chart title contains “{settings.search}”.</p>}
      <div className="charts">
        {shown.map(([metric, variants]) => (
          <ScalarChart
            key={metric}
            metric={metric}
            variants={variants}
            smoothing={smoothing}
            xAxis={xAxis}
            logScale={settings.logScale}
            hidden={hiddenByMetric.get(metric)}
            onSeriesToggle={(variant, visible) => toggle(metric, variant, visible)}
          />
        ))}
      </div>
    </>
  );
}
