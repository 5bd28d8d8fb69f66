// The task and model repositories (storage/tasks.ts, storage/models.ts), written once for both stores, through one
// test body on SQLite and on PostgreSQL (the run's throwaway cluster, test/support/postgres.ts): what each query
// answers where the two databases differ by nature — JSON paths and arrays, case folding, numeric sort keys, the place
// of NULL in an order, byte order of text, long IN lists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model, Task } from '@tasklane/protocol';
import type { Repositories, Store, TaskQuery } from '../src/storage/store.js';
import { storesUnderTest } from './support/stores-under-test.js';


const STORES = storesUnderTest('tasks-models-store.int.test.ts', 'tasks');

let counter = 0;

/** A task document as the services store it; ids sort in creation order, times follow `n`. */
function makeTask(fields: Partial<Task> = {}): Task {
  counter += 1;
  const at = new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();
  return {
    id: `task-${String(counter).padStart(4, '0')}`,
    name: `task ${counter}`,
    project: 'p-main',
    parent: null,
    type: 'training',
    status: 'created',
    comment: '',
    tags: [],
    system_tags: [],
    created: at,
    started: null,
    completed: null,
    last_update: at,
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

function makeModel(fields: Partial<Model> = {}): Model {
  counter += 1;
  const at = new Date(Date.UTC(2026, 0, 1) + counter * 1000).toISOString();
  return {
    id: `model-${String(counter).padStart(4, '0')}`,
    name: `model ${counter}`,
    created: at,
    last_update: at,
    task: null,
    parent: null,
    project: 'p-models',
    comment: '',
    tags: [],
    system_tags: [],
    framework: null,
    design: {},
    labels: {},
    uri: `file:///weights/${counter}.bin`,
    ready: false,
    metadata: {},
    last_iteration: 0,
    ...fields,
  };
}

const param = (section: string, name: string, value: string) => ({ section, name, value, type: 'str' });

describe.each(STORES)('task and model repositories on $name', ({ isAvailable, open }) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    if (!isAvailable) return;
    ({ store, cleanup } = await open());
  });
  afterAll(async () => {
    await store?.close();
    await cleanup?.();
  });
  const write = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work);
  const read = <T>(work: (repos: Repositories) => Promise<T>) => store.transaction(work, { readOnly: true });
  const insertTasks = (tasks: Task[]) =>
    write(async (repos) => {
      for (const task of tasks) await repos.tasks.insert(task);
    });
  const listIds = async (query: TaskQuery) => (await read((repos) => repos.tasks.list(query))).map((t) => t.id);

  it.skipIf(!isAvailable)('writes tasks whole, compare-and-set on the status, last metrics alone, and mirrors model links', async () => {
    const task = makeTask({ project: 'p-write', models: { input: [{ name: 'in', model: 'm-in' }], output: [{ name: 'out', model: 'm-out' }] } });
    await insertTasks([task]);
    expect(await read((repos) => repos.tasks.get(task.id))).toEqual(task);
    expect(await read((repos) => repos.tasks.get('no-such-task'))).toBeUndefined();
    expect(await read((repos) => repos.tasks.modelUses(['m-in', 'm-out', 'm-none']))).toEqual([
      { task: task.id, status: 'created', type: 'input', model: 'm-in' },
      { task: task.id, status: 'created', type: 'output', model: 'm-out' },
    ]);

    const queued: Task = { ...task, status: 'queued', models: { input: [{ name: 'in', model: 'm-other' }], output: [] } };
    expect(await write((repos) => repos.tasks.replace(queued, 'in_progress'))).toBe(false);
    expect((await read((repos) => repos.tasks.get(task.id)))?.status).toBe('created');
    expect(await write((repos) => repos.tasks.replace(queued, 'created'))).toBe(true);
    expect(await read((repos) => repos.tasks.get(task.id))).toEqual(queued);
    expect(await read((repos) => repos.tasks.modelUses(['m-in', 'm-out', 'm-other']))).toEqual([
      { task: task.id, status: 'queued', type: 'input', model: 'm-other' },
    ]);
    expect(await write((repos) => repos.tasks.replace({ ...queued, name: 'renamed' }))).toBe(true);
    expect(await write((repos) => repos.tasks.replace(makeTask()))).toBe(false);

    const metrics = { hm: { hv: { metric: 'loss', variant: 'val', value: 0.25, count: 3 } } };
    const update = { last_metrics: metrics, last_iteration: 41, last_update: '2026-02-01T00:00:00.000Z' };
    expect(await write((repos) => repos.tasks.updateLastMetrics(task.id, update, 'in_progress'))).toBe(false);
    expect(await write((repos) => repos.tasks.updateLastMetrics(task.id, update, 'queued'))).toBe(true);
    expect(await read((repos) => repos.tasks.get(task.id))).toEqual({ ...queued, name: 'renamed', ...update });
    // The columns follow: the task lists by its new update time and iteration.
    expect(await listIds({ projects: ['p-write'], lastUpdateBefore: '2026-02-01T00:00:00.000Z' })).toEqual([]);
    expect(await listIds({ projects: ['p-write'], orderBy: [{ field: 'last_iteration', descending: true }] })).toEqual([task.id]);

    expect(await write((repos) => repos.tasks.delete([task.id, 'no-such-task']))).toBe(1);
    expect(await read((repos) => repos.tasks.modelUses(['m-other']))).toEqual([]);
    expect(await write((repos) => repos.tasks.delete([]))).toBe(0);
  });

  it.skipIf(!isAvailable)('filters listings: ids, name patterns, projects, statuses, types, tags, parent, users, search text, hidden', async () => {
    const p = 'p-filter';
    const parent = makeTask({ project: p, name: 'Ärger im Büro', comment: 'the PARENT of them all', tags: ['best', 'x'] });
    const child = makeTask({ project: p, name: 'resnet 50% run', parent: parent.id, status: 'completed', user: 'u-1', tags: ['x'] });
    const other = makeTask({ project: p, name: 'RESNET run_2', type: 'testing', status: 'failed', user: 'u-2', system_tags: ['archived'] });
    const hidden = makeTask({ project: p, name: 'resnet hidden', system_tags: ['hidden'] });
    const orphan = makeTask({ project: null, name: 'no project at all' });
    await insertTasks([parent, child, other, hidden, orphan]);
    const inP: TaskQuery = { projects: [p] };

    expect(await listIds(inP)).toEqual([parent.id, child.id, other.id]);
    expect(await listIds({ ...inP, includeHidden: true })).toEqual([parent.id, child.id, other.id, hidden.id]);
    expect(await listIds({ ...inP, ids: [] })).toEqual([]);
    expect(await listIds({ ...inP, ids: [other.id, 'nope'] })).toEqual([other.id]);
    // More ids than one statement takes parameters inline.
    const manyIds = [...Array.from({ length: 1500 }, (_, i) => `absent-${i}`), child.id];
    expect(await listIds({ ...inP, ids: manyIds })).toEqual([child.id]);

    // Name patterns: case ignored beyond ASCII too, as RE2 does.
    expect(await listIds({ ...inP, namePattern: '^resnet' })).toEqual([child.id, other.id]);
    expect(await listIds({ ...inP, namePattern: 'ärger im' })).toEqual([parent.id]);
    expect(await listIds({ ...inP, namePattern: 'run_\\d$' })).toEqual([other.id]);

    expect(await listIds({ projects: [p, null], namePattern: 'project' })).toEqual([orphan.id]);
    expect(await listIds({ projects: [null], namePattern: '' })).toContain(orphan.id);
    expect(await listIds({ projects: [] })).toEqual([]);

    expect(await listIds({ ...inP, statuses: { include: ['completed', 'failed'], exclude: [] } })).toEqual([child.id, other.id]);
    expect(await listIds({ ...inP, statuses: { include: [], exclude: ['completed'] } })).toEqual([parent.id, other.id]);
    expect(await listIds({ ...inP, types: { include: ['testing'], exclude: [] } })).toEqual([other.id]);
    expect(await listIds({ ...inP, tags: { include: ['x'], exclude: ['best'] } })).toEqual([child.id]);
    expect(await listIds({ ...inP, tags: { include: ['best', 'nope'], exclude: [] } })).toEqual([parent.id]);
    expect(await listIds({ ...inP, systemTags: { include: [], exclude: ['archived'] } })).toEqual([parent.id, child.id]);
    expect(await listIds({ ...inP, systemTags: { include: ['archived'], exclude: [] } })).toEqual([other.id]);
    expect(await listIds({ ...inP, parent: parent.id })).toEqual([child.id]);
    expect(await listIds({ ...inP, users: ['u-2', 'u-3'] })).toEqual([other.id]);
    expect(await listIds({ ...inP, users: [] })).toEqual([parent.id, child.id, other.id]);

    // search_text: id, name or comment; ASCII letters ignoring case; LIKE's wildcards taken as they are.
    expect(await listIds({ ...inP, searchText: 'parent of' })).toEqual([parent.id]);
    expect(await listIds({ ...inP, searchText: '50%' })).toEqual([child.id]);
    expect(await listIds({ ...inP, searchText: '%' })).toEqual([child.id]);
    expect(await listIds({ ...inP, searchText: 'run_' })).toEqual([other.id]);
    expect(await listIds({ ...inP, searchText: 'N_2' })).toEqual([other.id]);
    expect(await listIds({ ...inP, searchText: child.id.slice(2) })).toEqual([child.id]);
    expect(await listIds({ ...inP, searchText: 'äRGER' })).toEqual([]);
    expect(await listIds({ ...inP, searchText: 'Ärger IM' })).toEqual([parent.id]);
  });

  it.skipIf(!isAvailable)('orders by columns (NULL as SQLite places it), by values inside documents (numbers as numbers), and pages', async () => {
    const p = 'p-order';
    const hp = (lr: string) => ({ Args: { lr: param('Args', 'lr', lr) } });
    const tasks = [
      makeTask({ project: p, name: 'b', started: '2026-01-05T00:00:00.000Z', hyperparams: hp('10') }),
      makeTask({ project: p, name: 'B', started: null, hyperparams: hp('9') }),
      makeTask({ project: p, name: 'a', started: '2026-01-03T00:00:00.000Z', hyperparams: hp('abc') }),
      makeTask({ project: p, name: 'ä', started: null, hyperparams: {} }),
      makeTask({ project: p, name: 'A', started: '2026-01-04T00:00:00.000Z', hyperparams: hp(' 1e3 ') }),
      makeTask({ project: p, name: 'c', started: null, hyperparams: hp('9.0') }),
      makeTask({ project: p, name: 'd', hyperparams: hp('-2.5') }),
      makeTask({ project: p, name: 'e', hyperparams: hp('Abc') }),
    ];
    const [b, B, a, umlaut, A, c, d, e] = tasks.map((t) => t.id) as [string, string, string, string, string, string, string, string];
    await insertTasks(tasks);
    const inP: TaskQuery = { projects: [p] };

    // Text byte by byte (upper case before lower case, ASCII before the rest), then created.
    expect(await listIds({ ...inP, orderBy: [{ field: 'name', descending: false }] })).toEqual([A, B, a, b, c, d, e, umlaut]);
    // NULL is the smallest value: first going up, last going down.
    expect(await listIds({ ...inP, orderBy: [{ field: 'started', descending: false }] })).toEqual([B, umlaut, c, d, e, a, A, b]);
    expect(await listIds({ ...inP, orderBy: [{ field: 'started', descending: true }] })).toEqual([b, A, a, B, umlaut, c, d, e]);

    const byLr = (descending: boolean) => ({ ...inP, orderBy: [{ paths: [['hyperparams', 'Args', 'lr', 'value']], descending }] });
    // Numbers first by value ("9" and "9.0" tie and keep their creation order), then text; no value last either way.
    expect(await listIds(byLr(false))).toEqual([d, B, c, b, A, e, a, umlaut]);
    expect(await listIds(byLr(true))).toEqual([a, e, A, b, B, c, d, umlaut]);
    expect(await listIds({ ...byLr(false), limit: 3, offset: 2 })).toEqual([c, b, A]);
    expect(await listIds({ ...byLr(false), limit: 3, offset: 8 })).toEqual([]);
  });

  it.skipIf(!isAvailable)('orders by the first of several paths a task has, with any characters in keys', async () => {
    const p = 'p-paths';
    const odd = 'we"ird.key\\$[0]';
    const one = makeTask({ project: p, hyperparams: { 'a.b': { c: param('a.b', 'c', '3') } } });
    const two = makeTask({ project: p, hyperparams: { a: { 'b.c': param('a', 'b.c', '1') } } });
    const three = makeTask({ project: p, hyperparams: { [odd]: { [odd]: param(odd, odd, '2') } } });
    const none = makeTask({ project: p });
    await insertTasks([one, two, three, none]);
    const paths = [
      ['hyperparams', 'a.b', 'c', 'value'],
      ['hyperparams', 'a', 'b.c', 'value'],
      ['hyperparams', odd, odd, 'value'],
    ];
    expect(await listIds({ projects: [p], orderBy: [{ paths, descending: false }] })).toEqual([two.id, three.id, one.id, none.id]);
    expect(await listIds({ projects: [p], orderBy: [{ paths: [paths[2]!], descending: true }] })).toEqual([three.id, one.id, two.id, none.id]);
  });

  it.skipIf(!isAvailable)('answers project stats, hyperparameter names, metric variants and tags of projects', async () => {
    const p = 'p-stats';
    const q = 'p-stats-2';
    const metric = (name: string, variant: string) => ({ metric: name, variant, value: 1 });
    const tasks = [
      makeTask({
        project: p,
        status: 'completed',
        last_update: '2026-03-01T00:00:00.000Z',
        tags: ['b-tag', 'A-tag'],
        hyperparams: { Args: { lr: param('Args', 'lr', '1'), batch: param('Args', 'batch', '2') }, General: { seed: param('General', 'seed', '3') } },
        last_metrics: { 'h-loss': { 'h-val': metric('loss', 'val'), 'h-train': metric('loss', 'train') } },
      }),
      makeTask({
        project: p,
        status: 'completed',
        last_update: '2026-03-02T00:00:00.000Z',
        tags: ['a-tag'],
        hyperparams: { Args: { lr: param('Args', 'lr', '5') } },
        last_metrics: { 'h-acc': { 'h-val': metric('accuracy', 'val') }, 'h-loss': { 'h-val': metric('loss', 'val') } },
      }),
      makeTask({ project: p, status: 'failed', system_tags: ['archived'], last_update: '2026-03-03T00:00:00.000Z' }),
      makeTask({ project: p, status: 'failed', system_tags: ['hidden', 'archived'] }),
      makeTask({ project: q, status: 'created', system_tags: ['zeta', 'Alpha'], last_update: '2026-03-04T00:00:00.000Z', hyperparams: { Z: { z: param('Z', 'z', '0') } } }),
    ];
    await insertTasks(tasks);

    const stats = (archived: boolean) =>
      read(async (repos) => (await repos.tasks.projectStats(archived)).filter((s) => s.project === p || s.project === q));
    expect(await stats(false)).toEqual(
      expect.arrayContaining([
        { project: p, status: 'completed', count: 2, last_update: '2026-03-02T00:00:00.000Z' },
        { project: q, status: 'created', count: 1, last_update: '2026-03-04T00:00:00.000Z' },
      ]),
    );
    expect(await stats(false)).toHaveLength(2);
    expect(await stats(true)).toEqual([{ project: p, status: 'failed', count: 1, last_update: '2026-03-03T00:00:00.000Z' }]);

    expect(await read((repos) => repos.tasks.hyperParameterNames([p]))).toEqual([
      { section: 'Args', name: 'batch' },
      { section: 'Args', name: 'lr' },
      { section: 'General', name: 'seed' },
    ]);
    expect(await read((repos) => repos.tasks.hyperParameterNames([]))).toEqual([]);
    expect(await read((repos) => repos.tasks.hyperParameterNames(undefined))).toEqual(expect.arrayContaining([{ section: 'Z', name: 'z' }]));
    expect(await read((repos) => repos.tasks.metricVariants([p, q]))).toEqual([
      { metric: 'accuracy', variant: 'val', metric_hash: 'h-acc', variant_hash: 'h-val' },
      { metric: 'loss', variant: 'train', metric_hash: 'h-loss', variant_hash: 'h-train' },
      { metric: 'loss', variant: 'val', metric_hash: 'h-loss', variant_hash: 'h-val' },
    ]);
    expect(await read((repos) => repos.tasks.taskTags([p, q]))).toEqual({
      tags: ['A-tag', 'a-tag', 'b-tag'],
      system_tags: ['Alpha', 'archived', 'hidden', 'zeta'],
    });
    expect(await read((repos) => repos.tasks.taskTags([]))).toEqual({ tags: [], system_tags: [] });

    expect(await read((repos) => repos.tasks.countInProjects([p, q]))).toBe(5);
    expect(await read((repos) => repos.tasks.countInProjects([]))).toBe(0);
    expect((await read((repos) => repos.tasks.idsInProjects([q])))).toEqual([tasks[4]!.id]);
  });

  it.skipIf(!isAvailable)('detaches tasks from projects and children from their parent, documents included', async () => {
    const p = 'p-detach';
    const parent = makeTask({ project: p, models: { input: [{ name: 'in', model: 'm-detach' }], output: [] } });
    const child = makeTask({ project: 'p-detach-other', parent: parent.id });
    await insertTasks([parent, child]);
    expect(await write((repos) => repos.tasks.detachFromProjects([p, 'p-none']))).toBe(1);
    expect(await read((repos) => repos.tasks.get(parent.id))).toEqual({ ...parent, project: null });
    expect(await listIds({ projects: [null], ids: [parent.id] })).toEqual([parent.id]);
    expect(await read((repos) => repos.tasks.modelUses(['m-detach']))).toEqual([{ task: parent.id, status: 'created', type: 'input', model: 'm-detach' }]);
    expect(await write((repos) => repos.tasks.detachChildren(parent.id))).toBe(1);
    expect(await read((repos) => repos.tasks.get(child.id))).toEqual({ ...child, parent: null });
    expect(await listIds({ parent: parent.id })).toEqual([]);
    expect(await write((repos) => repos.tasks.detachFromProjects([]))).toBe(0);
  });

  it.skipIf(!isAvailable)('lists models by their columns and by the tags inside their documents, and writes them whole', async () => {
    const p = 'p-models-list';
    const models = [
      makeModel({ project: p, name: 'Resnet', framework: 'PyTorch', tags: ['best'], ready: true, task: 't-1', user: 'u-1' }),
      makeModel({ project: p, name: 'resnet v2', framework: null, tags: ['draft'], comment: 'Second TRY' }),
      makeModel({ project: p, name: 'vit', framework: 'Keras', system_tags: ['archived'], uri: 's3://bucket/vit.bin' }),
      makeModel({ project: p, name: 'hidden one', system_tags: ['hidden'] }),
    ];
    const [resnet, v2, vit, hidden] = models.map((m) => m.id) as [string, string, string, string];
    await write(async (repos) => {
      for (const model of models) await repos.models.insert(model);
    });
    const ids = async (query: Parameters<Repositories['models']['list']>[0]) =>
      (await read((repos) => repos.models.list({ projects: [p], ...query }))).map((m) => m.id);

    expect(await read((repos) => repos.models.get(resnet))).toEqual(models[0]);
    expect(await ids({})).toEqual([resnet, v2, vit]);
    expect(await ids({ includeHidden: true })).toEqual([resnet, v2, vit, hidden]);
    expect(await ids({ projects: [] })).toEqual([]);
    expect(await ids({ namePattern: '^RESNET' })).toEqual([resnet, v2]);
    expect(await ids({ tags: { include: ['best', 'draft'], exclude: [] } })).toEqual([resnet, v2]);
    expect(await ids({ tags: { include: [], exclude: ['best'] } })).toEqual([v2, vit]);
    expect(await ids({ systemTags: { include: [], exclude: ['archived'] } })).toEqual([resnet, v2]);
    // A model without a framework is neither in nor out of a framework list (SQL's NULL).
    expect(await ids({ frameworks: { include: [], exclude: ['Keras'] } })).toEqual([resnet]);
    expect(await ids({ frameworks: { include: ['PyTorch', 'Keras'], exclude: [] } })).toEqual([resnet, vit]);
    expect(await ids({ ready: true })).toEqual([resnet]);
    expect(await ids({ ready: false })).toEqual([v2, vit]);
    expect(await ids({ tasks: ['t-1'] })).toEqual([resnet]);
    expect(await ids({ uris: ['s3://bucket/vit.bin'] })).toEqual([vit]);
    expect(await ids({ users: ['u-1'] })).toEqual([resnet]);
    expect(await ids({ searchText: 'second try' })).toEqual([v2]);
    expect(await ids({ orderBy: [{ field: 'framework', descending: false }] })).toEqual([v2, vit, resnet]);
    expect(await ids({ orderBy: [{ field: 'framework', descending: true }] })).toEqual([resnet, vit, v2]);
    expect(await ids({ orderBy: [{ field: 'name', descending: true }], limit: 2, offset: 1 })).toEqual([v2, resnet]);

    const published = { ...models[1]!, ready: true, tags: ['best'], last_update: '2026-04-01T00:00:00.000Z' };
    await write((repos) => repos.models.replace(published));
    expect(await read((repos) => repos.models.get(v2))).toEqual(published);
    expect(await ids({ ready: true, tags: { include: ['best'], exclude: [] } })).toEqual([resnet, v2]);
    expect(await write((repos) => repos.models.delete([vit, hidden, 'no-such-model']))).toBe(2);
    expect(await read((repos) => repos.models.get(vit))).toBeUndefined();
    expect(await write((repos) => repos.models.delete([]))).toBe(0);
  });
});
