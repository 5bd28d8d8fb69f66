import { href } from '../router';
import {
  METRIC_VALUE_KINDS,
  formatNumber,
  hyperParamRows,
  metricRows,
  metricValue,
  paramKey,
  paramValue,
  type ComparedTask,
  type MetricValueKind,
} from './compare-rows';
import { taskLabels } from './compare-scalars';

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 30, top: 20, bottom: 50 };
const TICKS = 5;

export interface ScatterChoice {
  /** `section/name` of the hyperparameter on x. */
  param: string;
  /** `metric/variant`... kept as two fields so either may hold slashes. */
  metric: string;
  variant: string;
  kind: MetricValueKind;
}

function ticks(min: number, max: number): number[] {
  if (min === max) return [min];
  return Array.from({ length: TICKS }, (_, i) => min + ((max - min) * i) / (TICKS - 1));
}

/**
 * A hyperparameter (x) against a metric (y) across the compared tasks, drawn as plain SVG. Numeric parameters get a
 * linear axis; any other values are spread as categories.
 */
export function CompareScatter({
  tasks,
  choice,
  onChoice,
}: {
  tasks: ComparedTask[];
  choice: Partial<ScatterChoice>;
  onChoice: (choice: ScatterChoice) => void;
}) {
  const params = hyperParamRows(tasks);
  const metrics = metricRows(tasks);
  if (params.length === 0 || metrics.length === 0) {
    return <p className="muted">A scatter needs hyperparameters and reported scalars; these tasks lack {params.length === 0 ? 'hyperparameters' : 'scalars'}.</p>;
  }
  // Defaults: the first parameter that differs (the interesting one), the first metric, its last value.
  const firstParam = params.find((p) => p.isDifferent) ?? params[0]!;
  const param = choice.param && params.some((p) => paramKey(p.section, p.name) === choice.param) ? choice.param : paramKey(firstParam.section, firstParam.name);
  const metricRow = metrics.find((m) => m.metric === choice.metric && m.variant === choice.variant) ?? metrics[0]!;
  const kind = choice.kind ?? 'last';
  const current: ScatterChoice = { param, metric: metricRow.metric, variant: metricRow.variant, kind };

  const labels = taskLabels(tasks);
  const raw = tasks.map((task) => ({ task, x: paramValue(task, param), y: metricValue(task, current.metric, current.variant, kind) }));
  const plotted = raw.filter((p): p is typeof p & { x: string; y: number } => p.x !== undefined && p.y !== undefined);
  const missing = raw.filter((p) => p.x === undefined || p.y === undefined);
  const isNumeric = plotted.length > 0 && plotted.every((p) => p.x.trim() !== '' && Number.isFinite(Number(p.x)));
  const categories = isNumeric ? [] : [...new Set(plotted.map((p) => p.x))].sort();
  const xs = plotted.map((p) => (isNumeric ? Number(p.x) : categories.indexOf(p.x)));
  const ys = plotted.map((p) => p.y);
  const [xMin, xMax] = isNumeric ? padded(Math.min(...xs), Math.max(...xs)) : [-0.5, Math.max(categories.length - 0.5, 0.5)];
  const [yMin, yMax] = padded(Math.min(...ys), Math.max(...ys));
  const innerW = WIDTH - MARGIN.left - MARGIN.right;
  const innerH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * innerW;
  const sy = (y: number) => MARGIN.top + innerH - ((y - yMin) / (yMax - yMin)) * innerH;
  const metricIndex = metrics.indexOf(metricRow);

  return (
    <div className="compare-scatter">
      <div className="toolbar">
        <label>
          X{' '}
          <select aria-label="Hyperparameter (x)" value={param} onChange={(e) => onChoice({ ...current, param: e.target.value })}>
            {params.map((p) => (
              <option key={paramKey(p.section, p.name)} value={paramKey(p.section, p.name)}>
                {p.section} / {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Y{' '}
          <select
            aria-label="Metric (y)"
            value={metricIndex}
            onChange={(e) => {
              const m = metrics[Number(e.target.value)];
              if (m) onChoice({ ...current, metric: m.metric, variant: m.variant });
            }}
          >
            {metrics.map((m, i) => (
              <option key={`${m.metric}/${m.variant}`} value={i}>
                {m.metric} / {m.variant}
              </option>
            ))}
          </select>
        </label>
        <select aria-label="Metric value" value={kind} onChange={(e) => onChoice({ ...current, kind: e.target.value as MetricValueKind })}>
          {METRIC_VALUE_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </div>
      <svg
        className="scatter"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width={WIDTH}
        height={HEIGHT}
        role="img"
        aria-label={`${param} against ${current.metric} / ${current.variant} (${kind})`}
        data-points={plotted.length}
      >
        <rect x={MARGIN.left} y={MARGIN.top} width={innerW} height={innerH} className="scatter-area" />
        {ticks(yMin, yMax).map((y) => (
          <g key={`y${y}`}>
            <line x1={MARGIN.left} x2={MARGIN.left + innerW} y1={sy(y)} y2={sy(y)} className="scatter-grid" />
            <text x={MARGIN.left - 6} y={sy(y)} textAnchor="end" dominantBaseline="middle" className="scatter-tick">
              {formatNumber(y)}
            </text>
          </g>
        ))}
        {(isNumeric ? ticks(xMin, xMax) : categories.map((_, i) => i)).map((x) => (
          <g key={`x${x}`}>
            <line x1={sx(x)} x2={sx(x)} y1={MARGIN.top} y2={MARGIN.top + innerH} className="scatter-grid" />
            <text x={sx(x)} y={MARGIN.top + innerH + 16} textAnchor="middle" className="scatter-tick">
              {isNumeric ? formatNumber(x) : categories[x]}
            </text>
          </g>
        ))}
        <text x={MARGIN.left + innerW / 2} y={HEIGHT - 8} textAnchor="middle" className="scatter-label">
          {param}
        </text>
        <text
          x={16}
          y={MARGIN.top + innerH / 2}
          textAnchor="middle"
          transform={`rotate(-90 16 ${MARGIN.top + innerH / 2})`}
          className="scatter-label"
        >
          {current.metric} / {current.variant} ({kind})
        </text>
        {plotted.map((p, i) => (
          <a key={p.task.id} href={href(['tasks', p.task.id, 'scalars'])}>
            <circle cx={sx(xs[i]!)} cy={sy(p.y)} r={6} className="scatter-point" data-task={p.task.id}>
              <title>{`${labels.get(p.task.id)}\n${param} = ${p.x}\n${current.metric} / ${current.variant} = ${p.y}`}</title>
            </circle>
            {/* Names near the right edge go to the left of their point, so they are not cut off. */}
            <text
              x={sx(xs[i]!) + (sx(xs[i]!) > WIDTH * 0.7 ? -9 : 9)}
              y={sy(p.y) - 8}
              textAnchor={sx(xs[i]!) > WIDTH * 0.7 ? 'end' : 'start'}
              className="scatter-name"
            >
              {labels.get(p.task.id)}
            </text>
          </a>
        ))}
      </svg>
      {missing.length > 0 && (
        <p className="muted">
          Not drawn (no value for this parameter or metric): {missing.map((p) => labels.get(p.task.id)).join(', ')}.
        </p>
      )}
    </div>
  );
}

/** An axis range around the values, never empty. */
function padded(min: number, max: number): [number, number] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return [min - pad, max + pad];
  }
  const pad = (max - min) * 0.08;
  return [min - pad, max + pad];
}
