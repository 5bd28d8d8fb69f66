import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeModel, makeProject, makeTask, queuedIds, tick, uniqueName, withoutId } from './support/factories.js';
import { rawCall, startTestServer, type TestServer } from './support/test-server.js';

describe('task lifecycle over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  let defaultQueue: string;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
    defaultQueue = (await api.call('queues.get_default', {})).id;
  });
  afterAll(async () => {
    await server.close();
  });

  describe('status changes', () => {
    it('started → completed → published, with their timestamps', async () => {
      const id = await makeTask(api);
      const started = await api.call('tasks.started', { task: id, status_reason: 'run locally' });
      expect(started).toMatchObject({ updated: 1, started: 1, fields: { status: 'in_progress' } });
      let task = await getTask(api, id);
      expect(task).toMatchObject({ status: 'in_progress', status_reason: 'run locally' });
      const startedAt = task.started;
      expect(startedAt).toMatch(/Z$/);

      await tick();
      const completed = await api.call('tasks.completed', { task: id });
      expect(completed).toMatchObject({ updated: 1, published: 0 });
      task = await getTask(api, id);
      expect(task.status).toBe('completed');
      expect(task.completed! > startedAt!).toBe(true);

      await api.call('tasks.publish', { task: id });
      task = await getTask(api, id);
      expect(task.status).toBe('published');
      expect(task.published).toMatch(/Z$/);
      expect(task.started).toBe(startedAt);
    });

    it('started again (completed → in_progress) keeps the first start time', async () => {
      const id = await makeTask(api, { status: 'completed' });
      const { started } = await getTask(api, id);
      await tick();
      await api.call('tasks.started', { task: id });
      expect(await getTask(api, id)).toMatchObject({ status: 'in_progress', started });
    });

    it('failed, stopped and close', async () => {
      const failed = await makeTask(api, { status: 'in_progress' });
      expect(await api.call('tasks.failed', { task: failed, status_reason: 'boom', status_message: 'exit 1' })).toMatchObject({
        updated: 1,
      });
      expect(await getTask(api, failed)).toMatchObject({ status: 'failed', status_reason: 'boom', status_message: 'exit 1' });
      expect((await getTask(api, failed)).completed).toMatch(/Z$/);

      const stopped = await makeTask(api, { status: 'in_progress' });
      await api.call('tasks.stopped', { task: stopped });
      expect((await getTask(api, stopped)).status).toBe('stopped');
      await api.call('tasks.close', { task: stopped });
      expect((await getTask(api, stopped)).status).toBe('closed');
    });

    it('completed with publish: true publishes at once', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      const reply = await api.call('tasks.completed', { task: id, publish: true });
      expect(reply).toMatchObject({ updated: 1, published: 1 });
      const task = await getTask(api, id);
      expect(task.status).toBe('published');
      expect(task.completed).toMatch(/Z$/);
      expect(task.published).toMatch(/Z$/);
    });

    it('publishes stopped and failed tasks too', async () => {
      for (const status of ['stopped', 'failed'] as const) {
        const id = await makeTask(api, { status });
        await api.call('tasks.publish', { task: id });
        expect((await getTask(api, id)).status).toBe('published');
      }
    });

    it('refuses to publish a draft, naming the current status', async () => {
      const id = await makeTask(api);
      const err = await expectError(api.call('tasks.publish', { task: id }), 'INVALID_TRANSITION');
      expect(err.status).toBe(409);
      expect(withoutId(err.message, id)).toMatchInlineSnapshot(
        `"Cannot publish task <id>: its status is "created" (Draft); moving to "published" is allowed only from "stopped", "publishing", "closed", "failed", "completed". Only a finished task (completed, stopped, failed or closed) can be published."`,
      );
      expect(err.details).toMatchObject({ current_status: 'created', new_status: 'published' });
      expect((await getTask(api, id)).status).toBe('created');
    });

    it('refuses to start a published task, naming the current status', async () => {
      const id = await makeTask(api, { status: 'published' });
      const err = await expectError(api.call('tasks.started', { task: id }), 'INVALID_TRANSITION');
      expect(withoutId(err.message, id)).toMatchInlineSnapshot(
        `"Cannot start task <id>: its status is "published" (Published); moving to "in_progress" is allowed only from "created", "queued", "stopped", "completed". A published task is read-only: clone it to run it again."`,
      );
    });

    it('refuses other illegal moves', async () => {
      const draft = await makeTask(api);
      for (const action of ['tasks.completed', 'tasks.stopped', 'tasks.failed', 'tasks.close'] as const) {
        const err = await expectError(api.call(action, { task: draft }), 'INVALID_TRANSITION');
        expect(err.message).toContain('"created"');
      }
      const completed = await makeTask(api, { status: 'completed' });
      const err = await expectError(api.call('tasks.enqueue', { task: completed }), 'INVALID_TRANSITION');
      expect(err.message).toContain('"completed"');
      await expectError(api.call('tasks.failed', { task: completed }), 'INVALID_TRANSITION');
      expect((await getTask(api, completed)).status).toBe('completed');
      expect(await queuedIds(api, defaultQueue)).not.toContain(completed);
    });

    it('answers an illegal move with HTTP 409 and ClearML subcode 110 on the wire', async () => {
      const id = await makeTask(api);
      const { status, json } = await rawCall(server.url, '/tasks.publish', { body: JSON.stringify({ task: id }) });
      expect(status).toBe(409);
      expect(json.meta).toMatchObject({
        result_code: 409,
        result_subcode: 110,
        error_data: { code: 'INVALID_TRANSITION', current_status: 'created', new_status: 'published' },
      });
      expect(json.meta.result_msg).toContain('"created"');
      expect(json.data).toEqual({});
    });

    it('force skips the transition check', async () => {
      const id = await makeTask(api);
      await api.call('tasks.completed', { task: id, force: true });
      expect((await getTask(api, id)).status).toBe('completed');
      const published = await makeTask(api, { status: 'published' });
      await api.call('tasks.started', { task: published, force: true });
      expect((await getTask(api, published)).status).toBe('in_progress');
    });
  });

  describe('reset', () => {
    it('deletes outputs and makes the task a draft again', async () => {
      const [inModel, outModel] = [await makeModel(api), await makeModel(api)];
      const id = await makeTask(api, {
        script: { branch: 'main' },
        hyperparams: { Args: { lr: { value: '0.1' } } },
        models: { input: [{ name: 'base', model: inModel }] },
      });
      await api.call('tasks.started', { task: id });
      await api.call('tasks.add_or_update_artifacts', {
        task: id,
        artifacts: [
          { key: 'data', type: 'csv', mode: 'input', uri: 'file:///in.csv' },
          { key: 'result', type: 'csv', mode: 'output', uri: 'file:///out.csv' },
        ],
      });
      await api.call('tasks.add_or_update_model', { task: id, name: 'final', model: outModel, type: 'output', iteration: 12 });
      await api.call('tasks.set_progress', { task: id, progress: 80 });
      await api.call('tasks.stopped', { task: id });
      expect(await getTask(api, id)).toMatchObject({ last_iteration: 12, runtime: { progress: '80' } });

      const reply = await api.call('tasks.reset', { task: id });
      expect(reply).toMatchObject({ updated: 1, dequeued: 0, deleted_models: 1 });

      const task = await getTask(api, id);
      expect(task).toMatchObject({
        status: 'created',
        status_reason: 'reset',
        last_iteration: 0,
        runtime: {},
        last_metrics: {},
        started: null,
        completed: null,
        models: { input: [{ name: 'base', model: inModel }], output: [] },
        script: { branch: 'main' },
        hyperparams: { Args: { lr: { value: '0.1' } } },
      });
      expect(task.execution.artifacts).toEqual([{ key: 'data', type: 'csv', mode: 'input', uri: 'file:///in.csv' }]);
    });

    it('dequeues a queued task', async () => {
      const id = await makeTask(api, { status: 'queued' });
      expect(await queuedIds(api, defaultQueue)).toContain(id);
      const reply = await api.call('tasks.reset', { task: id });
      expect(reply.dequeued).toBe(1);
      expect(await queuedIds(api, defaultQueue)).not.toContain(id);
      expect(await getTask(api, id)).toMatchObject({ status: 'created', execution: { queue: null } });
    });

    it('with clear_all also empties the script', async () => {
      const id = await makeTask(api, { status: 'failed', script: { branch: 'main', entry_point: 'x.ts' } });
      await api.call('tasks.reset', { task: id, clear_all: true });
      expect((await getTask(api, id)).script).toEqual({});
    });

    it('refuses a published task unless forced', async () => {
      const id = await makeTask(api, { status: 'published' });
      const err = await expectError(api.call('tasks.reset', { task: id }), 'INVALID_TRANSITION');
      expect(err.message).toContain('"published"');
      expect((await getTask(api, id)).status).toBe('published');
      await api.call('tasks.reset', { task: id, force: true });
      expect(await getTask(api, id)).toMatchObject({ status: 'created', published: null });
    });
  });

  describe('clone', () => {
    async function finishedSource() {
      const project = await makeProject(api);
      const id = await makeTask(api, {
        name: uniqueName('source'),
        project: project.id,
        comment: 'the original',
        tags: ['keep'],
        system_tags: ['development'],
        script: { repository: 'r.git', branch: 'main', requirements: { npm: 'zod' } },
        hyperparams: { Args: { lr: { value: '0.1' } } },
        configuration: { cfg: { value: 'a: 1', type: 'yaml' } },
        container: { image: 'node:20' },
        models: { input: [{ name: 'base', model: '1'.repeat(32) }] },
      });
      await api.call('tasks.started', { task: id });
      await api.call('tasks.add_or_update_artifacts', {
        task: id,
        artifacts: [
          { key: 'in', type: 't', mode: 'input' },
          { key: 'out', type: 't', mode: 'output' },
        ],
      });
      await api.call('tasks.add_or_update_model', { task: id, name: 'final', model: await makeModel(api), type: 'output', iteration: 5 });
      await api.call('tasks.set_progress', { task: id, progress: 100 });
      await api.call('tasks.completed', { task: id });
      return { id, project: project.id };
    }

    it('makes a new draft with the configuration and none of the outputs', async () => {
      const source = await finishedSource();
      const original = await getTask(api, source.id);
      const { id, new_project } = await api.call('tasks.clone', { task: source.id });
      expect(id).not.toBe(source.id);
      expect(new_project).toBeUndefined();

      const clone = await getTask(api, id);
      expect(clone).toMatchObject({
        name: `Clone Of ${original.name}`,
        status: 'created',
        parent: source.id,
        project: source.project,
        comment: 'the original',
        tags: ['keep'],
        system_tags: [],
        script: original.script,
        hyperparams: original.hyperparams,
        configuration: original.configuration,
        container: original.container,
        runtime: {},
        last_iteration: 0,
        started: null,
        completed: null,
        models: { input: original.models.input, output: [] },
      });
      expect(clone.execution.artifacts).toEqual([{ key: 'in', type: 't', mode: 'input' }]);
      expect(clone.created > original.created).toBe(true);
      // The source is untouched.
      expect(await getTask(api, source.id)).toEqual(original);
    });

    it('takes a new name, a new project by name (created) and overrides', async () => {
      const source = await finishedSource();
      const projectName = `${uniqueName('clones')}/nested`;
      const reply = await api.call('tasks.clone', {
        task: source.id,
        new_task_name: 'second try',
        new_project_name: projectName,
        new_task_hyperparams: { Args: { lr: { value: 0.2 } } },
        new_task_tags: ['retry'],
      });
      expect(reply.new_project).toMatchObject({ name: projectName });
      const clone = await getTask(api, reply.id);
      expect(clone).toMatchObject({ name: 'second try', project: reply.new_project!.id, tags: ['retry'] });
      expect(clone.hyperparams).toEqual({ Args: { lr: { section: 'Args', name: 'lr', value: '0.2' } } });
      const { project } = await api.call('projects.get_by_id', { project: reply.new_project!.id });
      expect(project.name).toBe(projectName);

      // Into an existing project by name: no new_project in the reply.
      const again = await api.call('tasks.clone', { task: source.id, new_project_name: projectName });
      expect(again.new_project).toBeUndefined();
      expect((await getTask(api, again.id)).project).toBe(reply.new_project!.id);
    });

    it('clones a published task', async () => {
      const id = await makeTask(api, { status: 'published' });
      const { id: cloneId } = await api.call('tasks.clone', { task: id });
      expect(await getTask(api, cloneId)).toMatchObject({ status: 'created', parent: id });
    });

    it('refuses an unknown source', async () => {
      await expectError(api.call('tasks.clone', { task: 'f'.repeat(32) }), 'TASK_NOT_FOUND');
    });
  });

  describe('archive', () => {
    it('archive adds the system tag; a queued task leaves its queue', async () => {
      const queued = await makeTask(api, { status: 'queued' });
      const draft = await makeTask(api);
      const reply = await api.call('tasks.archive', { tasks: [queued, draft] });
      expect(reply).toEqual({ archived: 2 });
      expect(await getTask(api, queued)).toMatchObject({ status: 'created', system_tags: ['archived'] });
      expect((await getTask(api, draft)).system_tags).toEqual(['archived']);
      expect(await queuedIds(api, defaultQueue)).not.toContain(queued);
      // Archiving again counts nothing.
      expect(await api.call('tasks.archive', { tasks: [draft] })).toEqual({ archived: 0 });
      // An archived task cannot be enqueued.
      await expectError(api.call('tasks.enqueue', { task: draft }), 'INVALID_TRANSITION');
    });

    it('archive_many and unarchive_many report each task', async () => {
      const one = await makeTask(api, { status: 'queued' });
      const two = await makeTask(api, { status: 'completed' });
      const missing = 'e'.repeat(32);
      const archived = await api.call('tasks.archive_many', { ids: [one, two, missing] });
      expect(archived.succeeded.map((s) => s.id)).toEqual([one, two]);
      expect(archived.failed).toHaveLength(1);
      expect(archived.failed[0]).toMatchObject({ id: missing, error: { codes: [404, 101] } });
      expect(archived.failed[0]!.error.msg).toContain(missing);
      expect(await queuedIds(api, defaultQueue)).not.toContain(one);
      expect((await getTask(api, one)).status).toBe('created');
      expect((await getTask(api, two)).system_tags).toContain('archived');

      const restored = await api.call('tasks.unarchive_many', { ids: [one, two] });
      expect(restored).toEqual({ succeeded: [{ id: one }, { id: two }], failed: [] });
      expect((await getTask(api, one)).system_tags).toEqual([]);
      expect(await getTask(api, two)).toMatchObject({ system_tags: [], status: 'completed' });
    });
  });

  describe('delete', () => {
    it('deletes a task; its children keep living without a parent', async () => {
      const parent = await makeTask(api, { status: 'completed' });
      const child = await makeTask(api, { parent });
      const reply = await api.call('tasks.delete', { task: parent });
      expect(reply).toMatchObject({ deleted: 1, updated_children: 1 });
      await expectError(api.call('tasks.get_by_id', { task: parent }), 'TASK_NOT_FOUND');
      expect((await getTask(api, child)).parent).toBeNull();
    });

    it('refuses a running or published task unless forced', async () => {
      const running = await makeTask(api, { status: 'in_progress' });
      const err = await expectError(api.call('tasks.delete', { task: running }), 'INVALID_TRANSITION');
      expect(err.message).toContain('running');
      expect((await getTask(api, running)).status).toBe('in_progress');
      await api.call('tasks.delete', { task: running, force: true });
      await expectError(api.call('tasks.get_by_id', { task: running }), 'TASK_NOT_FOUND');

      const published = await makeTask(api, { status: 'published' });
      await expectError(api.call('tasks.delete', { task: published }), 'INVALID_TRANSITION');
      await api.call('tasks.delete', { task: published, force: true });
    });

    it('takes a queued task out of its queue', async () => {
      const id = await makeTask(api, { status: 'queued' });
      await api.call('tasks.delete', { task: id });
      expect(await queuedIds(api, defaultQueue)).not.toContain(id);
    });
  });

  describe('stop (abort)', () => {
    it('aborts a queued task and takes it out of its queue', async () => {
      const id = await makeTask(api, { status: 'queued' });
      await api.call('tasks.stop', { task: id });
      expect((await getTask(api, id)).status).toBe('stopped');
      expect(await queuedIds(api, defaultQueue)).not.toContain(id);
    });

    it('aborts at once a running task that no live worker runs', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      await api.call('tasks.stop', { task: id, status_reason: 'user abort' });
      expect(await getTask(api, id)).toMatchObject({ status: 'stopped', status_reason: 'user abort' });
    });

    it('asks a live worker to stop its running task: status_message "stopping", status unchanged', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      await api.call('workers.status_report', { worker: uniqueName('agent'), timestamp: Date.now(), task: id });
      const reply = await api.call('tasks.stop', { task: id });
      expect(reply.updated).toBe(1);
      expect(await getTask(api, id)).toMatchObject({ status: 'in_progress', status_message: 'stopping' });
      // The agent then reports the abort itself.
      await api.call('tasks.stopped', { task: id });
      expect((await getTask(api, id)).status).toBe('stopped');
    });

    it('with force aborts at once even a task a live worker runs', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      await api.call('workers.status_report', { worker: uniqueName('agent'), timestamp: Date.now(), task: id });
      await api.call('tasks.stop', { task: id, force: true });
      expect((await getTask(api, id)).status).toBe('stopped');
    });

    it('refuses to stop a draft', async () => {
      const id = await makeTask(api);
      await expectError(api.call('tasks.stop', { task: id }), 'INVALID_TRANSITION');
    });
  });
});
