// `tasklane db migrate-sqlite`'s copy (storage/copy-to-postgres.ts): an embedded installation filled through the real
// SDK and API is copied into a fresh PostgreSQL database; a server on that database answers what the SQLite one did,
// every row arrived as it was, new rows after the copy do not collide with copied ones; a non-empty target, an old
// source schema and a copy whose counts come out different are refused with the target left as it was.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQLITE_MIGRATIONS } from '../src/storage/migrations.js';
import { ApiClient } from 'tasklane/client';
import { OutputModel, Task } from 'tasklane';
import { addUser, copySqliteToPostgres, createCredentials, loadServerConfig, startServer, type CopyProgress, type CopyReport } from '@tasklane/server';
import { postgresSkipReason, testPostgres } from '../../../test/support/postgres.js';
import { png } from '../../../test/support/png.js';
import { onPostgres, startTestServer, type TestServer } from './support/test-server.js';

const postgres = testPostgres();
const why = !postgres ? `PostgreSQL skipped: ${postgresSkipReason()}` : onPostgres ? 'runs once, in the integration project (it makes its own SQLite and PostgreSQL databases)' : '';

/** Connections the copy left open on a database (none, once it returned or failed). */
async function copySessions(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tasklane-migrate-sqlite'");
    return result.rows[0].n as number;
  } finally {
    await client.end();
  }
}

function basic(accessKey: string, secretKey: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
}

/** What a test reads back through the API, on either server, to compare. */
async function readEverything(api: ApiClient, taskIds: string[], queueId: string) {
  const tasks = await api.call('tasks.get_all', { order_by: ['created', 'id'] } as never);
  const perTask = [];
  for (const task of taskIds) {
    perTask.push({
      task: (await api.call('tasks.get_by_id', { task })).task,
      scalars: await api.call('events.scalar_metrics_iter_histogram', { task } as never),
      metrics: await api.call('events.get_scalar_metrics_and_variants', { task }),
      latest: await api.call('events.get_task_latest_scalar_values', { task }),
      log: await api.call('events.get_task_log', { task, batch_size: 1000, navigate_earlier: false } as never),
      plots: await api.call('events.get_task_plots', { task } as never),
      samples: await api.call('events.debug_images', { metrics: [{ task }] } as never),
    });
  }
  return {
    tasks,
    perTask,
    projects: await api.call('projects.get_all_ex', { include_stats: true } as never),
    models: await api.call('models.get_all', {} as never),
    queue: (await api.call('queues.get_by_id', { queue: queueId })).queue,
    queues: await api.call('queues.get_all', {} as never),
  };
}

/** Every row of every copied table, in key order, with documents parsed (jsonb keeps keys in its own order). */
async function sqliteRows(file: string): Promise<Record<string, unknown[]>> {
  const db = new Database(file, { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(TABLE_KEYS)) {
      const select = table === 'other_events' ? 'rowid AS seq, *' : '*';
      out[table] = (db.prepare(`SELECT ${select} FROM ${table} ORDER BY ${order}`).all() as Record<string, unknown>[]).map(normalize);
    }
    return out;
  } finally {
    db.close();
  }
}

async function postgresRows(url: string): Promise<Record<string, unknown[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: Record<string, unknown[]> = {};
    for (const [table, order] of Object.entries(TABLE_KEYS)) {
      const result = await client.query(`SELECT * FROM ${table} ORDER BY ${order}`);
      out[table] = result.rows.map(normalize);
    }
    return out;
  } finally {
    await client.end();
  }
}

const TABLE_KEYS: Record<string, string> = {
  projects: 'id',
  tasks: 'id',
  task_models: 'task, type, model',
  models: 'id',
  queues: 'id',
  queue_entries: 'seq',
  workers: 'id',
  users: 'id',
  credentials: 'access_key',
  sessions: 'id',
  server_secrets: 'name',
  event_series: 'id',
  scalar_events: 'series, iter',
  scalar_summaries: 'series, level, bucket',
  log_events: 'seq',
  other_events: 'seq',
};

const JSON_COLUMNS = new Set(['data', 'tags', 'system_tags']);

function normalize(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([key, value]) => {
      if (JSON_COLUMNS.has(key) && typeof value === 'string') return [key, JSON.parse(value)];
      if (JSON_COLUMNS.has(key) && value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return [key, value];
      if (Buffer.isBuffer(value)) return [key, value.toString('hex')];
      // pg answers int8 as text; SQLite's integers are numbers.
      if (typeof value === 'string' && /^-?\d+$/.test(value) && (key === 'seq' || key === 'id' || key === 'series' || key.endsWith('iter') || key === 'timestamp' || key === 'last_iteration' || key === 'count' || key === 'bucket'))
        return [key, Number(value)];
      return [key, value];
    }),
  );
}

async function fileHash(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

describe.skipIf(why !== '')(`copySqliteToPostgres ${why}`, () => {
  let sourceDir: string;
  let sourceFile: string;
  let sourceServer: TestServer | undefined;
  let before: Awaited<ReturnType<typeof readEverything>>;
  let sourceTables: Record<string, unknown[]>;
  let sourceHash: string;
  let targetUrl: string;
  let report: CopyReport;
  const progress: CopyProgress[] = [];
  let trainedId: string;
  let taskIds: string[];
  let queueId: string;
  let queuedIds: string[];
  let alice: { access_key: string; secret_key: string };
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    sourceDir = await mkdtemp(join(tmpdir(), 'tasklane-copy-src-'));
    sourceFile = join(sourceDir, 'tasklane.sqlite');
    sourceServer = await startTestServer({ dataDir: sourceDir, dbUrl: `sqlite://${sourceFile}`, auth: 'off' }, async (store) => {
      await addUser(store, { name: 'alice', role: 'admin', password: 'alice-password' });
      await addUser(store, { name: 'bob', role: 'user' });
      alice = await createCredentials(store, { name: 'alice' });
      await createCredentials(store, { name: 'bob' });
    });
    const api = sourceServer.api;
    for (const key of Object.keys(process.env)) if (key.startsWith('TASKLANE_')) delete process.env[key];
    Object.assign(process.env, { TASKLANE_API_HOST: sourceServer.url, TASKLANE_STATE_DIR: join(sourceDir, 'sdk-state'), XDG_CONFIG_HOME: join(sourceDir, 'config-home') });

    // A training run through the SDK: hyperparameters, a configuration, an artifact, a model, scalars of a few
    // series, a single value, console lines (one holding U+0000), a plot, a debug sample.
    const task = await Task.init({
      projectName: 'migrate/source',
      taskName: 'trained',
      autoConnectArgParser: false,
      autoConnectStreams: false,
      autoResourceMonitoring: false,
      autoCaptureCode: false,
    });
    trainedId = task.id;
    task.connect({ lr: 0.01, epochs: 40, optimizer: { name: 'adam', beta: 0.9 } });
    await task.connectConfiguration({ layers: [64, 32], activation: 'relu' }, 'model config');
    await task.uploadArtifact('summary', { best: 0.93, epochs: 40 });
    const logger = task.getLogger();
    for (let i = 0; i < 300; i += 1) {
      logger.reportScalar('loss', 'train', 1 / (i + 1) + (i % 7) / 100, i);
      if (i % 3 === 0) logger.reportScalar('loss', 'val', 1.2 / (i + 1), i);
      logger.reportScalar('accuracy', 'top1', Math.min(0.99, i / 300), i);
    }
    logger.reportSingleValue('final accuracy', 0.93);
    for (let i = 0; i < 40; i += 1) logger.reportText(`epoch ${i} done`, i % 10 === 9 ? 'warning' : 'info');
    logger.reportText('a NUL byte, stored as U+FFFD by the server: [\u0000]');
    logger.reportPlotly('confusion', 'matrix', { data: [{ type: 'heatmap', z: [[5, 1], [2, 7]] }], layout: { title: 'confusion' } }, 3);
    logger.reportImage('samples', 'input', 2, { buffer: png(4, 4, [200, 10, 10]), fileExtension: 'png' });
    const weights = join(sourceDir, 'weights.onnx');
    await writeFile(weights, Buffer.from('not really onnx'));
    await new OutputModel(task, { name: 'classifier', framework: 'onnx', tags: ['baseline'] }).updateWeights(weights, { iteration: 299 });
    await task.close();

    // A queue with entries of three priorities, a worker on it, a draft and an archived task.
    queueId = (await api.call('queues.create', { name: 'gpu' })).id;
    queuedIds = [];
    for (const [name, priority] of [['queued low', 0], ['queued high', 90], ['queued mid', 50]] as const) {
      const { id } = await api.call('tasks.create', { name, project_name: 'migrate/queued', type: 'training' } as never);
      await api.call('tasks.enqueue', { task: id, queue: queueId, priority } as never);
      queuedIds.push(id);
    }
    await api.call('workers.register', { worker: 'gpu-box:0', queues: [queueId] } as never);
    const draft = (await api.call('tasks.create', { name: 'draft', project_name: 'migrate/source', type: 'testing' } as never)).id;
    taskIds = [trainedId, ...queuedIds, draft];

    before = await readEverything(api, taskIds, queueId);
    await sourceServer.close();
    sourceServer = undefined;
    sourceTables = await sqliteRows(sourceFile);
    sourceHash = await fileHash(sourceFile);

    targetUrl = await postgres!.newDatabase();
    report = await copySqliteToPostgres(sourceDir, targetUrl, { batchRows: 100, onProgress: (p) => progress.push({ ...p }) });
  }, 120_000);

  afterAll(async () => {
    process.env = savedEnv;
    await sourceServer?.close();
    if (targetUrl) await postgres!.dropDatabase(targetUrl);
    await rm(sourceDir, { recursive: true, force: true });
  });

  it('counts every table on both sides, and reports progress per table up to its total', () => {
    const counts = Object.fromEntries(report.tables.map((t) => [t.table, t]));
    for (const [table, rows] of Object.entries(sourceTables)) {
      expect(counts[table], table).toEqual({ table, source: rows.length, copied: rows.length });
    }
    expect(report.tables.map((t) => t.table).sort()).toEqual(Object.keys(TABLE_KEYS).sort());
    expect(counts.scalar_events!.source).toBe(300 + 100 + 300 + 1);
    expect(counts.queue_entries!.source).toBe(3);
    expect(counts.credentials!.source).toBe(2);
    // Batches of 100: scalar_events reported 0, 100, ..., 700, 701.
    const scalarSteps = progress.filter((p) => p.table === 'scalar_events').map((p) => p.rowsDone);
    expect(scalarSteps).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 701]);
    for (const table of Object.keys(TABLE_KEYS)) {
      const last = progress.filter((p) => p.table === table).at(-1);
      expect(last, table).toEqual({ table, rowsDone: counts[table]!.source, rowsTotal: counts[table]!.source });
    }
    expect(report.schemaVersion).toBe(SQLITE_MIGRATIONS.at(-1)!.version);
    expect(report.source).toBe(sourceFile);
    expect(report.target).not.toContain(new URL(targetUrl).password);
  });

  it('leaves no connection open behind it', async () => {
    expect(await copySessions(targetUrl)).toBe(0);
  });

  it('copies every row as it was, other_events in SQLite rowid order, and leaves the SQLite file unchanged', async () => {
    const copied = await postgresRows(targetUrl);
    expect(copied).toEqual(sourceTables);
    expect(await fileHash(sourceFile)).toBe(sourceHash);
  });

  it("replaces nothing in what today's server stores (it keeps no U+0000)", () => {
    expect({ replaced: report.replaced, count: report.replacedCount }).toEqual({ replaced: [], count: 0 });
  });

  describe('a server on the copy', () => {
    let server: TestServer;
    beforeAll(async () => {
      // The same data dir: its files (the artifact, the model's weights, the debug sample) are where they were.
      server = await startTestServer({ dataDir: sourceDir, dbUrl: targetUrl, auth: 'off' });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('answers what the SQLite server answered (tasks, scalars, console, plots, samples, models, projects, queues)', async () => {
      const after = await readEverything(server.api, taskIds, queueId);
      expect(after).toEqual(before);
      expect(after.queue.entries.map((e: { task: string }) => e.task)).toEqual([queuedIds[1], queuedIds[2], queuedIds[0]]);
      const { workers } = await server.api.call('workers.get_all', {} as never);
      expect(workers.map((w: { id: string }) => w.id)).toContain('gpu-box:0');
    });

    it('serves the files the copied rows point at, from where they stayed', async () => {
      // The sample's URL names the server it was reported to; the same key is served by the server on the copy.
      const stored = new URL(after0(await server.api.call('events.debug_images', { metrics: [{ task: trainedId }] } as never)));
      const response = await fetch(`${server.url}${stored.pathname}`);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(png(4, 4, [200, 10, 10]));
    });

    it('numbers new rows after the copied ones: queue entries, console lines, series, plots', async () => {
      const api = server.api;
      const { id } = await api.call('tasks.create', { name: 'after the copy', project_name: 'migrate/queued', type: 'training' } as never);
      expect(taskIds).not.toContain(id);
      await api.call('tasks.enqueue', { task: id, queue: queueId, priority: 0 } as never);
      const { queue } = await api.call('queues.get_by_id', { queue: queueId });
      expect(queue.entries.map((e: { task: string }) => e.task)).toEqual([queuedIds[1], queuedIds[2], queuedIds[0], id]);

      const now = Date.now();
      await api.call('events.add_batch', [
        { type: 'training_stats_scalar', task: id, metric: 'loss', variant: 'new', iter: 0, value: 5, timestamp: now },
        { type: 'training_stats_scalar', task: trainedId, metric: 'loss', variant: 'late', iter: 0, value: 7, timestamp: now },
        { type: 'log', task: trainedId, msg: 'written after the copy', level: 'info', timestamp: now + 1 },
        { type: 'plot', task: trainedId, metric: 'confusion', variant: 'later', iter: 4, plot_str: '{"data":[]}', timestamp: now + 2 },
      ] as never);
      const copiedRows = await postgresRows(targetUrl);
      const maxOf = (table: string, key: string) => Math.max(...(sourceTables[table] as Record<string, number>[]).map((row) => row[key]!));
      const newSeries = (copiedRows.event_series as { id: number; variant: string }[]).filter((s) => s.variant === 'new' || s.variant === 'late');
      expect(newSeries.map((s) => s.id).sort()).toEqual([maxOf('event_series', 'id') + 1, maxOf('event_series', 'id') + 2]);
      expect((copiedRows.log_events as { seq: number; msg: string }[]).at(-1)).toMatchObject({ seq: maxOf('log_events', 'seq') + 1, msg: 'written after the copy' });
      expect((copiedRows.other_events as { seq: number; variant: string }[]).at(-1)).toMatchObject({ seq: maxOf('other_events', 'seq') + 1, variant: 'later' });
      expect((copiedRows.queue_entries as { seq: number; task: string }[]).at(-1)).toMatchObject({ seq: maxOf('queue_entries', 'seq') + 1, task: id });

      const scalars = (await api.call('events.scalar_metrics_iter_histogram', { task: trainedId } as never)) as Record<string, Record<string, unknown>>;
      expect(Object.keys(scalars.loss!).sort()).toEqual(['late', 'train', 'val']);
      expect(scalars.loss!.train).toEqual((before.perTask[0]!.scalars as Record<string, Record<string, unknown>>).loss!.train);
      const log = (await api.call('events.get_task_log', { task: trainedId, batch_size: 1000, navigate_earlier: false } as never)) as { events: { msg: string }[] };
      expect(log.events.at(-1)?.msg).toBe('written after the copy');
    });
  });

  it('lets the copied users in with their key pairs, and refuses a wrong secret', async () => {
    const config = loadServerConfig({}, { port: 0, dataDir: sourceDir, dbUrl: targetUrl, logLevel: 'silent', auth: 'on', dbPoolSize: 2 });
    const server = await startServer(config);
    try {
      const call = (authorization: string) =>
        fetch(`${server.url}/users.get_current_user`, { method: 'POST', headers: { 'content-type': 'application/json', authorization }, body: '{}' });
      const ok = await call(basic(alice.access_key, alice.secret_key));
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { data: { user: { name: string } } }).data.user.name).toBe('alice');
      expect((await call(basic(alice.access_key, `${alice.secret_key}x`))).status).toBe(401);
    } finally {
      await server.close();
    }
  });

  describe('odd values and refusals', () => {
    const errorOf = (promise: Promise<unknown>) =>
      promise.then(
        () => {
          throw new Error('expected the copy to fail');
        },
        (error: Error) => error,
      );
    /** The message with the test database's URL (which changes per run) as URL. */
    const shown = (error: Error, url: string) => error.message.replaceAll(new URL(url).toString().replace(new URL(url).password, '***'), 'URL');
    /** A copy of the source SQLite file, changed by `change`, in a folder of its own. */
    async function changedSource(change: (db: Database.Database) => void): Promise<string> {
      const dir = await mkdtemp(join(tmpdir(), 'tasklane-copy-changed-'));
      await writeFile(join(dir, 'tasklane.sqlite'), await readFile(sourceFile));
      const db = new Database(join(dir, 'tasklane.sqlite'));
      change(db);
      db.close();
      return dir;
    }
    const tableSizes = async (url: string) => Object.fromEntries(Object.entries(await postgresRows(url)).map(([table, rows]) => [table, rows.length]));

    it('copies U+0000 and lone surrogates (which PostgreSQL cannot hold) as U+FFFD, naming each value', async () => {
      // Stored by servers before the request edge refused NUL (and console lines turned it into U+FFFD).
      const dir = await changedSource((db) => {
        db.prepare("UPDATE tasks SET name = 'nul [' || char(0) || ']' WHERE id = ?").run(queuedIds[0]);
        db.prepare(`UPDATE tasks SET data = json_set(data, '$.comment', 'nul [' || char(0) || ']') WHERE id = ?`).run(queuedIds[1]);
        db.prepare(`UPDATE tasks SET data = replace(json_set(data, '$.comment', 'LONE'), '"LONE"', '"lone [\\ud800]"') WHERE id = ?`).run(queuedIds[2]);
        db.prepare("UPDATE log_events SET msg = 'line [' || char(0) || ']' WHERE seq = 1").run();
      });
      const url = await postgres!.newDatabase();
      try {
        const copied = await copySqliteToPostgres(dir, url);
        const byKey = (a: { table: string; row: string; column: string }, b: { table: string; row: string; column: string }) =>
          `${a.table} ${a.row} ${a.column}` < `${b.table} ${b.row} ${b.column}` ? -1 : 1;
        expect({ replaced: [...copied.replaced].sort(byKey), count: copied.replacedCount }).toEqual({
          replaced: [
            { table: 'tasks', row: `id=${queuedIds[0]}`, column: 'name' },
            { table: 'tasks', row: `id=${queuedIds[1]}`, column: 'data' },
            { table: 'tasks', row: `id=${queuedIds[2]}`, column: 'data' },
            { table: 'log_events', row: 'seq=1', column: 'msg' },
          ].sort(byKey),
          count: 4,
        });
        const rows = await postgresRows(url);
        const task = (id: string) => (rows.tasks as { id: string; name: string; data: { comment?: string } }[]).find((t) => t.id === id)!;
        expect([task(queuedIds[0]!).name, task(queuedIds[1]!).data.comment, task(queuedIds[2]!).data.comment, (rows.log_events as { msg: string }[])[0]!.msg]).toEqual([
          'nul [\uFFFD]',
          'nul [\uFFFD]',
          'lone [\uFFFD]',
          'line [\uFFFD]',
        ]);
      } finally {
        await postgres!.dropDatabase(url);
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('copies a project whose parent was made after it (moved under a newer one): parents go first', async () => {
      const dir = await changedSource((db) => {
        const now = new Date().toISOString();
        db.prepare("INSERT INTO projects (id, name, parent, created, last_update, data) VALUES ('newer-parent', 'newer parent', NULL, ?, ?, '{}')").run(now, now);
        const changed = db.prepare("UPDATE projects SET parent = 'newer-parent' WHERE parent IS NULL AND id != 'newer-parent'").run();
        expect(changed.changes).toBeGreaterThan(0);
      });
      const url = await postgres!.newDatabase();
      try {
        // One row per INSERT: PostgreSQL checks the foreign key per statement, so within one batch any order would do.
        await copySqliteToPostgres(dir, url, { batchRows: 1 });
        const source = await sqliteRows(join(dir, 'tasklane.sqlite'));
        expect((await postgresRows(url)).projects).toEqual(source.projects);
      } finally {
        await postgres!.dropDatabase(url);
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses a target that holds rows, naming them, and leaves it as it was', async () => {
      const url = await postgres!.newDatabase();
      try {
        const server = await startTestServer({ dbUrl: url, auth: 'off' });
        await server.api.call('tasks.create', { name: 'already here', type: 'training' } as never);
        await server.api.call('queues.create', { name: 'already here too' });
        await server.close();
        const rowsBefore = await postgresRows(url);
        const error = await errorOf(copySqliteToPostgres(sourceDir, url));
        expect(shown(error, url)).toMatchInlineSnapshot(`"The PostgreSQL database URL is not empty: queues (2 rows), tasks (1 row). Copy into an empty database (createdb -O USER NEW_DATABASE, then --to with its name); nothing was changed."`);
        expect(await postgresRows(url)).toEqual(rowsBefore);
        expect(await copySessions(url)).toBe(0);
      } finally {
        await postgres!.dropDatabase(url);
      }
    });

    it('rolls back when the counts come out different (a trigger on the target drops rows), leaving no rows', async () => {
      const url = await postgres!.newDatabase();
      try {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        // The schema first, as the copy makes it; then a trigger that swallows some console lines.
        await (await import('@tasklane/server')).openStore(url, { maxConnections: 1 }).then((store) => store.close());
        await client.query(`CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.msg LIKE 'epoch 1%' THEN RETURN NULL; END IF; RETURN NEW; END $$`);
        await client.query('CREATE TRIGGER swallow BEFORE INSERT ON log_events FOR EACH ROW EXECUTE FUNCTION swallow()');
        await client.end();
        const error = await errorOf(copySqliteToPostgres(sourceDir, url));
        expect(shown(error, url)).toMatchInlineSnapshot(`"The counts differ after the copy (log_events: 41 in SQLite, 30 in PostgreSQL); rolled back, URL holds no rows. Look for triggers or rules on those tables in PostgreSQL, then copy again into an empty database."`);
        expect(Object.values(await tableSizes(url)).every((n) => n === 0)).toBe(true);
      } finally {
        await postgres!.dropDatabase(url);
      }
    });

    it('rolls back when another process writes the SQLite file during the copy (a server still running)', async () => {
      const dir = await changedSource(() => {});
      const url = await postgres!.newDatabase();
      try {
        let writer: Database.Database | undefined;
        const error = await errorOf(
          copySqliteToPostgres(dir, url, {
            onProgress: ({ table, rowsDone }) => {
              if (table !== 'tasks' || rowsDone !== 0 || writer) return;
              // What a running server does meanwhile: its own connection commits a change.
              writer = new Database(join(dir, 'tasklane.sqlite'));
              writer.prepare('UPDATE workers SET last_activity_time = ?').run(new Date().toISOString());
              writer.close();
            },
          }),
        );
        expect(shown(error, url).replaceAll(dir, 'DIR')).toMatchInlineSnapshot(`"DIR/tasklane.sqlite changed while it was copied (a Tasklane server is running on it?): what it wrote after the copy began would be missing, so the copy was rolled back and URL holds no rows. Stop the server, then copy again."`);
        expect(Object.values(await tableSizes(url)).every((n) => n === 0)).toBe(true);
      } finally {
        await postgres!.dropDatabase(url);
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('gives up when another process holds the target tables (a server running on it), saying so', async () => {
      const url = await postgres!.newDatabase();
      const holder = new pg.Client({ connectionString: url });
      try {
        await (await import('@tasklane/server')).openStore(url, { maxConnections: 1 }).then((store) => store.close());
        await holder.connect();
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE tasks IN ROW EXCLUSIVE MODE'); // what a writing transaction holds
        const error = await errorOf(copySqliteToPostgres(sourceDir, url, { lockTimeoutMs: 300 }));
        expect(shown(error, url)).toMatchInlineSnapshot(`"Another process holds tables of URL (a Tasklane server running on it?); waited 0.3 s. Stop it and copy again; nothing was copied."`);
        await holder.query('ROLLBACK');
        expect(Object.values(await tableSizes(url)).every((n) => n === 0)).toBe(true);
      } finally {
        await holder.end().catch(() => {});
        await postgres!.dropDatabase(url);
      }
    });

    it('names the row PostgreSQL refuses, and leaves no rows', async () => {
      const dir = await changedSource((db) => db.prepare('UPDATE tasks SET last_iteration = 1.5 WHERE id = ?').run(trainedId));
      const url = await postgres!.newDatabase();
      try {
        const error = await errorOf(copySqliteToPostgres(dir, url));
        expect(shown(error, url).replaceAll(trainedId, 'TASK')).toMatchInlineSnapshot(`"PostgreSQL refused the row id=TASK of tasks: invalid input syntax for type bigint: "1.5". The copy was rolled back; the target holds no rows."`);
        expect(Object.values(await tableSizes(url)).every((n) => n === 0)).toBe(true);
      } finally {
        await postgres!.dropDatabase(url);
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses an older or a newer source schema, saying what to do, before touching the target', async () => {
      const latest = SQLITE_MIGRATIONS.at(-1)!.version;
      const older = await changedSource((db) => db.exec(`DELETE FROM schema_migrations WHERE version = ${latest}`));
      const newer = await changedSource((db) => db.exec(`INSERT INTO schema_migrations VALUES (${latest + 1}, 'from the future', '2030-01-01')`));
      const url = await postgres!.newDatabase();
      try {
        const fromOlder = await errorOf(copySqliteToPostgres(older, url));
        expect(fromOlder.message.replaceAll(older, 'DIR').replaceAll(String(latest - 1), 'OLDER').replaceAll(String(latest), 'LATEST')).toMatchInlineSnapshot(`"DIR/tasklane.sqlite has schema version OLDER; this Tasklane copies version LATEST. Bring it up to date first: start this version's server on it once and stop it (tasklane server --data-dir DIR), then copy again. Nothing was copied."`);
        const fromNewer = await errorOf(copySqliteToPostgres(newer, url));
        expect(fromNewer.message.replaceAll(newer, 'DIR').replaceAll(String(latest + 1), 'NEWER').replaceAll(String(latest), 'LATEST')).toMatchInlineSnapshot(`"DIR/tasklane.sqlite has schema version NEWER, newer than this Tasklane knows (LATEST): a newer Tasklane wrote it. Copy it with that version (or a later one); nothing was copied."`);
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        const tables = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'");
        await client.end();
        expect(tables.rows[0].n).toBe(0);
      } finally {
        await postgres!.dropDatabase(url);
        await rm(older, { recursive: true, force: true });
        await rm(newer, { recursive: true, force: true });
      }
    });

    it('refuses a folder without a database, and a file that is not one', async () => {
      const empty = await mkdtemp(join(tmpdir(), 'tasklane-copy-empty-'));
      try {
        const url = 'postgres://nobody:secret-password@127.0.0.1:1/none';
        expect((await errorOf(copySqliteToPostgres(empty, url))).message.replaceAll(empty, 'DIR')).toMatchInlineSnapshot(`"No Tasklane SQLite database at "DIR": the folder DIR holds no tasklane.sqlite. Give the data dir of the embedded installation (the folder holding tasklane.sqlite, as in tasklane server --data-dir DIR) or sqlite:///path/to/file.sqlite."`);
        await writeFile(join(empty, 'tasklane.sqlite'), 'not a database at all, just text long enough to be read as a header');
        expect((await errorOf(copySqliteToPostgres(`sqlite://${join(empty, 'tasklane.sqlite')}`, url))).message.replaceAll(empty, 'DIR')).toMatchInlineSnapshot(`"Cannot read the SQLite database DIR/tasklane.sqlite: file is not a database. Check that it is a Tasklane database and readable by this user (its folder too: SQLite keeps tasklane.sqlite-wal and -shm beside it)."`);
      } finally {
        await rm(empty, { recursive: true, force: true });
      }
    });
  });
});

function after0(reply: unknown): string {
  const metrics = (reply as { metrics: { iterations: { events: { url: string }[] }[] }[] }).metrics;
  return metrics[0]!.iterations[0]!.events[0]!.url;
}
