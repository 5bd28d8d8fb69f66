import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import { buildSdkAndCli } from './logger-support/build-packages.js';
import { makeFixtureDir, startFixture, type FixtureDir, type FixtureResult } from './logger-support/fixture-run.js';
import { lastMetricsOf, readAllScalars, readLog, readTask } from './logger-support/read-back.js';
import { startServerProcess, type ServerProcess } from './logger-support/server-process.js';

// The server goes away while a training loop reports (killed with SIGKILL, or stopped for the whole loop) and comes
// back on the same port and data dir: every point and console line must be stored exactly once.

/** The series of fixtures/steady-loop.mjs: the point of series s at iteration i has the value s * 1e6 + i. */
const SERIES = [
  ['loss', 'train'],
  ['loss', 'val'],
  ['lr', 'group0'],
] as const;

/** Checks that the task holds exactly the loop's points and console lines, each once, and was completed. */
async function expectDeliveredOnce(api: ApiClient, taskId: string, run: FixtureResult, loop: { iterations: number; lines: number }) {
  const { iterations, lines } = loop;
  const range = Array.from({ length: iterations }, (_v, i) => i);

  // Every point once: the full series (no downsampling) has each iteration once with its value...
  const scalars = await readAllScalars(api, taskId);
  expect(Object.keys(scalars).sort()).toEqual(['loss', 'lr']);
  SERIES.forEach(([metric, variant], s) => {
    const series = scalars[metric]?.[variant];
    expect(series?.x, `${metric}/${variant} iterations`).toEqual(range);
    expect(series?.y, `${metric}/${variant} values`).toEqual(range.map((i) => s * 1e6 + i));
  });
  // ...the server counted each once in last_metrics...
  for (const [s, [metric, variant]] of SERIES.entries()) {
    const base = s * 1e6;
    expect(await lastMetricsOf(api, taskId, metric, variant)).toEqual({
      metric,
      variant,
      value: base + iterations - 1,
      min_value: base,
      min_value_iteration: 0,
      max_value: base + iterations - 1,
      max_value_iteration: iterations - 1,
      first_value: base,
      first_value_iteration: 0,
      mean_value: base + (iterations - 1) / 2,
      count: iterations,
    });
  }
  // ...and the events API has exactly that many scalar events.
  const { total: scalarTotal } = await api.call('events.get_task_events', { task: taskId, event_type: 'training_stats_scalar', batch_size: 1 });
  expect(scalarTotal).toBe(SERIES.length * iterations);

  // Every console line once, in order.
  const log = await readLog(api, taskId);
  expect(log.lines.length).toBe(log.total);
  const messages = log.lines.map((l) => l.msg);
  const lineEvery = iterations / lines;
  expect(messages.filter((m) => m.startsWith('train line '))).toEqual(
    Array.from({ length: lines }, (_v, k) => `train line ${k} at iteration ${k * lineEvery}`),
  );
  expect(new Set(log.lines.map((l) => l.id)).size, 'console line ids are unique').toBe(log.lines.length);
  expect(messages.filter((m, i) => messages.indexOf(m) !== i), 'console lines stored twice').toEqual([]);
  // Besides the loop's lines, the console holds only the markers and the SDK's own warnings, all printed by the script.
  const printed = `${run.stdout}\n${run.stderr}`.split('\n');
  expect(messages.filter((m) => !printed.includes(m)), 'console lines the script did not print').toEqual([]);

  const task = await readTask(api, taskId);
  expect({ status: task.status, last_iteration: task.last_iteration }).toEqual({ status: 'completed', last_iteration: iterations - 1 });
}

describe('reports survive the server going away', () => {
  let fixtures: FixtureDir;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    await buildSdkAndCli();
    fixtures = await makeFixtureDir();
  }, 120_000);
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  afterAll(async () => {
    await fixtures?.cleanup();
  });

  it('kill -9 of the server mid-run, restarted a second later: every point and console line is stored exactly once', async () => {
    server = await startServerProcess();
    const loop = { iterations: 10_500, lines: 300, durationMs: 3000 };
    const run = startFixture(fixtures, 'steady-loop.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, input: loop, timeoutMs: 40_000 });
    const { id: taskId } = await run.marker<{ id: string }>('task');

    await run.marker('tenth-3');
    // Mid-run indeed: the server has some of the points, not all.
    const before = (await server.api.call('events.get_task_events', { task: taskId, event_type: 'training_stats_scalar', batch_size: 1 })).total;
    await server.kill9();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(SERIES.length * loop.iterations);
    await sleep(1000);
    await server.restart();

    const result = await run.done;
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 0, signal: null });
    expect(result.stdout).toContain('@@closed');
    // The SDK noticed the outage (and said so once), then delivered everything without a word more. (The wording of
    // the cause depends on the moment of the kill: refused connection, reset, or a reply cut short.)
    const warnings = result.stderr.split('\n').filter((l) => l.startsWith('tasklane: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^tasklane: could not send reports yet \(will retry\): /);
    await expectDeliveredOnce(server.api, taskId, result, loop);
  });

  it('server down for the whole loop, back before close(): everything is delivered exactly once', async () => {
    server = await startServerProcess();
    const loop = { iterations: 10_500, lines: 300, durationMs: 1000, waitForGo: true, waitForClose: true };
    const run = startFixture(fixtures, 'steady-loop.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, input: loop, timeoutMs: 40_000 });
    const { id: taskId } = await run.marker<{ id: string }>('task');
    await run.marker('ready');
    await server.stop();

    run.send('go');
    await run.marker('reported');
    expect(server.isUp()).toBe(false);
    await server.restart();
    run.send('close');

    const result = await run.done;
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 0, signal: null });
    expect(result.stdout).toContain('@@closed');
    // One warning for the whole outage (its cause reads "cannot reach", or a 503 if a send met the server closing).
    expect(result.stderr.split('\n').filter((l) => l.startsWith('tasklane: '))).toEqual([
      expect.stringMatching(/^tasklane: could not send reports yet \(will retry\): /),
    ]);
    await expectDeliveredOnce(server.api, taskId, result, loop);
  });

  it('server down past the in-memory bound: events spill to files and all arrive once it is back', async () => {
    server = await startServerProcess();
    // 3 × 70,000 = 210,000 scalar events: past the reporter's 200,000 in memory.
    const loop = { iterations: 70_000, lines: 100, durationMs: 500, waitForGo: true, waitForClose: true };
    const run = startFixture(fixtures, 'steady-loop.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, input: loop, timeoutMs: 40_000 });
    const { id: taskId } = await run.marker<{ id: string }>('task');
    await run.marker('ready');
    await server.stop();

    run.send('go');
    await run.marker('reported');
    const spillDir = join(fixtures.stateDir, 'spill', taskId);
    const spilled = await readdir(spillDir);
    expect(spilled.length).toBeGreaterThan(0);
    await server.restart();
    run.send('close');

    const result = await run.done;
    expect({ code: result.code, signal: result.signal }, result.stderr).toEqual({ code: 0, signal: null });
    await expectDeliveredOnce(server.api, taskId, result, loop);
    // The spill files are gone once delivered.
    expect(existsSync(spillDir) ? await readdir(spillDir) : []).toEqual([]);
  });
});
