// The project, queue and worker repositories (storage/projects.ts, storage/queues.ts), written once for both stores,
// through one test body on SQLite and on PostgreSQL (the run's throwaway cluster, test/support/postgres.ts): the
// queue's hand-out order, popHead with a named task, reorder, cascades, and one entry to exactly one of many callers
// on two stores over one database (as two server processes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type QueueEntry } from '@tasklane/protocol';
import type { Store } from '@tasklane/server';
import { openStore } from '../src/storage/open-store.js';
import type { ProjectRecord, QueueRecord, Repositories, WorkerRecord } from '../src/storage/store.js';
import { storesUnderTest } from './support/stores-under-test.js';


const STORES = storesUnderTest('projects-queues-workers-store.int.test.ts', 'queues');

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** An ISO time `seconds` after a fixed start. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function makeQueue(name: string, created = at(0)): QueueRecord {
  return { id: newId(), name, display_name: null, created, last_update: created, tags: [], system_tags: [], metadata: { owner: name } };
}

function makeProject(name: string, parent: string | null = null): ProjectRecord {
  return {
    id: newId(),
    name,
    basename: name.split('/').at(-1)!,
    parent,
    description: `about ${name}`,
    tags: ['t'],
    system_tags: [],
    default_output_destination: null,
    created: at(0),
    last_update: at(0),
  };
}

function makeWorker(id: string, lastActivity: string): WorkerRecord {
  return {
    id,
    register_time: at(0),
    last_activity_time: lastActivity,
    queues: ['default'],
    tags: [],
    task_id: null,
    timeout_sec: 600,
  };
}

describe.each(STORES)('projects, queues and workers on $name', ({ isAvailable, hasConcurrentStores, newDatabase }) => {
  let url: string;
  let store: Store;
  let cleanup: () => Promise<void>;
  const extraStores: Store[] = [];
  beforeAll(async () => {
    if (!isAvailable) return;
    ({ url, cleanup } = await newDatabase());
    store = await openStore(url);
  });
  afterAll(async () => {
    for (const extra of extraStores) await extra.close();
    await store?.close();
    await cleanup?.();
  });
  const write = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work);
  const read = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work, { readOnly: true });
  /** A new queue holding these tasks, pushed in this order with these priorities. */
  const queueWith = async (tasks: [task: string, priority: number][]) => {
    const queue = makeQueue(`q-${newId()}`);
    await write(async (repos) => {
      await repos.queues.insert(queue);
      for (const [i, [task, priority]] of tasks.entries()) await repos.queues.push(queue.id, task, at(i), priority);
    });
    return queue.id;
  };
  const waiting = async (queueId: string) => (await read((repos) => repos.queues.entries(queueId))).map((e) => e.task);

  describe('queues', () => {
    it.skipIf(!isAvailable)('stores queues as documents, finds them by id and name, lists them by creation then name', async () => {
      const later = makeQueue(`list-b-${newId()}`, at(20));
      const earlyB = makeQueue(`list-B-${newId()}`, at(10));
      const earlyA = makeQueue(`list-A-${newId()}`, at(10));
      for (const queue of [later, earlyB, earlyA]) await write((repos) => repos.queues.insert(queue));
      expect(await read((repos) => repos.queues.get(later.id))).toEqual(later);
      expect(await read((repos) => repos.queues.getByName(earlyA.name))).toEqual(earlyA);
      expect(await read((repos) => repos.queues.getByName(earlyA.name.toLowerCase()))).toBeUndefined();
      expect(await read((repos) => repos.queues.get('no-such-queue'))).toBeUndefined();
      const listed = (await read((repos) => repos.queues.list())).map((q) => q.id).filter((id) => [later.id, earlyA.id, earlyB.id].includes(id));
      expect(listed).toEqual([earlyA.id, earlyB.id, later.id]);
    });

    it.skipIf(!isAvailable)('refuses a second queue of the same name as ALREADY_EXISTS, writing nothing of it', async () => {
      const first = makeQueue(`dup-${newId()}`);
      await write((repos) => repos.queues.insert(first));
      await expect(write((repos) => repos.queues.insert({ ...makeQueue(first.name), created: at(5) }))).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
        message: `Queue "${first.name}" already exists; pick another name or use the existing one.`,
      });
      expect((await read((repos) => repos.queues.list())).filter((q) => q.name === first.name)).toEqual([first]);
    });

    it.skipIf(!isAvailable)('hands out the highest priority first, equal priorities in arrival order, then nothing', async () => {
      const queue = await queueWith([
        ['low-1', 0],
        ['high-1', 50],
        ['low-2', 0],
        ['high-2', 50],
        ['top', 100],
      ]);
      expect(await read((repos) => repos.queues.entries(queue))).toEqual([
        { task: 'top', added: at(4), priority: 100 },
        { task: 'high-1', added: at(1), priority: 50 },
        { task: 'high-2', added: at(3), priority: 50 },
        { task: 'low-1', added: at(0), priority: 0 },
        { task: 'low-2', added: at(2), priority: 0 },
      ]);
      const popped: (QueueEntry | undefined)[] = [];
      for (let i = 0; i < 6; i++) popped.push(await write((repos) => repos.queues.popHead(queue)));
      expect(popped.map((entry) => entry?.task)).toEqual(['top', 'high-1', 'high-2', 'low-1', 'low-2', undefined]);
      expect(popped[0]).toEqual({ task: 'top', added: at(4), priority: 100 });
    });

    it.skipIf(!isAvailable)('popHead with a task pops it only when it is the head, and leaves the queue as it was otherwise', async () => {
      const queue = await queueWith([
        ['first', 0],
        ['second', 0],
        ['urgent', 10],
      ]);
      // The head is the task of the highest priority, not the oldest one.
      expect(await write((repos) => repos.queues.popHead(queue, 'first'))).toBeUndefined();
      expect(await write((repos) => repos.queues.popHead(queue, 'not-queued'))).toBeUndefined();
      expect(await waiting(queue)).toEqual(['urgent', 'first', 'second']);
      expect(await write((repos) => repos.queues.popHead(queue, 'urgent'))).toEqual({ task: 'urgent', added: at(2), priority: 10 });
      expect(await write((repos) => repos.queues.popHead(queue, 'second'))).toBeUndefined();
      expect(await write((repos) => repos.queues.popHead(queue, 'first'))).toMatchObject({ task: 'first' });
      expect(await waiting(queue)).toEqual(['second']);
      // An empty queue, and a queue that does not exist, have no head.
      expect(await write((repos) => repos.queues.popHead(queue))).toMatchObject({ task: 'second' });
      expect(await write((repos) => repos.queues.popHead(queue, 'second'))).toBeUndefined();
      expect(await write((repos) => repos.queues.popHead('no-such-queue'))).toBeUndefined();
    });

    it.skipIf(!isAvailable)('reorder rewrites the waiting order with the given priorities; later arrivals go behind equals', async () => {
      const queue = await queueWith([
        ['a', 5],
        ['b', 5],
        ['c', 0],
      ]);
      const entries = await read((repos) => repos.queues.entries(queue));
      // c moves to the front, taking the priority of the entry it now precedes.
      const reordered = [{ ...entries[2]!, priority: 5 }, entries[0]!, entries[1]!];
      await write((repos) => repos.queues.reorder(queue, reordered));
      expect(await read((repos) => repos.queues.entries(queue))).toEqual(reordered);
      await write((repos) => repos.queues.push(queue, 'd', at(9), 5));
      expect(await waiting(queue)).toEqual(['c', 'a', 'b', 'd']);
      // An entry without a priority takes 0.
      await write((repos) => repos.queues.reorder(queue, [{ task: 'd', added: at(9) }, entries[0]!]));
      expect(await read((repos) => repos.queues.entries(queue))).toEqual([entries[0]!, { task: 'd', added: at(9), priority: 0 }]);
    });

    it.skipIf(!isAvailable)('reorder keeps the order of a long queue (written in several inserts)', async () => {
      const tasks = Array.from({ length: 450 }, (_, i) => `long-${String(i).padStart(3, '0')}`);
      const queue = await queueWith(tasks.map((task) => [task, 0]));
      const entries = await read((repos) => repos.queues.entries(queue));
      const reversed = [...entries].reverse();
      await write((repos) => repos.queues.reorder(queue, reversed));
      expect(await read((repos) => repos.queues.entries(queue))).toEqual(reversed);
      expect(await write((repos) => repos.queues.popHead(queue))).toMatchObject({ task: 'long-449' });
      await write((repos) => repos.queues.reorder(queue, []));
      expect(await waiting(queue)).toEqual([]);
    });

    it.skipIf(!isAvailable)('removes a task from one queue or from all, and deleting a queue deletes its entries', async () => {
      const one = await queueWith([
        ['shared', 0],
        ['only-one', 0],
        ['shared', 0],
      ]);
      const two = await queueWith([['shared', 0]]);
      expect((await read((repos) => repos.queues.queuesOf('shared'))).sort()).toEqual([one, two].sort());
      expect(await write((repos) => repos.queues.remove('shared', two))).toBe(1);
      expect(await read((repos) => repos.queues.queuesOf('shared'))).toEqual([one]);
      await write((repos) => repos.queues.push(two, 'shared', at(7)));
      expect(await write((repos) => repos.queues.remove('shared'))).toBe(3);
      expect(await write((repos) => repos.queues.remove('shared'))).toBe(0);
      expect(await waiting(one)).toEqual(['only-one']);

      expect(await write((repos) => repos.queues.delete(one))).toBe(1);
      expect(await write((repos) => repos.queues.delete(one))).toBe(0);
      expect(await read((repos) => repos.queues.get(one))).toBeUndefined();
      expect(await read((repos) => repos.queues.queuesOf('only-one'))).toEqual([]);
    });

    it.skipIf(!isAvailable)(`hands each entry to exactly one of many callers${hasConcurrentStores ? ' on two stores over one database' : ''}`, async () => {
      const tasks = Array.from({ length: 40 }, (_, i) => `race-${i}`);
      const queue = await queueWith(tasks.map((task, i) => [task, i % 3]));
      const other = hasConcurrentStores ? await openStore(url) : store;
      if (other !== store) extraStores.push(other);
      const taken: string[] = [];
      const caller = async (on: Store) => {
        for (;;) {
          const entry = await on.transaction((repos) => repos.queues.popHead(queue));
          if (!entry) return;
          taken.push(entry.task);
        }
      };
      await Promise.all(Array.from({ length: 16 }, (_, i) => caller(i % 2 === 0 ? store : other)));
      expect([...taken].sort()).toEqual([...tasks].sort());
      expect(await waiting(queue)).toEqual([]);
    });
  });

  describe('workers', () => {
    it.skipIf(!isAvailable)('upserts workers as documents, lists them by id, deletes them', async () => {
      const b = makeWorker(`worker-b-${newId()}`, at(1));
      const a = makeWorker(`worker-a-${newId()}`, at(2));
      await write((repos) => repos.workers.upsert(b));
      await write((repos) => repos.workers.upsert(a));
      const busy = { ...b, last_activity_time: at(30), task_id: 'some-task', queues: ['gpu'] };
      await write((repos) => repos.workers.upsert(busy));
      expect(await read((repos) => repos.workers.get(b.id))).toEqual(busy);
      const listed = (await read((repos) => repos.workers.list())).filter((w) => w.id === a.id || w.id === b.id);
      expect(listed).toEqual([a, busy]);
      expect(await write((repos) => repos.workers.delete(b.id))).toBe(1);
      expect(await write((repos) => repos.workers.delete(b.id))).toBe(0);
      expect(await read((repos) => repos.workers.get(b.id))).toBeUndefined();
    });
  });

  describe('projects', () => {
    it.skipIf(!isAvailable)('stores projects as documents, finds them by id and exact name, lists them by name as bytes', async () => {
      const tag = newId();
      const lower = makeProject(`p-${tag}-b`);
      const upper = makeProject(`p-${tag}-B`);
      const child = makeProject(`p-${tag}-B/child`, upper.id);
      for (const project of [lower, upper, child]) await write((repos) => repos.projects.insert(project));
      expect(await read((repos) => repos.projects.get(child.id))).toEqual(child);
      expect(await read((repos) => repos.projects.getByName(upper.name))).toEqual(upper);
      expect(await read((repos) => repos.projects.getByName(`p-${tag}-c`))).toBeUndefined();
      const listed = (await read((repos) => repos.projects.list())).filter((p) => p.name.startsWith(`p-${tag}`));
      // Upper case before lower case, and "B" before "B/child": the same on both stores.
      expect(listed.map((p) => p.name)).toEqual([upper.name, child.name, lower.name]);

      const renamed = { ...lower, name: `p-${tag}-a`, basename: `p-${tag}-a`, description: 'renamed', last_update: at(60) };
      await write((repos) => repos.projects.update(renamed));
      expect(await read((repos) => repos.projects.get(lower.id))).toEqual(renamed);
      expect(await read((repos) => repos.projects.getByName(lower.name))).toBeUndefined();
    });

    it.skipIf(!isAvailable)('refuses a second project of the same name as ALREADY_EXISTS', async () => {
      const first = makeProject(`dup-${newId()}`);
      await write((repos) => repos.projects.insert(first));
      await expect(write((repos) => repos.projects.insert(makeProject(first.name)))).rejects.toMatchObject({
        code: 'ALREADY_EXISTS',
        message: `Project "${first.name}" already exists; pick another name or use the existing one.`,
      });
      expect(await read((repos) => repos.projects.getByName(first.name))).toEqual(first);
    });

    it.skipIf(!isAvailable)('deletes a parent together with its children in one call, and a long list of ids', async () => {
      const tag = newId();
      const parent = makeProject(`del-${tag}`);
      const child = makeProject(`del-${tag}/child`, parent.id);
      const grandchild = makeProject(`del-${tag}/child/grandchild`, child.id);
      const kept = makeProject(`del-${tag}-kept`);
      for (const project of [parent, child, grandchild, kept]) await write((repos) => repos.projects.insert(project));
      expect(await write((repos) => repos.projects.delete([]))).toBe(0);
      expect(await write((repos) => repos.projects.delete([parent.id, grandchild.id, child.id, 'not-a-project']))).toBe(3);
      expect(await read((repos) => repos.projects.get(child.id))).toBeUndefined();
      expect(await read((repos) => repos.projects.get(kept.id))).toEqual(kept);

      // Past 500 ids SQLite binds the list as one JSON array.
      const many = Array.from({ length: 600 }, (_, i) => makeProject(`many-${tag}-${i}`));
      await write(async (repos) => {
        for (const project of many) await repos.projects.insert(project);
      });
      expect(await write((repos) => repos.projects.delete([...many.map((p) => p.id), kept.id]))).toBe(601);
      expect((await read((repos) => repos.projects.list())).filter((p) => p.name.includes(tag))).toEqual([]);
    });
  });
});
