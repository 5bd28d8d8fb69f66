import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ReportEvent } from './event-reporter.js';
import { parseCsv } from './parse-csv.js';
import { quoteKeyPart as keyPart } from './storage/storage-url.js';

/** What the logger needs from its task (kept narrow so the logger stays testable on its own). */
export interface LoggerSink {
  readonly taskId: string;
  /** Added to every iteration (continuing a task). */
  iterationOffset(): number;
  push(event: ReportEvent): void;
  /** Uploads a debug-sample file in the background and pushes its event once the file is stored. */
  uploadSample(key: string, data: Promise<Buffer>, fileName: string, makeEvent: (url: string) => ReportEvent): void;
  /** Storage prefix of the task's files: `<project>/<task name>.<id>`. */
  filePrefix(): string;
  /** A warning for the person running the script, said once per distinct message. */
  warn(message: string): void;
  flush(): Promise<void>;
}

/** ClearML keeps a single value (a summary metric) at this iteration. */
export const SINGLE_VALUE_ITERATION = -(2 ** 31);

/** A Plotly figure: traces and an optional layout. */
export interface PlotlyFigure {
  data: object[];
  layout?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface AxisOptions {
  xaxis?: string;
  yaxis?: string;
}

/** Where a debug sample comes from: a file, bytes, or a URL already reachable (then nothing is uploaded). */
export type SampleSource = { path: string } | { buffer: Buffer | Uint8Array; fileExtension?: string } | { url: string };

const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function isName(value: unknown): value is string {
  return typeof value === 'string';
}

/** Shows a value in a warning without ever throwing (bigints, cycles, symbols...). */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' || value === undefined) return String(value);
  try {
    return JSON.stringify(value)?.slice(0, 80) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}


/**
 * The reporting side of a task: scalars, single values, console text, Plotly plots (scatter, lines, histograms,
 * confusion matrices, tables) and debug samples (images, audio, video, any file).
 *
 * Reporting never throws into a training loop: a bad argument (a non-number value, NaN, a negative or fractional
 * iteration, a missing list...) is skipped with a warning printed once, and events travel to the server in the
 * background.
 *
 * @example
 * const logger = task.getLogger();
 * for (let i = 0; i < 100; i++) logger.reportScalar('loss', 'train', loss, i);
 */
export class Logger {
  private readonly counters = new Map<string, number>();

  /** @internal */
  constructor(
    private readonly sink: LoggerSink,
    /** How many files of one title/series are kept (older ones are overwritten, as ClearML's history size). */
    private readonly sampleHistory = 100,
  ) {}

  private iteration(method: string, iteration: unknown): number | undefined {
    if (typeof iteration !== 'number' || !Number.isSafeInteger(iteration) || iteration < 0) {
      this.sink.warn(`${method}: iteration must be an integer from 0 to 2^53, got ${describe(iteration)}; the report was skipped`);
      return undefined;
    }
    return iteration + this.sink.iterationOffset();
  }

  private names(method: string, title: unknown, series: unknown): boolean {
    if (isName(title) && isName(series)) return true;
    this.sink.warn(`${method}: title and series must be strings, got ${describe(title)} and ${describe(series)}; the report was skipped`);
    return false;
  }

  /** Runs a report so that nothing it does can throw into the caller's loop. */
  private guard(method: string, report: () => void): void {
    try {
      report();
    } catch (error) {
      this.sink.warn(`${method}: ${(error as Error).message ?? String(error)}; the report was skipped`);
    }
  }

  private list<T>(method: string, what: string, value: unknown): value is readonly T[] {
    if (Array.isArray(value)) return true;
    this.sink.warn(`${method}: ${what} must be an array, got ${describe(value)}; the report was skipped`);
    return false;
  }

  /** Reports one point of a scalar series (the hot path: an in-memory append). NaN and ±Infinity are skipped. */
  reportScalar(title: string, series: string, value: number, iteration: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      const label = (v: unknown) => (typeof v === 'string' ? v : describe(v));
      this.sink.warn(`reportScalar: "${label(title)}/${label(series)}" got ${describe(value)}; only finite numbers are stored, so such points are skipped`);
      return;
    }
    if (typeof iteration !== 'number' || !Number.isSafeInteger(iteration) || iteration < 0 || typeof title !== 'string' || typeof series !== 'string') {
      if (this.names('reportScalar', title, series)) this.iteration('reportScalar', iteration);
      return;
    }
    this.sink.push({
      type: 'training_stats_scalar',
      task: this.sink.taskId,
      timestamp: Date.now(),
      iter: iteration + this.sink.iterationOffset(),
      metric: title,
      variant: series,
      value,
    });
  }

  /** Reports a single summary value (e.g. final accuracy), shown apart from the per-iteration series. */
  reportSingleValue(name: string, value: number): void {
    if (!isName(name) || typeof value !== 'number' || !Number.isFinite(value)) {
      this.sink.warn(`reportSingleValue: needs a name and a finite number, got ${describe(name)} and ${describe(value)}; skipped`);
      return;
    }
    this.sink.push({
      type: 'training_stats_scalar',
      task: this.sink.taskId,
      timestamp: Date.now(),
      iter: SINGLE_VALUE_ITERATION,
      metric: 'Summary',
      variant: name,
      value,
    });
  }

  /** Adds a line (or lines) to the task's console. */
  reportText(message: string, level: LogLevel = 'info'): void {
    const msg = typeof message === 'string' ? message : String(message);
    const lvl = (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info';
    this.sink.push({ type: 'log', task: this.sink.taskId, id: globalThis.crypto.randomUUID().replaceAll('-', ''), timestamp: Date.now(), level: lvl, msg });
  }

  /** Reports any Plotly figure (`{data: [...], layout: {...}}`). */
  reportPlotly(title: string, series: string, figure: PlotlyFigure, iteration: number): void {
    this.guard('reportPlotly', () => this.plot('reportPlotly', title, series, iteration, () => figure));
  }

  /** Checks names and iteration, then builds the figure (only then) and queues it; `method` names the caller in warnings. */
  private plot(method: string, title: string, series: string, iteration: number, build: () => PlotlyFigure | undefined): void {
    if (!this.names(method, title, series)) return;
    const iter = this.iteration(method, iteration);
    if (iter === undefined) return;
    const figure = build();
    if (figure === undefined) return;
    if (typeof figure !== 'object' || figure === null || !Array.isArray(figure.data)) {
      this.sink.warn(`${method}: "${title}/${series}" needs a figure with a data array; skipped`);
      return;
    }
    let plotStr: string;
    try {
      plotStr = JSON.stringify(figure, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : typeof v === 'bigint' ? Number(v) : v));
    } catch (error) {
      this.sink.warn(`${method}: "${title}/${series}" cannot be turned into JSON (${(error as Error).message}); skipped`);
      return;
    }
    this.sink.push({ type: 'plot', task: this.sink.taskId, timestamp: Date.now(), iter, metric: title, variant: series, plot_str: plotStr });
  }

  /** A 2-D scatter (or line) of `[x, y]` points. */
  reportScatter2d(
    title: string,
    series: string,
    iteration: number,
    points: readonly (readonly [number, number])[],
    options: AxisOptions & { mode?: 'lines' | 'markers' | 'lines+markers'; labels?: string[] } = {},
  ): void {
    this.guard('reportScatter2d', () =>
      this.plot('reportScatter2d', title, series, iteration, () => {
        if (!this.list('reportScatter2d', 'points', points)) return undefined;
        const trace = { type: 'scatter', mode: options.mode ?? 'lines', name: series, x: points.map((p) => p[0]), y: points.map((p) => p[1]), text: options.labels };
        return { data: [trace], layout: layoutOf(title, options) };
      }),
    );
  }

  /** Several named lines in one plot. */
  reportLinePlot(
    title: string,
    lines: readonly { name: string; data: readonly (readonly [number, number])[] }[],
    iteration: number,
    options: AxisOptions & { mode?: 'lines' | 'markers' | 'lines+markers' } = {},
  ): void {
    this.guard('reportLinePlot', () =>
      this.plot('reportLinePlot', title, 'plot', iteration, () => {
        if (!this.list('reportLinePlot', 'lines', lines)) return undefined;
        const data = lines.map((line) => ({ type: 'scatter', mode: options.mode ?? 'lines', name: line.name, x: line.data.map((p) => p[0]), y: line.data.map((p) => p[1]) }));
        return { data, layout: layoutOf(title, options) };
      }),
    );
  }

  /** A bar chart of `values` (one bar each), labelled by `xlabels`. */
  reportHistogram(
    title: string,
    series: string,
    values: readonly number[],
    iteration: number,
    options: AxisOptions & { xlabels?: string[]; mode?: 'group' | 'stack' } = {},
  ): void {
    this.guard('reportHistogram', () =>
      this.plot('reportHistogram', title, series, iteration, () => {
        if (!this.list('reportHistogram', 'values', values)) return undefined;
        const trace = { type: 'bar', name: series, x: options.xlabels ?? values.map((_v, i) => i), y: [...values] };
        return { data: [trace], layout: { ...layoutOf(title, options), barmode: options.mode ?? 'group' } };
      }),
    );
  }

  /** A confusion matrix as a heat map: `matrix[row][column]`. */
  reportConfusionMatrix(
    title: string,
    series: string,
    matrix: readonly (readonly number[])[],
    iteration: number,
    options: AxisOptions & { xlabels?: string[]; ylabels?: string[] } = {},
  ): void {
    this.guard('reportConfusionMatrix', () =>
      this.plot('reportConfusionMatrix', title, series, iteration, () => {
        if (!this.list('reportConfusionMatrix', 'matrix', matrix)) return undefined;
        const trace = { type: 'heatmap', z: matrix.map((row) => [...row]), x: options.xlabels, y: options.ylabels, colorscale: 'Blues' };
        return { data: [trace], layout: layoutOf(title, { xaxis: options.xaxis ?? 'Predicted', yaxis: options.yaxis ?? 'Actual' }) };
      }),
    );
  }

  /**
   * A table: `rows` (the first row is the header), `records` (objects; their keys make the header) or `csv` text.
   */
  reportTable(
    title: string,
    series: string,
    iteration: number,
    table: { rows: readonly (readonly unknown[])[] } | { records: readonly Record<string, unknown>[] } | { csv: string },
  ): void {
    this.guard('reportTable', () =>
      this.plot('reportTable', title, series, iteration, () => {
        if (typeof table !== 'object' || table === null) {
          this.sink.warn(`reportTable: "${title}/${series}" needs {rows}, {records} or {csv}, got ${describe(table)}; skipped`);
          return undefined;
        }
        let rows: unknown[][];
        if ('csv' in table && typeof table.csv === 'string') rows = parseCsv(table.csv);
        else if ('records' in table && Array.isArray(table.records)) {
          const header = [...new Set(table.records.flatMap((r) => Object.keys(r)))];
          rows = [header, ...table.records.map((r) => header.map((h) => r[h] ?? ''))];
        } else if ('rows' in table && Array.isArray(table.rows)) rows = table.rows.map((r) => [...r]);
        else {
          this.sink.warn(`reportTable: "${title}/${series}" needs {rows}, {records} or {csv}, got ${describe(table)}; skipped`);
          return undefined;
        }
        if (rows.length === 0) {
          this.sink.warn(`reportTable: "${title}/${series}" is empty; skipped`);
          return undefined;
        }
        const [header = [], ...body] = rows;
        const columns = header.map((_h, i) => body.map((row) => row[i] ?? ''));
        return { data: [{ type: 'table', header: { values: header }, cells: { values: columns } }], layout: { title } };
      }),
    );
  }

  /** An image debug sample (PNG, JPEG, GIF, ...). */
  reportImage(title: string, series: string, iteration: number, source: SampleSource): void {
    this.guard('reportImage', () => this.reportSample('reportImage', title, series, iteration, source));
  }

  /** Any file as a debug sample (audio, video, HTML, text...). */
  reportMedia(title: string, series: string, iteration: number, source: SampleSource): void {
    this.guard('reportMedia', () => this.reportSample('reportMedia', title, series, iteration, source));
  }

  private reportSample(method: string, title: string, series: string, iteration: number, source: SampleSource): void {
    if (!this.names(method, title, series)) return;
    const iter = this.iteration(method, iteration);
    if (iter === undefined) return;
    const makeEvent = (url: string, key?: string): ReportEvent => ({
      type: 'training_debug_image',
      task: this.sink.taskId,
      timestamp: Date.now(),
      iter,
      metric: title,
      variant: series,
      url,
      ...(key ? { key } : {}),
    });
    if (typeof source !== 'object' || source === null || !('url' in source || 'path' in source || 'buffer' in source)) {
      this.sink.warn(`${method}: "${title}/${series}" needs {path}, {buffer} or {url}, got ${describe(source)}; skipped`);
      return;
    }
    if ('url' in source) {
      this.sink.push(makeEvent(source.url));
      return;
    }
    const seriesKey = `${title}\u0000${series}`;
    const counter = this.counters.get(seriesKey) ?? 0;
    this.counters.set(seriesKey, counter + 1);
    const slot = String(counter % this.sampleHistory).padStart(8, '0');
    const extension =
      'path' in source ? extname(source.path) || '.bin' : `.${(source.fileExtension ?? 'png').replace(/^\./, '')}`;
    const fileName = `${keyPart(title)}_${keyPart(series)}_${slot}${extension}`;
    const key = `${this.sink.filePrefix()}/metrics/${keyPart(title)}/${keyPart(series)}/${fileName}`;
    // The read is part of the upload queue, so flush() and close() wait for a sample reported just before them.
    const load = 'path' in source ? readFile(source.path) : Promise.resolve(Buffer.from(source.buffer));
    const what = 'path' in source ? source.path : 'the buffer';
    this.sink.uploadSample(
      key,
      load.catch((error: unknown) => {
        throw new Error(`${method}: cannot read ${what} (${(error as Error).message}); skipped`);
      }),
      'path' in source ? basename(source.path) : fileName,
      (url) => makeEvent(url, key),
    );
  }

  /** Sends everything reported so far. */
  flush(): Promise<void> {
    return this.sink.flush();
  }
}

function layoutOf(title: string, options: AxisOptions): Record<string, unknown> {
  return { title, xaxis: { title: options.xaxis ?? '' }, yaxis: { title: options.yaxis ?? '' } };
}
