// How a run ends, as examples/fail-and-exit.mjs shows it: the final status and reason on the server, and every
// console line delivered before the process is gone (most of these runs end before the first timed flush).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'vitest';
import { readLog, readTask } from './support/read-back.js';
import { taskIdOf } from './support/run-script.js';
import { expectExitCode, useScriptHarness } from './support/script-harness.js';

const harness = useScriptHarness();
const api = () => harness.server.api;
const SCRIPT = 'examples/fail-and-exit.mjs';

describe.concurrent('final status of examples/fail-and-exit.mjs', () => {
  it('ok (the script just ends): completed', async ({ expect }) => {
    const result = await harness.run(SCRIPT, ['ok']);
    expectExitCode(result, 0);
    const task = await readTask(api(), taskIdOf(result));
    expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
    expect(task.completed).toBeTruthy();
    expect(await readLog(api(), task.id)).toEqual(['info: mode: ok']);
  });

  it('exit0 (process.exit(0)): completed', async ({ expect }) => {
    const result = await harness.run(SCRIPT, ['exit0']);
    expectExitCode(result, 0);
    const task = await readTask(api(), taskIdOf(result));
    expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
    expect(await readLog(api(), task.id)).toEqual(['info: mode: exit0']);
  });

  it('throw: failed, the error in status_reason and its stack in the console', async ({ expect }) => {
    const result = await harness.run(SCRIPT, ['throw']);
    expectExitCode(result, 1);
    expect(result.stderr).toContain('Error: the model diverged'); // Node's own report is still printed
    const task = await readTask(api(), taskIdOf(result));
    expect([task.status, task.status_reason]).toEqual(['failed', 'Error: the model diverged']);
    const log = await readLog(api(), task.id);
    expect(log[0]).toBe('info: mode: throw');
    expect(log).toHaveLength(2);
    expect(log[1]).toMatch(/^error: Error: the model diverged\n {4}at .*fail-and-exit\.mjs:\d+:\d+/);
  });

  it('reject (an unhandled rejection): failed, the error in status_reason and the console', async ({ expect }) => {
    const result = await harness.run(SCRIPT, ['reject']);
    expectExitCode(result, 1);
    const task = await readTask(api(), taskIdOf(result));
    expect(task.status).toBe('failed');
    expect(task.status_reason).toContain('a promise nobody awaited failed');
    const log = await readLog(api(), task.id);
    expect(log[0]).toBe('info: mode: reject');
    expect(log.slice(1).join('\n')).toMatch(/^error: Error: a promise nobody awaited failed\n {4}at .*fail-and-exit\.mjs:\d+/m);
  });

  it('exit1 (process.exit(1)): failed with reason "exit code 1"', async ({ expect }) => {
    const result = await harness.run(SCRIPT, ['exit1']);
    expectExitCode(result, 1);
    const task = await readTask(api(), taskIdOf(result));
    expect([task.status, task.status_reason]).toEqual(['failed', 'exit code 1']);
    expect(await readLog(api(), task.id)).toEqual(['info: mode: exit1']);
  });

  it('process.exitCode = 3 and a natural end: failed with reason "exit code 3"', async ({ expect }) => {
    const result = await harness.run('fixtures/exit-code.mjs', ['3']);
    expectExitCode(result, 3);
    const task = await readTask(api(), taskIdOf(result));
    expect([task.status, task.status_reason]).toEqual(['failed', 'exit code 3']);
    expect(await readLog(api(), task.id)).toEqual(['info: about to end with an exit code']);
  });

  for (const how of ['end', 'exit0'] as const) {
    it(`an uncaught exception the script handles itself (then ${how}): completed`, async ({ expect }) => {
      const result = await harness.run('fixtures/handled-exception.mjs', [how]);
      expectExitCode(result, 0);
      const task = await readTask(api(), taskIdOf(result));
      expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
      expect((await readLog(api(), task.id)).slice(0, 2)).toEqual(['info: recovered from: a transient glitch', 'info: training went on']);
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} while waiting: stopped (aborted), and the process still ends by that signal`, async ({ expect }) => {
      const running = await harness.start(SCRIPT, ['wait']);
      await running.waitForLine(/^waiting; press Ctrl\+C$/);
      running.child.kill(signal);
      const result = await running.done;
      // Killed by the signal again after the SDK's cleanup (the shell shows 130 for SIGINT, 143 for SIGTERM).
      const byCode = signal === 'SIGINT' ? 130 : 143;
      expect(result.signal === signal || result.code === byCode, `code ${result.code}, signal ${result.signal}\n${result.stderr}`).toBe(true);
      const task = await readTask(api(), taskIdOf(result));
      expect([task.status, task.status_reason]).toEqual(['stopped', `aborted by ${signal}`]);
      expect(await readLog(api(), task.id)).toEqual(['info: mode: wait', 'info: waiting; press Ctrl+C']);
    });
  }
});

describe('Ctrl+C while the server answers slowly', () => {
  /**
   * A proxy in front of the test server that holds `tasks.stopped` for 7 s and drops it if the caller is gone by
   * then, as a slow server would never see a request whose sender died.
   */
  async function startSlowProxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const forward = () => {
          if (res.destroyed || req.socket.destroyed) return;
          const body = Buffer.concat(chunks);
          void fetch(`${target}${req.url}`, { method: req.method, headers: { 'content-type': req.headers['content-type'] ?? 'application/json' }, body })
            .then(async (reply) => {
              res.writeHead(reply.status, { 'content-type': reply.headers.get('content-type') ?? 'application/json' });
              res.end(Buffer.from(await reply.arrayBuffer()));
            })
            .catch(() => res.destroy());
        };
        if (req.url?.includes('tasks.stopped')) setTimeout(forward, 7000);
        else forward();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it('still records the task stopped when closing takes longer than the 5 s grace (the rest goes synchronously)', async ({ expect }) => {
    const proxy = await startSlowProxy(harness.server.url);
    try {
      const running = await harness.start(SCRIPT, ['wait'], { env: { TASKLANE_API_HOST: proxy.url } });
      await running.waitForLine(/^waiting; press Ctrl\+C$/);
      running.child.kill('SIGINT');
      const result = await running.done;
      expect(result.signal === 'SIGINT' || result.code === 130, `code ${result.code}, signal ${result.signal}\n${result.stderr}`).toBe(true);
      const task = await readTask(api(), taskIdOf(result));
      expect([task.status, task.status_reason]).toEqual(['stopped', 'aborted by SIGINT']);
      expect(await readLog(api(), task.id)).toEqual(['info: mode: wait', 'info: waiting; press Ctrl+C']);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
