import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { expectError, makeModel, makeProject, makeTask, uniqueName } from './support/factories.js';
import { rawCall, startTestServer, type TestServer } from './support/test-server.js';

/** What the web UI's projects page and tasks table ask of the server: stats, column values, ordering, bulk actions. */
describe('task listing for the web UI', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  async function scalar(task: string, metric: string, variant: string, value: number) {
    await api.call('events.add', { type: 'training_stats_scalar', task, iter: 1, metric, variant, value, timestamp: Date.now() });
  }

  it('records the user a caller names (X-Tasklane-User) on the tasks it creates and clones, and filters by it', async () => {
    const asUser = (user: string) => new ApiClient({ baseUrl: server.url, headers: { 'X-Tasklane-User': encodeURIComponent(user) } });
    const { id: project } = await makeProject(api, uniqueName('users'));
    const { id: mine } = await asUser('ada lovelace').call('tasks.create', { name: 'mine', project });
    const { id: clone } = await asUser('grace').call('tasks.clone', { task: mine });
    const { id: anonymous } = await api.call('tasks.create', { name: 'nobody said', project });
    const userOf = async (task: string) => (await api.call('tasks.get_by_id', { task })).task.user;
    expect([await userOf(mine), await userOf(clone), await userOf(anonymous)]).toEqual(['ada lovelace', 'grace', undefined]);
    const { tasks } = await api.call('tasks.get_all', { project: [project], user: ['ada lovelace'], only_fields: ['id'] });
    expect(tasks.map((t) => t.id)).toEqual([mine]);
  });

  it('an empty X-ClearML-Worker header names no worker, with or without X-Tasklane-User', async () => {
    const task = await makeTask(api, { status: 'in_progress' });
    for (const headers of [{ 'X-ClearML-Worker': '' }, { 'X-ClearML-Worker': '', 'X-Tasklane-User': 'ada' }]) {
      const body = JSON.stringify({ type: 'log', task, timestamp: Date.now(), level: 'info', msg: JSON.stringify(headers) });
      expect((await rawCall(server.url, '/events.add', { body, headers })).status).toBe(200);
    }
    const { events } = await api.call('events.get_task_log', { task, navigate_earlier: false });
    expect(events.map((e) => e.worker)).toEqual([null, null]);
  });

  it('counts tasks per project on the server, with and without sub-projects, archived apart', async () => {
    const root = uniqueName('stats');
    const { id: rootId } = await makeProject(api, root);
    const { id: childId } = await api.call('projects.create', { name: `${root}/child` });
    await makeTask(api, { project: rootId, status: 'completed' });
    await makeTask(api, { project: childId, status: 'completed' });
    await makeTask(api, { project: childId });
    const archived = await makeTask(api, { project: childId });
    await api.call('tasks.archive_many', { ids: [archived] });

    const statsOf = async (withChildren: boolean, state: 'active' | 'archived' = 'active') => {
      const { projects } = await api.call('projects.get_all_ex', {
        name: `^${root}(/|$)`,
        include_stats: true,
        stats_with_children: withChildren,
        stats_for_state: state,
      });
      return Object.fromEntries(projects.map((p) => [p.name, p.stats?.[state]]));
    };
    const own = await statsOf(false);
    expect(own[root]).toMatchObject({ total_tasks: 1, status_count: { completed: 1 } });
    expect(own[`${root}/child`]).toMatchObject({ total_tasks: 2, status_count: { completed: 1, created: 1 } });
    const deep = await statsOf(true);
    expect(deep[root]).toMatchObject({ total_tasks: 3, status_count: { completed: 2, created: 1 } });
    expect(deep[root]?.last_update).toEqual(deep[`${root}/child`]?.last_update);
    expect((await statsOf(true, 'archived'))[root]).toMatchObject({ total_tasks: 1 });
    const { projects: plain } = await api.call('projects.get_all_ex', { name: `^${root}$` });
    expect(plain[0]?.stats).toBeUndefined();
  });

  it('orders by hyperparameters (numbers as numbers) and last metric values, and lists what a project has', async () => {
    const { id: project } = await makeProject(api);
    const hp = (lr: string) => ({ Args: { lr: { section: 'Args', name: 'lr', value: lr } } });
    const a = await makeTask(api, { project, name: 'task a', hyperparams: hp('9'), tags: ['x'] });
    const b = await makeTask(api, { project, name: 'task b', hyperparams: hp('10'), tags: ['y', 'x'] });
    const c = await makeTask(api, { project, name: 'task c' });
    for (const id of [a, b, c]) await api.call('tasks.started', { task: id });
    await scalar(a, 'loss', 'val', 0.5);
    await scalar(b, 'loss', 'val', 0.25);

    const { metrics } = await api.call('projects.get_unique_metric_variants', { project });
    expect(metrics).toHaveLength(1);
    const [m] = metrics;
    expect(m).toMatchObject({ metric: 'loss', variant: 'val' });
    const { parameters, total } = await api.call('projects.get_hyper_parameters', { project });
    expect({ parameters, total }).toEqual({ parameters: [{ section: 'Args', name: 'lr' }], total: 1 });
    expect(await api.call('projects.get_task_tags', { projects: [project] })).toEqual({ tags: ['x', 'y'] });

    const order = async (key: string) =>
      (await api.call('tasks.get_all', { project: [project], order_by: [key], only_fields: ['name'] })).tasks.map((t) => t.name);
    // "10" > "9" as numbers; a task without the value comes last either way.
    expect(await order('hyperparams.Args.lr.value')).toEqual(['task a', 'task b', 'task c']);
    expect(await order('-hyperparams.Args.lr.value')).toEqual(['task b', 'task a', 'task c']);
    expect(await order(`last_metrics.${m!.metric_hash}.${m!.variant_hash}.value`)).toEqual(['task b', 'task a', 'task c']);
    expect(await order('-name')).toEqual(['task c', 'task b', 'task a']);
    const error = await expectError(api.call('tasks.get_all', { project: [project], order_by: ['hyperparams.Args'] }), 'INVALID_INPUT');
    expect(error.message).toMatch(/cannot order tasks by "hyperparams.Args"/);
    const tagged = await api.call('tasks.get_all', { project: [project], tags: ['y'], only_fields: ['name'] });
    expect(tagged.tasks.map((t) => t.name)).toEqual(['task b']);
  });

  it('orders by hyperparameters whose section or name holds any character: quotes, backslashes, dots, $, [, spaces, unicode', async () => {
    const keys: [section: string, name: string][] = [
      ['Args', 'a"b'],
      ['Args', 'x\\y'],
      ['Args', 'a.b.c'],
      ['Args', 'a$b'],
      ['Args', 'a[0]'],
      ['Args', 'learning rate'],
      ['Args', 'ünï 😀'],
      ["it's", "o'k"],
      ['my.section', 'lr'],
      ['my.section', 'a.b'],
      ['', 'unnamed section'],
    ];
    for (const [section, name] of keys) {
      const { id: project } = await makeProject(api);
      const hp = (value: string) => ({ [section]: { [name]: { section, name, value } } });
      await makeTask(api, { project, name: 'ten', hyperparams: hp('10') });
      await makeTask(api, { project, name: 'nine', hyperparams: hp('9') });
      await makeTask(api, { project, name: 'none' });
      const order = async (key: string) =>
        (await api.call('tasks.get_all', { project: [project], order_by: [key], only_fields: ['name'] })).tasks.map((t) => t.name);
      const key = `hyperparams.${section}.${name}.value`;
      expect({ key, ascending: await order(key), descending: await order(`-${key}`) }).toEqual({
        key,
        ascending: ['nine', 'ten', 'none'],
        descending: ['ten', 'nine', 'none'],
      });
    }
  });

  it('refuses an order_by of more keys than a query can hold with INVALID_INPUT, not a server error', async () => {
    const error = await expectError(api.call('tasks.get_all', { order_by: Array(3000).fill('name') }), 'INVALID_INPUT');
    expect(error.message).toMatchInlineSnapshot(`"Invalid request: body.order_by: at most 32 keys, got 3000; order by fewer fields."`);
    const models = await expectError(api.call('models.get_all', { order_by: Array(3000).fill('name') }), 'INVALID_INPUT');
    expect(models.message).toBe(error.message);
  });

  it('filters by lists longer than SQLite takes as parameters (32,766): ids, projects, tags, users, input models', async () => {
    const { id: project } = await makeProject(api);
    const model = await makeModel(api, { project });
    const task = await makeTask(api, { project, tags: ['long-list'], models: { input: [{ name: 'base', model }] } });
    const many = (real: string) => [...Array.from({ length: 33_000 }, (_, i) => i.toString(16).padStart(32, '0')), real];
    const found = async (body: object) =>
      (await api.call('tasks.get_all', { ...body, only_fields: ['id'] })).tasks.map((t) => t.id);
    expect(await found({ id: many(task) })).toEqual([task]);
    expect(await found({ project: many(project) })).toEqual([task]);
    expect(await found({ project: [project], tags: many('long-list') })).toEqual([task]);
    expect(await found({ project: [project], user: many('nobody') })).toEqual([]);
    expect(await found({ 'models.input.model': many(model) })).toEqual([task]);
    expect(await api.call('projects.get_task_tags', { projects: many(project) })).toEqual({ tags: ['long-list'] });
    expect((await api.call('models.get_all', { id: many(model), only_fields: ['id'] })).models).toEqual([{ id: model }]);
    expect(await api.call('models.get_frameworks', { projects: many(project) })).toEqual({ frameworks: [] });
  });

  it('keeps the tag columns in step with the task document on every route that writes tags', async () => {
    const { id: project } = await makeProject(api);
    const make = (name: string, fields: object = {}) => makeTask(api, { project, name, ...fields });
    const viaArchive = await make('via archive', { status: 'queued' });
    const viaArchiveMany = await make('via archive_many');
    const viaEdit = await make('via edit');
    const viaUpdate = await make('via update', { status: 'completed' });
    const viaCreate = await make('via create', { system_tags: ['archived'] });
    const unarchived = await make('unarchived');
    const developed = await make('developed', { system_tags: ['development'], tags: ['old'] });
    await api.call('tasks.archive', { tasks: [viaArchive] });
    await api.call('tasks.archive_many', { ids: [viaArchiveMany, unarchived] });
    await api.call('tasks.unarchive_many', { ids: [unarchived] });
    await api.call('tasks.edit', { task: viaEdit, system_tags: ['archived'], tags: ['new'] });
    await api.call('tasks.update', { task: viaUpdate, system_tags: ['archived'] });
    const { id: viaClone } = await api.call('tasks.clone', { task: viaEdit, new_task_name: 'via clone', new_task_system_tags: ['archived'] });
    const { id: clearedClone } = await api.call('tasks.clone', { task: viaArchive, new_task_name: 'cleared clone' });
    await api.call('tasks.enqueue', { task: developed });
    await api.call('tasks.stop', { task: developed });
    await api.call('tasks.reset', { task: developed });
    await api.call('tasks.edit', { task: developed, tags: ['new'] });

    const names = async (body: object) =>
      (await api.call('tasks.get_all', { project: [project], order_by: ['name'], only_fields: ['name'], ...body })).tasks.map((t) => t.name);
    const archivedNames = ['via archive', 'via archive_many', 'via clone', 'via create', 'via edit', 'via update'];
    expect(await names({ system_tags: ['archived'] })).toEqual(archivedNames);
    expect(await names({ system_tags: ['-archived'] })).toEqual(['cleared clone', 'developed', 'unarchived']);
    expect(await names({ system_tags: ['development'] })).toEqual([]);
    expect(await names({ tags: ['new'] })).toEqual(['developed', 'via clone', 'via edit']);
    expect(await names({ tags: ['old'] })).toEqual([]);
    const { projects } = await api.call('projects.get_all_ex', { id: [project], include_stats: true, stats_for_state: 'archived' });
    expect(projects[0]?.stats?.archived?.total_tasks).toBe(archivedNames.length);
    expect(await api.call('projects.get_task_tags', { projects: [project], include_system: true })).toEqual({
      tags: ['new'],
      system_tags: ['archived'],
    });
    // Each document agrees with its columns: what the filter found is what the task says.
    for (const id of [viaArchive, viaArchiveMany, viaEdit, viaUpdate, viaCreate, viaClone]) {
      expect((await api.call('tasks.get_by_id', { task: id })).task.system_tags).toContain('archived');
    }
    expect((await api.call('tasks.get_by_id', { task: clearedClone })).task.system_tags).toEqual([]);
  });

  it('runs bulk actions task by task, reporting each failure readably', async () => {
    const { id: project } = await makeProject(api);
    const draft = await makeTask(api, { project });
    const done = await makeTask(api, { project, status: 'completed' });
    const { id: queue } = await api.call('queues.create', { name: uniqueName('q') });

    const enqueued = await api.call('tasks.enqueue_many', { ids: [draft, done], queue });
    expect(enqueued.succeeded.map((s) => s.id)).toEqual([draft]);
    expect(enqueued.failed).toHaveLength(1);
    expect(enqueued.failed[0]).toMatchObject({ id: done });
    expect(enqueued.failed[0]?.error.msg).toMatch(/completed/);

    const stopped = await api.call('tasks.stop_many', { ids: [draft] });
    expect(stopped.succeeded.map((s) => s.id)).toEqual([draft]);
    const reset = await api.call('tasks.reset_many', { ids: [draft, done] });
    expect(reset.succeeded.map((s) => s.id)).toEqual([draft, done]);
    const deleted = await api.call('tasks.delete_many', { ids: [draft, done, '0'.repeat(32)] });
    expect(deleted.succeeded.map((s) => s.id)).toEqual([draft, done]);
    expect(deleted.failed[0]?.error.msg).toMatch(/not found/);
    expect((await api.call('tasks.get_all', { project: [project] })).tasks).toEqual([]);
  });
});
