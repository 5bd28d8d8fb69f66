import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { assertCliBuilt, runCli, startCliServer, type CliServer } from '../support/cli.js';

describe('tasklane CLI against a server it started', () => {
  let server: CliServer;
  let api: ApiClient;
  const cli = (...args: string[]) => runCli(args, { TASKLANE_API_URL: server.url });

  beforeAll(async () => {
    assertCliBuilt();
    server = await startCliServer(['--watchdog-timeout', '3600']);
    api = new ApiClient({ baseUrl: server.url });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('keeps its data in the data dir: a SQLite file and a files folder', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(join(server.dir, 'data', 'tasklane.sqlite'))).toBe(true);
    expect(existsSync(join(server.dir, 'data', 'files'))).toBe(true);
  });

  it('lists, shows, enqueues, aborts, resets, clones and publishes tasks', async () => {
    const { id } = await api.call('tasks.create', {
      name: 'cli e2e run',
      project_name: 'e2e/cli',
      hyperparams: { Args: { lr: { value: '0.01', type: 'float' } } },
    });
    const short = id.slice(0, 8);

    const list = await cli('task', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+PROJECT\s+TYPE\s+STATUS/);
    expect(list.stdout).toContain(short);
    expect(list.stdout).toMatch(/cli e2e run\s+e2e\/cli\s+training\s+Draft/);

    const show = await cli('task', 'show', short);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`cli e2e run  (${id})`);
    expect(show.stdout).toMatch(/Args\/lr\s+0\.01\s+\(float\)/);

    expect((await cli('task', 'enqueue', short, '--queue', 'gpu')).stdout).toContain('Enqueued');
    expect((await api.call('tasks.get_by_id', { task: id })).task.status).toBe('queued');
    const queued = JSON.parse((await cli('task', 'list', '--status', 'queued', '--json')).stdout) as { id: string }[];
    expect(queued.map((t) => t.id)).toEqual([id]);

    const publishQueued = await cli('task', 'publish', short);
    expect(publishQueued.code).toBe(1);
    expect(publishQueued.stderr).toContain(`Cannot publish task ${short}: its status is "queued"`);

    expect((await cli('task', 'abort', short)).code).toBe(0);
    expect((await api.call('tasks.get_by_id', { task: id })).task.status).toBe('stopped');
    expect((await cli('task', 'reset', short)).code).toBe(0);
    expect((await api.call('tasks.get_by_id', { task: id })).task.status).toBe('created');

    const clone = await cli('task', 'clone', short, '--name', 'cli e2e clone', '--json');
    expect(clone.code).toBe(0);
    const cloneId = (JSON.parse(clone.stdout) as { id: string }).id;
    const { task: cloned } = await api.call('tasks.get_by_id', { task: cloneId });
    expect(cloned).toMatchObject({ name: 'cli e2e clone', parent: id, status: 'created' });
    expect(cloned.hyperparams.Args?.lr?.value).toBe('0.01');

    await api.call('tasks.started', { task: cloneId });
    await api.call('tasks.completed', { task: cloneId });
    expect((await cli('task', 'publish', cloneId.slice(0, 6))).stdout).toContain('Published');
    expect((await api.call('tasks.get_by_id', { task: cloneId })).task.status).toBe('published');
  });

  it('lists queues with what waits in them, and workers with what they run', async () => {
    const { id } = await api.call('tasks.create', { name: 'cli e2e queued', project_name: 'e2e/cli' });
    expect((await cli('task', 'enqueue', id.slice(0, 8), '--queue', 'cli-e2e-queue', '--priority', '7')).code).toBe(0);
    const queues = await cli('queue', 'list');
    expect(queues.code).toBe(0);
    expect(queues.stdout).toMatch(/^QUEUE\s+ID\s+WAITING\s+LONGEST WAIT\s+WORKERS/);
    expect(queues.stdout).toMatch(/cli-e2e-queue\s+[0-9a-f]{8}\s+1\s/);
    const { queue } = await api.call('queues.get_by_id', { queue: (await api.call('tasks.get_by_id', { task: id })).task.execution.queue! });
    expect(queue.entries).toEqual([expect.objectContaining({ task: id, priority: 7 })]);

    await api.call('workers.status_report', { worker: 'e2e-box:cpu', timestamp: Date.now(), queues: [queue.id] });
    const workers = await cli('worker', 'list');
    expect(workers.code).toBe(0);
    expect(workers.stdout).toMatch(/e2e-box:cpu\s+idle\s+-\s+cli-e2e-queue/);

    const bad = await cli('task', 'enqueue', id.slice(0, 8), '--priority', '101');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--priority expects an integer from 0 to 100, got "101"');
  });

  it('says what went wrong, with exit code 1 for errors and 2 for bad usage', async () => {
    const missing = await cli('task', 'show', 'abcdef12');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No task id starts with "abcdef12"');

    const usage = await cli('task', 'frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("unknown command 'frobnicate'");

    const unreachable = await runCli(['task', 'list', '--server', 'http://127.0.0.1:9']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('Cannot reach the Tasklane server at http://127.0.0.1:9');
  });

  it('documents every server option in --help', async () => {
    const help = await runCli(['server', '--help']);
    expect(help.code).toBe(0);
    for (const option of ['--host', '--port', '--data-dir', '--db-url', '--files-url', 'TASKLANE_FILES_URL', 'TASKLANE_S3_ENDPOINT', '--config', '--watchdog-timeout', '--watchdog-interval', '--worker-timeout', '--log-level']) {
      expect(help.stdout).toContain(option);
    }
  });
});

describe('tasklane server start-up', () => {
  it('refuses a bad option value naming it', async () => {
    assertCliBuilt();
    const result = await runCli(['server', '--port', 'eighty', '--data-dir', '/tmp/tasklane-never-created']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port');
    expect(result.stderr).toContain('"eighty"');
  });

  it('explains a port already in use', async () => {
    const first = await startCliServer();
    try {
      const port = new URL(first.url).port;
      const second = await runCli(['server', '--port', port, '--data-dir', join(first.dir, 'other')]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`Port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await first.stop();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    const server = await startCliServer();
    expect(await server.stop('SIGTERM')).toBe(0);
  });
});
