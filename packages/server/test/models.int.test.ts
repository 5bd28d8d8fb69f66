import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestOf } from '@tasklane/protocol';
import { openSqliteStore } from '@tasklane/server';
import type { ApiClient } from 'tasklane/client';
import { SQLITE_MIGRATIONS } from '../src/storage/migrations.js';
import { expectError, getModel, getTask, makeModel, makeProject, makeTask, tick, uniqueName, withoutId } from './support/factories.js';
import { onPostgres, rawCall, startTestServer, type TestServer } from './support/test-server.js';

const TIMESTAMP = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const UNKNOWN_ID = 'c0ffee00c0ffee00c0ffee00c0ffee00';

describe('models over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  /** Ids of the models a listing answers, in order. */
  async function listIds(body: RequestOf<'models.get_all'>): Promise<string[]> {
    return (await api.call('models.get_all', body)).models.map((m) => m.id!);
  }

  /** A task that ran and recorded `model` as its output model "final". */
  async function taskWithOutput(model: string, status: 'completed' | 'in_progress' = 'completed'): Promise<string> {
    const task = await makeTask(api, { status: 'in_progress' });
    await api.call('tasks.add_or_update_model', { task, name: 'final', model, type: 'output', iteration: 3 });
    if (status === 'completed') await api.call('tasks.completed', { task });
    return task;
  }

  describe('create and get_by_id', () => {
    it('stores every field and returns the model whole', async () => {
      const project = await makeProject(api);
      const task = await makeTask(api);
      const parent = await makeModel(api);
      const name = uniqueName('resnet');
      const reply = await api.call('models.create', {
        uri: 'file:///weights/resnet.pt',
        name,
        comment: 'first try',
        tags: ['zeta', 'alpha', 'zeta'],
        system_tags: ['custom'],
        framework: 'PyTorch',
        design: { design: 'layers: 50' },
        labels: { background: 0, cat: 1 },
        ready: false,
        project: project.id,
        parent,
        task,
        metadata: [{ key: 'epochs', type: 'int', value: 10 }, { key: 'note', value: 'plain' }],
      });
      expect(reply).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), created: true });

      expect(await getModel(api, reply.id)).toEqual({
        id: reply.id,
        name,
        created: TIMESTAMP,
        last_update: TIMESTAMP,
        task,
        parent,
        project: project.id,
        comment: 'first try',
        tags: ['alpha', 'zeta'],
        system_tags: ['custom'],
        framework: 'PyTorch',
        design: { design: 'layers: 50' },
        labels: { background: 0, cat: 1 },
        uri: 'file:///weights/resnet.pt',
        ready: false,
        metadata: {
          epochs: { key: 'epochs', type: 'int', value: '10' },
          note: { key: 'note', type: '', value: 'plain' },
        },
        last_iteration: 0,
      });
    });

    it('fills defaults, wraps a design text, and creates a project given by name', async () => {
      const projectName = `${uniqueName('models')}/sub`;
      const { id } = await api.call('models.create', {
        uri: 'file:///w.bin',
        name: 'bare',
        design: 'input: 784\nhidden: 128',
        project_name: projectName,
      });
      const model = await getModel(api, id);
      const [project] = (await api.call('projects.get_all', { name: `^${projectName}$` })).projects;
      expect(model).toEqual({
        id,
        name: 'bare',
        created: TIMESTAMP,
        last_update: model.created,
        task: null,
        parent: null,
        project: project!.id,
        comment: '',
        tags: [],
        system_tags: [],
        framework: null,
        design: { design: 'input: 784\nhidden: 128' },
        labels: {},
        uri: 'file:///w.bin',
        ready: false,
        metadata: {},
        last_iteration: 0,
      });
    });

    it('refuses unknown references: project, parent model, task', async () => {
      const base = { uri: 'file:///w.bin', name: 'orphan' };
      await expectError(api.call('models.create', { ...base, project: UNKNOWN_ID }), 'PROJECT_NOT_FOUND');
      const parent = await expectError(api.call('models.create', { ...base, parent: UNKNOWN_ID }), 'MODEL_NOT_FOUND');
      expect(parent.message).toMatchInlineSnapshot(
        `"Model c0ffee00 not found: no model has id "c0ffee00c0ffee00c0ffee00c0ffee00". Check body.parent (the id of the model this one derives from)."`,
      );
      await expectError(api.call('models.create', { ...base, task: UNKNOWN_ID }), 'TASK_NOT_FOUND');
      expect(await api.call('models.get_all', { name: '^orphan$' })).toEqual({ models: [] });
    });

    it('refuses bad bodies with 400, naming the field', async () => {
      let err = await expectError(api.call('models.create', { name: 'no weights' } as never), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.uri: required field is missing"`);
      err = await expectError(api.call('models.create', { uri: 'file:///w.bin', name: '   ' }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.name: cannot be empty, got """`);
      err = await expectError(api.call('models.create', { uri: 'file:///w.bin', name: 'labels', labels: { cat: 1.5 } }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.labels.cat: expected an integer, got 1.5"`);
      err = await expectError(api.call('models.create', { uri: 'file:///w.bin', name: 'bad task', task: 'nope' }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.task: expected a 32-character hex id, got "nope""`);
      err = await expectError(api.call('models.create', { uri: 'file:///w.bin', name: 'bad meta', metadata: [{ value: 'x' }] } as never), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.metadata.0.key: required field is missing"`);
    });

    it('answers MODEL_NOT_FOUND for an unknown id and INVALID_INPUT for a malformed one', async () => {
      const err = await expectError(api.call('models.get_by_id', { model: UNKNOWN_ID }), 'MODEL_NOT_FOUND');
      expect(err.message).toMatchInlineSnapshot(
        `"Model c0ffee00 not found: no model has id "c0ffee00c0ffee00c0ffee00c0ffee00". List models with models.get_all."`,
      );
      const bad = await expectError(api.call('models.get_by_id', { model: 'abc' }), 'INVALID_INPUT');
      expect(bad.message).toContain('body.model');
      const missing = await expectError(api.call('models.get_by_id', {} as never), 'INVALID_INPUT');
      expect(missing.message).toMatchInlineSnapshot(`"Invalid request: body.model: required field is missing"`);
    });

    it('answers ClearML\'s envelope for an unknown model: HTTP 404, subcode 201 (invalid_model_id)', async () => {
      const reply = await rawCall(server.url, '/v2.23/models.get_by_id', { body: JSON.stringify({ model: UNKNOWN_ID }) });
      expect(reply.status).toBe(404);
      expect(reply.json.meta).toMatchObject({
        result_code: 404,
        result_subcode: 201,
        error_data: { code: 'MODEL_NOT_FOUND', model: UNKNOWN_ID },
      });
    });
  });

  describe('edit and update', () => {
    it('follows OutputModel.update_weights: create while uploading, edit with the real uri, record on the task', async () => {
      const project = await makeProject(api);
      const task = await makeTask(api, { status: 'in_progress', project: project.id });
      const { id } = await api.call('models.create', {
        uri: 'http://files.example/proj/uploading_file',
        name: 'mnist',
        labels: {},
        project: project.id,
      });
      const edit = await api.call('models.edit', {
        model: id,
        uri: 'http://files.example/proj/models/mnist.pt',
        name: 'mnist',
        framework: 'TensorFlow.js',
        design: { design: 'dense 128' },
        labels: { zero: 0, one: 1 },
        iteration: 42,
        tags: ['v1'],
        task,
      });
      expect(edit).toEqual({
        updated: 1,
        fields: {
          name: 'mnist',
          uri: 'http://files.example/proj/models/mnist.pt',
          tags: ['v1'],
          framework: 'TensorFlow.js',
          design: { design: 'dense 128' },
          labels: { zero: 0, one: 1 },
          task,
        },
      });
      expect(await api.call('tasks.add_or_update_model', { task, name: 'mnist', model: id, type: 'output', iteration: 42 })).toEqual({
        updated: 1,
      });
      const model = await getModel(api, id);
      expect(model).toMatchObject({
        uri: 'http://files.example/proj/models/mnist.pt',
        framework: 'TensorFlow.js',
        task,
        project: project.id,
        last_iteration: 42,
        ready: false,
      });
      expect(model.last_update >= model.created).toBe(true);
      const stored = await getTask(api, task);
      expect(stored.models).toEqual({ input: [], output: [{ name: 'mnist', model: id, updated: TIMESTAMP }] });
      // The edit's iteration raised the task's too (ClearML's models.edit does).
      expect(stored.last_iteration).toBe(42);
    });

    it('replaces design, labels and metadata whole, and answers updated 0 when given nothing', async () => {
      const id = await makeModel(api, { design: { design: 'a', extra: 1 }, labels: { a: 0, b: 1 }, metadata: [{ key: 'k1', value: '1' }] });
      await api.call('models.edit', { model: id, design: 'b', labels: { c: 2 }, metadata: [{ key: 'k2', type: 'str', value: 'two' }] });
      expect(await getModel(api, id)).toMatchObject({
        design: { design: 'b' },
        labels: { c: 2 },
        metadata: { k2: { key: 'k2', type: 'str', value: 'two' } },
      });
      const before = await getModel(api, id);
      await tick();
      expect(await api.call('models.edit', { model: id })).toEqual({ updated: 0, fields: {} });
      expect(await getModel(api, id)).toEqual(before);
    });

    it('moves a model to another project and clears references with null', async () => {
      const parent = await makeModel(api);
      const id = await makeModel(api, { parent, task: await makeTask(api), project_name: uniqueName('from') });
      const to = await makeProject(api);
      await api.call('models.update', { model: id, project: to.id });
      expect(await getModel(api, id)).toMatchObject({ project: to.id, parent });
      expect(await api.call('models.edit', { model: id, parent: null, task: null, framework: null })).toEqual({
        updated: 1,
        fields: { framework: null, parent: null, task: null },
      });
      expect(await getModel(api, id)).toMatchObject({ parent: null, task: null, framework: null });
    });

    it('refuses unknown or self references and bad bodies', async () => {
      const id = await makeModel(api);
      await expectError(api.call('models.edit', { model: UNKNOWN_ID, name: 'x' }), 'MODEL_NOT_FOUND');
      await expectError(api.call('models.edit', { model: id, parent: UNKNOWN_ID }), 'MODEL_NOT_FOUND');
      await expectError(api.call('models.edit', { model: id, task: UNKNOWN_ID }), 'TASK_NOT_FOUND');
      await expectError(api.call('models.update', { model: id, project: UNKNOWN_ID }), 'PROJECT_NOT_FOUND');
      const self = await expectError(api.call('models.edit', { model: id, parent: id }), 'INVALID_INPUT');
      expect(withoutId(self.message, id)).toMatchInlineSnapshot(
        `"Invalid request: body.parent: a model cannot be its own parent, got "<full id>""`,
      );
      const iteration = await expectError(api.call('models.edit', { model: id, iteration: 1.5 }), 'INVALID_INPUT');
      expect(iteration.message).toMatchInlineSnapshot(`"Invalid request: body.iteration: expected an integer, got 1.5"`);
      const ready = await expectError(api.call('models.update', { model: id, ready: 'yes' as never }), 'INVALID_INPUT');
      expect(ready.message).toMatchInlineSnapshot(`"Invalid request: body.ready: expected a boolean, got "yes""`);
    });

    it('a published model changes only its name, comment, tags, project and metadata unless forced', async () => {
      const id = await makeModel(api, { ready: true, uri: 'file:///w/v1.bin', framework: 'onnx' });
      const err = await expectError(
        api.call('models.edit', { model: id, uri: 'file:///w/v2.bin', labels: { a: 1 }, comment: 'fine' }),
        'MODEL_READ_ONLY',
      );
      expect(withoutId(err.message, id).replace(/"model-[^"]+"/, '"<name>"')).toMatchInlineSnapshot(
        `"Cannot change labels, uri of model <id> ("<name>"): it is published, and a published model keeps its weights and description; only its name, comment, tags, project and metadata change. Register a new model (models.create) for new weights, or pass force to change this one anyway."`,
      );
      expect(err.details).toMatchObject({ model: id, fields: ['labels', 'uri'] });
      expect(await getModel(api, id)).toMatchObject({ uri: 'file:///w/v1.bin', comment: '', labels: {} });
      await expectError(api.call('models.update', { model: id, ready: false }), 'MODEL_READ_ONLY');
      await expectError(api.call('models.update', { model: id, task: await makeTask(api) }), 'MODEL_READ_ONLY');

      // Describing it is fine; sending a value it already has changes nothing and is fine too.
      const project = await makeProject(api);
      await api.call('models.edit', {
        model: id,
        name: 'renamed published',
        comment: 'described',
        tags: ['prod'],
        system_tags: ['reviewed'],
        project: project.id,
        metadata: [{ key: 'auc', value: '0.9' }],
        uri: 'file:///w/v1.bin',
        framework: 'onnx',
        ready: true,
      });
      expect(await getModel(api, id)).toMatchObject({
        name: 'renamed published',
        comment: 'described',
        tags: ['prod'],
        system_tags: ['reviewed'],
        project: project.id,
        uri: 'file:///w/v1.bin',
        ready: true,
      });
      await api.call('models.update', { model: id, name: 'renamed again' });

      await api.call('models.edit', { model: id, uri: 'file:///w/v2.bin', force: true });
      await api.call('models.update', { model: id, ready: false, force: true });
      expect(await getModel(api, id)).toMatchObject({ uri: 'file:///w/v2.bin', ready: false, name: 'renamed again' });
    });

    it('iteration only ever raises last_iteration, and leaves a published task alone', async () => {
      const task = await makeTask(api, { status: 'published' });
      const id = await makeModel(api, { task });
      await api.call('models.edit', { model: id, iteration: 10 });
      await api.call('models.update', { model: id, iteration: 4 });
      expect((await getModel(api, id)).last_iteration).toBe(10);
      expect((await getTask(api, task)).last_iteration).toBe(0);
    });
  });

  describe('get_all', () => {
    /** Five models in a fresh project, made in order a..e. */
    async function catalogue() {
      const project = await makeProject(api);
      const sub = (await api.call('projects.create', { name: `${project.name}/sub` })).id;
      const task = await makeTask(api);
      const a = await makeModel(api, { name: 'alpha-net', project: project.id, framework: 'PyTorch', tags: ['best'], comment: 'the keeper' });
      await tick();
      const b = await makeModel(api, { name: 'beta-net', project: project.id, framework: 'TensorFlow', ready: true, task });
      await tick();
      const c = await makeModel(api, { name: 'gamma-tree', project: project.id, framework: 'scikit-learn', tags: ['old'] });
      await tick();
      const d = await makeModel(api, { name: 'delta-net', project: sub, framework: 'PyTorch', uri: 'file:///special/delta.pt' });
      await tick();
      const e = await makeModel(api, { name: 'epsilon-hidden', project: project.id, system_tags: ['hidden'] });
      await api.call('models.archive_many', { ids: [c] });
      return { project: project.id, sub, task, a, b, c, d, e };
    }

    it('filters by id, name, project, task, uri, framework, tags, system tags, ready and text', async () => {
      const m = await catalogue();
      const p = [m.project];
      expect(await listIds({ project: p })).toEqual([m.a, m.b, m.c]);
      expect(await listIds({ project: p, include_subprojects: true })).toEqual([m.a, m.b, m.c, m.d]);
      expect(await listIds({ project: p, search_hidden: true })).toEqual([m.a, m.b, m.c, m.e]);
      expect(await listIds({ id: [m.e, m.a] })).toEqual([m.a, m.e]);
      expect(await listIds({ project: p, name: '-NET$' })).toEqual([m.a, m.b]);
      expect(await listIds({ task: [m.task] })).toEqual([m.b]);
      expect(await listIds({ uri: ['file:///special/delta.pt'] })).toEqual([m.d]);
      expect(await listIds({ project: p, include_subprojects: true, framework: ['PyTorch'] })).toEqual([m.a, m.d]);
      expect(await listIds({ project: p, framework: ['-PyTorch'] })).toEqual([m.b, m.c]);
      expect(await listIds({ project: p, tags: ['best', 'old'] })).toEqual([m.a, m.c]);
      expect(await listIds({ project: p, tags: ['-old'] })).toEqual([m.a, m.b]);
      expect(await listIds({ project: p, system_tags: ['-archived'] })).toEqual([m.a, m.b]);
      expect(await listIds({ project: p, system_tags: ['archived'] })).toEqual([m.c]);
      expect(await listIds({ project: p, ready: true })).toEqual([m.b]);
      expect(await listIds({ project: p, ready: false })).toEqual([m.a, m.c]);
      expect(await listIds({ project: p, search_text: 'KEEPER' })).toEqual([m.a]);
      expect(await listIds({ project: p, search_text: 'gamma' })).toEqual([m.c]);
      expect(await listIds({ project: [UNKNOWN_ID] })).toEqual([]);
    });

    it('orders, pages and projects fields', async () => {
      const m = await catalogue();
      const p = [m.project];
      expect(await listIds({ project: p, order_by: ['-name'] })).toEqual([m.c, m.b, m.a]);
      expect(await listIds({ project: p, order_by: ['framework', '-created'] })).toEqual([m.a, m.b, m.c]);
      expect(await listIds({ project: p, order_by: ['-created'], page: 1, page_size: 2 })).toEqual([m.a]);
      expect(await listIds({ project: p, size: 2 })).toEqual([m.a, m.b]);
      const { models } = await api.call('models.get_all', { id: [m.b], only_fields: ['name', 'ready', 'labels'] });
      expect(models).toEqual([{ id: m.b, name: 'beta-net', ready: true, labels: {} }]);
    });

    it('refuses a bad order field, a bad pattern and bad paging, naming the field', async () => {
      let err = await expectError(api.call('models.get_all', { order_by: ['-colour'] }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid request: body.order_by: cannot order models by "colour"; use one of id, name, created, last_update, framework, uri, ready, last_iteration, project, task (prefix "-" for descending)"`,
      );
      err = await expectError(api.call('models.get_all', { name: '[unclosed' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name: not a valid regular expression');
      err = await expectError(api.call('models.get_all', { page_size: 0 }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.page_size: expected a number ≥ 1, got 0"`);
      err = await expectError(api.call('models.get_all', { ready: 'true' as never }), 'INVALID_INPUT');
      expect(err.message).toContain('body.ready');
    });
  });

  describe('publish', () => {
    it('set_ready publishes the model and, by default, the task that created it', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model);
      const other = await makeModel(api);
      await api.call('tasks.add_or_update_model', { task, name: 'other', model: other, type: 'output', force: true });
      const reply = await api.call('models.set_ready', { model });
      expect(reply).toEqual({
        updated: 1,
        published_task: {
          id: task,
          data: { updated: 1, fields: { status: 'published', status_reason: '', status_message: '', status_changed: TIMESTAMP, published: TIMESTAMP } },
        },
      });
      expect((await getModel(api, model)).ready).toBe(true);
      expect((await getTask(api, task)).status).toBe('published');
      // Publishing the task publishes its other output models too.
      expect((await getModel(api, other)).ready).toBe(true);
      // Again: nothing to do.
      expect(await api.call('models.set_ready', { model })).toEqual({ updated: 0, published_task: null });
    });

    it('set_ready with publish_task false leaves the task as it is', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model);
      expect(await api.call('models.set_ready', { model, publish_task: false })).toEqual({ updated: 1, published_task: null });
      expect((await getTask(api, task)).status).toBe('completed');
    });

    it('set_ready refuses, writing nothing, when the creating task cannot be published (unless forced)', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model, 'in_progress');
      const err = await expectError(api.call('models.set_ready', { model }), 'INVALID_TRANSITION');
      expect(err.message).toContain('Cannot publish task');
      expect((await getModel(api, model)).ready).toBe(false);
      expect((await getTask(api, task)).status).toBe('in_progress');
      const forced = await api.call('models.set_ready', { model, force_publish_task: true });
      expect(forced).toMatchObject({ updated: 1, published_task: { id: task, data: { updated: 1 } } });
      expect((await getTask(api, task)).status).toBe('published');
    });

    it('publish_many reports each model', async () => {
      const [a, b] = [await makeModel(api), await makeModel(api, { ready: true })];
      const reply = await api.call('models.publish_many', { ids: [a, UNKNOWN_ID, b] });
      expect(reply.succeeded).toEqual([
        { id: a, updated: 1, published_task: null },
        { id: b, updated: 0, published_task: null },
      ]);
      expect(reply.failed).toEqual([
        {
          id: UNKNOWN_ID,
          error: {
            codes: [404, 201],
            msg: 'Model c0ffee00 not found: no model has id "c0ffee00c0ffee00c0ffee00c0ffee00". List models with models.get_all.',
            data: { model: UNKNOWN_ID },
          },
        },
      ]);
      expect((await getModel(api, a)).ready).toBe(true);
      const err = await expectError(api.call('models.publish_many', {} as never), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.ids: required field is missing"`);
    });

    it('tasks.publish publishes the output models that are not published yet; publish_model false does not', async () => {
      const [m1, m2] = [await makeModel(api), await makeModel(api)];
      const task = await taskWithOutput(m1);
      await api.call('tasks.add_or_update_model', { task, name: 'second', model: m2, type: 'output', force: true });
      const input = await makeModel(api);
      await api.call('tasks.add_or_update_model', { task, name: 'base', model: input, type: 'input', force: true });
      await api.call('tasks.publish', { task });
      expect([(await getModel(api, m1)).ready, (await getModel(api, m2)).ready, (await getModel(api, input)).ready]).toEqual([
        true,
        true,
        false,
      ]);

      const m3 = await makeModel(api);
      const kept = await taskWithOutput(m3);
      await api.call('tasks.publish', { task: kept, publish_model: false });
      expect((await getModel(api, m3)).ready).toBe(false);
    });

    it('tasks.completed with publish publishes the output models too', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model, 'in_progress');
      expect(await api.call('tasks.completed', { task, publish: true })).toMatchObject({ published: 1 });
      expect((await getModel(api, model)).ready).toBe(true);
    });
  });

  describe('archive', () => {
    it('archive_many and unarchive_many toggle the archived system tag, reporting each model', async () => {
      const [a, b] = [await makeModel(api, { system_tags: ['keep'] }), await makeModel(api, { ready: true })];
      const archived = await api.call('models.archive_many', { ids: [a, b, UNKNOWN_ID] });
      expect(archived.succeeded).toEqual([{ id: a }, { id: b }]);
      expect(archived.failed).toMatchObject([{ id: UNKNOWN_ID, error: { codes: [404, 201] } }]);
      expect((await getModel(api, a)).system_tags).toEqual(['archived', 'keep']);
      expect((await getModel(api, b)).system_tags).toEqual(['archived']);
      expect(await listIds({ id: [a, b], system_tags: ['-archived'] })).toEqual([]);
      // Archiving twice changes nothing.
      await api.call('models.archive_many', { ids: [a] });
      expect((await getModel(api, a)).system_tags).toEqual(['archived', 'keep']);

      expect(await api.call('models.unarchive_many', { ids: [a, b] })).toEqual({ succeeded: [{ id: a }, { id: b }], failed: [] });
      expect((await getModel(api, a)).system_tags).toEqual(['keep']);
      // (both made within one millisecond list in id order, so compare as sets: this test is about the tag)
      expect((await listIds({ id: [a, b], system_tags: ['-archived'] })).sort()).toEqual([a, b].sort());
    });
  });

  describe('delete', () => {
    it('deletes an unused model and answers where its weights were', async () => {
      const id = await makeModel(api, { uri: 'file:///weights/unused.bin' });
      expect(await api.call('models.delete', { model: id })).toEqual({ deleted: true, url: 'file:///weights/unused.bin' });
      await expectError(api.call('models.get_by_id', { model: id }), 'MODEL_NOT_FOUND');
      await expectError(api.call('models.delete', { model: id }), 'MODEL_NOT_FOUND');
    });

    it('is refused while a task that is not a draft uses the model, unless forced; then the tasks lose the reference', async () => {
      const model = await makeModel(api, { name: uniqueName('shared') });
      const producer = await taskWithOutput(model);
      const consumer = await makeTask(api, { status: 'in_progress' });
      await api.call('tasks.add_or_update_model', { task: consumer, name: 'base', model, type: 'input', force: true });
      const draft = await makeTask(api);
      await api.call('tasks.add_or_update_model', { task: draft, name: 'base', model, type: 'input' });

      const err = await expectError(api.call('models.delete', { model }), 'MODEL_IN_USE');
      const expected = [
        [producer, `${producer.slice(0, 8)} (output model, status "completed")`],
        [consumer, `${consumer.slice(0, 8)} (input model, status "in_progress")`],
      ].sort(([x], [y]) => x!.localeCompare(y!));
      const { name } = await getModel(api, model);
      expect(err.message).toBe(
        `Cannot delete model ${model.slice(0, 8)} ("${name}"): tasks that are not drafts use it: ${expected.map(([, text]) => text).join(', ')}. ` +
          'Reset or delete those tasks first, or pass force to delete the model and take it out of their model lists.',
      );
      expect(err.status).toBe(409);
      expect(err.details).toEqual({ model, tasks: expected.map(([id]) => id), result_subcode: 205 });
      expect((await getModel(api, model)).id).toBe(model);

      expect(await api.call('models.delete', { model, force: true })).toEqual({ deleted: true, url: `file:///weights/${name}.bin` });
      await expectError(api.call('models.get_by_id', { model }), 'MODEL_NOT_FOUND');
      expect((await getTask(api, producer)).models).toEqual({ input: [], output: [] });
      expect((await getTask(api, consumer)).models).toEqual({ input: [], output: [] });
      expect((await getTask(api, draft)).models).toEqual({ input: [], output: [] });
    });

    it('gives way to drafts that use the model', async () => {
      const model = await makeModel(api);
      const keep = await makeModel(api);
      const draft = await makeTask(api);
      await api.call('tasks.add_or_update_model', { task: draft, name: 'base', model, type: 'input' });
      await api.call('tasks.add_or_update_model', { task: draft, name: 'other', model: keep, type: 'input' });
      expect(await api.call('models.delete', { model })).toMatchObject({ deleted: true });
      expect((await getTask(api, draft)).models.input).toEqual([{ name: 'other', model: keep, updated: TIMESTAMP }]);
    });

    it('refuses a bad body, naming the field', async () => {
      const err = await expectError(api.call('models.delete', { model: await makeModel(api), force: 'yes' as never }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.force: expected a boolean, got "yes""`);
    });
  });

  describe('metadata', () => {
    it('adds, replaces and deletes entries, on published models too', async () => {
      const id = await makeModel(api, { ready: true, metadata: [{ key: 'a', value: '1' }] });
      expect(
        await api.call('models.add_or_update_metadata', {
          model: id,
          metadata: [
            { key: 'b', type: 'float', value: 0.5 },
            { key: 'a', type: 'int', value: 2 },
          ],
        }),
      ).toEqual({ updated: 1 });
      expect((await getModel(api, id)).metadata).toEqual({
        a: { key: 'a', type: 'int', value: '2' },
        b: { key: 'b', type: 'float', value: '0.5' },
      });
      await api.call('models.add_or_update_metadata', { model: id, metadata: [{ key: 'c', value: 'x' }], replace_metadata: true });
      expect((await getModel(api, id)).metadata).toEqual({ c: { key: 'c', type: '', value: 'x' } });
      expect(await api.call('models.delete_metadata', { model: id, keys: ['c', 'missing'] })).toEqual({ updated: 1 });
      expect(await api.call('models.delete_metadata', { model: id, keys: ['c'] })).toEqual({ updated: 0 });
      expect((await getModel(api, id)).metadata).toEqual({});
    });

    it('refuses unknown models and bad bodies, naming the field', async () => {
      await expectError(api.call('models.add_or_update_metadata', { model: UNKNOWN_ID, metadata: [] }), 'MODEL_NOT_FOUND');
      await expectError(api.call('models.delete_metadata', { model: UNKNOWN_ID, keys: ['a'] }), 'MODEL_NOT_FOUND');
      const id = await makeModel(api);
      let err = await expectError(api.call('models.add_or_update_metadata', { model: id } as never), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.metadata: required field is missing"`);
      err = await expectError(api.call('models.add_or_update_metadata', { model: id, metadata: [{ key: '' }] }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.metadata.0.key: cannot be empty, got """`);
      err = await expectError(api.call('models.delete_metadata', { model: id } as never), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(`"Invalid request: body.keys: required field is missing"`);
    });
  });

  describe('links with tasks', () => {
    it('tasks.add_or_update_model refuses a model that does not exist', async () => {
      const task = await makeTask(api);
      const err = await expectError(
        api.call('tasks.add_or_update_model', { task, name: 'best', model: UNKNOWN_ID, type: 'output' }),
        'MODEL_NOT_FOUND',
      );
      expect(err.message).toMatchInlineSnapshot(
        `"Model c0ffee00 not found: no model has id "c0ffee00c0ffee00c0ffee00c0ffee00". Register the model with models.create first, then record it on the task."`,
      );
      expect(err.subcode).toBe(201);
      expect((await getTask(api, task)).models).toEqual({ input: [], output: [] });
      const wire = await rawCall(server.url, '/tasks.add_or_update_model', {
        body: JSON.stringify({ task, name: 'best', model: 'not-a-model', type: 'input' }),
      });
      expect(wire.status).toBe(404);
      expect(wire.json.meta).toMatchObject({ result_subcode: 201, error_data: { code: 'MODEL_NOT_FOUND', model: 'not-a-model' } });
    });

    it('an output model takes the task as its creating task when it has none; an input model does not', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const [output, input] = [await makeModel(api), await makeModel(api)];
      const creator = await makeTask(api);
      const foreign = await makeModel(api, { task: creator });
      await api.call('tasks.add_or_update_model', { task, name: 'best', model: output, type: 'output', iteration: 7 });
      await api.call('tasks.add_or_update_model', { task, name: 'base', model: input, type: 'input', force: true });
      await api.call('tasks.add_or_update_model', { task, name: 'other', model: foreign, type: 'output' });
      expect(await getModel(api, output)).toMatchObject({ task, last_iteration: 7 });
      expect((await getModel(api, input)).task).toBeNull();
      expect((await getModel(api, foreign)).task).toBe(creator);
      expect(await listIds({ task: [task] })).toEqual([output]);
      expect((await getTask(api, task)).models).toEqual({
        input: [{ name: 'base', model: input, updated: TIMESTAMP }],
        output: [
          { name: 'best', model: output, updated: TIMESTAMP },
          { name: 'other', model: foreign, updated: TIMESTAMP },
        ],
      });
    });

    it('reset deletes the unpublished output models the task created that nobody else uses, and counts them', async () => {
      const task = await makeTask(api, { status: 'in_progress' });
      const [doomed, shared, published, input] = [await makeModel(api), await makeModel(api), await makeModel(api), await makeModel(api)];
      const foreign = await makeModel(api, { task: await makeTask(api) });
      const created = await makeModel(api, { task });
      for (const [name, model] of [['doomed', doomed], ['shared', shared], ['published', published], ['foreign', foreign]] as const) {
        await api.call('tasks.add_or_update_model', { task, name, model, type: 'output' });
      }
      await api.call('tasks.add_or_update_model', { task, name: 'base', model: input, type: 'input', force: true });
      const user = await makeTask(api);
      await api.call('tasks.add_or_update_model', { task: user, name: 'base', model: shared, type: 'input' });
      await api.call('models.set_ready', { model: published, publish_task: false });
      await api.call('tasks.stopped', { task });

      const reply = await api.call('tasks.reset', { task });
      // doomed (recorded) and created (made by the task, never recorded) go; shared, published, foreign and input stay.
      expect(reply).toMatchObject({ updated: 1, deleted_models: 2 });
      await expectError(api.call('models.get_by_id', { model: doomed }), 'MODEL_NOT_FOUND');
      await expectError(api.call('models.get_by_id', { model: created }), 'MODEL_NOT_FOUND');
      expect(await getModel(api, shared)).toMatchObject({ task: null });
      expect(await getModel(api, published)).toMatchObject({ task: null, ready: true });
      expect((await getModel(api, foreign)).task).not.toBeNull();
      expect((await getModel(api, input)).id).toBe(input);
      expect((await getTask(api, task)).models).toEqual({ input: [{ name: 'base', model: input, updated: TIMESTAMP }], output: [] });
      expect((await getTask(api, user)).models.input).toEqual([{ name: 'base', model: shared, updated: TIMESTAMP }]);
    });

    it('reset with delete_output_models false keeps the models, unlinked', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model);
      expect(await api.call('tasks.reset', { task, delete_output_models: false })).toMatchObject({ deleted_models: 0 });
      expect(await getModel(api, model)).toMatchObject({ task: null });
      expect((await getTask(api, task)).models.output).toEqual([]);
    });

    it('a model the task uses as its own input survives its reset', async () => {
      const task = await makeTask(api);
      const model = await makeModel(api, { task });
      await api.call('tasks.add_or_update_model', { task, name: 'warm start', model, type: 'input' });
      expect(await api.call('tasks.reset', { task })).toMatchObject({ deleted_models: 0 });
      expect((await getTask(api, task)).models.input).toEqual([{ name: 'warm start', model, updated: TIMESTAMP }]);
    });

    it('clone keeps the input models and takes none of the outputs', async () => {
      const [input, output] = [await makeModel(api), await makeModel(api)];
      const task = await makeTask(api);
      await api.call('tasks.add_or_update_model', { task, name: 'base', model: input, type: 'input' });
      await api.call('tasks.started', { task });
      await api.call('tasks.add_or_update_model', { task, name: 'final', model: output, type: 'output' });
      await api.call('tasks.completed', { task });
      const { id: clone } = await api.call('tasks.clone', { task });
      expect((await getTask(api, clone)).models).toEqual({ input: [{ name: 'base', model: input, updated: TIMESTAMP }], output: [] });
      // The clone is a draft: its use of the input model does not keep the model from being deleted, the source's does.
      await expectError(api.call('models.delete', { model: input }), 'MODEL_IN_USE');
    });

    it('deleting a task deletes the output models it created that nobody else uses, and unlinks the others', async () => {
      const [own, shared, published] = [await makeModel(api), await makeModel(api), await makeModel(api, { ready: true })];
      const task = await makeTask(api, { status: 'in_progress' });
      for (const [name, model] of [['own', own], ['shared', shared], ['published', published]] as const) {
        await api.call('tasks.add_or_update_model', { task, name, model, type: 'output' });
      }
      await api.call('tasks.stopped', { task });
      const user = await makeTask(api);
      await api.call('tasks.add_or_update_model', { task: user, name: 'base', model: shared, type: 'input' });

      expect(await api.call('tasks.delete', { task })).toEqual({
        deleted: 1,
        updated_children: 0,
        events: 0,
        deleted_models: 1,
        updated_models: 2,
      });
      await expectError(api.call('models.get_by_id', { model: own }), 'MODEL_NOT_FOUND');
      expect(await getModel(api, shared)).toMatchObject({ task: null });
      expect(await getModel(api, published)).toMatchObject({ task: null, ready: true });
      // The deleted task no longer holds the shared model: only the draft uses it, so it can go.
      expect(await api.call('models.delete', { model: shared })).toMatchObject({ deleted: true });
    });

    it('deleting a task with delete_output_models false keeps its models', async () => {
      const model = await makeModel(api);
      const task = await taskWithOutput(model);
      expect(await api.call('tasks.delete', { task, delete_output_models: false })).toMatchObject({ deleted_models: 0, updated_models: 1 });
      expect(await getModel(api, model)).toMatchObject({ task: null });
    });

    it('deleting a project with its tasks deletes their models too', async () => {
      const project = await makeProject(api);
      const model = await makeModel(api);
      const task = await makeTask(api, { project: project.id, status: 'in_progress' });
      await api.call('tasks.add_or_update_model', { task, name: 'final', model, type: 'output' });
      await api.call('projects.delete', { project: project.id, force: true, delete_contents: true });
      await expectError(api.call('models.get_by_id', { model }), 'MODEL_NOT_FOUND');
    });
  });
});

// SQLite's own history (a data repair of version 4): a PostgreSQL database starts at version 9 with task_models kept
// by the store from the first write (tasks-models-store.int.test.ts runs that on both stores).
describe.skipIf(onPostgres)('migration 4', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-migration-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('indexes the model lists of the tasks stored before it', async () => {
    const file = join(dir, 'old.sqlite');
    const old = new Database(file);
    old.exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
    for (const migration of SQLITE_MIGRATIONS.filter((m) => m.version <= 3)) {
      old.exec(migration.sql);
      old.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(migration.version, migration.name, new Date().toISOString());
    }
    const now = new Date().toISOString();
    const insert = old.prepare(
      `INSERT INTO tasks (id, name, type, status, created, last_update, data) VALUES (?, ?, 'training', ?, ?, ?, ?)`,
    );
    const [m1, m2, m3] = ['1'.repeat(32), '2'.repeat(32), '3'.repeat(32)];
    const models = (input: string[], output: string[]) => ({
      input: input.map((model) => ({ name: `in-${model.slice(0, 1)}`, model })),
      output: output.map((model) => ({ name: `out-${model.slice(0, 1)}`, model })),
    });
    insert.run('a'.repeat(32), 'old one', 'completed', now, now, JSON.stringify({ models: models([m1], [m2]) }));
    insert.run('b'.repeat(32), 'old two', 'created', now, now, JSON.stringify({ models: models([m1, m3], []) }));
    insert.run('c'.repeat(32), 'no models', 'created', now, now, JSON.stringify({}));
    old.close();

    const store = openSqliteStore(file);
    try {
      expect(await store.schemaVersion()).toBe(SQLITE_MIGRATIONS.at(-1)!.version);
      await store.transaction(async (repos) => {
        expect(await repos.tasks.modelUses([m1, m2, m3])).toEqual([
          { task: 'a'.repeat(32), status: 'completed', type: 'input', model: m1 },
          { task: 'a'.repeat(32), status: 'completed', type: 'output', model: m2 },
          { task: 'b'.repeat(32), status: 'created', type: 'input', model: m1 },
          { task: 'b'.repeat(32), status: 'created', type: 'input', model: m3 },
        ]);
        expect(await repos.models.list({})).toEqual([]);
      });
    } finally {
      await store.close();
    }
  });
});
