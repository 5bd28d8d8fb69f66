import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES_BACKENDS, useFilesBackends, type StoredFiles } from './support/files-backends.js';
import type { TestServer } from './support/test-server.js';

useFilesBackends();

describe.each(FILES_BACKENDS)('debug-sample files of a task on $name', (backend) => {
  let server: TestServer;
  let stored: StoredFiles;
  beforeAll(async () => {
    ({ server, stored } = await backend.start());
  });
  afterAll(async () => {
    await server.close();
  });

  async function taskWithSample(name: string) {
    const { id } = await server.api.call('tasks.create', { name, project_name: 'samples/files' });
    await server.api.call('tasks.started', { task: id });
    const key = `samples/files/${name}.${id}/metrics/images/input/images_input_00000000.png`;
    const form = new FormData();
    form.append(key, new Blob([Buffer.from('not really a png')]), 'x.png');
    const upload = await fetch(`${server.url}/files`, { method: 'POST', body: form });
    expect(upload.status).toBe(200);
    const event = { type: 'training_debug_image', task: id, iter: 0, metric: 'images', variant: 'input', key, url: `${server.url}/files/${key}` };
    await server.api.callJsonLines('events.add_batch', [event]);
    expect(await stored.has(key)).toBe(true);
    // Another file of the task, outside its samples' folder: it stays.
    const other = `samples/files/${name}.${id}/artifacts/keep.txt`;
    const keep = new FormData();
    keep.append(other, new Blob([Buffer.from('kept')]), 'keep.txt');
    expect((await fetch(`${server.url}/files`, { method: 'POST', body: keep })).status).toBe(200);
    return { id, key, other };
  }

  it('are removed with the events when the task is reset', async () => {
    const { id, key, other } = await taskWithSample('reset sample');
    await server.api.call('tasks.stopped', { task: id });
    const reply = await server.api.call('tasks.reset', { task: id });
    expect(reply.events).toBe(1);
    expect(await stored.has(key)).toBe(false);
    expect(await stored.has(other)).toBe(true);
  });

  it('are removed when the task is deleted', async () => {
    const { id, key } = await taskWithSample('deleted sample');
    await server.api.call('tasks.delete', { task: id, force: true });
    expect(await stored.has(key)).toBe(false);
  });

  it.runIf(backend.kind === 'folder')('are not removed through a symbolic link in the files folder', async () => {
    // "samples/linked" leads outside the files folder; a sample key under it must not make a reset delete there.
    const outside = join(server.dir, 'outside-samples');
    await mkdir(join(server.dir, 'files', 'samples'), { recursive: true });
    await symlink(outside, join(server.dir, 'files', 'samples', 'linked'));
    const { id } = await server.api.call('tasks.create', { name: 'linked sample', project_name: 'samples/linked' });
    await server.api.call('tasks.started', { task: id });
    const key = `samples/linked/linked sample.${id}/metrics/images/input/images_input_00000000.png`;
    const kept = join(outside, `linked sample.${id}`, 'metrics', 'images', 'input', 'images_input_00000000.png');
    await mkdir(join(kept, '..'), { recursive: true });
    await writeFile(kept, 'outside the files folder');
    await server.api.callJsonLines('events.add_batch', [
      { type: 'training_debug_image', task: id, iter: 0, metric: 'images', variant: 'input', key, url: `${server.url}/files/${key}` },
    ]);
    await server.api.call('tasks.stopped', { task: id });
    expect((await server.api.call('tasks.reset', { task: id })).events).toBe(1);
    expect(existsSync(kept)).toBe(true);
  });

  it('stay when the reset is refused', async () => {
    const { id, key } = await taskWithSample('published sample');
    await server.api.call('tasks.completed', { task: id, publish: true });
    await expect(server.api.call('tasks.reset', { task: id })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(await stored.has(key)).toBe(true);
  });
});
