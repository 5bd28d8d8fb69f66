// Remote mode: what an agent does. A task is made (and edited) on the server, then the script runs with
// TASKLANE_TASK_ID set; Task.init attaches to that task, and connect, connectConfiguration and commander/yargs hand
// the script the stored values, typed, instead of the local ones.
import { describe, it } from 'vitest';
import type { HyperParams } from '@tasklane/protocol';
import { markerJson, readTask } from './support/read-back.js';
import { expectExitCode, useScriptHarness } from './support/script-harness.js';

const harness = useScriptHarness();
const api = () => harness.server.api;

/** A hyperparameter section from name → [value, type?]. */
function section(name: string, items: Record<string, [string, string?]>): HyperParams {
  return {
    [name]: Object.fromEntries(
      Object.entries(items).map(([key, [value, type]]) => [key, { section: name, name: key, value, ...(type ? { type } : {}) }]),
    ),
  };
}

const EDITED_MODEL = { layers: [784, 256, 10], activation: 'gelu' };

/** Creates the draft an agent would run: as if cloned from a run, then edited in the UI. */
async function createDraft(name: string, fields: { hyperparams?: HyperParams; withModel?: boolean; project?: string }): Promise<string> {
  const { id } = await api().call('tasks.create', {
    name,
    project_name: fields.project ?? 'sdk-tests/remote',
    type: 'training',
    hyperparams: fields.hyperparams,
    configuration: fields.withModel
      ? { model: { name: 'model', value: JSON.stringify(EDITED_MODEL, null, 2), type: 'dictionary' } }
      : undefined,
  });
  return id;
}

describe.concurrent('remote mode (TASKLANE_TASK_ID set)', () => {
  it('examples/train-basic.mjs runs with the edited hyperparameters and configuration, and completes', async ({ expect }) => {
    const id = await createDraft('basic training', {
      hyperparams: section('General', { learningRate: ['0.5', 'float'], batchSize: ['64', 'int'] }),
      withModel: true,
    });
    const result = await harness.run('examples/train-basic.mjs', ['--epochs', '2'], { env: { TASKLANE_TASK_ID: id } });
    expectExitCode(result, 0);
    expect(result.stdout).not.toContain('Tasklane: task'); // attached, nothing created
    expect(result.stdout).toContain('training with lr=0.5, batch=64, layers=784-256-10\n');
    // 1 / (epoch * lr * 100): numbers, not text.
    expect(result.stdout).toContain('epoch 1/2 loss=0.0200\nepoch 2/2 loss=0.0100\n');
    const task = await readTask(api(), id);
    expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
    expect(task.runtime.progress).toBe('100');
    // The edited values stay; what the server did not have is added from the script.
    expect(task.hyperparams.General).toEqual({
      ...section('General', { learningRate: ['0.5', 'float'], batchSize: ['64', 'int'] }).General,
      ...section('General', { 'optimizer/name': ['adam', 'str'], 'optimizer/beta1': ['0.9', 'float'], augment: ['true', 'bool'] }).General,
    });
    expect(JSON.parse(task.configuration.model!.value)).toEqual(EDITED_MODEL);
  });

  it('connect() hands back every stored value typed like the local one (number, boolean, list, nested)', async ({ expect }) => {
    const id = await createDraft('connect probe', {
      hyperparams: section('General', {
        learningRate: ['0.5', 'float'],
        batchSize: ['64', 'int'],
        'optimizer/name': ['sgd', 'str'],
        'optimizer/beta1': ['0.8'], // no stored type: typed like the local value
        augment: ['false', 'bool'],
        milestones: ['[5, 15]', 'list'],
      }),
      withModel: true,
    });
    const result = await harness.run('fixtures/connect-probe.mjs', [], { env: { TASKLANE_TASK_ID: id } });
    expectExitCode(result, 0);
    expect(markerJson(result.stdout, 'seen')).toEqual({
      params: { learningRate: 0.5, batchSize: 64, optimizer: { name: 'sgd', beta1: 0.8 }, augment: false, milestones: [5, 15] },
      model: EDITED_MODEL,
      isRemote: true,
    });
    expect((await readTask(api(), id)).status).toBe('completed');
  });

  it('examples/train-commander.mjs, queued as an agent would take it, parses the edited Args', async ({ expect }) => {
    const id = await createDraft('commander training', {
      project: 'examples/cli-args',
      hyperparams: section('Args', { lr: ['0.7', 'float'], epochs: ['3', 'int'], shuffle: ['false', 'bool'] }),
    });
    await api().call('tasks.enqueue', { task: id, queue_name: 'sdk-tests-remote' });
    const result = await harness.run('examples/train-commander.mjs', [], { env: { TASKLANE_TASK_ID: id } });
    expectExitCode(result, 0);
    expect(result.stdout).toContain('lr=0.7 (number) epochs=3 model=resnet18 shuffle=false\n');
    const task = await readTask(api(), id);
    expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
    // The edited values are still those stored (the run does not write its local defaults over them).
    expect(task.hyperparams).toMatchObject(section('Args', { lr: ['0.7', 'float'], epochs: ['3', 'int'], shuffle: ['false', 'bool'] }));
  });

  it('examples/train-yargs.mjs parses the edited Args', async ({ expect }) => {
    const id = await createDraft('yargs training', {
      project: 'examples/cli-args',
      hyperparams: section('Args', { lr: ['0.7', 'float'], model: ['vit-b16', 'str'] }),
    });
    const result = await harness.run('examples/train-yargs.mjs', ['--epochs', '2'], { env: { TASKLANE_TASK_ID: id } });
    expectExitCode(result, 0);
    expect(result.stdout).toContain('lr=0.7 (number) epochs=2 model=vit-b16\n');
    const task = await readTask(api(), id);
    expect(task.status).toBe('completed');
    expect(task.hyperparams.Args?.lr?.value).toBe('0.7');
  });

  it('a script that throws under an agent leaves the task failed, with the error', async ({ expect }) => {
    const id = await createDraft('outcome throw', { project: 'examples/outcomes' });
    const result = await harness.run('examples/fail-and-exit.mjs', ['throw'], { env: { TASKLANE_TASK_ID: id } });
    expectExitCode(result, 1);
    const task = await readTask(api(), id);
    expect(task.status).toBe('failed');
    expect(task.status_reason).toContain('the model diverged');
  });

  it('an unknown TASKLANE_TASK_ID fails Task.init, naming the id', async ({ expect }) => {
    const missing = '0123456789abcdef0123456789abcdef';
    const result = await harness.run('examples/fail-and-exit.mjs', ['ok'], { env: { TASKLANE_TASK_ID: missing } });
    expectExitCode(result, 1);
    const line = /^TasklaneError: .*$/m.exec(result.stderr)?.[0]?.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:<port>');
    expect(line).toMatchInlineSnapshot(`"TasklaneError: Task.init: TASKLANE_TASK_ID is set to "0123456789abcdef0123456789abcdef", but the server at http://127.0.0.1:<port> has no such task. Unset TASKLANE_TASK_ID to record a new run, or point TASKLANE_API_HOST at the server that queued it."`);
  });
});
