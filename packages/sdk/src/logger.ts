import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ReportEvent } from './event-reporter.js';
import { parseCsv } from './parse-csv.js';

/** What the logger needs from its task (kept narrow so the logger stays testable on its own). */
export interface LoggerSink {
  readonly taskId: string;
  /** Added to every iteration (continuing a task). */
  iterationOffset(): number;
  push(event: ReportEvent): void;
  /** Uploads a debug-sample file in the background and pushes its event once the file is stored. */
  uploadSample(key: string, data: Buffer, fileName: string, makeEvent: (url: string) => ReportEvent): void;
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

/** File-name-safe text for storage keys, as ClearML quotes metric and variant names. */
function keyPart(text: string): string {
  return text.replaceAll('/', '.slash.').replace(/[#"';?:@&=+$,%!\r\n\\]/g, (c) => `0x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The reporting side of a task: scalars, single values, console text, Plotly plots (scatter, lines, histograms,
 * confusion matrices, tables) and debug samples (images, audio, video, any file).
 *
 * Reporting never throws into a training loop: a bad argument (a non-number value, NaN, a negative iteration...) is
 * skipped with a warning printed once, and events travel to the server in the background.
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
    if (typeof iteration !== 'number' || !Number.isInteger(iteration)) {
      this.sink.warn(`${method}: iteration must be an integer, got ${JSON.stringify(iteration)}; the report was skipped`);
      return undefined;
    }
    return iteration + this.sink.iterationOffset();
  }

  private names(method: string, title: unknown, series: unknown): boolean {
    if (isName(title) && isName(series)) return true;
    this.sink.warn(`${method}: title and series must be strings, got ${JSON.stringify(title)} and ${JSON.stringify(series)}; the report was skipped`);
    return false;
  }

  /** Reports one point of a scalar series (the hot path: an in-memory append). NaN and ±Infinity are skipped. */
  reportScalar(title: string, series: string, value: number, iteration: number): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.sink.warn(`reportScalar: "${String(title)}/${String(series)}" got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}; only finite numbers are stored, so such points are skipped`);
      return;
    }
    if (typeof iteration !== 'number' || !Number.isInteger(iteration) || typeof title !== 'string' || typeof series !== 'string') {
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
      this.sink.warn(`reportSingleValue: needs a name and a finite number, got ${JSON.stringify(name)} and ${String(value)}; skipped`);
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
    if (!this.names('reportPlotly', title, series)) return;
    const iter = this.iteration('reportPlotly', iteration);
    if (iter === undefined) return;
    if (typeof figure !== 'object' || figure === null || !Array.isArray(figure.data)) {
      this.sink.warn(`reportPlotly: "${title}/${series}" needs a figure with a data array; skipped`);
      return;
    }
    let plotStr: string;
    try {
      plotStr = JSON.stringify(figure, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
    } catch (error) {
      this.sink.warn(`reportPlotly: "${title}/${series}" cannot be turned into JSON (${(error as Error).message}); skipped`);
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
    const trace = { type: 'scatter', mode: options.mode ?? 'lines', name: series, x: points.map((p) => p[0]), y: points.map((p) => p[1]), text: options.labels };
    this.reportPlotly(title, series, { data: [trace], layout: layoutOf(title, options) }, iteration);
  }

  /** Several named lines in one plot. */
  reportLinePlot(
    title: string,
    lines: readonly { name: string; data: readonly (readonly [number, number])[] }[],
    iteration: number,
    options: AxisOptions & { mode?: 'lines' | 'markers' | 'lines+markers' } = {},
  ): void {
    const data = lines.map((line) => ({ type: 'scatter', mode: options.mode ?? 'lines', name: line.name, x: line.data.map((p) => p[0]), y: line.data.map((p) => p[1]) }));
    this.reportPlotly(title, 'plot', { data, layout: layoutOf(title, options) }, iteration);
  }

  /** A bar chart of `values` (one bar each), labelled by `xlabels`. */
  reportHistogram(
    title: string,
    series: string,
    values: readonly number[],
    iteration: number,
    options: AxisOptions & { xlabels?: string[]; mode?: 'group' | 'stack' } = {},
  ): void {
    const trace = { type: 'bar', name: series, x: options.xlabels ?? values.map((_v, i) => i), y: [...values] };
    this.reportPlotly(title, series, { data: [trace], layout: { ...layoutOf(title, options), barmode: options.mode ?? 'group' } }, iteration);
  }

  /** A confusion matrix as a heat map: `matrix[row][column]`. */
  reportConfusionMatrix(
    title: string,
    series: string,
    matrix: readonly (readonly number[])[],
    iteration: number,
    options: AxisOptions & { xlabels?: string[]; ylabels?: string[] } = {},
  ): void {
    const trace = { type: 'heatmap', z: matrix.map((row) => [...row]), x: options.xlabels, y: options.ylabels, colorscale: 'Blues' };
    this.reportPlotly(title, series, { data: [trace], layout: layoutOf(title, { xaxis: options.xaxis ?? 'Predicted', yaxis: options.yaxis ?? 'Actual' }) }, iteration);
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
    let rows: unknown[][];
    if ('csv' in table) rows = parseCsv(table.csv);
    else if ('records' in table) {
      const header = [...new Set(table.records.flatMap((r) => Object.keys(r)))];
      rows = [header, ...table.records.map((r) => header.map((h) => r[h] ?? ''))];
    } else rows = table.rows.map((r) => [...r]);
    if (rows.length === 0) {
      this.sink.warn(`reportTable: "${title}/${series}" is empty; skipped`);
      return;
    }
    const [header = [], ...body] = rows;
    const columns = header.map((_h, i) => body.map((row) => row[i] ?? ''));
    const trace = { type: 'table', header: { values: header }, cells: { values: columns } };
    this.reportPlotly(title, series, { data: [trace], layout: { title } }, iteration);
  }

  /** An image debug sample (PNG, JPEG, GIF, ...). */
  reportImage(title: string, series: string, iteration: number, source: SampleSource): void {
    this.reportSample('reportImage', title, series, iteration, source);
  }

  /** Any file as a debug sample (audio, video, HTML, text...). */
  reportMedia(title: string, series: string, iteration: number, source: SampleSource): void {
    this.reportSample('reportMedia', title, series, iteration, source);
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
    const load = 'path' in source ? readFile(source.path) : Promise.resolve(Buffer.from(source.buffer));
    void load.then(
      (data) => this.sink.uploadSample(key, data, 'path' in source ? basename(source.path) : fileName, (url) => makeEvent(url, key)),
      (error: unknown) => this.sink.warn(`${method}: cannot read ${'path' in source ? source.path : 'the buffer'} (${(error as Error).message}); skipped`),
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
