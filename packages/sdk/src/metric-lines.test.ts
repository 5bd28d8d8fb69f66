import { describe, expect, it } from 'vitest';
import { MetricLineReader, invalidMetricLineWarning, parseMetricLine } from './metric-lines.js';

describe('metric lines', () => {
  it('reads a metric line, a list of points, and numbers points without an iteration per series', () => {
    const reader = new MetricLineReader();
    expect(reader.read('  {"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}  ')).toEqual({
      kind: 'scalars',
      scalars: [{ metric: 'loss', series: 'train', value: 0.25, iteration: 3 }],
    });
    expect(reader.read('{"tasklane": [{"metric": "loss", "series": "train", "value": 1}, {"metric": "acc", "value": 0.5}]}')).toEqual({
      kind: 'scalars',
      scalars: [
        { metric: 'loss', series: 'train', value: 1, iteration: 4 },
        { metric: 'acc', series: 'acc', value: 0.5, iteration: 0 },
      ],
    });
    expect(reader.read('{"tasklane": {"metric": "acc", "value": 0.6}}')).toMatchObject({ scalars: [{ iteration: 1 }] });
  });

  it('leaves other lines as text, JSON without a tasklane key included', () => {
    for (const line of ['epoch 1 loss=0.3', '', '{"level": "info", "msg": "hi"}', 'INFO {"tasklane": {"metric": "x", "value": 1}}', '{"a": "tasklane"}']) {
      expect(parseMetricLine(line)).toEqual({ kind: 'text' });
    }
  });

  it('says what is wrong with a line that looks like a metric line but is not one', () => {
    const reasons = [
      '{"tasklane": {"metric": "loss", "value": 0.1}',
      '{"tasklane": {"metric": "loss"}}',
      '{"tasklane": {"metric": "", "value": 1}}',
      '{"tasklane": {"metric": "loss", "value": "0.1"}}',
      '{"tasklane": {"metric": "loss", "value": 1, "iteration": -1}}',
      '{"tasklane": {"metric": "loss", "value": 1, "iter": 2}}',
      '{"tasklane": []}',
      '{"tasklane": 5}',
    ].map((line) => {
      const result = parseMetricLine(line);
      // JSON.parse's own message differs between Node.js versions.
      return result.kind === 'invalid' ? result.reason.replace(/^not valid JSON \(.*\)$/, 'not valid JSON (…)') : result.kind;
    });
    expect(reasons).toMatchInlineSnapshot(`
      [
        "not valid JSON (…)",
        "tasklane.value must be a finite number, got nothing",
        "tasklane.metric must be non-empty text, got """,
        "tasklane.value must be a finite number, got "0.1"",
        "tasklane.iteration must be a whole number ≥ 0, got -1",
        "tasklane has unknown field "iter" (expected metric, series, value, iteration)",
        ""tasklane" holds an empty list",
        "tasklane must be an object, got 5",
      ]
    `);
    expect(invalidMetricLineWarning('{"tasklane": {"metric": "loss"}}', 'tasklane.value must be a finite number, got nothing')).toMatchInlineSnapshot(
      `"a line looks like a metric line but is not one (tasklane.value must be a finite number, got nothing); it is kept as console text (further malformed metric lines are kept too, without this warning): {"tasklane": {"metric": "loss"}}. Expected: {"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}"`,
    );
  });
});
