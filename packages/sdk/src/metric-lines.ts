/**
 * Metric lines: how a program in any language reports scalars without an SDK, by printing one JSON line to stdout.
 * `tasklane run` and the agent read them from the program's output.
 *
 * @example
 * // print('{"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}')
 * const reader = new MetricLineReader();
 * reader.read('{"tasklane": {"metric": "loss", "value": 0.25}}');
 * // { kind: 'scalars', scalars: [{ metric: 'loss', series: 'loss', value: 0.25, iteration: 0 }] }
 */

/** One scalar point read from a metric line. */
export interface MetricPoint {
  metric: string;
  series: string;
  value: number;
  iteration: number;
}

/** What one output line is: scalars, a line that meant to be a metric line but is not valid, or plain text. */
export type MetricLineResult =
  | { kind: 'scalars'; scalars: MetricPoint[] }
  | { kind: 'invalid'; reason: string }
  | { kind: 'text' };

/** The fields a metric object may have. */
const FIELDS = new Set(['metric', 'series', 'value', 'iteration']);
/** A line is a candidate when it is a JSON object naming `tasklane` (cheap test before JSON.parse). */
const CANDIDATE = /^\{[\s\S]*"tasklane"[\s\S]*\}$/;

type Parsed = { metric: string; series: string; value: number; iteration: number | undefined };

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

function readPoint(item: unknown, where: string): Parsed | string {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return `${where} must be an object, got ${describe(item)}`;
  const fields = item as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !FIELDS.has(key));
  if (unknown.length > 0) return `${where} has unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (expected metric, series, value, iteration)`;
  const { metric, series, value, iteration } = fields;
  if (typeof metric !== 'string' || metric.trim() === '') return `${where}.metric must be non-empty text, got ${describe(metric)}`;
  if (series !== undefined && (typeof series !== 'string' || series.trim() === '')) return `${where}.series must be non-empty text, got ${describe(series)}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${where}.value must be a finite number, got ${describe(value)}`;
  if (iteration !== undefined && (typeof iteration !== 'number' || !Number.isSafeInteger(iteration) || iteration < 0)) {
    return `${where}.iteration must be a whole number ≥ 0, got ${describe(iteration)}`;
  }
  return { metric, series: series ?? metric, value, iteration: iteration as number | undefined };
}

/**
 * Reads one output line (without its newline). A metric line is a whole line of JSON (surrounding spaces allowed)
 * of the form `{"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}`, or with a list
 * of such objects under `"tasklane"`. `series` defaults to the metric's name; without `iteration` the point is
 * left without one (see {@link MetricLineReader}, which numbers them). A line that looks like a metric line but is
 * not one (bad JSON, a missing value, an unknown field) is `invalid` with the reason; anything else is `text`.
 */
export function parseMetricLine(line: string): { kind: 'points'; points: Parsed[] } | { kind: 'invalid'; reason: string } | { kind: 'text' } {
  const trimmed = line.trim();
  if (!CANDIDATE.test(trimmed)) return { kind: 'text' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    return { kind: 'invalid', reason: `not valid JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, 'tasklane')) return { kind: 'text' };
  const body = (parsed as { tasklane: unknown }).tasklane;
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0) return { kind: 'invalid', reason: '"tasklane" holds an empty list' };
  const points: Parsed[] = [];
  for (const [index, item] of items.entries()) {
    const point = readPoint(item, Array.isArray(body) ? `tasklane[${index}]` : 'tasklane');
    if (typeof point === 'string') return { kind: 'invalid', reason: point };
    points.push(point);
  }
  return { kind: 'points', points };
}

/**
 * Reads a program's output line by line, numbering the points that give no iteration: per metric and series, one
 * after the last iteration seen (0 for the first).
 */
export class MetricLineReader {
  private readonly next = new Map<string, number>();

  /** What `line` is; see {@link parseMetricLine}. */
  read(line: string): MetricLineResult {
    const result = parseMetricLine(line);
    if (result.kind !== 'points') return result;
    const scalars = result.points.map((point) => {
      const key = `${point.metric}\u0000${point.series}`;
      const iteration = point.iteration ?? this.next.get(key) ?? 0;
      this.next.set(key, Math.max(this.next.get(key) ?? 0, iteration + 1));
      return { metric: point.metric, series: point.series, value: point.value, iteration };
    });
    return { kind: 'scalars', scalars };
  }
}

/** The text of the warning printed (once) for the first invalid metric line of a run. */
export function invalidMetricLineWarning(line: string, reason: string): string {
  const shown = line.trim().length > 120 ? `${line.trim().slice(0, 120)}…` : line.trim();
  return (
    `a line looks like a metric line but is not one (${reason}); it is kept as console text (further malformed metric lines are kept too, without this warning): ${shown}. ` +
    'Expected: {"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}'
  );
}
