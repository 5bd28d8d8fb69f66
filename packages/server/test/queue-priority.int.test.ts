import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('queue priority', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('hands out higher priorities first, and equal priorities in arrival order', async () => {
    const { id: queue } = await server.api.call('queues.create', { name: 'priority queue' });
    const enqueue = async (name: string, priority?: number) => {
      const { id } = await server.api.call('tasks.create', { name });
      await server.api.call('tasks.enqueue', { task: id, queue, priority });
      return id;
    };
    const low1 = await enqueue('low one');
    const high = await enqueue('high one', 90);
    const low2 = await enqueue('low two', 0);
    const mid = await enqueue('mid one', 50);
    const { queue: listed } = await server.api.call('queues.get_by_id', { queue });
    expect(listed.entries.map((e) => [e.task, e.priority])).toEqual([
      [high, 90],
      [mid, 50],
      [low1, 0],
      [low2, 0],
    ]);
    const order: string[] = [];
    for (;;) {
      const next = await server.api.call('queues.get_next_task', { queue });
      if (!next.entry) break;
      order.push(next.entry.task);
    }
    expect(order).toEqual([high, mid, low1, low2]);
  });

  it('refuses a priority outside 0–100, naming the field', async () => {
    const { id } = await server.api.call('tasks.create', { name: 'bad priority' });
    await expect(server.api.call('tasks.enqueue', { task: id, priority: 101 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'Invalid request: body.priority: expected a number ≤ 100, got 101',
    });
  });
});
