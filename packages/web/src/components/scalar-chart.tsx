import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import type { ScalarSeries } from '@tasklane/protocol';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Lines up the variants of a metric on one x axis (iterations); a variant without a point there gets null. */
export function alignSeries(variants: ScalarSeries[]): uPlot.AlignedData {
  const xs = Array.from(new Set(variants.flatMap((v) => v.x.map(Number)))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = variants.map((v) => {
    const column: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    v.x.forEach((x, i) => {
      const at = index.get(Number(x));
      if (at !== undefined) column[at] = v.y[i] ?? null;
    });
    return column;
  });
  return [xs, ...ys];
}

/** One chart of a metric, all its variants as series. */
export function ScalarChart({ metric, variants }: { metric: string; variants: ScalarSeries[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = Math.max(320, Math.min(element.clientWidth || 640, 900));
    const plot = new uPlot(
      {
        title: metric,
        width,
        height: 300,
        scales: { x: { time: false } },
        axes: [{ label: 'iteration' }, {}],
        series: [
          { label: 'iteration' },
          ...variants.map((v, i) => ({ label: v.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true })),
        ],
      },
      alignSeries(variants),
      element,
    );
    return () => plot.destroy();
  }, [metric, variants]);
  return <div className="chart" ref={box} data-metric={metric} data-series-count={variants.length} />;
}
