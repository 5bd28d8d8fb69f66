import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId, type Task } from '@tasklane/protocol';
import { openSqliteStore, type Store } from '@tasklane/server';
import { SQLITE_MIGRATIONS } from '../src/storage/migrations.js';
import type { ProjectRecord } from '../src/storage/store.js';
import { buildWorkspace } from '../../../test/support/workspace-build.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD_SCRIPT = join(HERE, 'fixtures/store-child.mjs');
const LATEST_VERSION = SQLITE_MIGRATIONS.at(-1)!.version;

let dir: string;
let fileCount = 0;
const children: ChildRun[] = [];
const openStores: Store[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tasklane-durability-'));
  // The child processes run plain Node, which resolves '@tasklane/server' to dist/: bring it up to date with the
  // sources this suite imports (incremental, well under a second when nothing changed).
  await buildWorkspace(['packages/server']);
});

afterEach(async () => {
  for (const child of children.splice(0)) child.kill();
  for (const store of openStores.splice(0)) await store.close().catch(() => undefined);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function newDbFile(): string {
  fileCount += 1;
  return join(dir, `db-${fileCount}.sqlite`);
}

function open(file: string): Store {
  const store = openSqliteStore(file);
  openStores.push(store);
  return store;
}

async function closeStore(store: Store): Promise<void> {
  openStores.splice(openStores.indexOf(store), 1);
  await store.close();
}

function makeProject(name: string, description = ''): ProjectRecord {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name,
    basename: name.split('/').at(-1)!,
    parent: null,
    description,
    tags: [],
    system_tags: [],
    created: now,
    last_update: now,
  };
}

function makeTask(fields: Partial<Task> = {}): Task {
  const now = new Date().toISOString();
  return {
    id: newId(),
    name: 'durability task',
    project: null,
    parent: null,
    type: 'training',
    status: 'created',
    tags: [],
    system_tags: [],
    created: now,
    last_update: now,
    script: {},
    execution: {},
    hyperparams: {},
    configuration: {},
    runtime: {},
    models: { input: [], output: [] },
    container: {},
    output: {},
    last_iteration: 0,
    last_metrics: {},
    ...fields,
  };
}

/** A second, raw connection to the file, for what the store does not expose. */
function withRawDb<T>(file: string, read: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

interface ChildRun {
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the first line (already seen or yet to come) that matches. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Tells the child to start at `startAtMs` (epoch ms; now by default) and closes its stdin. */
  release(startAtMs?: number): void;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts `node fixtures/store-child.mjs <args>`; the child says "ready" once loaded and starts on "go". */
function startChild(args: string[]): ChildRun {
  const proc: ChildProcessByStdio<Writable, Readable, Readable> = spawn(process.execPath, [CHILD_SCRIPT, ...args], {
    cwd: HERE,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: proc.stdout }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.match(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const run: ChildRun = {
    lines,
    waitForLine(match, timeoutMs = 15_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`child ${args.join(' ')}: no expected line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        const settle = (line: string) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push({ match, resolve: settle });
        void exit.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`child ${args.join(' ')} ended (code ${code}, signal ${signal}) first; stderr: ${stderr}`));
        });
      });
    },
    release(startAtMs = Date.now()) {
      proc.stdin.end(`go ${startAtMs}\n`);
    },
    exit,
    stderr: () => stderr,
    kill(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  children.push(run);
  return run;
}

/** Starts the children, waits until all have loaded, then releases them together so they contend. */
async function startTogether(argsList: string[][]): Promise<ChildRun[]> {
  const runs = argsList.map(startChild);
  await Promise.all(runs.map((run) => run.waitForLine((line) => line === 'ready')));
  const startAtMs = Date.now() + 50;
  for (const run of runs) run.release(startAtMs);
  return runs;
}

async function expectCleanExit(run: ChildRun): Promise<void> {
  const { code, signal } = await run.exit;
  expect({ code, signal, stderr: run.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
}

describe('SQLite store: migrations', () => {
  it('applies every migration to a new file, and none again when the file is reopened', async () => {
    const file = newDbFile();
    const first = open(file);
    expect(await first.schemaVersion()).toBe(LATEST_VERSION);
    const project = makeProject('kept across reopen');
    await first.transaction((repos) => repos.projects.insert(project));
    await closeStore(first);
    const appliedBefore = withRawDb(file, (db) => db.prepare('SELECT * FROM schema_migrations ORDER BY version').all());
    expect(appliedBefore).toHaveLength(SQLITE_MIGRATIONS.length);

    const second = open(file);
    expect(await second.schemaVersion()).toBe(LATEST_VERSION);
    expect(await second.transaction((repos) => repos.projects.get(project.id))).toEqual(project);
    await closeStore(second);
    const appliedAfter = withRawDb(file, (db) => db.prepare('SELECT * FROM schema_migrations ORDER BY version').all());
    // Same rows, same applied_at: nothing ran again.
    expect(appliedAfter).toEqual(appliedBefore);
  });

  it('migrates once when several processes open the same new file at the same moment', async () => {
    // A race, so run it on several new files: each child opens file i at the same planned moment as the others.
    const files = Array.from({ length: 10 }, newDbFile);
    const runs = await startTogether([1, 2, 3].map(() => ['open', ...files]));
    await Promise.all(runs.map(expectCleanExit));
    for (const run of runs) expect(run.lines).toEqual(['ready', ...files.map(() => `schema ${LATEST_VERSION}`)]);
    for (const file of files) {
      const versions = withRawDb(file, (db) => db.prepare('SELECT version FROM schema_migrations').pluck().all());
      expect(versions).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    }
  });

  it('refuses a file a newer Tasklane migrated, saying so, and leaves it as it is', async () => {
    const file = newDbFile();
    await closeStore(open(file));
    withRawDb(file, (db) => db.prepare("INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01')").run(LATEST_VERSION + 1));
    const before = withRawDb(file, (db) => db.prepare('SELECT * FROM schema_migrations ORDER BY version').all());
    expect(() => openSqliteStore(file)).toThrow(
      `The SQLite database ${file} has schema version ${LATEST_VERSION + 1}, newer than this Tasklane server knows (${LATEST_VERSION}): a newer Tasklane migrated it.`,
    );
    expect(withRawDb(file, (db) => db.prepare('SELECT * FROM schema_migrations ORDER BY version').all())).toEqual(before);
  });
});

describe('SQLite store: transactions roll back', () => {
  it('leaves nothing written when the work throws after some writes', async () => {
    const store = open(newDbFile());
    const project = makeProject('rolled back');
    const task = makeTask({ name: 'rolled back too' });
    const failure = new Error('work failed after writing');
    await expect(
      store.transaction(async (repos) => {
        await repos.projects.insert(project);
        await repos.tasks.insert(task);
        // The writes are visible inside the transaction...
        expect(await repos.projects.get(project.id)).toEqual(project);
        throw failure;
      }),
    ).rejects.toBe(failure);
    // ...and gone after it.
    expect(await store.transaction((repos) => repos.projects.get(project.id))).toBeUndefined();
    expect(await store.transaction((repos) => repos.tasks.get(task.id))).toBeUndefined();
  });

  it('leaves nothing written when a later statement fails, and the next transaction still commits', async () => {
    const file = newDbFile();
    const store = open(file);
    const first = makeProject('taken name');
    const duplicate = makeProject('taken name');
    await expect(
      store.transaction(async (repos) => {
        await repos.projects.insert(first);
        await repos.projects.insert(duplicate); // UNIQUE(name) fails; the repository says so as ALREADY_EXISTS
      }),
    ).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: 'Project "taken name" already exists; pick another name or use the existing one.',
    });
    expect(await store.transaction((repos) => repos.projects.list())).toEqual([]);

    const after = makeProject('after the failure');
    await store.transaction((repos) => repos.projects.insert(after));
    await closeStore(store);
    const names = withRawDb(file, (db) => db.prepare('SELECT name FROM projects').pluck().all());
    expect(names).toEqual(['after the failure']);
  });
});

describe('SQLite store: concurrent writers never lose a write', () => {
  it('200 concurrent read-modify-write transactions in one process all land', async () => {
    const file = newDbFile();
    const store = open(file);
    const task = makeTask();
    await store.transaction((repos) => repos.tasks.insert(task));

    await Promise.all(
      Array.from({ length: 200 }, () =>
        store.transaction(async (repos) => {
          const current = (await repos.tasks.get(task.id))!;
          await Promise.resolve(); // give other callers every chance to interleave
          await repos.tasks.replace({ ...current, last_iteration: current.last_iteration + 1 });
        }),
      ),
    );

    expect((await store.transaction((repos) => repos.tasks.get(task.id)))?.last_iteration).toBe(200);
    await closeStore(store);
    // The indexed column and the JSON document agree.
    const row = withRawDb(file, (db) =>
      db.prepare("SELECT last_iteration, json_extract(data, '$.last_iteration') AS json FROM tasks").get(),
    );
    expect(row).toEqual({ last_iteration: 200, json: 200 });
  });

  it('three processes incrementing the same task end at exactly the sum', async () => {
    const file = newDbFile();
    const store = open(file);
    const task = makeTask();
    await store.transaction((repos) => repos.tasks.insert(task));
    await closeStore(store);

    const perChild = 400;
    const runs = await startTogether([1, 2, 3].map(() => ['increment', file, task.id, String(perChild)]));
    await Promise.all(runs.map(expectCleanExit));

    const reopened = open(file);
    expect((await reopened.transaction((repos) => repos.tasks.get(task.id)))?.last_iteration).toBe(3 * perChild);
  });
});

describe('SQLite store: kill -9 never leaves a half-applied transaction', () => {
  it('keeps "tasks in the project = count in its description" after each of several kills', async () => {
    const file = newDbFile();
    const project = makeProject('crash target', '0');
    const setup = open(file);
    await setup.transaction((repos) => repos.projects.insert(project));
    await closeStore(setup);

    const tasksPerTransaction = 20;
    let total = 0;
    for (let round = 1; round <= 4; round += 1) {
      const run = startChild(['crash-loop', file, project.id, String(tasksPerTransaction)]);
      await run.waitForLine((line) => line === 'ready');
      run.release();
      // Let this round commit a few transactions, then kill at a random point of the next ones.
      await run.waitForLine((line) => line === `committed ${total + 3 * tasksPerTransaction}`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      run.kill('SIGKILL');
      expect(await run.exit).toEqual({ code: null, signal: 'SIGKILL' });
      const reported = Math.max(
        ...run.lines.filter((line) => line.startsWith('committed ')).map((line) => Number(line.split(' ')[1])),
      );

      const store = open(file);
      const { stored, description } = await store.transaction(async (repos) => ({
        stored: await repos.tasks.countInProjects([project.id]),
        description: (await repos.projects.get(project.id))!.description,
      }));
      expect(withRawDb(file, (db) => db.pragma('integrity_check', { simple: true }))).toBe('ok');
      expect(withRawDb(file, (db) => db.pragma('foreign_key_check'))).toEqual([]);
      // The invariant holds exactly: every transaction landed whole or not at all.
      expect(stored).toBe(Number(description));
      // Nothing acknowledged was lost; at most one commit happened after the child's last line.
      expect([reported, reported + tasksPerTransaction]).toContain(stored);
      await closeStore(store);
      total = stored;
    }
    expect(total).toBeGreaterThanOrEqual(4 * 3 * tasksPerTransaction);
  });
});
