import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTask, makeTask, tick, uniqueName } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const TIMEOUT_SEC = 1;

describe('non-responsive task watchdog', () => {
  let server: TestServer;
  beforeAll(async () => {
    // A tiny timeout, and an interval long enough that only the rounds the test runs happen.
    server = await startTestServer({ watchdogTimeoutSec: TIMEOUT_SEC, watchdogIntervalSec: 3600 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('aborts running tasks silent for longer than the timeout, and spares the others', async () => {
    const { api } = server;
    const silent = await makeTask(api, { status: 'in_progress' });
    const pinged = await makeTask(api, { status: 'in_progress' });
    const reporting = await makeTask(api, { status: 'in_progress' });
    const progressing = await makeTask(api, { status: 'in_progress' });
    const draft = await makeTask(api);
    const queued = await makeTask(api, { status: 'queued' });

    // Nothing is stale yet.
    expect(await server.server.runWatchdog()).toEqual([]);

    await tick(TIMEOUT_SEC * 1000 + 200);
    await api.call('tasks.ping', { task: pinged });
    await api.call('workers.status_report', { worker: uniqueName('agent'), timestamp: Date.now(), task: reporting });
    await api.call('tasks.set_progress', { task: progressing, progress: 10 });

    const aborted = await server.server.runWatchdog();
    expect(aborted).toEqual([silent]);

    const task = await getTask(api, silent);
    expect(task.status).toBe('stopped');
    expect(task.status_reason).toMatch(/non-responsive/i);
    expect(task.status_reason).toContain(`${TIMEOUT_SEC} s`);
    expect(task.status_message).toBe('Forced stop (non-responsive)');
    expect(task.completed).toMatch(/Z$/);

    for (const id of [pinged, reporting, progressing]) expect((await getTask(api, id)).status).toBe('in_progress');
    expect((await getTask(api, draft)).status).toBe('created');
    expect((await getTask(api, queued)).status).toBe('queued');

    // A second round has nothing left to do.
    expect(await server.server.runWatchdog()).toEqual([]);
  });
});
