import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import type { ScalarSeries } from '@tasklane/protocol';
import { alignColumns, fade, formatDuration, smoothEma, type AlignedColumns, type XAxisMode } from '../outputs/chart-data';
import '../styles/outputs.css';

export type { XAxisMode } from '../outputs/chart-data';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Lines up the variants of a metric on one x axis (iterations); a variant without a point there gets null. */
export function alignSeries(variants: ScalarSeries[]): uPlot.AlignedData {
  const { xs, ys } = alignColumns(variants);
  return [xs, ...ys];
}

export interface ScalarChartProps {
  /** The chart's title. */
  metric: string;
  /** One line each; `name` labels it in the legend. */
  variants: ScalarSeries[];
  /** EMA weight in [0, 1): 0 draws the values as they are; above, the smoothed line is drawn over a faint original. */
  smoothing?: number;
  /** How to read and show x: iterations (default), or epoch ms as wall time / time since the first point. */
  xAxis?: XAxisMode;
  logScale?: boolean;
  /** Names of variants not drawn (legend rows greyed out). */
  hidden?: readonly string[];
  /** Called when a legend click shows or hides a variant. */
  onSeriesToggle?: (name: string, shown: boolean) => void;
  height?: number;
}

/** Draws the faint original lines under smoothed ones, clipped to the plot area, in the visible x range only. */
function drawOriginals(u: uPlot, raw: AlignedColumns | null) {
  if (!raw || raw.xs.length === 0) return;
  const { ctx, bbox } = u;
  const min = u.scales.x?.min ?? -Infinity;
  const max = u.scales.x?.max ?? Infinity;
  // Points just outside the range too, so lines reach the edges.
  let from = 0;
  while (from < raw.xs.length - 1 && raw.xs[from + 1]! < min) from++;
  let to = raw.xs.length - 1;
  while (to > 0 && raw.xs[to - 1]! > max) to--;
  ctx.save();
  ctx.beginPath();
  ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height);
  ctx.clip();
  ctx.lineWidth = Math.max(1, devicePixelRatio);
  raw.ys.forEach((column, i) => {
    if (!u.series[i + 1]?.show) return;
    ctx.strokeStyle = fade(COLORS[i % COLORS.length]!, 0.25);
    ctx.beginPath();
    let started = false;
    for (let k = from; k <= to; k++) {
      const y = column[k];
      if (y === null || y === undefined) continue;
      const px = u.valToPos(raw.xs[k]!, 'x', true);
      const py = u.valToPos(y, 'y', true);
      if (started) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      started = true;
    }
    ctx.stroke();
  });
  ctx.restore();
}

/**
 * One chart of a metric, all its variants as series (uPlot: canvas, fast with the few thousand points per series the
 * server's downsampling answers). Drag to zoom on x, double-click to reset; a legend click hides a series.
 */
export function ScalarChart({ metric, variants, smoothing = 0, xAxis = 'iter', logScale = false, hidden, onSeriesToggle, height = 300 }: ScalarChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const zoomed = useRef(false);
  const weight = Math.min(Math.max(smoothing, 0), 0.999);
  const prepared = useMemo(() => {
    const smoothed = alignColumns(variants, xAxis, (s) => smoothEmaCached(s, weight), logScale);
    const raw = weight > 0 ? alignColumns(variants, xAxis, (s) => s.y, logScale) : null;
    return { data: [smoothed.xs, ...smoothed.ys] as uPlot.AlignedData, raw };
  }, [variants, xAxis, weight, logScale]);
  // The hooks of a built plot read the latest values through refs (the plot outlives renders).
  const latest = useRef({ prepared, hidden, onSeriesToggle });
  latest.current = { prepared, hidden, onSeriesToggle };
  const names = variants.map((v) => v.name).join('\u0000');
  const hasRaw = prepared.raw !== null;

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(320, element.clientWidth - 16 || 640);
    const hiddenNow = new Set(latest.current.hidden ?? []);
    const xValue = (_u: uPlot, v: number | null) =>
      v === null ? '--' : xAxis === 'relative' ? formatDuration(v) : xAxis === 'time' ? new Date(v * 1000).toLocaleString() : String(v);
    const plot = new uPlot(
      {
        title: metric,
        width,
        height,
        scales: { x: { time: xAxis === 'time' }, y: logScale ? { distr: 3 } : {} },
        axes: [
          {
            label: xAxis === 'iter' ? 'iteration' : xAxis === 'time' ? 'wall time' : 'time since start',
            ...(xAxis === 'relative' ? { values: (_u: uPlot, splits: number[]) => splits.map(formatDuration) } : {}),
          },
          {},
        ],
        cursor: { drag: { x: true, y: false } },
        series: [
          { label: xAxis === 'iter' ? 'iteration' : 'time', value: xValue },
          ...variants.map((v, i) => ({
            label: v.name,
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            spanGaps: true,
            show: !hiddenNow.has(v.name),
          })),
        ],
        hooks: {
          drawAxes: [(u) => drawOriginals(u, latest.current.prepared.raw)],
          draw: [
            (u) => {
              element.dataset.draws = String(Number(element.dataset.draws ?? 0) + 1);
              void u;
            },
          ],
          setSelect: [(u) => u.select.width > 0 && (zoomed.current = true)],
          // The shown x range, readable from outside the canvas (tests, tools).
          setScale: [
            (u, key) => {
              if (key !== 'x') return;
              element.dataset.xMin = String(u.scales.x?.min ?? '');
              element.dataset.xMax = String(u.scales.x?.max ?? '');
            },
          ],
          setSeries: [
            (u, index, opts) => {
              if (index === null || index === 0 || opts.show === undefined) return;
              const name = variants[index - 1]?.name;
              const shown = u.series[index]?.show !== false;
              const wasHidden = (latest.current.hidden ?? []).includes(name ?? '');
              if (name !== undefined && wasHidden === shown) latest.current.onSeriesToggle?.(name, shown);
            },
          ],
        },
      },
      latest.current.prepared.data,
      element,
    );
    plotRef.current = plot;
    zoomed.current = false;
    // Double-click resets the zoom (uPlot's own handler); from then on new data rescales again.
    const onDoubleClick = () => (zoomed.current = false);
    plot.over.addEventListener('dblclick', onDoubleClick);
    const resize = new ResizeObserver(() => {
      const w = Math.max(320, element.clientWidth - 16);
      if (Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
    });
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
    // Rebuilt when the series, axis kind or scale change; new data alone only updates it (keeping the zoom).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [metric, names, xAxis, logScale, height, hasRaw]);

  useEffect(() => {
    const plot = plotRef.current;
    if (!plot) return;
    if (!zoomed.current) {
      plot.setData(prepared.data);
      return;
    }
    const { min, max } = plot.scales.x ?? {};
    plot.setData(prepared.data, false);
    if (min !== undefined && max !== undefined) plot.setScale('x', { min, max });
  }, [prepared]);

  useEffect(() => {
    const plot = plotRef.current;
    if (!plot) return;
    const off = new Set(hidden ?? []);
    variants.forEach((v, i) => {
      const show = !off.has(v.name);
      if (plot.series[i + 1] && plot.series[i + 1]!.show !== show) plot.setSeries(i + 1, { show });
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [hidden, names, xAxis, logScale, hasRaw]);

  return (
    <div
      className="chart"
      ref={box}
      data-metric={metric}
      data-series-count={variants.length}
      data-x-axis={xAxis}
      data-scale={logScale ? 'log' : 'linear'}
      data-smoothing={weight}
    />
  );
}

/** Smoothing is the costly part of a redraw: keep the last result per series object and weight. */
const smoothCache = new WeakMap<ScalarSeries, { weight: number; values: number[] }>();
function smoothEmaCached(series: ScalarSeries, weight: number): readonly number[] {
  if (weight <= 0) return series.y;
  const hit = smoothCache.get(series);
  if (hit && hit.weight === weight) return hit.values;
  const values = smoothEma(series.y, weight);
  smoothCache.set(series, { weight, values });
  return values;
}
