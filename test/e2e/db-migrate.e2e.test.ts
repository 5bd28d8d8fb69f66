// `tasklane db migrate-sqlite` through the built CLI: an embedded server's data dir (filled over HTTP, then stopped)
// copied into a fresh PostgreSQL database, with progress on stderr (a line per table when piped, a bar on a
// terminal) and the counts on stdout; a server started on the copy answers the same; --help; a bad URL's message
// with the password hidden.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { startServerAt } from '../support/agent-e2e.js';
import { CLI_BIN, assertCliBuilt, runCli } from '../support/cli.js';
import { postgresSkipReason, testPostgres } from '../support/postgres.js';

const postgres = testPostgres();

interface Server {
  url: string;
  api: ApiClient;
  stop(): Promise<void>;
}

/** `tasklane server` on a data dir (and a database URL), until its "listening on" line. */
async function startServer(dataDir: string, dbUrl?: string): Promise<Server> {
  const server = await startServerAt(dataDir, 0, dbUrl ? ['--db-url', dbUrl] : []);
  return { url: server.url, api: new ApiClient({ baseUrl: server.url }), stop: () => server.stop() };
}

/** The parts of the output that change from run to run, as words. */
function stable(text: string, dir: string, url: string): string {
  return text
    .replaceAll(dir, 'DIR')
    .replaceAll(url.replace(new URL(url).password, '***'), 'URL')
    .replace(/in \d+\.\d s/, 'in N s');
}

describe.skipIf(!postgres)(`tasklane db migrate-sqlite${postgres ? "" : ` (PostgreSQL skipped: ${postgresSkipReason()})`}`, { timeout: 120_000 }, () => {
  let dir: string;
  let dataDir: string;
  let taskIds: string[];
  const databases: string[] = [];
  const newDatabase = async () => {
    const url = await postgres!.newDatabase();
    databases.push(url);
    return url;
  };

  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-db-migrate-'));
    dataDir = join(dir, 'data');
    const server = await startServer(dataDir);
    try {
      const { api } = server;
      taskIds = [];
      for (const name of ['first', 'second', 'third']) taskIds.push((await api.call('tasks.create', { name, project_name: 'e2e/migrate', type: 'training' } as never)).id);
      const now = Date.now();
      await api.call('events.add_batch', [
        ...Array.from({ length: 50 }, (_, iter) => ({ type: 'training_stats_scalar', task: taskIds[0], metric: 'loss', variant: 'train', iter, value: 1 / (iter + 1), timestamp: now + iter })),
        ...Array.from({ length: 5 }, (_, i) => ({ type: 'log', task: taskIds[0], msg: `line ${i}`, level: 'info', timestamp: now + i })),
      ] as never);
      const { id: queue } = await api.call('queues.create', { name: 'e2e-migrate' });
      await api.call('tasks.enqueue', { task: taskIds[1], queue } as never);
    } finally {
      await server.stop();
    }
  }, 60_000);

  afterAll(async () => {
    for (const url of databases) await postgres!.dropDatabase(url);
    await rm(dir, { recursive: true, force: true });
  });

  it('copies the data dir, a line per table on stderr when piped, the counts on stdout; a server on the copy answers', async () => {
    const url = await newDatabase();
    const result = await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', url]);
    expect({ code: result.code, stderr: stable(result.stderr, dir, url) }).toMatchInlineSnapshot(`
      {
        "code": 0,
        "stderr": "migrate-sqlite: copying DIR/data into URL
      migrate-sqlite: users: 0 rows copied
      migrate-sqlite: credentials: 0 rows copied
      migrate-sqlite: sessions: 0 rows copied
      migrate-sqlite: projects: 2 rows copied
      migrate-sqlite: tasks: 3 rows copied
      migrate-sqlite: task_models: 0 rows copied
      migrate-sqlite: models: 0 rows copied
      migrate-sqlite: queues: 2 rows copied
      migrate-sqlite: queue_entries: 1 row copied
      migrate-sqlite: workers: 0 rows copied
      migrate-sqlite: event_series: 1 row copied
      migrate-sqlite: scalar_events: 50 rows copied
      migrate-sqlite: scalar_summaries: 7 rows copied
      migrate-sqlite: log_events: 5 rows copied
      migrate-sqlite: other_events: 0 rows copied
      migrate-sqlite: server_secrets: 0 rows copied
      ",
      }
    `);
    expect(stable(result.stdout, dir, url)).toMatchInlineSnapshot(`
      "table             SQLite  PostgreSQL
      users             0       0
      credentials       0       0
      sessions          0       0
      projects          2       2
      tasks             3       3
      task_models       0       0
      models            0       0
      queues            2       2
      queue_entries     1       1
      workers           0       0
      event_series      1       1
      scalar_events     50      50
      scalar_summaries  7       7
      log_events        5       5
      other_events      0       0
      server_secrets    0       0

      Copied 71 rows of 16 tables from DIR/data/tasklane.sqlite to URL in N s (schema version 10); the counts match.

      Files stay where they are. Start the server on the copy with the same data dir (its files/ folder, or the same
      --files-url the SQLite server had), with your password in place of ***:
        tasklane server --db-url 'URL' --data-dir DIR/data
      "
    `);

    const server = await startServer(dataDir, url);
    try {
      const { tasks } = await server.api.call('tasks.get_all', { order_by: ['name'] } as never);
      expect(tasks.map((t: { id: string }) => t.id).sort()).toEqual([...taskIds].sort());
      const scalars = (await server.api.call('events.scalar_metrics_iter_histogram', { task: taskIds[0] } as never)) as { loss: { train: { x: number[] } } };
      expect(scalars.loss.train.x).toEqual(Array.from({ length: 50 }, (_, i) => i));
      const log = (await server.api.call('events.get_task_log', { task: taskIds[0], navigate_earlier: false } as never)) as { events: { msg: string }[] };
      expect(log.events.map((e) => e.msg)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4']);
    } finally {
      await server.stop();
    }
  });

  it('draws a progress bar on a terminal', async () => {
    const url = await newDatabase();
    // script(1) gives the CLI a terminal; its output is what the terminal received.
    const command = [process.execPath, CLI_BIN, 'db', 'migrate-sqlite', '--from', dataDir, '--to', url, '--batch-rows', '10']
      .map((part) => `'${part.replaceAll("'", `'\\''`)}'`)
      .join(' ');
    const terminal = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
    expect(terminal.code).toBe(0);
    // The bar of scalar_events, redrawn in place (\r, then erase to the end of the line), and left whole when done.
    expect(terminal.output).toMatch(/\rscalar_events\s+\[█*░+\]\s+\d+%  \d+ \/ 50 rows\x1b\[K/);
    expect(terminal.output).toMatch(/\rscalar_events\s+\[█+\] 100%  50 \/ 50 rows\x1b\[K\r?\n/);
    expect(terminal.output).not.toContain('rows copied');
    // An empty table is done as it starts: one line.
    expect(terminal.output.match(/\rsessions /g)).toHaveLength(1);
    expect(terminal.output).toContain('the counts match');
  });

  it('prints the counts as JSON with --json', async () => {
    const url = await newDatabase();
    const result = await runCli(['db', 'migrate-sqlite', '--from', `sqlite://${join(dataDir, 'tasklane.sqlite')}`, '--to', url, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { tables: { table: string; source: number; copied: number }[]; target: string; replacedCount: number };
    expect(report.tables.find((t) => t.table === 'scalar_events')).toEqual({ table: 'scalar_events', source: 50, copied: 50 });
    expect(report.target).not.toContain(new URL(url).password);
    expect(report.replacedCount).toBe(0);
  });

  it('documents itself in --help, with an example', async () => {
    const result = await runCli(['db', 'migrate-sqlite', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: tasklane db migrate-sqlite [options]');
    expect(result.stdout).toContain('--from <data-dir>');
    expect(result.stdout).toContain('--to <url>');
    expect(result.stdout).toContain('Stop the server first.');
    expect(result.stdout).toContain('tasklane db migrate-sqlite --from /srv/tasklane --to postgres://');
    expect((await runCli(['db', '--help'])).stdout).toContain('migrate-sqlite');
  });

  it('names a bad URL with its password hidden, and a target that is not empty', async () => {
    const url = new URL(await newDatabase());
    const wrong = new URL(url);
    wrong.password = 'not-the-password-42';
    const refused = await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', wrong.toString()]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).not.toContain('not-the-password-42');
    expect(stable(refused.stderr, dir, wrong.toString())).toMatchInlineSnapshot(`
      "migrate-sqlite: copying DIR/data into URL
      error (INVALID_INPUT): Cannot connect to PostgreSQL at URL: password authentication failed for user "tasklane". Fix the user or password in the URL.
      "
    `);

    const missing = new URL(url);
    missing.pathname = '/no_such_database';
    const absent = await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', `${missing.toString()}?sslmode=disable&password=${url.password}`]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).not.toContain(url.password);
    expect(absent.stderr).toContain('the database "no_such_database" does not exist');

    const notPostgres = await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', 'mysql://root:hunter2-secret@db/tasklane']);
    expect({ code: notPostgres.code, stderr: notPostgres.stderr }).toMatchInlineSnapshot(`
      {
        "code": 2,
        "stderr": "error (INVALID_INPUT): --to: expected postgres://user:password@host:5432/database, got "mysql://root:***@db/tasklane".
      ",
      }
    `);

    expect((await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', url.toString()])).code).toBe(0);
    const again = await runCli(['db', 'migrate-sqlite', '--from', dataDir, '--to', url.toString()]);
    expect(again.code).toBe(2);
    expect(stable(again.stderr, dir, url.toString())).toMatch(/^migrate-sqlite: copying DIR\/data into URL\nerror \(INVALID_INPUT\): The PostgreSQL database URL is not empty: /);
  });
});
