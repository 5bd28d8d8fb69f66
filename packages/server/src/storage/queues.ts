import type { Kysely } from 'kysely';
import { TasklaneError, type QueueEntry } from '@tasklane/protocol';
import type { SqlDialect } from './sql/dialect.js';
import { isUniqueViolation } from './sql/errors.js';
import type { Database } from './sql/schema.js';
import type { QueueRecord, QueueRepository, WorkerRecord, WorkerRepository } from './store.js';

/** Queue entries per insert when a queue is rewritten: 4 parameters each, far below either database's limit. */
const ENTRIES_PER_INSERT = 200;

/**
 * Queues and their waiting tasks (tables of migrations 1 and 5), written once for both stores. A queue is its `data`
 * document; its entries are rows of `queue_entries`, which leave by priority (higher first) and then by arrival
 * (`seq`, which only grows). Deleting a queue deletes its entries (the foreign key cascades).
 *
 * On PostgreSQL several server processes take from the same queue at once: `popHead` locks the head row and skips
 * rows that another transaction holds (`FOR UPDATE SKIP LOCKED`), so each entry is handed to exactly one caller and
 * no caller waits for another's transaction. SQLite runs one writer at a time, so it needs no row locks.
 */
export class SqlQueues implements QueueRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async get(id: string) {
    const row = await this.db.selectFrom('queues').select('data').where('id', '=', id).executeTakeFirst();
    return row && (JSON.parse(row.data) as QueueRecord);
  }
  async getByName(name: string) {
    const row = await this.db.selectFrom('queues').select('data').where('name', '=', name).executeTakeFirst();
    return row && (JSON.parse(row.data) as QueueRecord);
  }
  async list() {
    const rows = await this.db.selectFrom('queues').select('data').orderBy('created').orderBy('name').execute();
    return rows.map((row) => JSON.parse(row.data) as QueueRecord);
  }
  async insert(queue: QueueRecord) {
    try {
      await this.db
        .insertInto('queues')
        .values({ id: queue.id, name: queue.name, created: queue.created, data: JSON.stringify(queue) })
        .execute();
    } catch (error) {
      // The services look the name up first; two server processes creating the same queue at once still meet here.
      if (isUniqueViolation(error)) {
        throw new TasklaneError('ALREADY_EXISTS', `Queue "${queue.name}" already exists; pick another name or use the existing one.`, {
          name: queue.name,
        });
      }
      throw error;
    }
  }
  async delete(id: string) {
    const result = await this.db.deleteFrom('queues').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
  async entries(queueId: string): Promise<QueueEntry[]> {
    return this.db
      .selectFrom('queue_entries')
      .select(['task', 'added', 'priority'])
      .where('queue', '=', queueId)
      .orderBy('priority', 'desc')
      .orderBy('seq')
      .execute();
  }
  async push(queueId: string, taskId: string, added: string, priority = 0) {
    await this.db.insertInto('queue_entries').values({ queue: queueId, task: taskId, added, priority }).execute();
  }
  async remove(taskId: string, queueId?: string) {
    let query = this.db.deleteFrom('queue_entries').where('task', '=', taskId);
    if (queueId !== undefined) query = query.where('queue', '=', queueId);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }
  async popHead(queueId: string, onlyTask?: string): Promise<QueueEntry | undefined> {
    // One statement: the head is chosen, locked and deleted together (one round trip on PostgreSQL). A head that is
    // not `onlyTask` stays (on PostgreSQL it stays locked until this transaction ends, which is short).
    const head = this.db
      .selectFrom('queue_entries')
      .select('seq')
      .where('queue', '=', queueId)
      .orderBy('priority', 'desc')
      .orderBy('seq')
      .limit(1)
      .$if(this.dialect.lockRowsSkippingLocked, (query) => query.forUpdate().skipLocked());
    let pop = this.db.deleteFrom('queue_entries').where('seq', '=', head);
    if (onlyTask !== undefined) pop = pop.where('task', '=', onlyTask);
    return pop.returning(['task', 'added', 'priority']).executeTakeFirst();
  }
  async reorder(queueId: string, entries: readonly QueueEntry[]) {
    // The caller read the queue earlier in its transaction, which the store keeps consistent (SQLite runs one writer
    // at a time; PostgreSQL's write units are serializable, so a pop by another process in between aborts one of the
    // two). Fresh rows get fresh (larger) seq values in the given order.
    await this.db.deleteFrom('queue_entries').where('queue', '=', queueId).execute();
    const rows = entries.map((entry) => ({ queue: queueId, task: entry.task, added: entry.added, priority: entry.priority ?? 0 }));
    for (let start = 0; start < rows.length; start += ENTRIES_PER_INSERT) {
      await this.db
        .insertInto('queue_entries')
        .values(rows.slice(start, start + ENTRIES_PER_INSERT))
        .execute();
    }
  }
  async queuesOf(taskId: string) {
    const rows = await this.db.selectFrom('queue_entries').select('queue').distinct().where('task', '=', taskId).orderBy('queue').execute();
    return rows.map((row) => row.queue);
  }
}

/** Workers (running agents) as they last reported, one `data` document each. */
export class SqlWorkers implements WorkerRepository {
  constructor(
    private readonly db: Kysely<Database>,
    // Every repository takes the store's dialect; workers need no dialect-specific SQL.
    readonly dialect: SqlDialect,
  ) {}

  async get(id: string) {
    const row = await this.db.selectFrom('workers').select('data').where('id', '=', id).executeTakeFirst();
    return row && (JSON.parse(row.data) as WorkerRecord);
  }
  async list() {
    const rows = await this.db.selectFrom('workers').select('data').orderBy('id').execute();
    return rows.map((row) => JSON.parse(row.data) as WorkerRecord);
  }
  async upsert(worker: WorkerRecord) {
    await this.db
      .insertInto('workers')
      .values({ id: worker.id, last_activity_time: worker.last_activity_time, data: JSON.stringify(worker) })
      .onConflict((conflict) =>
        conflict.column('id').doUpdateSet((eb) => ({
          last_activity_time: eb.ref('excluded.last_activity_time'),
          data: eb.ref('excluded.data'),
        })),
      )
      .execute();
  }
  async delete(id: string) {
    const result = await this.db.deleteFrom('workers').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
