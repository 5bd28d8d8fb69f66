// The store under several server processes (issue 15): a queue's entries handed out once however many poll through
// however many stores, a re-run unit of work that pops again rather than twice, concurrent status changes of different
// tasks that all get through, and the claim that lets one process run a watchdog round while the others skip it.
// Two stores on one database stand for two server processes (PostgreSQL only: see StoreUnderTest.hasConcurrentStores).
import { afterEach, describe, expect, it } from 'vitest';
import { ENDPOINTS, type ParsedRequestOf } from '@tasklane/protocol';
import type { Store } from '@tasklane/server';
import { openStore } from '../src/storage/open-store.js';
import type { ServiceContext } from '../src/services/context.js';
import { ensureDefaultQueue, getDefaultQueue, nextTask } from '../src/services/queues.js';
import { markStarted } from '../src/services/task-status.js';
import { createTask } from '../src/services/tasks.js';
import { storesUnderTest } from './support/stores-under-test.js';

const base: Omit<ServiceContext, 'repos'> = {
  now: () => new Date().toISOString(),
  settings: { workerTimeoutSec: 600, tokenSecret: 'queue-handout-test', debugSampleHistory: 100, files: undefined as never },
};

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two stores on one fresh database, as two server processes have (one on SQLite, whose file takes one process here). */
async function openStores(storeUnderTest: (typeof STORES)[number], count: number): Promise<Store[]> {
  const { url, cleanup } = await storeUnderTest.newDatabase();
  const stores: Store[] = [];
  cleanups.push(cleanup, async () => {
    for (const store of stores) await store.close();
  });
  for (let n = 0; n < (storeUnderTest.hasConcurrentStores ? count : 1); n += 1) stores.push(await openStore(url, { maxConnections: 10 }));
  return stores;
}

/** The default queue, made, with `count` entries ("task-0" first). */
async function queueWithEntries(store: Store, count: number): Promise<string> {
  return store.transaction(async (repos) => {
    const ctx = { ...base, repos };
    await ensureDefaultQueue(ctx);
    const queue = await getDefaultQueue(ctx);
    for (let n = 0; n < count; n += 1) await repos.queues.push(queue.id, `task-${n}`, ctx.now());
    return queue.id;
  });
}

const STORES = storesUnderTest('queue-handout.int.test.ts', 'queue-handout');

describe.each(STORES)('queue hand-out on $name', (storeUnderTest) => {
  it.runIf(storeUnderTest.isAvailable)('hands each of 300 entries to exactly one of 16 pollers on two stores, none failing', async () => {
    const stores = await openStores(storeUnderTest, 2);
    const queue = await queueWithEntries(stores[0]!, 300);
    const taken: string[] = [];
    const failures: unknown[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, poller) => {
        const store = stores[poller % stores.length]!;
        for (let empty = 0; empty < 3; ) {
          try {
            // As the API route runs queues.get_next_task.
            const { entry } = await store.transaction((repos) => nextTask({ ...base, repos }, { queue, get_task_info: false }), {
              guardedByRowLocks: true,
            });
            if (entry) taken.push(entry.task);
            else empty += 1;
          } catch (error) {
            failures.push(error);
            empty += 1;
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(taken.length).toBe(300);
    expect(new Set(taken).size).toBe(300);
    expect(await stores[1 % stores.length]!.transaction((repos) => repos.queues.entries(queue))).toEqual([]);
  });

  it.runIf(storeUnderTest.isAvailable)('a unit of work run again after a serialization failure pops the same head, not a second entry', async () => {
    const [store] = await openStores(storeUnderTest, 1);
    const queue = await queueWithEntries(store!, 3);
    const popped: string[] = [];
    const unit = () =>
      store!.transaction(async (repos) => {
        const { entry } = await nextTask({ ...base, repos }, { queue, get_task_info: false });
        popped.push(entry!.task);
        // What PostgreSQL answers when it cannot order this unit with another: the store rolls back and runs it again.
        if (popped.length === 1) throw Object.assign(new Error('could not serialize access due to concurrent update'), { code: '40001' });
        return entry!.task;
      });
    const left = () => store!.transaction((repos) => repos.queues.entries(queue)).then((entries) => entries.map((e) => e.task));
    if (store!.kind === 'postgres') {
      expect(await unit()).toBe('task-0');
      expect(popped).toEqual(['task-0', 'task-0']);
      expect(await left()).toEqual(['task-1', 'task-2']);
    } else {
      // SQLite never fails to serialize, so it does not run a unit again: the failure is the caller's, nothing popped.
      await expect(unit()).rejects.toThrow('could not serialize access');
      expect(await left()).toEqual(['task-0', 'task-1', 'task-2']);
    }
  });

  it.runIf(storeUnderTest.isAvailable)('creates and starts 80 tasks, 8 at a time through two stores, every call getting through', async () => {
    const stores = await openStores(storeUnderTest, 2);
    const create = ENDPOINTS['tasks.create'].request;
    const failures: unknown[] = [];
    const statuses: (string | undefined)[] = [];
    let next = 0;
    // As agents and scripts do through two processes: each makes a task (through one) and starts it (through the other).
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 80) {
          const n = next++;
          try {
            const body = create.parse({ name: `started ${n}`, type: 'training' }) as ParsedRequestOf<'tasks.create'>;
            const { id } = await stores[n % stores.length]!.transaction((repos) => createTask({ ...base, repos }, body));
            await stores[(n + 1) % stores.length]!.transaction((repos) => markStarted({ ...base, repos }, { task: id, force: false }));
            statuses.push((await stores[0]!.transaction((repos) => repos.tasks.get(id), { readOnly: true }))?.status);
          } catch (error) {
            failures.push(error);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(statuses).toEqual(Array(80).fill('in_progress'));
  });

  it.runIf(storeUnderTest.isAvailable)('transactionIfIdle skips a round another store runs meanwhile, and runs the next', async () => {
    const stores = await openStores(storeUnderTest, 2);
    const [first, second] = [stores[0]!, stores[stores.length - 1]!];
    if (first === second) {
      // One store (SQLite): units run one at a time anyway, so every round runs.
      expect(await first.transactionIfIdle('round', async () => 1)).toEqual({ value: 1 });
      expect(await first.transactionIfIdle('round', async () => 2)).toEqual({ value: 2 });
      return;
    }
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let claimed!: () => void;
    const isClaimed = new Promise<void>((resolve) => (claimed = resolve));
    const running = first.transactionIfIdle('round', async (repos) => {
      await repos.queues.list();
      claimed();
      await held;
      return 'first';
    });
    await isClaimed;
    expect(await second.transactionIfIdle('round', async () => 'second')).toBeUndefined();
    // Another name is another claim.
    expect(await second.transactionIfIdle('another round', async () => 'other')).toEqual({ value: 'other' });
    release();
    expect(await running).toEqual({ value: 'first' });
    expect(await second.transactionIfIdle('round', async () => 'second')).toEqual({ value: 'second' });
  });
});
