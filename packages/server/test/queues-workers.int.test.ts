import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeTask, queuedIds, tick, uniqueName } from './support/factories.js';
import { rawCall, startTestServer, type TestServer } from './support/test-server.js';

describe('queues and workers over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  let defaultQueue: string;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
    defaultQueue = (await api.call('queues.get_default', {})).id;
  });
  afterAll(async () => {
    await server.close();
  });

  async function makeQueue(name = uniqueName('queue')): Promise<string> {
    return (await api.call('queues.create', { name })).id;
  }

  describe('queues', () => {
    it('has a default queue from the start', async () => {
      const reply = await api.call('queues.get_default', {});
      expect(reply).toEqual({ id: defaultQueue, name: 'default' });
      expect(reply.id).toMatch(/^[0-9a-f]{32}$/);
      const { queue } = await api.call('queues.get_by_id', { queue: defaultQueue });
      expect(queue).toMatchObject({ name: 'default', system_tags: ['default'] });
    });

    it('creates, finds and lists queues; refuses a duplicate name', async () => {
      const name = uniqueName('gpu');
      const { id } = await api.call('queues.create', { name, tags: ['fast'], metadata: { gpus: 2 } });
      const { queue } = await api.call('queues.get_by_id', { queue: id });
      expect(queue).toMatchObject({ id, name, tags: ['fast'], system_tags: [], entries: [], metadata: { gpus: 2 } });

      const err = await expectError(api.call('queues.create', { name }), 'ALREADY_EXISTS');
      expect(err.message).toContain(name);

      const byName = await api.call('queues.get_all', { name: `^${name}$` });
      expect(byName.queues.map((q) => q.id)).toEqual([id]);
      const all = await api.call('queues.get_all', {});
      expect(all.queues.map((q) => q.id)).toEqual(expect.arrayContaining([id, defaultQueue]));
      const projected = await api.call('queues.get_all', { id: [id], only_fields: ['name'] });
      expect(projected.queues).toEqual([{ id, name }]);
    });

    it('refuses an empty name and answers QUEUE_NOT_FOUND for unknown queues', async () => {
      const err = await expectError(api.call('queues.create', { name: '  ' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
      await expectError(api.call('queues.get_by_id', { queue: 'a'.repeat(32) }), 'QUEUE_NOT_FOUND');
      const byName = await expectError(api.call('queues.get_by_id', { queue: 'default' }), 'QUEUE_NOT_FOUND');
      expect(byName.message).toContain(defaultQueue);
    });

    it('peek_task, get_num_entries, add_task and remove_task', async () => {
      const queue = await makeQueue();
      expect(await api.call('queues.peek_task', { queue })).toEqual({ task: null });
      expect(await api.call('queues.get_num_entries', { queue })).toEqual({ num: 0 });

      const first = await makeTask(api);
      const second = await makeTask(api);
      expect(await api.call('queues.add_task', { queue, task: first })).toEqual({ added: 1 });
      await api.call('queues.add_task', { queue, task: second });
      expect(await api.call('queues.peek_task', { queue })).toEqual({ task: first });
      expect(await api.call('queues.get_num_entries', { queue })).toEqual({ num: 2 });
      // add_task does not change the status (ClearML's low-level queue call).
      expect((await getTask(api, first)).status).toBe('created');

      expect(await api.call('queues.remove_task', { queue, task: first })).toEqual({ removed: 1 });
      expect(await api.call('queues.remove_task', { queue, task: first })).toEqual({ removed: 0 });
      expect(await api.call('queues.peek_task', { queue })).toEqual({ task: second });
      expect(await api.call('queues.get_num_entries', { queue })).toEqual({ num: 1 });
      await expectError(api.call('queues.add_task', { queue, task: 'b'.repeat(32) }), 'TASK_NOT_FOUND');
    });

    it('get_by_id and get_all limit entries with max_task_entries', async () => {
      const queue = await makeQueue();
      for (let i = 0; i < 3; i++) await makeTask(api, { status: 'queued', queue });
      const limited = await api.call('queues.get_by_id', { queue, max_task_entries: 1 });
      expect(limited.queue.entries).toHaveLength(1);
      const listed = await api.call('queues.get_all', { id: [queue], max_task_entries: 2 });
      expect(listed.queues[0]!.entries).toHaveLength(2);
    });

    it('delete refuses a non-empty queue unless forced; force sends its tasks back to draft', async () => {
      const empty = await makeQueue();
      expect(await api.call('queues.delete', { queue: empty })).toEqual({ deleted: 1 });
      await expectError(api.call('queues.get_by_id', { queue: empty }), 'QUEUE_NOT_FOUND');

      const queue = await makeQueue();
      const a = await makeTask(api, { status: 'queued', queue });
      const b = await makeTask(api, { status: 'queued', queue });
      const err = await expectError(api.call('queues.delete', { queue }), 'QUEUE_NOT_EMPTY');
      expect(err.message).toContain('2 task(s)');
      expect(await queuedIds(api, queue)).toEqual([a, b]);

      expect(await api.call('queues.delete', { queue, force: true })).toEqual({ deleted: 1 });
      await expectError(api.call('queues.get_by_id', { queue }), 'QUEUE_NOT_FOUND');
      for (const id of [a, b]) expect((await getTask(api, id)).status).toBe('created');
      // The tasks can be enqueued again elsewhere.
      await api.call('tasks.enqueue', { task: a });
      expect((await getTask(api, a)).status).toBe('queued');
      await api.call('tasks.dequeue', { task: a });
    });
  });

  describe('enqueue and dequeue', () => {
    it('enqueues to the default queue, removing the development tag and recording execution.queue', async () => {
      const id = await makeTask(api, { system_tags: ['development', 'keep'] });
      const reply = await api.call('tasks.enqueue', { task: id });
      expect(reply).toMatchObject({ updated: 1, queued: 1, queue: defaultQueue });
      const task = await getTask(api, id);
      expect(task).toMatchObject({ status: 'queued', system_tags: ['keep'], execution: { queue: defaultQueue } });
      expect(await queuedIds(api, defaultQueue)).toContain(id);
      await api.call('tasks.dequeue', { task: id });
    });

    it('enqueues by queue id', async () => {
      const queue = await makeQueue();
      const id = await makeTask(api);
      expect((await api.call('tasks.enqueue', { task: id, queue })).queue).toBe(queue);
      expect(await queuedIds(api, queue)).toEqual([id]);
      expect((await getTask(api, id)).execution.queue).toBe(queue);
    });

    it('enqueues by queue_name, creating the queue when missing', async () => {
      const name = uniqueName('auto');
      const id = await makeTask(api);
      const reply = await api.call('tasks.enqueue', { task: id, queue_name: name });
      const { queues } = await api.call('queues.get_all', { name: `^${name}$` });
      expect(queues).toHaveLength(1);
      expect(queues[0]!.id).toBe(reply.queue);
      expect(queues[0]!.entries!.map((e) => e.task)).toEqual([id]);

      // The same name again uses the same queue.
      const other = await makeTask(api);
      expect((await api.call('tasks.enqueue', { task: other, queue_name: name })).queue).toBe(reply.queue);
    });

    it('refuses an unknown queue id, leaving the task a draft', async () => {
      const id = await makeTask(api);
      await expectError(api.call('tasks.enqueue', { task: id, queue: 'c'.repeat(32) }), 'QUEUE_NOT_FOUND');
      expect((await getTask(api, id)).status).toBe('created');
    });

    it('enqueue into another queue moves the task there', async () => {
      const [q1, q2] = [await makeQueue(), await makeQueue()];
      const id = await makeTask(api, { status: 'queued', queue: q1 });
      await api.call('tasks.enqueue', { task: id, queue: q2 });
      expect(await queuedIds(api, q1)).toEqual([]);
      expect(await queuedIds(api, q2)).toEqual([id]);
    });

    it('dequeue takes the task out and returns it to draft', async () => {
      const queue = await makeQueue();
      const id = await makeTask(api, { status: 'queued', queue });
      const reply = await api.call('tasks.dequeue', { task: id });
      expect(reply).toMatchObject({ updated: 1, dequeued: 1 });
      expect((await getTask(api, id)).status).toBe('created');
      expect(await queuedIds(api, queue)).toEqual([]);
      const err = await expectError(api.call('tasks.dequeue', { task: id }), 'INVALID_TRANSITION');
      expect(err.message).toContain('"created"');
    });

    it('dequeue after enqueueing twice still returns the task to draft', async () => {
      const [q1, q2] = [await makeQueue(), await makeQueue()];
      const id = await makeTask(api, { status: 'queued', queue: q1 });
      await api.call('tasks.enqueue', { task: id, queue: q2 });
      await api.call('tasks.dequeue', { task: id });
      expect(await queuedIds(api, q2)).toEqual([]);
      // A task out of every queue must not stay "queued", where no agent would ever pick it up.
      expect((await getTask(api, id)).status).toBe('created');
    });

    it('dequeue with new_status sets that status', async () => {
      const queue = await makeQueue();
      const id = await makeTask(api, { status: 'queued', queue });
      await api.call('tasks.dequeue', { task: id, new_status: 'stopped' });
      expect((await getTask(api, id)).status).toBe('stopped');
      expect(await queuedIds(api, queue)).toEqual([]);
    });

    it('a refused enqueue writes nothing: the queue named by queue_name is not created', async () => {
      const id = await makeTask(api);
      await api.call('tasks.archive', { tasks: [id] });
      const name = uniqueName('never');
      const err = await expectError(api.call('tasks.enqueue', { task: id, queue_name: name }), 'INVALID_TRANSITION');
      expect(err.message).toContain('archived');
      expect((await api.call('queues.get_all', { name: `^${name}$` })).queues).toEqual([]);
      expect((await getTask(api, id)).status).toBe('created');
    });

    it('dequeue of a failed task that was re-enqueued returns it to failed', async () => {
      const queue = await makeQueue();
      const id = await makeTask(api, { status: 'failed' });
      await api.call('tasks.enqueue', { task: id, queue });
      await api.call('tasks.dequeue', { task: id });
      expect((await getTask(api, id)).status).toBe('failed');
    });
  });

  describe('get_next_task', () => {
    it('pops in FIFO order, and answers {} when empty', async () => {
      const queue = await makeQueue();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await makeTask(api, { status: 'queued', queue }));
      const popped = [];
      for (let i = 0; i < 3; i++) {
        const reply = await api.call('queues.get_next_task', { queue });
        expect(reply.entry!.added).toMatch(/Z$/);
        popped.push(reply.entry!.task);
      }
      expect(popped).toEqual(ids);
      expect(await api.call('queues.get_next_task', { queue })).toEqual({});
      // Popping does not change the status; the agent marks the task started.
      expect((await getTask(api, ids[0]!)).status).toBe('queued');
    });

    it('answers task_info when asked, and pops only the named task when it is at the head', async () => {
      const queue = await makeQueue();
      const first = await makeTask(api, { status: 'queued', queue });
      const second = await makeTask(api, { status: 'queued', queue });
      expect(await api.call('queues.get_next_task', { queue, task: second })).toEqual({});
      expect(await queuedIds(api, queue)).toEqual([first, second]);
      const reply = await api.call('queues.get_next_task', { queue, task: first, get_task_info: true });
      expect(reply.entry!.task).toBe(first);
      expect(reply.task_info).toBeDefined();
      expect(await queuedIds(api, queue)).toEqual([second]);
    });

    it('hands one queued task to exactly one of two concurrent callers', async () => {
      const queue = await makeQueue();
      // A second client, so the two requests do not share anything on the client side.
      const other = new ApiClient({ baseUrl: server.url, validateResponses: true });
      for (let round = 0; round < 20; round++) {
        const id = await makeTask(api, { status: 'queued', queue });
        const replies = await Promise.all([
          api.call('queues.get_next_task', { queue }),
          other.call('queues.get_next_task', { queue }),
        ]);
        const winners = replies.filter((r) => r.entry !== undefined);
        expect(winners, `round ${round}`).toHaveLength(1);
        expect(winners[0]!.entry!.task).toBe(id);
        expect(replies.filter((r) => Object.keys(r).length === 0)).toHaveLength(1);
        expect(await api.call('queues.get_num_entries', { queue })).toEqual({ num: 0 });
      }
    });

    it('hands each of 10 queued tasks exactly once to 50 concurrent callers', async () => {
      const queue = await makeQueue();
      const ids = [];
      for (let i = 0; i < 10; i++) ids.push(await makeTask(api, { status: 'queued', queue }));
      const replies = await Promise.all(Array.from({ length: 50 }, () => api.call('queues.get_next_task', { queue })));
      const handedOut = replies.flatMap((r) => (r.entry ? [r.entry.task] : []));
      expect(handedOut).toHaveLength(10);
      expect([...handedOut].sort()).toEqual([...ids].sort());
      expect(replies.filter((r) => !r.entry)).toHaveLength(40);
      expect(await api.call('queues.get_num_entries', { queue })).toEqual({ num: 0 });
    });
  });

  describe('workers', () => {
    it('register, get_all, unregister', async () => {
      const worker = uniqueName('agent');
      const queue = await makeQueue();
      expect(await api.call('workers.register', { worker, queues: [queue], tags: ['gpu'] })).toEqual({});
      let { workers } = await api.call('workers.get_all', {});
      const found = workers.find((w) => w.id === worker);
      expect(found).toMatchObject({ id: worker, queues: [queue], tags: ['gpu'], task: null });
      expect(found!.register_time).toMatch(/Z$/);

      expect(await api.call('workers.unregister', { worker })).toEqual({});
      ({ workers } = await api.call('workers.get_all', {}));
      expect(workers.map((w) => w.id)).not.toContain(worker);
      await expectError(api.call('workers.unregister', { worker }), 'WORKER_NOT_FOUND');
    });

    it('status_report registers an unknown worker and records the task it runs', async () => {
      const worker = uniqueName('agent');
      const { id: project } = await api.call('projects.create', { name: uniqueName('wproj') });
      const id = await makeTask(api, { status: 'in_progress', project });
      const before = await getTask(api, id);
      await tick();
      const reply = await api.call('workers.status_report', {
        worker,
        timestamp: Date.now(),
        task: id,
        machine_stats: { cpu_usage: [12.5], memory_used: 1024 },
      });
      expect(reply).toEqual({});

      const task = await getTask(api, id);
      expect(task.last_worker).toBe(worker);
      expect(task.last_worker_report).toMatch(/Z$/);
      expect(task.last_update > before.last_update).toBe(true);

      const { workers } = await api.call('workers.get_all', {});
      const found = workers.find((w) => w.id === worker);
      expect(found).toMatchObject({
        task: { id, name: before.name },
        project: { id: project },
        machine_stats: { cpu_usage: [12.5], memory_used: 1024 },
      });
      expect(found!.last_report_time).toMatch(/Z$/);
    });

    it('status_report for an unknown task is refused with TASK_NOT_FOUND', async () => {
      const worker = uniqueName('agent');
      await expectError(
        api.call('workers.status_report', { worker, timestamp: Date.now(), task: 'd'.repeat(32) }),
        'TASK_NOT_FOUND',
      );
    });

    it('takes register and status_report with null where ClearML\'s agent has nothing to say, as ClearML\'s server does', async () => {
      const worker = uniqueName('clearml-agent');
      const post = (path: string, body: unknown) => rawCall(server.url, path, { body: JSON.stringify(body) });
      // The bodies clearml-agent 3.0.3 sends from an idle daemon (recorded from the real agent).
      expect((await post('/workers.register', { worker, timeout: 600, queues: null, tags: null })).status).toBe(200);
      const idle = await post('/workers.status_report', { worker, timestamp: Date.now(), task: null, queue: null, queues: null, machine_stats: null, tags: null });
      expect({ status: idle.status, msg: idle.json.meta.result_msg }).toEqual({ status: 200, msg: 'OK' });
      const id = await makeTask(api, { status: 'in_progress' });
      const busy = await post('/workers.status_report', { worker, timestamp: Date.now(), task: id, machine_stats: { cpu_usage: [3] }, tags: null });
      expect(busy.status).toBe(200);
      const found = (await api.call('workers.get_all', {})).workers.find((w) => w.id === worker);
      expect(found).toMatchObject({ task: { id }, machine_stats: { cpu_usage: [3] }, tags: [], queues: [] });
      expect((await getTask(api, id)).last_worker).toBe(worker);
    });

    it('status_report refuses a missing timestamp, naming the field', async () => {
      const err = await expectError(api.call('workers.status_report', { worker: 'w-1' } as never), 'INVALID_INPUT');
      expect(err.message).toContain('body.timestamp');
    });
  });
});
