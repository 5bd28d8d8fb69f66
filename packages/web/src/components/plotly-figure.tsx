import { useEffect, useRef, useState } from 'react';
import type { Data, Layout } from 'plotly.js-dist-min';
import '../styles/outputs.css';

/** A Plotly figure as reported by the SDK (`reportPlotly`, `reportTable`, ...): traces plus layout. */
export interface PlotlyFigureSpec {
  data?: unknown[];
  layout?: Record<string, unknown>;
}

type PlotlyModule = (typeof import('plotly.js-dist-min'))['default'];
let plotlyLoad: Promise<PlotlyModule> | null = null;

/** plotly.js is a few MB: fetched with the first figure shown, once per page load. */
function loadPlotly(): Promise<PlotlyModule> {
  plotlyLoad ??= import('plotly.js-dist-min').then((m) => m.default);
  return plotlyLoad;
}

/** Renders a Plotly figure (data + layout) at the width of its box; `data-ready` is set once it is drawn. */
export function PlotlyFigure({ figure, height }: { figure: PlotlyFigureSpec; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(null);
  const boxHeight = height ?? 380;
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    let cancelled = false;
    // The figure's own width/height were for where it was made; here the box decides.
    const { width: _w, height: _h, ...layout } = figure.layout ?? {};
    void _w;
    void _h;
    loadPlotly()
      .then((plotly) => {
        if (cancelled) return;
        // react() redraws only what changed, so a live refresh with the same figure costs little.
        return plotly.react(element, (figure.data ?? []) as Data[], { ...(layout as Partial<Layout>), autosize: true, height: boxHeight }, {
          responsive: true,
          displaylogo: false,
        });
      })
      .then(() => {
        if (cancelled) return;
        setError(null);
        element.dataset.ready = 'true';
      })
      .catch((e: unknown) => !cancelled && setError(`Could not draw this plot: ${e instanceof Error ? e.message : String(e)}`));
    return () => {
      cancelled = true;
    };
  }, [figure, boxHeight]);
  useEffect(() => {
    const element = box.current;
    return () => {
      if (element && plotlyLoad) void plotlyLoad.then((plotly) => plotly.purge(element));
    };
  }, []);
  return (
    <div className="plotly-box">
      {error && <p className="error">{error}</p>}
      <div className="plotly-figure" ref={box} style={{ minHeight: boxHeight }} />
    </div>
  );
}
