import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import { buildSdkAndCli } from './logger-support/build-packages.js';
import { makeFixtureDir, runFixture, type FixtureDir } from './logger-support/fixture-run.js';
import { lastMetricsOf, readAllScalars, readEvents, readLog, readTask } from './logger-support/read-back.js';
import { startServerProcess, type ServerProcess } from './logger-support/server-process.js';

// The real SDK in child processes (fixture scripts that `import { Task } from 'tasklane'`) against the real server
// started by the built CLI; everything is read back through the server's API.

const SINGLE_VALUE_ITERATION = -(2 ** 31);

/** The `tasklane: ...` warnings a script printed on stderr, in order. */
function warningsOf(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('tasklane: '));
}

/** The URL the SDK gives a stored debug sample: the file server plus the key, each path segment encoded. */
function fileUrl(server: ServerProcess, key: string): string {
  return `${server.url}/files/${key.split('/').map(encodeURIComponent).join('/')}`;
}

async function download(url: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type'), bytes: Buffer.from(await response.arrayBuffer()) };
}

describe('task.getLogger() reports, read back from the server', () => {
  let server: ServerProcess;
  let api: ApiClient;
  let fixtures: FixtureDir;
  const run = (script: string, input?: unknown) => runFixture(fixtures, script, { apiHost: server.url, stateDir: fixtures.stateDir, input });

  beforeAll(async () => {
    await buildSdkAndCli();
    [server, fixtures] = await Promise.all([startServerProcess(), makeFixtureDir()]);
    api = server.api;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    await fixtures?.cleanup();
  });

  describe('every report type round-trips', () => {
    const imageBytes = randomBytes(3000);
    const bufferBytes = randomBytes(2000);
    const mediaBytes = randomBytes(5000);
    let taskId: string;
    let stderr: string;

    beforeAll(async () => {
      const imagePath = join(fixtures.dir, 'picture.png');
      const mediaPath = join(fixtures.dir, 'sound.wav');
      await writeFile(imagePath, imageBytes);
      await writeFile(mediaPath, mediaBytes);
      const result = await run('report-all.mjs', { imagePath, mediaPath, bufferBase64: bufferBytes.toString('base64') });
      taskId = result.taskId;
      stderr = result.stderr;
    }, 30_000);

    it('ends the run completed, with no warning, last_iteration the highest reported iteration', async () => {
      expect(warningsOf(stderr)).toEqual([]);
      const task = await readTask(api, taskId);
      expect({ status: task.status, last_iteration: task.last_iteration }).toEqual({ status: 'completed', last_iteration: 10 });
    });

    it('stores scalars with their values and iterations', async () => {
      expect(await readAllScalars(api, taskId)).toEqual({
        loss: {
          train: { name: 'train', x: [0, 1, 2, 3, 4], y: [5, 3, 8, 1, 4] },
          val: { name: 'val', x: [0, 2, 4], y: [6, 2, 7] },
        },
        accuracy: { top1: { name: 'top1', x: [10], y: [0.5] } },
        // The single value is not a point of a curve: charts leave it out.
      });
      const { metrics } = await api.call('events.get_scalar_metrics_and_variants', { task: taskId });
      expect(Object.fromEntries(Object.entries(metrics).map(([m, v]) => [m, [...v].sort()]))).toEqual({
        loss: ['train', 'val'],
        accuracy: ['top1'],
        Summary: ['final accuracy'],
      });
    });

    it('keeps last_metrics of each series on the task: last, min and max with their iterations, first, mean, count', async () => {
      expect(await lastMetricsOf(api, taskId, 'loss', 'train')).toEqual({
        metric: 'loss',
        variant: 'train',
        value: 4,
        min_value: 1,
        min_value_iteration: 3,
        max_value: 8,
        max_value_iteration: 2,
        first_value: 5,
        first_value_iteration: 0,
        mean_value: 21 / 5,
        count: 5,
      });
      expect(await lastMetricsOf(api, taskId, 'loss', 'val')).toEqual({
        metric: 'loss',
        variant: 'val',
        value: 7,
        min_value: 2,
        min_value_iteration: 2,
        max_value: 7,
        max_value_iteration: 4,
        first_value: 6,
        first_value_iteration: 0,
        mean_value: 5,
        count: 3,
      });
      const latest = await api.call('events.get_task_latest_scalar_values', { task: taskId });
      const loss = latest.metrics.find((m) => m.name === 'loss');
      expect(loss?.variants).toEqual([
        { name: 'train', last_value: 4, last_10_value: 21 / 5 },
        { name: 'val', last_value: 7, last_10_value: 5 },
      ]);
      expect(latest.last_iter).toBe(10);
    });

    it('stores a single value as the "Summary" metric at iteration -2^31, which does not move last_iteration', async () => {
      const scalars = await readEvents(api, taskId, 'training_stats_scalar');
      const summary = scalars.filter((e) => e.metric === 'Summary');
      expect(summary.map((e) => ({ iter: e.iter, variant: e.variant, value: e.value }))).toEqual([
        { iter: SINGLE_VALUE_ITERATION, variant: 'final accuracy', value: 0.93 },
      ]);
      expect(await lastMetricsOf(api, taskId, 'Summary', 'final accuracy')).toMatchObject({ value: 0.93, count: 1 });
      expect((await readTask(api, taskId)).last_iteration).toBe(10);
    });

    it('answers the single value from get_task_single_value_metrics', async () => {
      expect(await api.call('events.get_task_single_value_metrics', { tasks: [taskId] })).toEqual({
        tasks: [
          {
            task: taskId,
            task_name: 'report all',
            values: [{ metric: 'Summary', variant: 'final accuracy', value: 0.93, timestamp: expect.any(Number) }],
          },
        ],
      });
    });

    it('stores text as console lines with their level (an unknown level becomes info)', async () => {
      const { lines, total } = await readLog(api, taskId);
      expect(total).toBe(lines.length);
      // The script's own stdout (the @@task marker) is captured as a console line too.
      expect(lines.map((l) => ({ level: l.level, msg: l.msg }))).toEqual([
        { level: 'info', msg: `@@task {"id":"${taskId}"}` },
        { level: 'info', msg: 'plain info line' },
        { level: 'warning', msg: 'watch out' },
        { level: 'error', msg: 'it broke' },
        { level: 'debug', msg: 'deep detail' },
        { level: 'critical', msg: 'very bad' },
        { level: 'info', msg: 'odd level' },
      ]);
    });

    it('stores each plot helper as a Plotly figure of the expected trace type', async () => {
      const plots = await readEvents(api, taskId, 'plot');
      const figures = Object.fromEntries(plots.map((p) => [`${p.metric}/${p.variant}@${p.iter}`, JSON.parse(p.plot_str ?? 'null')]));
      expect(Object.keys(figures).sort()).toEqual([
        'confusion/val@4',
        'custom/pie@6',
        'histogram/counts@3',
        'lines/plot@2',
        'scatter/points@1',
        'table/csv@5',
        'table/records@5',
        'table/rows@5',
      ]);
      expect(figures['scatter/points@1']).toEqual({
        data: [{ type: 'scatter', mode: 'markers', name: 'points', x: [0, 1, 2], y: [1, 3, 2], text: ['a', 'b', 'c'] }],
        layout: { title: 'scatter', xaxis: { title: 'epoch' }, yaxis: { title: 'score' } },
      });
      expect(figures['lines/plot@2']).toEqual({
        data: [
          { type: 'scatter', mode: 'lines', name: 'up', x: [0, 1], y: [0, 1] },
          { type: 'scatter', mode: 'lines', name: 'down', x: [0, 1], y: [1, 0] },
        ],
        layout: { title: 'lines', xaxis: { title: '' }, yaxis: { title: '' } },
      });
      expect(figures['histogram/counts@3']).toEqual({
        data: [{ type: 'bar', name: 'counts', x: ['x', 'y', 'z'], y: [3, 7, 1] }],
        layout: { title: 'histogram', xaxis: { title: '' }, yaxis: { title: '' }, barmode: 'group' },
      });
      expect(figures['confusion/val@4']).toEqual({
        data: [{ type: 'heatmap', z: [[5, 1], [2, 8]], x: ['cat', 'dog'], y: ['cat', 'dog'], colorscale: 'Blues' }],
        layout: { title: 'confusion', xaxis: { title: 'Predicted' }, yaxis: { title: 'Actual' } },
      });
      expect(figures['table/rows@5'].data).toEqual([
        { type: 'table', header: { values: ['name', 'score'] }, cells: { values: [['a', 'b'], [1, 2]] } },
      ]);
      expect(figures['table/records@5'].data).toEqual([
        { type: 'table', header: { values: ['name', 'score', 'extra'] }, cells: { values: [['a', 'b'], [1, ''], ['', true]] } },
      ]);
      expect(figures['table/csv@5'].data).toEqual([
        { type: 'table', header: { values: ['name', 'score'] }, cells: { values: [['a, quoted', 'b'], ['1', '2']] } },
      ]);
      // Plotly JSON has no NaN: a non-finite number becomes null (a gap), as Plotly's own serializer does.
      expect(figures['custom/pie@6']).toEqual({ data: [{ type: 'pie', values: [1, null, 2], labels: ['x', 'gap', 'y'] }], layout: { title: 'custom' } });
    });

    it('answers the same plots from get_task_plots', async () => {
      const fromEvents = await readEvents(api, taskId, 'plot');
      const reply = await api.call('events.get_task_plots', { task: taskId, iters: 1 });
      expect({ returned: reply.returned, total: reply.total }).toEqual({ returned: 8, total: 8 });
      const summary = (events: typeof fromEvents) =>
        events.map((e) => ({ metric: e.metric, variant: e.variant, iter: e.iter, figure: JSON.parse(e.plot_str ?? 'null') as unknown })).sort((a, b) =>
          `${a.metric}/${a.variant}`.localeCompare(`${b.metric}/${b.variant}`),
        );
      expect(summary(reply.plots)).toEqual(summary(fromEvents));
    });

    it('uploads image and media samples to the file server (same bytes at the event url); a url sample is only linked', async () => {
      const samples = await readEvents(api, taskId, 'training_debug_image');
      const prefix = `logger tests/report all.${taskId}/metrics`;
      const byName = Object.fromEntries(samples.map((s) => [`${s.metric}/${s.variant}`, s]));
      expect(Object.keys(byName).sort()).toEqual(['images/by url', 'images/from buffer', 'images/from path', 'media/audio']);
      const expected = {
        'images/from path': { key: `${prefix}/images/from path/images_from path_00000000.png`, bytes: imageBytes, type: 'image/png' },
        'images/from buffer': { key: `${prefix}/images/from buffer/images_from buffer_00000000.jpg`, bytes: bufferBytes, type: 'image/jpeg' },
        'media/audio': { key: `${prefix}/media/audio/media_audio_00000000.wav`, bytes: mediaBytes, type: 'audio/wav' },
      };
      for (const [name, want] of Object.entries(expected)) {
        const sample = byName[name]!;
        expect({ name, iter: sample.iter, key: sample.key, url: sample.url }).toEqual({ name, iter: 7, key: want.key, url: fileUrl(server, want.key) });
        const file = await download(sample.url!);
        expect({ name, status: file.status, type: file.type }).toEqual({ name, status: 200, type: want.type });
        expect(file.bytes.equals(want.bytes), `${name}: downloaded bytes differ from the reported ones`).toBe(true);
      }
      expect(byName['images/by url']).toMatchObject({ iter: 7, url: 'https://example.com/samples/cat.png' });
      expect(byName['images/by url']!.key).toBeUndefined();
      // Nothing but the three uploads reached the file server for this task.
      const filesDir = join(server.dataDir, 'files');
      const stored = await readdir(join(filesDir, `logger tests/report all.${taskId}`), { recursive: true, withFileTypes: true });
      expect(
        stored
          .filter((d) => d.isFile())
          .map((d) => join(d.parentPath, d.name).slice(filesDir.length + 1))
          .sort(),
      ).toEqual(Object.values(expected).map((e) => e.key).sort());
    });

    it('answers the samples of the latest iteration from debug_images', async () => {
      const reply = await api.call('events.debug_images', { metrics: [{ task: taskId }], iters: 1 });
      expect(reply.metrics).toHaveLength(1);
      const [only] = reply.metrics;
      expect(only!.task).toBe(taskId);
      expect(only!.iterations.map((it) => ({ iter: it.iter, samples: it.events.map((e) => `${e.metric}/${e.variant}`) }))).toEqual([
        { iter: 7, samples: ['images/by url', 'images/from buffer', 'images/from path', 'media/audio'] },
      ]);
    });

    it('finds console lines by text with get_task_log search (ignoring case)', async () => {
      const reply = await api.call('events.get_task_log', { task: taskId, search: 'WATCH', navigate_earlier: false });
      expect({ total: reply.total, lines: reply.events.map((e) => `${e.level}: ${e.msg}`) }).toEqual({ total: 1, lines: ['warning: watch out'] });
      const none = await api.call('events.get_task_log', { task: taskId, search: 'no such text' });
      expect({ total: none.total, returned: none.returned }).toEqual({ total: 0, returned: 0 });
    });
  });

  it('downsampling keeps a spike: 20,000 points read back as at most 200 still hold the max and the min', async () => {
    const { taskId } = await run('spike.mjs');
    const valueAt = (i: number) => (i === 12_345 ? 1000 : i === 4_321 ? -1000 : 1 + ((i * 7919) % 100) / 1000);

    const all = await readAllScalars(api, taskId);
    expect(all.loss!.train!.x).toEqual(Array.from({ length: 20_000 }, (_v, i) => i));
    expect(all.loss!.train!.y).toEqual(Array.from({ length: 20_000 }, (_v, i) => valueAt(i)));

    const chart = await api.call('events.scalar_metrics_iter_histogram', { task: taskId, samples: 200 });
    const { x, y } = chart.loss!.train!;
    expect(x.length).toBeGreaterThan(100);
    expect(x.length).toBeLessThanOrEqual(200);
    expect(y.length).toBe(x.length);
    const iterations = x as number[];
    expect(iterations.every((it, i) => i === 0 || it > iterations[i - 1]!), 'x is strictly increasing').toBe(true);
    // Every point shown is a real point of the series.
    expect(iterations.every((it, i) => y[i] === valueAt(it))).toBe(true);
    expect(Math.max(...y)).toBe(1000);
    expect(iterations[y.indexOf(1000)]).toBe(12_345);
    expect(Math.min(...y)).toBe(-1000);
    expect(iterations[y.indexOf(-1000)]).toBe(4_321);

    const values = Array.from({ length: 20_000 }, (_v, i) => valueAt(i));
    expect(await lastMetricsOf(api, taskId, 'loss', 'train')).toEqual({
      metric: 'loss',
      variant: 'train',
      value: valueAt(19_999),
      min_value: -1000,
      min_value_iteration: 4_321,
      max_value: 1000,
      max_value_iteration: 12_345,
      first_value: valueAt(0),
      first_value_iteration: 0,
      mean_value: expect.closeTo(values.reduce((a, b) => a + b, 0) / values.length, 9),
      count: 20_000,
    });
    expect((await readTask(api, taskId)).last_iteration).toBe(19_999);
  });

  describe('bad input never breaks the loop', () => {
    let result: Awaited<ReturnType<typeof run>>;
    beforeAll(async () => {
      result = await run('bad-input.mjs');
    }, 30_000);

    it('each kind of bad call is skipped with one warning, the script completes and the good points are stored', async () => {
      const { taskId, stdout, stderr } = result;
      expect(stdout).toContain('@@loop-done');
      // 14 kinds of bad call, each made 5 times: 14 warnings, none twice.
      const warnings = warningsOf(stderr);
      expect(warnings).toHaveLength(14);
      expect(new Set(warnings).size).toBe(14);
      expect(await readAllScalars(api, taskId)).toEqual({ loss: { train: { name: 'train', x: [0, 1, 2, 3, 4], y: [0, 0.1, 0.2, 0.3, 0.4] } } });
      expect(await readEvents(api, taskId, 'plot')).toEqual([]);
      expect(await readEvents(api, taskId, 'training_debug_image')).toEqual([]);
      const task = await readTask(api, taskId);
      expect({ status: task.status, last_iteration: task.last_iteration }).toEqual({ status: 'completed', last_iteration: 4 });
      // The warnings are console lines of the task too (stderr is captured), each once.
      const { lines } = await readLog(api, taskId);
      expect(lines.filter((l) => l.msg.startsWith('tasklane: ')).map((l) => `${l.level} ${l.msg}`)).toEqual(warnings.map((w) => `error ${w}`));
    });

    // Bug: the plot helpers (reportHistogram, reportScatter2d, ...) validate through reportPlotly, so their warnings
    // name reportPlotly, a method the script never called.
    it('each warning names the method called, the value given and what happens', () => {
      expect(warningsOf(result.stderr)).toMatchInlineSnapshot(`
        [
          "tasklane: reportScalar: "loss/train" got NaN; only finite numbers are stored, so such points are skipped",
          "tasklane: reportScalar: "loss/train" got Infinity; only finite numbers are stored, so such points are skipped",
          "tasklane: reportScalar: "loss/train" got -Infinity; only finite numbers are stored, so such points are skipped",
          "tasklane: reportScalar: "loss/train" got "0.5"; only finite numbers are stored, so such points are skipped",
          "tasklane: reportScalar: iteration must be an integer from 0 to 2^53, got 1.5; the report was skipped",
          "tasklane: reportScalar: iteration must be an integer from 0 to 2^53, got "2"; the report was skipped",
          "tasklane: reportScalar: title and series must be strings, got 42 and "train"; the report was skipped",
          "tasklane: reportScalar: title and series must be strings, got "loss" and null; the report was skipped",
          "tasklane: reportSingleValue: needs a name and a finite number, got "best" and NaN; skipped",
          "tasklane: reportPlotly: "plot/series" needs a figure with a data array; skipped",
          "tasklane: reportPlotly: title and series must be strings, got {"title":"object"} and "series"; the report was skipped",
          "tasklane: reportHistogram: iteration must be an integer from 0 to 2^53, got 0.5; the report was skipped",
          "tasklane: reportTable: "table/empty" is empty; skipped",
          "tasklane: reportImage: iteration must be an integer from 0 to 2^53, got NaN; the report was skipped",
        ]
      `);
    });
  });

  // Bug: the Logger promises never to throw into a training loop, but arguments of the wrong shape do throw
  // (JSON.stringify of a bigint or a circular object in the warning text; `.map` / `in` on a missing argument).
  it('arguments of the wrong shape never throw into the loop', async () => {
    const { taskId, stdout } = await run('bad-arguments.mjs');
    const threw = JSON.parse(stdout.split('\n').find((l) => l.startsWith('@@threw '))!.slice('@@threw '.length)) as Record<string, string>;
    expect(threw).toEqual({});
    expect(await readAllScalars(api, taskId)).toEqual({ loss: { train: { name: 'train', x: [2], y: [0.25] } } });
  });

  // Was a bug (fixed in logger.ts: Number.isSafeInteger): an iteration past Number.MAX_SAFE_INTEGER passed the Logger's
  // Number.isInteger check, the server refused the batch it travelled in (400), and the SDK dropped the whole batch:
  // the good points and console lines around it were lost.
  it('an iteration past 2^53 is skipped with a warning, and does not take the good points of its batch down with it', async () => {
    const { taskId, stderr } = await run('huge-iteration.mjs');
    expect(warningsOf(stderr)).toEqual([
      'tasklane: reportScalar: iteration must be an integer from 0 to 2^53, got 100000000000000000000; the report was skipped',
    ]);
    expect(await readAllScalars(api, taskId)).toEqual({
      loss: { train: { name: 'train', x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], y: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } },
    });
    const { lines } = await readLog(api, taskId);
    expect(lines.map((l) => l.msg)).toContain('between the points');
  });

  // Bug: the Logger's documentation says a negative iteration is skipped with a warning; it is stored.
  it('a negative iteration is skipped with a warning, as the Logger documents', async () => {
    const { taskId, stderr } = await run('negative-iteration.mjs');
    expect(warningsOf(stderr)).toHaveLength(1);
    expect(warningsOf(stderr)[0]).toMatch(/^tasklane: reportScalar: .*-1/);
    expect(await readAllScalars(api, taskId)).toEqual({ loss: { train: { name: 'train', x: [0, 1], y: [0.5, 0.25] } } });
  });

  // Bug: a sample from a file is read asynchronously before its upload is queued, so close() (and flush()) called right
  // after reportImage does not wait for it: the task is completed and the sample is never stored.
  it('a sample reported right before close() is uploaded and stored', async () => {
    const imagePath = join(fixtures.dir, 'last.png');
    const bytes = randomBytes(1000);
    await writeFile(imagePath, bytes);
    const { taskId } = await run('close-after-sample.mjs', { imagePath });
    const samples = await readEvents(api, taskId, 'training_debug_image');
    expect(samples.map((s) => `${s.metric}/${s.variant}@${s.iter}`).sort()).toEqual(['images/from buffer@0', 'images/from path@0']);
    const fromPath = samples.find((s) => s.variant === 'from path')!;
    expect((await download(fromPath.url!)).bytes.equals(bytes)).toBe(true);
  });

  it('debug-sample history: past 100 reports of a series the SDK reuses its 100 file names, the server keeps the last 100 iterations', async () => {
    const reports = 105;
    const { taskId, stderr } = await run('sample-history.mjs', { reports });
    expect(warningsOf(stderr)).toEqual([]);
    const slot = (i: number) => String(i % 100).padStart(8, '0');
    const prefix = `logger tests/sample history.${taskId}/metrics/samples/input`;

    // The server's history (TASKLANE_DEBUG_SAMPLE_HISTORY, 100 by default) dropped the events of iterations 0..4.
    const samples = [...(await readEvents(api, taskId, 'training_debug_image'))].sort((a, b) => a.iter! - b.iter!);
    expect(samples.map((s) => ({ iter: s.iter, key: s.key, url: s.url }))).toEqual(
      Array.from({ length: 100 }, (_v, n) => {
        const i = n + 5;
        const key = `${prefix}/samples_input_${slot(i)}.png`;
        return { iter: i, key, url: fileUrl(server, key) };
      }),
    );
    // A file name holds the newest sample written to it: iterations 100..104 overwrote the files of 0..4.
    const byIter = new Map(samples.map((s) => [s.iter!, s]));
    for (const [iteration, content] of [[5, 'sample 5'], [99, 'sample 99'], [100, 'sample 100'], [104, 'sample 104']] as const) {
      const file = await download(byIter.get(iteration)!.url!);
      expect({ iteration, status: file.status, content: file.bytes.toString() }).toEqual({ iteration, status: 200, content });
    }
    const files = await readdir(join(server.dataDir, 'files', prefix));
    expect(files.sort()).toEqual(Array.from({ length: 100 }, (_v, i) => `samples_input_${slot(i)}.png`));
    const latest = await api.call('events.debug_images', { metrics: [{ task: taskId }], iters: 1 });
    expect(latest.metrics[0]!.iterations.map((it) => ({ iter: it.iter, keys: it.events.map((e) => e.key) }))).toEqual([
      { iter: 104, keys: [`${prefix}/samples_input_${slot(104)}.png`] },
    ]);
  });

  it('the server keeps only the last TASKLANE_DEBUG_SAMPLE_HISTORY iterations of a debug-sample series', async () => {
    const capped = await startServerProcess({ env: { TASKLANE_DEBUG_SAMPLE_HISTORY: '10' } });
    try {
      const { taskId } = await runFixture(fixtures, 'sample-history.mjs', { apiHost: capped.url, stateDir: fixtures.stateDir, input: { reports: 25 } });
      const samples = await readEvents(capped.api, taskId, 'training_debug_image');
      expect(samples.map((s) => s.iter).sort((a, b) => a! - b!)).toEqual(Array.from({ length: 10 }, (_v, n) => n + 15));
      // Below its own history size (100) the SDK gives every report its own file.
      const files = await readdir(join(capped.dataDir, 'files', `logger tests/sample history.${taskId}/metrics/samples/input`));
      expect(files).toHaveLength(25);
    } finally {
      await capped.close();
    }
  });

  it('a batch with one bad event gets HTTP 400 naming the line, and none of its events is stored', async () => {
    const { id: task } = await api.call('tasks.create', { name: 'raw batch', type: 'training', project_name: 'logger tests' });
    await api.call('tasks.started', { task });
    const lines = [
      { type: 'training_stats_scalar', task, timestamp: 1_700_000_000_000, iter: 1, metric: 'loss', variant: 'train', value: 0.5 },
      { type: 'log', task, timestamp: 1_700_000_000_001, id: 'line-1', level: 'info', msg: 'fine' },
      { type: 'training_stats_scalar', task, timestamp: 1_700_000_000_002, iter: 2, metric: 'loss', variant: 'train', value: 'abc' },
      { type: 'plot', task, timestamp: 1_700_000_000_003, iter: 2, metric: 'p', variant: 'v', plot_str: '{"data":[]}' },
    ];
    const response = await fetch(`${server.url}/events.add_batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json-lines' },
      body: lines.map((l) => JSON.stringify(l)).join('\n'),
    });
    const body = (await response.json()) as { meta: { result_code: number; result_msg: string; error_data: Record<string, unknown> } };
    expect(response.status).toBe(400);
    expect(body.meta.result_code).toBe(400);
    expect(body.meta.error_data).toMatchObject({ code: 'INVALID_INPUT', lines: [3] });
    expect(body.meta.result_msg).toMatchInlineSnapshot(
      `"Invalid events, nothing of this batch was stored: line 3: value: expected a number, got \"abc\". Fix these lines and send the batch again."`,
    );

    const notJson = await fetch(`${server.url}/events.add_batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json-lines' },
      body: `${JSON.stringify(lines[0])}\n{"type": "log", "task": "${task}", "msg": \n${JSON.stringify(lines[1])}`,
    });
    expect(notJson.status).toBe(400);

    expect((await api.call('events.get_task_events', { task })).total).toBe(0);
    expect((await api.call('events.get_task_log', { task })).total).toBe(0);
    const stored = await readTask(api, task);
    expect({ last_iteration: stored.last_iteration, last_metrics: stored.last_metrics }).toEqual({ last_iteration: 0, last_metrics: {} });
  });
});
