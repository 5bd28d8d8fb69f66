import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestOf } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeModel, makeProject, makeTask, tick, uniqueName } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('tasks over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  describe('create and get_by_id', () => {
    it('stores every section and returns it', async () => {
      const { id: projectId } = await makeProject(api);
      const { id: parentId } = await api.call('tasks.create', { name: 'the parent' });
      const name = uniqueName('full');
      const { id } = await api.call('tasks.create', {
        name,
        type: 'testing',
        project: projectId,
        parent: parentId,
        comment: 'every section',
        tags: ['zeta', 'alpha', 'zeta'],
        system_tags: ['custom-sys'],
        output_dest: 'file:///tmp/outputs',
        script: {
          repository: 'https://example.com/repo.git',
          branch: 'main',
          version_num: '0123abcd',
          entry_point: 'train.ts',
          working_dir: 'src',
          binary: 'node',
          diff: 'diff --git a/x b/x',
          requirements: { npm: 'left-pad@1.3.0' },
        },
        hyperparams: {
          Args: {
            lr: { value: 0.01, type: 'float', description: 'learning rate' },
            epochs: { value: 10, type: 'int' },
            debug: { value: true, type: 'bool' },
            nothing: { value: null },
          },
          General: { optimizer: { value: 'adam' } },
        },
        configuration: { 'config.yaml': { value: 'a: 1\n', type: 'yaml', description: 'main config' } },
        container: { image: 'node:20', arguments: '--ipc=host', setup_shell_script: 'apt-get update' },
        runtime: { gpu_count: 0, host: 'box' },
        execution: { framework: 'tfjs' },
        models: { input: [{ name: 'base', model: 'a'.repeat(32) }] },
      });
      expect(id).toMatch(/^[0-9a-f]{32}$/);

      const task = await getTask(api, id);
      expect(task).toMatchObject({
        id,
        name,
        type: 'testing',
        status: 'created',
        project: projectId,
        parent: parentId,
        comment: 'every section',
        tags: ['alpha', 'zeta'],
        system_tags: ['custom-sys'],
        output: { destination: 'file:///tmp/outputs' },
        script: {
          repository: 'https://example.com/repo.git',
          branch: 'main',
          version_num: '0123abcd',
          entry_point: 'train.ts',
          working_dir: 'src',
          binary: 'node',
          diff: 'diff --git a/x b/x',
          requirements: { npm: 'left-pad@1.3.0' },
        },
        configuration: {
          'config.yaml': { name: 'config.yaml', value: 'a: 1\n', type: 'yaml', description: 'main config' },
        },
        container: { image: 'node:20', arguments: '--ipc=host', setup_shell_script: 'apt-get update' },
        runtime: { gpu_count: 0, host: 'box' },
        execution: { framework: 'tfjs', artifacts: [] },
        models: { input: [{ name: 'base', model: 'a'.repeat(32) }], output: [] },
        last_iteration: 0,
        last_metrics: {},
      });
      // Hyperparameter values are text on the wire, whatever type they were sent as.
      expect(task.hyperparams).toEqual({
        Args: {
          lr: { section: 'Args', name: 'lr', value: '0.01', type: 'float', description: 'learning rate' },
          epochs: { section: 'Args', name: 'epochs', value: '10', type: 'int' },
          debug: { section: 'Args', name: 'debug', value: 'true', type: 'bool' },
          nothing: { section: 'Args', name: 'nothing', value: '' },
        },
        General: { optimizer: { section: 'General', name: 'optimizer', value: 'adam' } },
      });
      for (const field of ['created', 'last_update', 'status_changed'] as const) {
        expect(task[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      expect(task.started ?? null).toBeNull();
    });

    it('defaults the type to training and the project to none', async () => {
      const task = await getTask(api, await makeTask(api));
      expect(task).toMatchObject({ type: 'training', project: null, parent: null, tags: [], system_tags: [], hyperparams: {} });
    });

    it('refuses a short name, a bad type and an unknown parent, naming the field', async () => {
      let err = await expectError(api.call('tasks.create', { name: 'ab' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
      err = await expectError(api.call('tasks.create', { name: 'long enough', type: 'bogus' as never }), 'INVALID_INPUT');
      expect(err.message).toContain('body.type');
      err = await expectError(api.call('tasks.create', {} as never), 'INVALID_INPUT');
      expect(err.message).toContain('body.name: required field is missing');
      await expectError(api.call('tasks.create', { name: 'orphan task', parent: 'b'.repeat(32) }), 'TASK_NOT_FOUND');
    });

    it('answers TASK_NOT_FOUND for an unknown id and INVALID_INPUT for a malformed one', async () => {
      const err = await expectError(api.call('tasks.get_by_id', { task: 'c'.repeat(32) }), 'TASK_NOT_FOUND');
      expect(err.message).toContain('c'.repeat(32));
      const bad = await expectError(api.call('tasks.get_by_id', { task: 'not-an-id' }), 'INVALID_INPUT');
      expect(bad.message).toContain('body.task');
    });
  });

  describe('get_all', () => {
    /** Four tasks in a fresh project: two "alpha" (red; red+blue), a completed "beta" (blue), an archived "gamma". */
    async function fixture() {
      const project = await makeProject(api);
      const p = { project: project.id };
      const alphaOne = await makeTask(api, { ...p, name: 'alpha-one', tags: ['red'], comment: 'first of its kind' });
      await tick();
      const alphaTwo = await makeTask(api, { ...p, name: 'Alpha-two', type: 'testing', tags: ['red', 'blue'] });
      await tick();
      const beta = await makeTask(api, { ...p, name: 'beta-three', tags: ['blue'], status: 'completed' });
      await tick();
      const gamma = await makeTask(api, { ...p, name: 'gamma-four' });
      await api.call('tasks.archive', { tasks: [gamma] });
      return { project: project.id, alphaOne, alphaTwo, beta, gamma };
    }

    async function ids(body: RequestOf<'tasks.get_all'>): Promise<string[]> {
      const { tasks } = await api.call('tasks.get_all', body);
      return tasks.map((t) => t.id!);
    }

    it('filters by name pattern (case-insensitive regex), status and type', async () => {
      const f = await fixture();
      const p = { project: [f.project] };
      expect(await ids({ ...p, name: '^alpha' })).toEqual([f.alphaOne, f.alphaTwo]);
      expect(await ids({ ...p, name: 'THREE$' })).toEqual([f.beta]);
      expect(await ids({ ...p, status: ['completed'] })).toEqual([f.beta]);
      expect(await ids({ ...p, status: ['-completed'] })).toEqual([f.alphaOne, f.alphaTwo, f.gamma]);
      expect(await ids({ ...p, status: ['created', 'completed'] })).toHaveLength(4);
      expect(await ids({ ...p, type: ['testing'] })).toEqual([f.alphaTwo]);
      expect(await ids({ ...p, id: [f.beta, f.gamma] })).toEqual([f.beta, f.gamma]);
    });

    it('filters by tags, with "-tag" excluding, and by system_tags', async () => {
      const f = await fixture();
      const p = { project: [f.project] };
      expect(await ids({ ...p, tags: ['red'] })).toEqual([f.alphaOne, f.alphaTwo]);
      expect(await ids({ ...p, tags: ['red', 'blue'] })).toEqual([f.alphaOne, f.alphaTwo, f.beta]);
      expect(await ids({ ...p, tags: ['-red'] })).toEqual([f.beta, f.gamma]);
      expect(await ids({ ...p, tags: ['blue', '-red'] })).toEqual([f.beta]);
      expect(await ids({ ...p, system_tags: ['-archived'] })).toEqual([f.alphaOne, f.alphaTwo, f.beta]);
      expect(await ids({ ...p, system_tags: ['archived'] })).toEqual([f.gamma]);
    });

    it('filters by parent', async () => {
      const parent = await makeTask(api);
      const childA = await makeTask(api, { parent });
      const childB = await makeTask(api, { parent });
      await makeTask(api);
      expect((await ids({ parent })).sort()).toEqual([childA, childB].sort());
    });

    it('orders by a field, "-" for descending', async () => {
      const f = await fixture();
      const p = { project: [f.project] };
      expect(await ids({ ...p, order_by: ['-created'] })).toEqual([f.gamma, f.beta, f.alphaTwo, f.alphaOne]);
      expect(await ids({ ...p, order_by: ['created'] })).toEqual([f.alphaOne, f.alphaTwo, f.beta, f.gamma]);
      // Names compare as stored ("Alpha-two" has a capital letter, which sorts first).
      expect(await ids({ ...p, order_by: ['name'] })).toEqual([f.alphaTwo, f.alphaOne, f.beta, f.gamma]);
      expect(await ids({ ...p, order_by: ['-status', 'name'] })).toEqual([f.alphaTwo, f.alphaOne, f.gamma, f.beta]);
    });

    it('pages with page/page_size and size', async () => {
      const f = await fixture();
      const p = { project: [f.project], order_by: ['created'] };
      expect(await ids({ ...p, page: 0, page_size: 3 })).toEqual([f.alphaOne, f.alphaTwo, f.beta]);
      expect(await ids({ ...p, page: 1, page_size: 3 })).toEqual([f.gamma]);
      expect(await ids({ ...p, page: 2, page_size: 3 })).toEqual([]);
      expect(await ids({ ...p, size: 2 })).toEqual([f.alphaOne, f.alphaTwo]);
    });

    it('projects fields with only_fields (id always present, dotted paths)', async () => {
      const f = await fixture();
      const { tasks } = await api.call('tasks.get_all', {
        id: [f.alphaOne],
        only_fields: ['name', 'status', 'project'],
      });
      expect(tasks).toEqual([{ id: f.alphaOne, name: 'alpha-one', status: 'created', project: f.project }]);

      const withScript = await makeTask(api, { script: { branch: 'dev', repository: 'r.git' } });
      const dotted = await api.call('tasks.get_all', { id: [withScript], only_fields: ['script.branch'] });
      expect(dotted.tasks).toEqual([{ id: withScript, script: { branch: 'dev' } }]);
    });

    it('searches text in name, comment and id', async () => {
      const f = await fixture();
      const p = { project: [f.project] };
      expect(await ids({ ...p, search_text: 'of its kind' })).toEqual([f.alphaOne]);
      expect(await ids({ ...p, search_text: 'beta' })).toEqual([f.beta]);
      expect(await ids({ ...p, search_text: f.gamma.slice(4, 20) })).toEqual([f.gamma]);
      expect(await ids({ ...p, search_text: '%' })).toEqual([]);
    });

    it('hides tasks with the "hidden" system tag unless asked', async () => {
      const { id: project } = await makeProject(api);
      const hidden = await makeTask(api, { project, system_tags: ['hidden'] });
      const shown = await makeTask(api, { project });
      expect(await ids({ project: [project] })).toEqual([shown]);
      expect(await ids({ project: [project], search_hidden: true })).toEqual([hidden, shown]);
      expect(await ids({ id: [hidden] })).toEqual([hidden]);
    });

    it('refuses an unknown order_by field, an invalid regex and an unknown status', async () => {
      let err = await expectError(api.call('tasks.get_all', { order_by: ['-favourite_colour'] }), 'INVALID_INPUT');
      expect(err.message).toContain('body.order_by');
      expect(err.message).toContain('favourite_colour');
      err = await expectError(api.call('tasks.get_all', { name: '[unclosed' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
      err = await expectError(api.call('tasks.get_all', { status: ['running'] }), 'INVALID_INPUT');
      expect(err.message).toContain('body.status');
    });
  });

  describe('edit', () => {
    it('merges script key by key and replaces hyperparams whole', async () => {
      const id = await makeTask(api, {
        script: { repository: 'https://example.com/r.git', branch: 'main', entry_point: 'a.ts' },
        hyperparams: { Args: { a: { value: '1' }, b: { value: '2' } } },
      });
      const reply = await api.call('tasks.edit', {
        task: id,
        script: { branch: 'dev' },
        hyperparams: { Other: { c: { value: 3 } } },
      });
      expect(reply.updated).toBe(1);
      expect(reply.fields).toHaveProperty('script');
      const task = await getTask(api, id);
      expect(task.script).toEqual({ repository: 'https://example.com/r.git', branch: 'dev', entry_point: 'a.ts' });
      expect(task.hyperparams).toEqual({ Other: { c: { section: 'Other', name: 'c', value: '3' } } });
    });

    it('replaces configuration, container and runtime whole; sets type, comment, output_dest', async () => {
      const id = await makeTask(api, {
        configuration: { one: { value: 'x' }, two: { value: 'y' } },
        container: { image: 'a', arguments: '-x' },
        runtime: { k: 'v' },
      });
      await api.call('tasks.edit', {
        task: id,
        configuration: { three: { value: 'z' } },
        container: { image: 'b' },
        runtime: { other: 1 },
        type: 'inference',
        comment: 'edited',
        output_dest: 's3://bucket/out',
      });
      const task = await getTask(api, id);
      expect(task.configuration).toEqual({ three: { name: 'three', value: 'z' } });
      expect(task.container).toEqual({ image: 'b' });
      expect(task.runtime).toEqual({ other: 1 });
      expect(task).toMatchObject({ type: 'inference', comment: 'edited', output: { destination: 's3://bucket/out' } });
    });

    it('bumps last_update on edit', async () => {
      const id = await makeTask(api);
      const before = await getTask(api, id);
      await tick();
      await api.call('tasks.edit', { task: id, comment: 'touched' });
      expect((await getTask(api, id)).last_update > before.last_update).toBe(true);
    });

    it('refuses to edit the configuration of a non-draft with TASK_READ_ONLY, unless forced', async () => {
      const id = await makeTask(api, { status: 'completed', script: { branch: 'main' } });
      const err = await expectError(api.call('tasks.edit', { task: id, script: { branch: 'dev' } }), 'TASK_READ_ONLY');
      expect(err.message).toContain('"completed"');
      expect(err.status).toBe(409);
      expect((await getTask(api, id)).script.branch).toBe('main');

      await api.call('tasks.edit', { task: id, script: { branch: 'dev' }, force: true });
      expect((await getTask(api, id)).script.branch).toBe('dev');
    });

    it('refuses to edit a running task configuration without force', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      await expectError(api.call('tasks.edit', { task: id, hyperparams: {} }), 'TASK_READ_ONLY');
      // A running task may update its own runtime.
      await api.call('tasks.edit', { task: id, runtime: { host: 'gpu-box' } });
      expect((await getTask(api, id)).runtime).toEqual({ host: 'gpu-box' });
    });

    it('refuses to edit a published task even with force', async () => {
      const id = await makeTask(api, { status: 'published' });
      const err = await expectError(api.call('tasks.edit', { task: id, comment: 'ok', script: { branch: 'x' }, force: true }), 'TASK_READ_ONLY');
      expect(err.message).toContain('published');
      expect((await getTask(api, id)).comment).toBe('');
    });

    it('allows name, comment and tags in any status, with tasks.edit and tasks.update', async () => {
      for (const status of ['in_progress', 'completed', 'published'] as const) {
        const id = await makeTask(api, { status });
        const newName = uniqueName(`renamed-${status}`);
        await api.call('tasks.edit', { task: id, name: newName, tags: ['b', 'a'] });
        expect(await getTask(api, id)).toMatchObject({ name: newName, tags: ['a', 'b'], status });
        await api.call('tasks.update', { task: id, comment: `updated while ${status}`, tags: ['c'], system_tags: ['s'] });
        expect(await getTask(api, id)).toMatchObject({ comment: `updated while ${status}`, tags: ['c'], system_tags: ['s'] });
      }
    });

    it('tasks.update moves a task to another project, and refuses a short name', async () => {
      const id = await makeTask(api, { status: 'completed' });
      const { id: project } = await makeProject(api);
      expect((await api.call('tasks.update', { task: id, project })).updated).toBe(1);
      expect((await getTask(api, id)).project).toBe(project);
      const err = await expectError(api.call('tasks.update', { task: id, name: 'x' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
    });
  });

  describe('hyperparameters', () => {
    const base = { Args: { lr: { value: '0.1' }, bs: { value: '32' } }, Extra: { seed: { value: '1' } } };

    it('edit_hyper_params with replace "none" merges into sections, coercing values to text', async () => {
      const id = await makeTask(api, { hyperparams: base });
      const reply = await api.call('tasks.edit_hyper_params', {
        task: id,
        hyperparams: [
          { section: 'Args', name: 'lr', value: 0.5, type: 'float' },
          { section: 'New', name: 'flag', value: false },
        ],
      });
      expect(reply).toEqual({ updated: 1 });
      const { hyperparams } = await getTask(api, id);
      expect(hyperparams.Args).toEqual({
        lr: { section: 'Args', name: 'lr', value: '0.5', type: 'float' },
        bs: { section: 'Args', name: 'bs', value: '32' },
      });
      expect(hyperparams.Extra).toEqual({ seed: { section: 'Extra', name: 'seed', value: '1' } });
      expect(hyperparams.New).toEqual({ flag: { section: 'New', name: 'flag', value: 'false' } });
    });

    it('edit_hyper_params with replace "section" replaces only the sections given', async () => {
      const id = await makeTask(api, { hyperparams: base });
      await api.call('tasks.edit_hyper_params', {
        task: id,
        hyperparams: [{ section: 'Args', name: 'momentum', value: '0.9' }],
        replace_hyperparams: 'section',
      });
      const { hyperparams } = await getTask(api, id);
      expect(Object.keys(hyperparams).sort()).toEqual(['Args', 'Extra']);
      expect(Object.keys(hyperparams.Args!)).toEqual(['momentum']);
      expect(hyperparams.Extra!.seed!.value).toBe('1');
    });

    it('edit_hyper_params with replace "all" replaces every section', async () => {
      const id = await makeTask(api, { hyperparams: base });
      await api.call('tasks.edit_hyper_params', {
        task: id,
        hyperparams: [{ section: 'Only', name: 'one', value: 1 }],
        replace_hyperparams: 'all',
      });
      expect((await getTask(api, id)).hyperparams).toEqual({ Only: { one: { section: 'Only', name: 'one', value: '1' } } });
    });

    it('edit_hyper_params needs a draft unless forced, and never on a published task', async () => {
      const running = await makeTask(api, { status: 'in_progress' });
      const item = { section: 'Args', name: 'x', value: 'y' };
      await expectError(api.call('tasks.edit_hyper_params', { task: running, hyperparams: [item] }), 'TASK_READ_ONLY');
      await api.call('tasks.edit_hyper_params', { task: running, hyperparams: [item], force: true });
      expect((await getTask(api, running)).hyperparams.Args!.x!.value).toBe('y');

      const published = await makeTask(api, { status: 'published' });
      await expectError(
        api.call('tasks.edit_hyper_params', { task: published, hyperparams: [item], force: true }),
        'TASK_READ_ONLY',
      );
    });

    it('edit_hyper_params refuses an invalid replace mode, naming the field', async () => {
      const id = await makeTask(api);
      const err = await expectError(
        api.call('tasks.edit_hyper_params', { task: id, hyperparams: [], replace_hyperparams: 'some' as never }),
        'INVALID_INPUT',
      );
      expect(err.message).toContain('body.replace_hyperparams');
    });

    it('delete_hyper_params deletes single parameters and whole sections', async () => {
      const id = await makeTask(api, { hyperparams: base });
      expect(await api.call('tasks.delete_hyper_params', { task: id, hyperparams: [{ section: 'Args', name: 'lr' }] })).toEqual({
        deleted: 1,
      });
      expect((await getTask(api, id)).hyperparams).toEqual({
        Args: { bs: { section: 'Args', name: 'bs', value: '32' } },
        Extra: { seed: { section: 'Extra', name: 'seed', value: '1' } },
      });
      expect(await api.call('tasks.delete_hyper_params', { task: id, hyperparams: [{ section: 'Extra' }] })).toEqual({
        deleted: 1,
      });
      expect(Object.keys((await getTask(api, id)).hyperparams)).toEqual(['Args']);
      expect(
        await api.call('tasks.delete_hyper_params', { task: id, hyperparams: [{ section: 'Nope' }, { section: 'Args', name: 'nope' }] }),
      ).toEqual({ deleted: 0 });
      const completed = await makeTask(api, { status: 'completed', hyperparams: base });
      await expectError(api.call('tasks.delete_hyper_params', { task: completed, hyperparams: [{ section: 'Args' }] }), 'TASK_READ_ONLY');
    });

    it('get_hyper_params lists the parameters of several tasks', async () => {
      const one = await makeTask(api, { hyperparams: base });
      const two = await makeTask(api);
      const { params } = await api.call('tasks.get_hyper_params', { tasks: [one, two] });
      expect(params).toHaveLength(2);
      expect(params[0]!.task).toBe(one);
      expect(params[0]!.hyperparams).toEqual(
        expect.arrayContaining([
          { section: 'Args', name: 'lr', value: '0.1' },
          { section: 'Args', name: 'bs', value: '32' },
          { section: 'Extra', name: 'seed', value: '1' },
        ]),
      );
      expect(params[0]!.hyperparams).toHaveLength(3);
      expect(params[1]).toEqual({ task: two, hyperparams: [] });
      await expectError(api.call('tasks.get_hyper_params', { tasks: [one, 'd'.repeat(32)] }), 'TASK_NOT_FOUND');
    });
  });

  describe('configuration objects', () => {
    it('edit_configuration merges, or replaces with replace_configuration', async () => {
      const id = await makeTask(api, { configuration: { keep: { value: 'k' }, change: { value: 'old' } } });
      expect(
        await api.call('tasks.edit_configuration', {
          task: id,
          configuration: [
            { name: 'change', value: 'new', type: 'json' },
            { name: 'added', value: 42 },
          ],
        }),
      ).toEqual({ updated: 1 });
      expect((await getTask(api, id)).configuration).toEqual({
        keep: { name: 'keep', value: 'k' },
        change: { name: 'change', value: 'new', type: 'json' },
        added: { name: 'added', value: '42' },
      });
      await api.call('tasks.edit_configuration', { task: id, configuration: [{ name: 'solo', value: 's' }], replace_configuration: true });
      expect((await getTask(api, id)).configuration).toEqual({ solo: { name: 'solo', value: 's' } });
    });

    it('get_configurations (optionally by name) and get_configuration_names', async () => {
      const id = await makeTask(api, { configuration: { zeta: { value: 'z' }, alpha: { value: 'a', type: 'yaml' } } });
      const all = await api.call('tasks.get_configurations', { tasks: [id] });
      expect(all.configurations).toHaveLength(1);
      expect(all.configurations[0]!.task).toBe(id);
      expect(all.configurations[0]!.configuration).toEqual(
        expect.arrayContaining([
          { name: 'zeta', value: 'z' },
          { name: 'alpha', value: 'a', type: 'yaml' },
        ]),
      );
      expect(all.configurations[0]!.configuration).toHaveLength(2);
      const named = await api.call('tasks.get_configurations', { tasks: [id], names: ['alpha'] });
      expect(named.configurations).toEqual([{ task: id, configuration: [{ name: 'alpha', value: 'a', type: 'yaml' }] }]);
      const names = await api.call('tasks.get_configuration_names', { tasks: [id] });
      expect(names).toEqual({ configurations: [{ task: id, names: ['alpha', 'zeta'] }] });
    });

    it('delete_configuration deletes by name, counting what it found', async () => {
      const id = await makeTask(api, { configuration: { one: { value: '1' }, two: { value: '2' } } });
      expect(await api.call('tasks.delete_configuration', { task: id, configuration: ['one', 'missing'] })).toEqual({ deleted: 1 });
      expect(Object.keys((await getTask(api, id)).configuration)).toEqual(['two']);
    });

    it('edit and delete of configuration need a draft unless forced', async () => {
      const id = await makeTask(api, { status: 'failed', configuration: { one: { value: '1' } } });
      await expectError(api.call('tasks.edit_configuration', { task: id, configuration: [{ name: 'x', value: 'y' }] }), 'TASK_READ_ONLY');
      await expectError(api.call('tasks.delete_configuration', { task: id, configuration: ['one'] }), 'TASK_READ_ONLY');
      await api.call('tasks.delete_configuration', { task: id, configuration: ['one'], force: true });
      expect((await getTask(api, id)).configuration).toEqual({});
    });
  });

  describe('artifacts, models, requirements', () => {
    it('add_or_update_artifacts adds, and replaces an artifact with the same key and mode', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      const reply = await api.call('tasks.add_or_update_artifacts', {
        task: id,
        artifacts: [
          { key: 'weights', type: 'model', uri: 'file:///w1.bin', content_size: 10 },
          { key: 'dataset', type: 'data', mode: 'input', uri: 'file:///data.csv' },
        ],
      });
      expect(reply).toEqual({ updated: 2 });
      await api.call('tasks.add_or_update_artifacts', {
        task: id,
        artifacts: [
          { key: 'weights', type: 'model', mode: 'output', uri: 'file:///w2.bin' },
          { key: 'dataset', type: 'data', mode: 'output', uri: 'file:///cleaned.csv' },
        ],
      });
      const { artifacts } = (await getTask(api, id)).execution;
      expect(artifacts).toEqual([
        { key: 'dataset', type: 'data', mode: 'input', uri: 'file:///data.csv' },
        { key: 'dataset', type: 'data', mode: 'output', uri: 'file:///cleaned.csv' },
        { key: 'weights', type: 'model', mode: 'output', uri: 'file:///w2.bin' },
      ]);
    });

    it('delete_artifacts deletes by key and mode, or every mode of a key', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      await api.call('tasks.add_or_update_artifacts', {
        task: id,
        artifacts: [
          { key: 'a', type: 't', mode: 'input' },
          { key: 'a', type: 't', mode: 'output' },
          { key: 'b', type: 't' },
        ],
      });
      expect(await api.call('tasks.delete_artifacts', { task: id, artifacts: [{ key: 'a', mode: 'output' }] })).toEqual({ deleted: 1 });
      expect((await getTask(api, id)).execution.artifacts!.map((a) => `${a.key}/${a.mode}`)).toEqual(['a/input', 'b/output']);
      expect(await api.call('tasks.delete_artifacts', { task: id, artifacts: [{ key: 'a' }, { key: 'zzz' }] })).toEqual({ deleted: 1 });
      expect((await getTask(api, id)).execution.artifacts!.map((a) => a.key)).toEqual(['b']);
    });

    it('artifacts of a finished task are read-only unless forced', async () => {
      const id = await makeTask(api, { status: 'completed' });
      const artifact = { key: 'late', type: 'x' };
      await expectError(api.call('tasks.add_or_update_artifacts', { task: id, artifacts: [artifact] }), 'TASK_READ_ONLY');
      await api.call('tasks.add_or_update_artifacts', { task: id, artifacts: [artifact], force: true });
      expect((await getTask(api, id)).execution.artifacts).toHaveLength(1);
    });

    it('add_or_update_model records input and output models by name', async () => {
      const id = await makeTask(api);
      const [m1, m2, m3] = [await makeModel(api), await makeModel(api), await makeModel(api)];
      expect(await api.call('tasks.add_or_update_model', { task: id, name: 'base', model: m1, type: 'input' })).toEqual({ updated: 1 });
      await api.call('tasks.started', { task: id });
      await api.call('tasks.add_or_update_model', { task: id, name: 'best', model: m2, type: 'output', iteration: 7 });
      await api.call('tasks.add_or_update_model', { task: id, name: 'best', model: m3, type: 'output', iteration: 3 });
      const task = await getTask(api, id);
      expect(task.models.input).toEqual([{ name: 'base', model: m1, updated: expect.any(String) }]);
      expect(task.models.output).toEqual([{ name: 'best', model: m3, updated: expect.any(String) }]);
      expect(task.last_iteration).toBe(7);
      // An input model is configuration: not on a running task without force.
      await expectError(api.call('tasks.add_or_update_model', { task: id, name: 'other', model: m2, type: 'input' }), 'TASK_READ_ONLY');
      const err = await expectError(
        api.call('tasks.add_or_update_model', { task: id, name: 'x', model: m2, type: 'sideways' as never }),
        'INVALID_INPUT',
      );
      expect(err.message).toContain('body.type');
    });

    it('set_requirements replaces script.requirements and keeps the rest of the script', async () => {
      const id = await makeTask(api, { script: { branch: 'main', requirements: { pip: 'torch' } } });
      const reply = await api.call('tasks.set_requirements', { task: id, requirements: { npm: 'zod@4', pip: 'numpy' } });
      expect(reply.updated).toBe(1);
      expect((await getTask(api, id)).script).toEqual({ branch: 'main', requirements: { npm: 'zod@4', pip: 'numpy' } });
      const done = await makeTask(api, { status: 'completed' });
      const refused = await expectError(api.call('tasks.set_requirements', { task: done, requirements: {} }), 'TASK_READ_ONLY');
      expect(refused.message).toMatch(/^Cannot change the recorded packages \(script\.requirements\) of task .*: its status is "completed"/);
    });

    it('set_requirements is taken from a running task too (its SDK records the packages, as ClearML\'s server allows)', async () => {
      const id = await makeTask(api, { script: { entry_point: 'train.py' } });
      await api.call('tasks.started', { task: id });
      // As ClearML's Python SDK sends it: pip's freeze-like text, and the org_pip it was made from.
      const requirements = { pip: 'numpy==1.24.2\npsutil>=5.9\n', org_pip: 'numpy\npsutil\n' };
      expect((await api.call('tasks.set_requirements', { task: id, requirements })).updated).toBe(1);
      const task = await getTask(api, id);
      expect(task.status).toBe('in_progress');
      expect(task.script).toEqual({ entry_point: 'train.py', requirements });
    });
  });

  describe('progress and ping', () => {
    it('set_progress keeps progress as text in runtime and sets the status message', async () => {
      const id = await makeTask(api, { status: 'in_progress', runtime: { keep: 'me' } });
      const reply = await api.call('tasks.set_progress', { task: id, progress: 50, status_message: 'halfway' });
      expect(reply.updated).toBe(1);
      let task = await getTask(api, id);
      expect(task.runtime).toEqual({ keep: 'me', progress: '50' });
      expect(task.status_message).toBe('halfway');
      expect(task.status).toBe('in_progress');

      await api.call('tasks.set_progress', { task: id, status_message: 'almost' });
      task = await getTask(api, id);
      expect(task.runtime.progress).toBe('50');
      expect(task.status_message).toBe('almost');
    });

    it('set_progress refuses values outside 0–100, naming the field', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      const err = await expectError(api.call('tasks.set_progress', { task: id, progress: 250 }), 'INVALID_INPUT');
      expect(err.message).toContain('body.progress');
      expect(err.message).toContain('250');
    });

    it('ping bumps last_update and nothing else', async () => {
      const id = await makeTask(api, { status: 'in_progress' });
      const before = await getTask(api, id);
      await tick();
      expect(await api.call('tasks.ping', { task: id })).toEqual({});
      const after = await getTask(api, id);
      expect(after.last_update > before.last_update).toBe(true);
      expect({ ...after, last_update: before.last_update }).toEqual(before);
      await expectError(api.call('tasks.ping', { task: 'a'.repeat(32) }), 'TASK_NOT_FOUND');
    });
  });
});
