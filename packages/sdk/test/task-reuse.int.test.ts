// Reuse rules, as ClearML's: running the same script again (same project + name, same machine, i.e. the same reuse
// cache) resets and reuses its last task when that one has no outputs; otherwise a new task is made.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { markerJson, readLog, readTask } from './support/read-back.js';
import { taskIdOf, type ScriptRun } from './support/run-script.js';
import { expectExitCode, useScriptHarness, type RunOptions } from './support/script-harness.js';

const harness = useScriptHarness();
const api = () => harness.server.api;
const PROBE = 'fixtures/reuse-probe.mjs';

type Mode = 'default' | 'no-reuse' | 'continue';

/** Runs the reuse probe; answers the task id and iteration offset it printed. */
async function probe(mode: Mode, projectName: string, options: RunOptions = {}) {
  const result = await harness.run(PROBE, [mode, projectName], options);
  expectExitCode(result, 0);
  return { ...markerJson<{ id: string; iterationOffset: number }>(result.stdout, 'task'), stdout: result.stdout };
}

/** The task's console without the probe's `@@task` marker line. */
async function consoleOf(id: string): Promise<string[]> {
  return (await readLog(api(), id)).filter((line) => !line.startsWith('info: @@task '));
}

/** Registers a model to record on a task (tasks.add_or_update_model takes existing models only). */
async function registerModel(name: string): Promise<string> {
  return (await api().call('models.create', { name, uri: `file:///tmp/weights/${name}.bin` })).id;
}

async function finished(run: Promise<ScriptRun>): Promise<string> {
  const result = await run;
  expectExitCode(result, 0);
  return taskIdOf(result);
}

describe.concurrent('Task.init reuse', () => {
  it('reuses the task of the previous run of the same script when it has no outputs, resetting it first', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const first = await finished(harness.run('examples/train-basic.mjs', ['--epochs', '2'], { stateDir }));
    const second = await harness.run('examples/train-basic.mjs', ['--epochs', '3'], { stateDir });
    expectExitCode(second, 0);
    expect(second.stdout).toContain(`Tasklane: reusing task ${first} `);
    expect(taskIdOf(second)).toBe(first);
    const task = await readTask(api(), first);
    expect(task.status).toBe('completed');
    expect(task.hyperparams.Args?.epochs?.value).toBe('3');
    // The first run's console is gone with the reset: only the second run's lines are there.
    expect(await readLog(api(), first)).toEqual([
      'info: training with lr=0.01, batch=32, layers=784-128-10',
      'info: epoch 1/3 loss=1.0000',
      'info: epoch 2/3 loss=0.5000',
      'info: epoch 3/3 loss=0.3333',
      'info: done',
    ]);
  });

  it('does not reuse a task that got an artifact, and leaves that task as it was', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/reuse-artifact';
    const first = await probe('default', project, { stateDir });
    await api().call('tasks.add_or_update_artifacts', {
      task: first.id,
      force: true,
      artifacts: [{ key: 'weights', type: 'custom', mode: 'output', uri: 'file:///tmp/weights.bin' }],
    });
    const second = await probe('default', project, { stateDir });
    expect(second.id).not.toBe(first.id);
    expect(second.stdout).toContain(`Tasklane: task ${second.id} created`);
    const kept = await readTask(api(), first.id);
    expect(kept.status).toBe('completed');
    expect(kept.execution.artifacts?.map((a) => a.key)).toEqual(['weights']);
    expect(await consoleOf(first.id)).toEqual(['info: run with mode default', 'info: run with mode default ends']);
    // The new task is the one remembered now: a third run reuses it.
    expect((await probe('default', project, { stateDir })).id).toBe(second.id);
  });

  it('does not reuse a task that got an output model', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/reuse-model';
    const first = await probe('default', project, { stateDir });
    await api().call('tasks.add_or_update_model', { task: first.id, name: 'best', model: await registerModel('best'), type: 'output', force: true });
    const second = await probe('default', project, { stateDir });
    expect(second.id).not.toBe(first.id);
    expect((await readTask(api(), first.id)).models.output.map((m) => m.name)).toEqual(['best']);
  });

  it('reuses a task that has only an input model (inputs are not outputs)', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/reuse-input-model';
    const first = await probe('default', project, { stateDir });
    await api().call('tasks.add_or_update_model', { task: first.id, name: 'pretrained', model: await registerModel('pretrained'), type: 'input', force: true });
    expect((await probe('default', project, { stateDir })).id).toBe(first.id);
  });

  it('does not reuse with reuseLastTaskId: false', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/no-reuse-option';
    const first = await probe('default', project, { stateDir });
    const second = await probe('no-reuse', project, { stateDir });
    expect(second.id).not.toBe(first.id);
    expect((await readTask(api(), first.id)).status).toBe('completed');
  });

  it('does not reuse with TASKLANE_TASK_NO_REUSE=1', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/no-reuse-env';
    const first = await probe('default', project, { stateDir });
    const second = await probe('default', project, { stateDir, env: { TASKLANE_TASK_NO_REUSE: '1' } });
    expect(second.id).not.toBe(first.id);
  });

  it('does not reuse a task older than TASKLANE_TASK_REUSE_HOURS', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/reuse-window';
    const first = await probe('default', project, { stateDir });
    const second = await probe('default', project, { stateDir, env: { TASKLANE_TASK_REUSE_HOURS: '0' } });
    expect(second.id).not.toBe(first.id);
  });

  it('does not reuse the task of another project, nor of another machine (reuse cache)', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const first = await probe('default', 'sdk-tests/reuse-project-a', { stateDir });
    const otherProject = await probe('default', 'sdk-tests/reuse-project-b', { stateDir });
    const otherMachine = await probe('default', 'sdk-tests/reuse-project-a', { stateDir: await harness.repo.newStateDir() });
    expect(new Set([first.id, otherProject.id, otherMachine.id]).size).toBe(3);
  });

  it('does not take over the task of a run still going on (two runs of one script at once)', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/reuse-concurrent';
    const seed = await probe('default', project, { stateDir });
    const goOn = join(stateDir, 'long-run-may-end');
    const long = await harness.start(PROBE, ['default', project, goOn], { stateDir });
    const longId = markerJson<{ id: string }>(await long.waitForLine(/^@@task /), 'task').id;
    expect(longId).toBe(seed.id); // reused: the seed run had ended
    const meanwhile = await probe('default', project, { stateDir });
    await writeFile(goOn, '');
    const longRun = await long.done;
    expectExitCode(longRun, 0);
    expect(meanwhile.id).not.toBe(longId);
    // The long run's record is whole: its own lines, completed when it ended.
    const task = await readTask(api(), longId);
    expect(task.status).toBe('completed');
    expect(await consoleOf(longId)).toEqual(['info: run with mode default', 'info: run with mode default ends']);
  });

  it('continueLastTask continues the previous task, keeping its outputs, console and iterations', async ({ expect }) => {
    const stateDir = await harness.repo.newStateDir();
    const project = 'sdk-tests/continue';
    const first = await probe('default', project, { stateDir });
    await api().call('tasks.add_or_update_artifacts', { task: first.id, force: true, artifacts: [{ key: 'checkpoint', type: 'custom' }] });
    await api().call('tasks.add_or_update_model', { task: first.id, name: 'last', model: await registerModel('last'), type: 'output', force: true });
    await api().call('events.add_batch', [{ type: 'training_stats_scalar', task: first.id, metric: 'loss', variant: 'train', iter: 9, value: 0.25 }]);
    const second = await probe('continue', project, { stateDir });
    expect(second.id).toBe(first.id);
    expect(second.stdout).toContain(`Tasklane: continuing task ${first.id} `);
    expect(second.iterationOffset).toBe(10);
    const task = await readTask(api(), first.id);
    expect(task.status).toBe('completed');
    expect(task.execution.artifacts?.map((a) => a.key)).toEqual(['checkpoint']);
    expect(task.models.output.map((m) => m.name)).toEqual(['last']);
    expect(task.last_iteration).toBe(9);
    expect(await consoleOf(first.id)).toEqual([
      'info: run with mode default',
      'info: run with mode default ends',
      'info: run with mode continue',
      'info: run with mode continue ends',
    ]);
  });
});
