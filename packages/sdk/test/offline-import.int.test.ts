// Offline mode end to end: real scripts (the built SDK in child processes) record without a server, and the sessions
// are imported into a real server, then read back through its API and compared with the same script run online.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { Task } from 'tasklane';
import type { ApiClient } from 'tasklane/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { runFixture, startFixture, type FixtureDir } from './logger-support/fixture-run.js';
import { readAllScalars, readEvents, readLog, readTask } from './logger-support/read-back.js';
import { SDK_DIR, buildSdk } from './support/build-sdk.js';

const FIXTURES = join(SDK_DIR, 'test/offline-fixtures');

let server: TestServer;
let fixtures: FixtureDir;
let offlineDir: string;
const savedEnv = { ...process.env };
const api = (): ApiClient => server.api;

async function makeFixtures(): Promise<FixtureDir> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-offline-'));
  await mkdir(join(dir, 'node_modules'), { recursive: true });
  await symlink(SDK_DIR, join(dir, 'node_modules/tasklane'), 'dir');
  for (const name of await readdir(FIXTURES)) await copyFile(join(FIXTURES, name), join(dir, name));
  return { dir, stateDir: join(dir, 'state'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a fixture with offline mode on (TASKLANE_OFFLINE_MODE, unless the fixture switches it itself). */
function offlineEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { TASKLANE_OFFLINE_MODE: '1', TASKLANE_OFFLINE_DIR: offlineDir, ...extra };
}

function sessionDirOf(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('@@task '));
  if (!line) throw new Error(`no @@task line in:\n${stdout}`);
  return (JSON.parse(line.slice('@@task '.length)) as { sessionDir: string }).sessionDir;
}

async function errorOf(promise: Promise<unknown>): Promise<TasklaneError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TasklaneError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

async function taskCount(): Promise<number> {
  return (await api().call('tasks.get_all', { search_hidden: true, only_fields: ['id'] })).tasks.length;
}

async function download(url: string | undefined): Promise<string> {
  const response = await fetch(url ?? 'missing-url');
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return Buffer.from(await response.arrayBuffer()).toString('base64');
}

const importSession = (path: string, options: Parameters<typeof Task.importOfflineSession>[1] = {}) =>
  Task.importOfflineSession(path, { apiHost: server.url, ...options });

/** Everything a run left on the server that must not depend on where it was recorded. */
async function snapshot(id: string) {
  const task = await readTask(api(), id);
  const byKey = <T extends { metric: string; variant: string; iter?: number | null }>(a: T, b: T) =>
    `${a.metric}/${a.variant}/${a.iter}`.localeCompare(`${b.metric}/${b.variant}/${b.iter}`);
  const scalarEvents = (await readEvents(api(), id, 'training_stats_scalar')) as unknown as { metric: string; variant: string; iter: number; value: number }[];
  const plots = (await readEvents(api(), id, 'plot')) as unknown as { metric: string; variant: string; iter: number; plot_str: string }[];
  const samples = (await readEvents(api(), id, 'training_debug_image')) as unknown as { metric: string; variant: string; iter: number; url: string }[];
  const models = [];
  for (const ref of task.models.output) {
    const { model } = await api().call('models.get_by_id', { model: ref.model });
    models.push({
      ref: ref.name,
      name: model.name,
      framework: model.framework,
      design: model.design,
      labels: model.labels,
      last_iteration: model.last_iteration,
      ready: model.ready,
      isLinked: model.task === id,
      bytes: await download(model.uri),
    });
  }
  return {
    task: {
      name: task.name,
      type: task.type,
      status: task.status,
      status_reason: task.status_reason,
      status_message: task.status_message,
      comment: task.comment,
      tags: task.tags,
      system_tags: task.system_tags.filter((t) => !t.startsWith('offline:')),
      script: task.script,
      hyperparams: task.hyperparams,
      configuration: task.configuration,
      runtime: task.runtime,
      last_iteration: task.last_iteration,
    },
    scalars: await readAllScalars(api(), id),
    scalarEvents: scalarEvents.map(({ metric, variant, iter, value }) => ({ metric, variant, iter, value })).sort(byKey),
    console: (await readLog(api(), id)).lines.map((l) => `${l.level}: ${l.msg}`).filter((l) => !l.includes('@@task')),
    plots: plots.map(({ metric, variant, iter, plot_str }) => ({ metric, variant, iter, plot_str })).sort(byKey),
    samples: await Promise.all(samples.sort(byKey).map(async ({ metric, variant, iter, url }) => ({ metric, variant, iter, bytes: await download(url) }))),
    artifacts: await Promise.all(
      (task.execution.artifacts ?? []).map(async ({ uri, timestamp: _timestamp, ...rest }) => ({ ...rest, bytes: await download(uri) })),
    ),
    models,
  };
}

beforeAll(async () => {
  [server, fixtures] = await Promise.all([startTestServer(), makeFixtures(), buildSdk()]);
  offlineDir = join(fixtures.dir, 'offline');
  for (const key of Object.keys(process.env)) if (key.startsWith('TASKLANE_')) delete process.env[key];
  // No user config file for the imports made in this process.
  process.env.XDG_CONFIG_HOME = join(fixtures.dir, 'config-home');
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await fixtures?.cleanup();
});

describe('a run recorded offline and imported reads back as the same run done online', () => {
  let onlineId: string;
  let zipPath: string;
  let sessionDir: string;
  let imported: Awaited<ReturnType<typeof importSession>>;
  let offlineStdout: string;

  beforeAll(async () => {
    const imagePath = join(fixtures.dir, 'picture.png');
    const blobPath = join(fixtures.dir, 'blob.bin');
    const weightsPath = join(fixtures.dir, 'weights.onnx');
    await Promise.all([writeFile(imagePath, randomBytes(3000)), writeFile(blobPath, randomBytes(5000)), writeFile(weightsPath, randomBytes(20_000))]);
    const input = { imagePath, blobPath, weightsPath, imageBase64: randomBytes(1000).toString('base64') };
    const common = { apiHost: server.url, stateDir: fixtures.stateDir };
    const [online, offline] = await Promise.all([
      runFixture(fixtures, 'every-report.mjs', { ...common, input }),
      // Task.setOffline(true) in the script, and a server address that answers nothing: nothing may go there.
      runFixture(fixtures, 'every-report.mjs', { ...common, apiHost: 'http://127.0.0.1:9', input: { ...input, offline: true }, env: { TASKLANE_OFFLINE_DIR: offlineDir } }),
    ]);
    onlineId = online.taskId;
    offlineStdout = offline.stdout;
    sessionDir = sessionDirOf(offline.stdout);
    zipPath = `${sessionDir}.zip`;
    imported = await importSession(zipPath);
  }, 90_000);

  it('writes the session under the offline dir, packs it into a zip at the end and says how to import it', async () => {
    expect(sessionDir.startsWith(join(offlineDir, ''))).toBe(true);
    expect((await readdir(sessionDir)).sort()).toEqual(['events.jsonl', 'files', 'manifest.json', 'models.json', 'task.json']);
    expect(offlineStdout).toContain(`Tasklane: offline session packed into ${zipPath}; import it with: tasklane import-offline ${zipPath}`);
    const manifest = JSON.parse(await readFile(join(sessionDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'tasklane-offline-session', version: 1, isClosed: true, projectName: 'offline parity' });
  });

  it('imports a completed task with every event, file and model', async () => {
    expect(imported).toMatchObject({ status: 'completed', projectName: 'offline parity', files: 6, models: 1, notes: [] });
    expect(imported.taskId).not.toBe(onlineId);
    expect(imported.task.id).toBe(imported.taskId);
    expect((await readTask(api(), imported.taskId)).system_tags).toContain(`offline:${imported.sessionId}`);
  });

  it('reads back equal: configuration, scalars, console, plots, debug samples, artifacts (bytes) and models', async () => {
    const [online, offline] = await Promise.all([snapshot(onlineId), snapshot(imported.taskId)]);
    expect(offline.task).toEqual(online.task);
    expect(offline.scalars).toEqual(online.scalars);
    expect(offline.scalarEvents).toEqual(online.scalarEvents);
    expect(offline.console).toEqual(online.console);
    expect(offline.plots).toEqual(online.plots);
    expect(offline.samples).toEqual(online.samples);
    expect(offline.artifacts).toEqual(online.artifacts);
    expect(offline.models).toEqual(online.models);
    // And it is not equal by being empty.
    expect(online.task.status).toBe('completed');
    expect(online.scalarEvents.length).toBe(41);
    expect(online.console).toEqual(expect.arrayContaining(['info: printed by the script', 'error: printed to stderr', 'warning: watch out']));
    expect(online.plots.map((p) => p.metric)).toEqual(['confusion', 'custom', 'histogram', 'scatter', 'table']);
    expect(online.samples).toHaveLength(2);
    expect(online.artifacts.map((a) => a.key).sort()).toEqual(['blob', 'rows', 'stats']);
    expect(online.models).toHaveLength(1);
  });

  it('keeps the original time of every scalar point', async () => {
    const recorded = new Map<string, number>();
    for (const line of (await readFile(join(sessionDir, 'events.jsonl'), 'utf8')).trim().split('\n')) {
      const entry = JSON.parse(line);
      if (entry.kind !== 'scalars') continue;
      for (const s of entry.body.series) s.iter.forEach((iter: number, i: number) => recorded.set(`${s.metric}/${s.variant}/${iter}`, s.timestamp[i]));
    }
    const stored = (await readEvents(api(), imported.taskId, 'training_stats_scalar')) as unknown as { metric: string; variant: string; iter: number; timestamp: number }[];
    expect(stored.length).toBe(recorded.size);
    for (const e of stored) expect(e.timestamp).toBe(recorded.get(`${e.metric}/${e.variant}/${e.iter}`));
  });

  it('refuses a second import of the same session (zip or folder), naming the task, and creates nothing', async () => {
    const before = await taskCount();
    for (const path of [zipPath, sessionDir]) {
      const error = await errorOf(importSession(path));
      expect(error.code).toBe('ALREADY_EXISTS');
      expect(error.message).toBe(
        `Offline session ${imported.sessionId} was imported already, as task ${imported.taskId} ("every report"); a session is imported only once. ` +
          `See it with: tasklane task show ${imported.taskId}`,
      );
    }
    expect(await taskCount()).toBe(before);
  });

  it('imports a session recorded on Windows and copied to another folder of another machine', async () => {
    // The recorded paths as Windows writes them: debug samples with backslashes, artifacts and weights (storage URLs
    // under the files folder) with slashes after it.
    const recordedFiles = join(sessionDir, 'files');
    const windowsFiles = `C:\\Users\\robot\\AppData\\Roaming\\tasklane\\offline\\${basename(sessionDir)}\\files`;
    const onWindows = (path: string, isSample: boolean) => {
      expect(path.startsWith(`${recordedFiles}/`)).toBe(true);
      const rest = path.slice(recordedFiles.length + 1);
      return `${windowsFiles}\\${isSample ? rest.replaceAll('/', '\\') : rest}`;
    };
    const copy = join(fixtures.dir, 'copied-from-windows', 'session');
    await cp(sessionDir, copy, { recursive: true });
    const edit = async <T>(name: string, change: (value: T) => T) =>
      writeFile(join(copy, name), JSON.stringify(change(JSON.parse(await readFile(join(copy, name), 'utf8')) as T)));
    // Another session id, as this one was imported already.
    await edit<Record<string, unknown>>('manifest.json', (m) => ({ ...m, sessionId: randomBytes(16).toString('hex'), filesDir: windowsFiles }));
    await edit<{ execution: { artifacts: { uri: string }[] } }>('task.json', (t) => {
      for (const artifact of t.execution.artifacts) artifact.uri = onWindows(artifact.uri, false);
      return t;
    });
    await edit<{ uri: string }[]>('models.json', (models) => models.map((m) => ({ ...m, uri: onWindows(m.uri, false) })));
    const lines = (await readFile(join(copy, 'events.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; event?: { url?: unknown } });
    const samples = lines.filter((line) => typeof line.event?.url === 'string');
    expect(samples).toHaveLength(2);
    for (const line of samples) line.event!.url = onWindows(line.event!.url as string, true);
    await writeFile(join(copy, 'events.jsonl'), `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);

    const fromWindows = await importSession(copy);
    expect(fromWindows).toMatchObject({ status: 'completed', files: 6, models: 1, notes: [] });
    const [online, copied] = await Promise.all([snapshot(onlineId), snapshot(fromWindows.taskId)]);
    expect(copied.samples).toEqual(online.samples);
    expect(copied.artifacts).toEqual(online.artifacts);
    expect(copied.models).toEqual(online.models);
  });

  it('refuses a corrupt zip (flipped bytes) and a truncated zip before sending anything', async () => {
    const bytes = await readFile(zipPath);
    const before = await taskCount();
    const flipped = Buffer.from(bytes);
    for (let i = 0; i < 16; i += 1) flipped[Math.floor(bytes.length / 3) + i]! ^= 0xff;
    const corruptPath = join(fixtures.dir, 'corrupt.zip');
    await writeFile(corruptPath, flipped);
    const corrupt = await errorOf(importSession(corruptPath));
    expect(corrupt.code).toBe('INVALID_INPUT');
    expect(corrupt.message).toMatch(new RegExp(`^Cannot import the offline session ${corruptPath}: .*(damaged|CRC).*\\. Nothing was imported\\.$`));

    const truncatedPath = join(fixtures.dir, 'truncated.zip');
    await writeFile(truncatedPath, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const truncated = await errorOf(importSession(truncatedPath));
    expect(truncated.code).toBe('INVALID_INPUT');
    expect(truncated.message).toContain(`Cannot import the offline session ${truncatedPath}: it is not a complete zip file, it may be truncated or damaged (`);
    expect(truncated.message).toContain('); import the session folder instead if you still have it. Nothing was imported.');
    expect(await taskCount()).toBe(before);
  });
});

describe('runs that end abruptly', () => {
  it('process.exit(4): the last writes land in the session at exit, and the folder imports as failed', async () => {
    const run = await startFixture(fixtures, 'exit-now.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() }).done;
    expect(run.code).toBe(4);
    const dir = sessionDirOf(run.stdout);
    expect(run.stdout).toContain(`Tasklane: offline session ${dir} ended (failed); import it with: tasklane import-offline ${dir}`);
    const result = await importSession(dir);
    expect(result).toMatchObject({ status: 'failed', events: 52 });
    const task = await readTask(api(), result.taskId);
    expect({ status: task.status, reason: task.status_reason, last_iteration: task.last_iteration }).toEqual({ status: 'failed', reason: 'exit code 4', last_iteration: 49 });
    expect(task.hyperparams.General?.batch?.value).toBe('64');
    expect((await readAllScalars(api(), result.taskId)).loss?.train?.y).toHaveLength(50);
    expect((await readLog(api(), result.taskId)).lines.map((l) => l.msg)).toContain('about to exit');
  });

  it('killed with SIGKILL: the folder imports what was written, as aborted, even with a cut-off last line', async () => {
    const run = startFixture(fixtures, 'crash.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() });
    await run.marker('flushed');
    await new Promise((resolve) => setTimeout(resolve, 150));
    run.child.kill('SIGKILL');
    const ended = await run.done;
    expect(ended.signal).toBe('SIGKILL');
    const dir = sessionDirOf(ended.stdout);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).isClosed).toBe(false);
    // A crash in the middle of a write leaves half a line at the end.
    await appendFile(join(dir, 'events.jsonl'), '{"kind":"event","event":{"type":"log","ta');
    const result = await importSession(dir);
    expect(result.status).toBe('stopped');
    expect(result.notes).toEqual(['the run never closed (crash or kill): imported as aborted ("offline session cut off: the run ended without closing the task (crash or kill)")']);
    const task = await readTask(api(), result.taskId);
    expect({ status: task.status, reason: task.status_reason }).toEqual({
      status: 'stopped',
      reason: 'offline session cut off: the run ended without closing the task (crash or kill)',
    });
    expect((await readAllScalars(api(), result.taskId)).loss?.train?.y.length).toBeGreaterThanOrEqual(30);
    expect((await readLog(api(), result.taskId)).lines.map((l) => l.msg)).toContain('before the crash');
    expect(task.execution.artifacts?.map((a) => a.key)).toEqual(['checkpoint']);
    expect(JSON.parse(Buffer.from(await download(task.execution.artifacts?.[0]?.uri), 'base64').toString('utf8'))).toEqual({ step: 29 });
  }, 30_000);

  it('a disk that fills up midway: the write that did not fit is cut off whole, and the session imports what fits', async () => {
    // A file size limit of 16 KiB (bash's ulimit -f counts KiB) for the run: the 300 console lines at exit do not fit.
    const env = { ...process.env, ...offlineEnv({ TASKLANE_API_HOST: server.url, TASKLANE_STATE_DIR: fixtures.stateDir, XDG_CONFIG_HOME: join(fixtures.dir, 'config-home') }) };
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve) =>
      execFile('bash', ['-c', `ulimit -f 16; exec "${process.execPath}" disk-full.mjs`], { cwd: fixtures.dir, env }, (_error, out, err) =>
        resolve({ stdout: out, stderr: err }),
      ),
    );
    expect(stderr).toMatch(/could not write events\.add_batch to the offline session at exit: EFBIG/);
    const dir = sessionDirOf(stdout);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).isClosed).toBe(true);
    expect((await readFile(join(dir, 'events.jsonl'), 'utf8')).endsWith('\n')).toBe(true);
    const result = await importSession(dir);
    expect(result).toMatchObject({ status: 'failed', events: 10 });
    expect((await readAllScalars(api(), result.taskId)).loss?.train?.y).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  }, 30_000);

  it('a closed session with a damaged event line is refused, naming the line', async () => {
    const run = await startFixture(fixtures, 'exit-now.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() }).done;
    const dir = sessionDirOf(run.stdout);
    const events = join(dir, 'events.jsonl');
    const text = await readFile(events, 'utf8');
    await truncate(events, text.length - 10);
    const before = await taskCount();
    const error = await errorOf(importSession(dir));
    expect(error.code).toBe('INVALID_INPUT');
    const lines = text.trim().split('\n').length;
    expect(error.message).toMatch(
      new RegExp(`^Cannot import the offline session ${dir}: events\\.jsonl line ${lines} is not a valid event \\(.*; the session was closed, so no line may be cut off\\); the session is damaged\\. Nothing was imported\\.$`),
    );
    expect(await taskCount()).toBe(before);
  });
});

describe('what needs a server', () => {
  it('fails offline with an error that says so; the task itself still works', async () => {
    const run = await startFixture(fixtures, 'refusals.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() }).done;
    expect(run.code).toBe(0);
    const line = run.stdout.split('\n').find((l) => l.startsWith('@@errors '));
    const errors = JSON.parse(line!.slice('@@errors '.length));
    expect(errors.ownStatus).toBe('in_progress');
    const { ownStatus: _ownStatus, ...refusals } = errors;
    for (const error of Object.values(refusals)) expect(error).toMatchObject({ code: 'INVALID_INPUT', offline: true, message: expect.stringContaining(' is not available offline: ') });
    expect(errors.clone.message).toMatchInlineSnapshot(
      `"Task.clone is not available offline: offline mode is on (Task.setOffline(true) or TASKLANE_OFFLINE_MODE), so there is no server to ask. Do it online, after importing the session: tasklane import-offline <session.zip>"`,
    );
    expect(Object.fromEntries(Object.entries(refusals).map(([name, e]) => [name, (e as { message: string }).message.split(' is not available offline')[0]]))).toEqual({
      clone: 'Task.clone',
      enqueue: 'Task.enqueue',
      getTasks: 'Task.getTasks',
      getTask: 'Task.getTask',
      reset: 'task.reset()',
      publish: 'task.publish()',
      modelQuery: 'Querying models (Model.query, InputModel.import)',
      inputModel: 'Reading a registered model (Model.get, InputModel)',
    });
  });
});

describe('an import that fails midway', () => {
  it('deletes the partly imported task, says so, and the session can be imported again', async () => {
    const run = await startFixture(fixtures, 'crash.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() });
    await run.marker('flushed');
    run.child.kill('SIGKILL');
    const dir = sessionDirOf((await run.done).stdout);
    const before = await taskCount();
    // A file server that answers 404 to every upload: the files step fails after the task was created.
    process.env.TASKLANE_FILES_HOST = `${server.url}/no-files-here`;
    let error: TasklaneError;
    try {
      error = await errorOf(importSession(dir));
    } finally {
      delete process.env.TASKLANE_FILES_HOST;
    }
    expect(error.message).toMatch(/^Import of offline session [0-9a-f]{32} failed while uploading files: .*\. The partly imported task [0-9a-f]{32} was deleted, so nothing half-imported is left; fix the cause and import again\.$/);
    expect(await taskCount()).toBe(before);
    const again = await importSession(dir);
    expect(again.status).toBe('stopped');
    expect(await taskCount()).toBe(before + 1);
  }, 30_000);

  it('says a session is not imported when an import died with its server, leaving its task, and how to import it', async () => {
    const run = await startFixture(fixtures, 'exit-now.mjs', { apiHost: server.url, stateDir: fixtures.stateDir, env: offlineEnv() }).done;
    const dir = sessionDirOf(run.stdout);
    const { sessionId } = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { sessionId: string };
    // What an import leaves when the server goes away mid-way (the roll-back cannot reach it either).
    const { id } = await api().call('tasks.create', { name: 'exit now', project_name: 'offline exit', system_tags: [`offline:${sessionId}`] });
    await api().call('tasks.started', { task: id, force: true, status_reason: `importing offline session ${sessionId}` });
    const error = await errorOf(importSession(dir));
    expect(error.code).toBe('ALREADY_EXISTS');
    expect(error.message).toBe(
      `Offline session ${sessionId} has a partly imported task ${id} ("exit now"), left by an import that did not finish (or is running now); ` +
        `the session is not imported. Delete that task, then import again: tasklane task delete ${id.slice(0, 8)} --force`,
    );
    await api().call('tasks.delete', { task: id, force: true });
    expect((await importSession(dir)).status).toBe('failed');
  }, 30_000);
});
