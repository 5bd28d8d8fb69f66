// Artifacts uploaded by a script run with Task.init (in a child process, as users run it): close() and the end of
// the script wait for background uploads, a failed upload is reported in the console and the status message, an
// exit before the uploads end says so, and a task with artifacts is not reused.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { buildSdk } from './support/build-sdk.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'artifacts-support/run-with-artifacts.mjs');

let server: TestServer;
let work: string;

beforeAll(async () => {
  [server, work] = await Promise.all([startTestServer(), mkdtemp(join(tmpdir(), 'tasklane-artifact-runs-'))]);
  await buildSdk();
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  taskId: string;
  marker(name: string): any;
}

/** Runs the fixture script with the SDK pointed at the test server; `stateDir` is shared by runs that reuse. */
function runScript(input: Record<string, unknown>, stateDir = join(work, `state-${Math.random().toString(16).slice(2)}`)): Promise<Run> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKLANE_') && !k.startsWith('VITEST'))),
    TASKLANE_API_HOST: server.url,
    TASKLANE_STATE_DIR: stateDir,
    XDG_CONFIG_HOME: join(work, 'config-home'),
    ARTIFACT_FIXTURE_INPUT: JSON.stringify(input),
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT], { cwd: work, env, timeout: 40_000 }, (error, stdout, stderr) => {
      const marker = (name: string) => {
        const line = stdout.split('\n').find((l) => l.startsWith(`@@${name} `));
        return line === undefined ? undefined : JSON.parse(line.slice(name.length + 3));
      };
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr, taskId: marker('task')?.id, marker });
    });
  });
}

/** The `tasklane: ...` lines a script printed on stderr. */
const diagnostics = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('tasklane: '));

async function readTask(id: string) {
  return (await server.api.call('tasks.get_by_id', { task: id })).task;
}

describe('background artifact uploads of a Task.init run', () => {
  it('close() waits for pending uploads (a big one printing its progress), then completes the task', async () => {
    const run = await runScript({ taskName: 'close waits', bigBytes: 12 * 1024 * 1024 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.marker('closed')).toEqual({ artifacts: ['big', 'last', 'notes', 'summary'] });
    expect(diagnostics(run.stderr)).toContain('tasklane: uploaded artifact "big" (12.0 MB)');
    const task = await readTask(run.taskId);
    expect({ status: task.status, status_message: task.status_message }).toEqual({ status: 'completed', status_message: '' });
    expect((task.execution.artifacts ?? []).map((a) => [a.key, a.type, a.content_size])).toEqual([
      ['big', 'custom', 12 * 1024 * 1024],
      ['last', 'table', Buffer.byteLength('step,value\n1,2.5\n')],
      ['notes', 'string', Buffer.byteLength('background upload')],
      ['summary', 'dict', Buffer.byteLength(JSON.stringify({ accuracy: 0.9, classes: ['cat', 'dog'] }, null, 2))],
    ]);
  }, 40_000);

  it('a script that just ends also waits for its uploads', async () => {
    const run = await runScript({ taskName: 'ends without close', noClose: true });
    expect(run.code, run.stderr).toBe(0);
    const task = await readTask(run.taskId);
    expect(task.status).toBe('completed');
    expect((task.execution.artifacts ?? []).map((a) => a.key)).toEqual(['last', 'notes', 'summary']);
  }, 40_000);

  it('a final upload failure is printed and kept as the status message of the completed task', async () => {
    const run = await runScript({ taskName: 'unreachable destination', outputUri: 'http://127.0.0.1:9/files', onlySummary: true });
    expect(run.code, run.stderr).toBe(0);
    const lines = diagnostics(run.stderr);
    expect(lines.filter((l) => l.includes('trying again')).map((l) => / \(attempt (\d)\).*trying again in (\d) s$/.exec(l)?.slice(1))).toEqual([
      ['1', '1'],
      ['2', '2'],
      ['3', '4'],
    ]);
    const failure = lines.find((l) => l.startsWith('tasklane: upload of artifact "summary" failed: '));
    expect(failure).toMatch(
      /^tasklane: upload of artifact "summary" failed: Could not upload artifact "summary" \(tried 4 times\): Cannot upload to http:\/\/127\.0\.0\.1:9\/files\/artifacts\/fixtures\/unreachable%20destination\.[0-9a-f]{32}\/artifacts\/summary\/summary\.json: .*\(ECONNREFUSED\)/,
    );
    const task = await readTask(run.taskId);
    expect({ status: task.status, status_message: task.status_message, artifacts: task.execution.artifacts ?? [] }).toEqual({
      status: 'completed',
      status_message: failure!.slice('tasklane: '.length),
      artifacts: [],
    });
  }, 40_000);

  it('process.exit() before the uploads end says they are lost, in the console and the status message', async () => {
    const run = await runScript({ taskName: 'exits early', exitEarly: true });
    expect(run.code, run.stderr).toBe(0);
    const message = '3 artifact/model upload(s) were not finished when the process exited; they are lost';
    expect(diagnostics(run.stderr)).toContain(`tasklane: ${message}`);
    const task = await readTask(run.taskId);
    expect({ status: task.status, status_message: task.status_message }).toEqual({ status: 'completed', status_message: message });
  }, 40_000);

  it('a task with artifacts is not reused by the next run', async () => {
    const stateDir = join(work, 'reuse-state');
    const first = await runScript({ taskName: 'reuse check' }, stateDir);
    const second = await runScript({ taskName: 'reuse check' }, stateDir);
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.taskId).not.toBe(first.taskId);
    expect(second.stdout).toContain(`Tasklane: task ${second.taskId} created`);
    expect((await readTask(first.taskId)).execution.artifacts?.length).toBe(3);
  }, 40_000);
});
