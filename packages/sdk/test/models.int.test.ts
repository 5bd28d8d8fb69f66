// OutputModel, InputModel and Model.query against the real server, read back through the plain API client.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TasklaneError } from '@tasklane/protocol';
import { InputModel, Model, OutputModel, StorageManager, Task } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';

let server: TestServer;
let work: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [server, work] = await Promise.all([startTestServer(), mkdtemp(join(tmpdir(), 'tasklane-models-'))]);
  for (const key of Object.keys(process.env)) if (key.startsWith('TASKLANE_')) delete process.env[key];
  Object.assign(process.env, { TASKLANE_API_HOST: server.url, TASKLANE_STATE_DIR: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config-home') });
});

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

const api = () => server.api;
let counter = 0;

async function makeTask(projectName: string, outputDest?: string): Promise<Task> {
  counter += 1;
  const { id } = await api().call('tasks.create', { name: `models-task-${counter}`, project_name: projectName, type: 'training', output_dest: outputDest });
  return Task.getTask({ id });
}

async function errorOf(promise: Promise<unknown> | (() => unknown)): Promise<TasklaneError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof TasklaneError) return error;
    throw error;
  }
  throw new Error('expected a TasklaneError, nothing was thrown');
}

async function weightsFile(bytes: Buffer, name = 'model.onnx'): Promise<string> {
  const dir = await mkdtemp(join(work, 'weights-'));
  await writeFile(join(dir, name), bytes);
  return join(dir, name);
}

describe('OutputModel.updateWeights', () => {
  it('uploads the weights under <task>/models/, registers the model and links it as the task output', async () => {
    const task = await makeTask('models/output');
    const bytes = randomBytes(4000);
    const model = new OutputModel(task, {
      name: 'classifier',
      framework: 'onnx',
      config: { layers: 3, activation: 'relu' },
      labelEnumeration: { cat: 0, dog: 1 },
      tags: ['baseline'],
      comment: 'first try',
    });
    expect(model.isRegistered).toBe(false);
    expect((await errorOf(() => model.id)).message).toMatchInlineSnapshot(
      `"This output model is not registered yet: call await model.updateWeights(path) first."`,
    );
    await model.updateWeights(await weightsFile(bytes), { iteration: 7 });

    const { model: stored } = await api().call('models.get_by_id', { model: model.id });
    const { task: storedTask } = await api().call('tasks.get_by_id', { task: task.id });
    expect({
      name: stored.name,
      uri: stored.uri,
      framework: stored.framework,
      design: stored.design,
      labels: stored.labels,
      tags: stored.tags,
      comment: stored.comment,
      task: stored.task,
      project: stored.project,
      ready: stored.ready,
      last_iteration: stored.last_iteration,
    }).toEqual({
      name: 'classifier',
      uri: `${server.url}/files/models/output/${task.name}.${task.id}/models/model.onnx`,
      framework: 'onnx',
      design: { design: JSON.stringify({ layers: 3, activation: 'relu' }, null, 2) },
      labels: { cat: 0, dog: 1 },
      tags: ['baseline'],
      comment: 'first try',
      task: task.id,
      project: storedTask.project,
      ready: false,
      last_iteration: 7,
    });
    expect(storedTask.models.output.map((m) => ({ name: m.name, model: m.model }))).toEqual([{ name: 'classifier', model: model.id }]);
    expect(task.info.models.output.map((m) => m.model)).toEqual([model.id]);
    expect({ url: model.url, config: model.configDict, labels: model.labelEnumeration, iteration: model.iteration }).toEqual({
      url: stored.uri,
      config: { layers: 3, activation: 'relu' },
      labels: { cat: 0, dog: 1 },
      iteration: 7,
    });
    expect((await readFile(await model.getLocalCopy())).equals(bytes)).toBe(true);
  });

  it('a second updateWeights updates the same model; a folder is zipped and getLocalCopy extracts it', async () => {
    const task = await makeTask('models/output', pathToFileURL(join(work, 'model store')).href);
    const model = new OutputModel(task, { configText: 'layers: 3\n' });
    await model.updateWeights(await weightsFile(Buffer.from('v1'), 'weights.bin'), { iteration: 1 });
    const firstId = model.id;
    const folder = join(work, 'saved-model');
    await mkdir(join(folder, 'variables'), { recursive: true });
    await writeFile(join(folder, 'model.json'), '{"format":"layers-model"}');
    await writeFile(join(folder, 'variables', 'shard1.bin'), Buffer.from([1, 2, 3]));
    await model.updateWeights(folder, { iteration: 2 });

    expect(model.id).toBe(firstId);
    expect(model.name).toBe(task.name);
    expect(model.configText).toBe('layers: 3\n');
    expect(model.url).toBe(pathToFileURL(join(work, 'model store', 'models', 'output', `${task.name}.${task.id}`, 'models', 'saved-model.zip')).href);
    expect(model.iteration).toBe(2);
    const extracted = await model.getLocalCopy();
    expect((await readdir(extracted, { recursive: true })).sort()).toEqual(['model.json', 'variables', join('variables', 'shard1.bin')]);
    expect(await readFile(join(extracted, 'variables', 'shard1.bin'))).toEqual(Buffer.from([1, 2, 3]));
    const { task: storedTask } = await api().call('tasks.get_by_id', { task: task.id });
    expect(storedTask.models.output.map((m) => m.model)).toEqual([firstId]);
    const { models } = await api().call('models.get_all', { task: [task.id] });
    expect(models.length).toBe(1);
  });

  it('rejects a missing path at once, and an unreachable destination after retries, setting the status message', async () => {
    const task = await makeTask('models/output', 'http://127.0.0.1:9/files');
    const model = new OutputModel(task, { name: 'unlucky' });
    const missing = await errorOf(model.updateWeights(join(work, 'nope.bin')));
    expect(missing.message).toBe(`OutputModel.updateWeights: no file or folder at ${join(work, 'nope.bin')}.`);
    const failed = await errorOf(model.updateWeights(await weightsFile(Buffer.from('w'))));
    expect(failed.message).toMatch(/^Could not upload model "unlucky" \(tried 4 times\): Cannot upload to http:\/\/127\.0\.0\.1:9\/files\/.*\/models\/model\.onnx: .*ECONNREFUSED/);
    await task.flush();
    const { task: stored } = await api().call('tasks.get_by_id', { task: task.id });
    expect(stored.status_message).toBe(`upload of model "unlucky" failed: ${failed.message}`);
  }, 30_000);

  it('publish() makes the model ready', async () => {
    const task = await makeTask('models/output');
    const model = new OutputModel(task, { name: 'to publish' });
    await model.updateWeights(await weightsFile(Buffer.from('p')));
    await model.publish();
    expect(model.isPublished).toBe(true);
    expect((await api().call('models.get_by_id', { model: model.id })).model.ready).toBe(true);
  });
});

describe('InputModel', () => {
  it('import registers weights already stored (once per URL); connect records it as the task input model', async () => {
    const url = (await StorageManager.uploadFile(await weightsFile(Buffer.from('pretrained')), `${server.url}/files/zoo/resnet.onnx`)).uri;
    const imported = await InputModel.import({ url, name: 'resnet', projectName: 'models/zoo', framework: 'onnx', tags: ['pretrained'] });
    expect({ name: imported.name, url: imported.url, framework: imported.framework, tags: imported.tags, published: imported.isPublished }).toEqual({
      name: 'resnet',
      url,
      framework: 'onnx',
      tags: ['pretrained'],
      published: false,
    });
    const again = await InputModel.import({ url, name: 'other name' });
    expect(again.id).toBe(imported.id);

    const task = await makeTask('models/input');
    const loaded = new InputModel({ modelId: imported.id });
    expect(task.connect(loaded)).toBe(loaded);
    await task.flush();
    const { task: stored } = await api().call('tasks.get_by_id', { task: task.id });
    expect(stored.models.input.map((m) => ({ name: m.name, model: m.model }))).toEqual([{ name: 'resnet', model: imported.id }]);
    expect(task.info.models.input.map((m) => m.model)).toEqual([imported.id]);
    expect(await readFile(await loaded.getLocalCopy(), 'utf8')).toBe('pretrained');

    const byGet = await InputModel.get(imported.id);
    expect(byGet.name).toBe('resnet');
  });

  it('an unknown id fails on load with MODEL_NOT_FOUND', async () => {
    const error = await errorOf(new InputModel({ modelId: 'f'.repeat(32) }).load());
    expect(error.code).toBe('MODEL_NOT_FOUND');
  });

  it('a running task records the input model it connects', async () => {
    const task = await makeTask('models/running');
    await api().call('tasks.started', { task: task.id });
    const base = await InputModel.import({ url: `${server.url}/files/zoo/running-${counter}.bin`, name: 'base' });
    task.connect(base);
    await task.flush();
    const { task: stored } = await api().call('tasks.get_by_id', { task: task.id });
    expect(stored.models.input.map((m) => m.model)).toEqual([base.id]);
  });

  it('clone keeps the input models; reset drops the output models and output artifacts', async () => {
    const task = await makeTask('models/lifecycle');
    const base = await InputModel.import({ url: `${server.url}/files/zoo/base-${counter}.bin`, name: 'base' });
    task.connect(base);
    const output = new OutputModel(task, { name: 'trained' });
    await output.updateWeights(await weightsFile(Buffer.from('trained')));
    await task.uploadArtifact('stats', { a: 1 }, { waitOnUpload: true });

    const clone = await Task.clone(task);
    expect(clone.info.models.input.map((m) => m.model)).toEqual([base.id]);
    expect(clone.info.models.output).toEqual([]);
    expect(clone.info.execution.artifacts ?? []).toEqual([]);

    await task.reset();
    expect(task.info.models.output).toEqual([]);
    expect(task.info.models.input.map((m) => m.model)).toEqual([base.id]);
    expect(task.info.execution.artifacts ?? []).toEqual([]);
    expect(Object.keys(task.artifacts)).toEqual([]);
  });
});

describe('Model.query', () => {
  let ids: Record<string, string>;

  beforeAll(async () => {
    const task = await makeTask('models/query');
    const other = await makeTask('models/query-other');
    const make = async (t: Task, name: string, options: { framework?: string; tags?: string[] }) => {
      const model = new OutputModel(t, { name, ...options });
      await model.updateWeights(await weightsFile(Buffer.from(name)));
      return model;
    };
    const a = await make(task, 'alpha-small', { framework: 'onnx', tags: ['small'] });
    const b = await make(task, 'alpha-large', { framework: 'pytorch', tags: ['large'] });
    const c = await make(task, 'beta', { framework: 'onnx', tags: ['small', 'best'] });
    const d = await make(other, 'alpha-elsewhere', { framework: 'onnx' });
    await c.publish();
    ids = { a: a.id, b: b.id, c: c.id, d: d.id };
  });

  const names = (models: Model[]) => models.map((m) => m.name).sort();

  it('filters by project, name, tags, framework and published', async () => {
    expect(names(await Model.query({ projectName: 'models/query' }))).toEqual(['alpha-large', 'alpha-small', 'beta']);
    expect(names(await Model.query({ projectName: 'models/query', name: '^alpha' }))).toEqual(['alpha-large', 'alpha-small']);
    expect(names(await Model.query({ projectName: 'models/query', tags: ['small'] }))).toEqual(['alpha-small', 'beta']);
    expect(names(await Model.query({ projectName: 'models/query', framework: 'onnx' }))).toEqual(['alpha-small', 'beta']);
    expect(names(await Model.query({ projectName: 'models/query', onlyPublished: true }))).toEqual(['beta']);
    expect(names(await Model.query({ name: '^alpha-elsewhere$' }))).toEqual(['alpha-elsewhere']);
    expect(await Model.query({ projectName: 'models/no such project' })).toEqual([]);
    const [found] = await Model.query({ projectName: 'models/query', name: '^beta$' });
    expect({ id: found!.id, published: found!.isPublished, framework: found!.framework }).toEqual({ id: ids.c, published: true, framework: 'onnx' });
    expect(await readFile(await found!.getLocalCopy(), 'utf8')).toBe('beta');
  });
});
