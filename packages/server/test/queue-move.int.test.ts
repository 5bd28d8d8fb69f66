import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeTask, queuedIds, uniqueName } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('queues.move_task_*', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  async function queueOf(count: number): Promise<{ queue: string; tasks: string[] }> {
    const { id: queue } = await api.call('queues.create', { name: uniqueName('move') });
    const tasks: string[] = [];
    for (let i = 0; i < count; i++) tasks.push(await makeTask(api, { status: 'queued', queue }));
    return { queue, tasks };
  }

  it('moves a task forward and backward by count, stopping at the ends, and answers its new place', async () => {
    const { queue, tasks } = await queueOf(4);
    const [a, b, c, d] = tasks as [string, string, string, string];
    expect(await api.call('queues.move_task_forward', { queue, task: d })).toEqual({ position: 2 });
    expect(await queuedIds(api, queue)).toEqual([a, b, d, c]);
    expect(await api.call('queues.move_task_forward', { queue, task: d, count: 10 })).toEqual({ position: 0 });
    expect(await queuedIds(api, queue)).toEqual([d, a, b, c]);
    expect(await api.call('queues.move_task_backward', { queue, task: a, count: 2 })).toEqual({ position: 3 });
    expect(await queuedIds(api, queue)).toEqual([d, b, c, a]);
    expect(await api.call('queues.move_task_backward', { queue, task: a })).toEqual({ position: 3 });
    expect(await queuedIds(api, queue)).toEqual([d, b, c, a]);
  });

  it('moves a task to the front and to the back; the status stays queued and the next task is the new head', async () => {
    const { queue, tasks } = await queueOf(3);
    const [a, b, c] = tasks as [string, string, string];
    expect(await api.call('queues.move_task_to_front', { queue, task: c })).toEqual({ position: 0 });
    expect(await queuedIds(api, queue)).toEqual([c, a, b]);
    expect(await api.call('queues.move_task_to_back', { queue, task: c })).toEqual({ position: 2 });
    expect(await queuedIds(api, queue)).toEqual([a, b, c]);
    expect((await getTask(api, c)).status).toBe('queued');
    // Later arrivals still join at the tail.
    const e = await makeTask(api, { status: 'queued', queue });
    await api.call('queues.move_task_to_front', { queue, task: b });
    expect(await queuedIds(api, queue)).toEqual([b, a, c, e]);
    expect((await api.call('queues.get_next_task', { queue })).entry?.task).toBe(b);
  });

  it('keeps the priority order: a task moved ahead of higher priorities takes theirs', async () => {
    const { id: queue } = await api.call('queues.create', { name: uniqueName('prio') });
    const enqueue = async (priority: number) => {
      const id = await makeTask(api);
      await api.call('tasks.enqueue', { task: id, queue, priority });
      return id;
    };
    const high = await enqueue(90);
    const low = await enqueue(0);
    await api.call('queues.move_task_to_front', { queue, task: low });
    const { queue: listed } = await api.call('queues.get_by_id', { queue });
    expect(listed.entries.map((e) => [e.task, e.priority])).toEqual([
      [low, 90],
      [high, 90],
    ]);
    // A later, more urgent task still goes first.
    const urgent = await enqueue(100);
    expect(await queuedIds(api, queue)).toEqual([urgent, low, high]);
  });

  it('stays consistent under concurrent moves', async () => {
    const { queue, tasks } = await queueOf(6);
    await Promise.all(tasks.map((task) => api.call('queues.move_task_to_front', { queue, task })));
    const after = await queuedIds(api, queue);
    expect(after.slice().sort()).toEqual(tasks.slice().sort());
  });

  it('refuses a task that is not in the queue, an unknown queue and a bad count', async () => {
    const { queue } = await queueOf(1);
    const stranger = await makeTask(api);
    const err = await expectError(api.call('queues.move_task_to_front', { queue, task: stranger }), 'INVALID_INPUT');
    expect(err.message).toContain('is not waiting in queue');
    await expectError(api.call('queues.move_task_to_back', { queue: 'a'.repeat(32), task: stranger }), 'QUEUE_NOT_FOUND');
    const bad = await expectError(api.call('queues.move_task_forward', { queue, task: stranger, count: 0 }), 'INVALID_INPUT');
    expect(bad.message).toContain('body.count');
  });
});
