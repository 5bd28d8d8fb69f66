// Task.init as a user script meets it: the real examples (and small fixture scripts) run as child processes, from a
// temporary git repository, against a real server; then the task is read back through the API.
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { arch, hostname, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'vitest';
import { markerJson, readLog, readTask } from './support/read-back.js';
import { taskIdOf } from './support/run-script.js';
import { expectExitCode, shared, useScriptHarness } from './support/script-harness.js';
import { BRANCH, ORIGIN_URL, TRACKED_CHANGE, UNTRACKED_CONTENT, UNTRACKED_FILE } from './support/script-repo.js';

const execFileAsync = promisify(execFile);
const harness = useScriptHarness();
const { run } = harness;
const api = () => harness.server.api;

describe.concurrent('examples/train-basic.mjs --epochs 4, run from the repository root', () => {
  const basic = shared(() => run('examples/train-basic.mjs', ['--epochs', '4']));

  it('exits 0 and leaves the task completed', async ({ expect }) => {
    const result = await basic();
    expectExitCode(result, 0);
    const task = await readTask(api(), taskIdOf(result));
    expect(task.name).toBe('basic training');
    expect([task.status, task.status_reason]).toEqual(['completed', 'completed']);
    expect(task.system_tags).toContain('development');
    // The task is its user's (TASKLANE_USER when set; the harness runs scripts with this process's environment).
    expect(task.user).toBe(process.env.TASKLANE_USER?.trim() || userInfo().username);
    const { project } = await api().call('projects.get_by_id', { project: task.project! });
    expect(project.name).toBe('examples/basic');
  });

  it('records the code: origin URL, branch, HEAD commit, entry point and working directory relative to the root', async ({ expect }) => {
    const task = await readTask(api(), taskIdOf(await basic()));
    const { diff, requirements, ...script } = task.script;
    expect(script).toEqual({
      binary: 'node',
      repository: ORIGIN_URL,
      branch: BRANCH,
      version_num: harness.repo.head,
      entry_point: 'examples/train-basic.mjs',
      working_dir: '.',
    });
  });

  it('records the uncommitted diff: the tracked change and the untracked file, applicable to HEAD', async ({ expect }) => {
    const { diff = '' } = (await readTask(api(), taskIdOf(await basic()))).script;
    expect(diff).toContain('diff --git a/examples/train-basic.mjs b/examples/train-basic.mjs\n');
    expect(diff).toContain(`\n+${TRACKED_CHANGE}\n`);
    expect(diff).toContain(`diff --git a/${UNTRACKED_FILE} b/${UNTRACKED_FILE}\nnew file mode 100644\n`);
    expect(diff).toContain(`\n+${UNTRACKED_CONTENT}`);
    expect(diff).not.toContain('node_modules');
    // What an agent does with it: clone the commit, apply the diff, and get the user's working tree back.
    const clone = join(harness.repo.dir, 'clone-for-diff');
    await execFileAsync('git', ['clone', '--quiet', harness.repo.root, clone]);
    await writeFile(join(clone, 'task.diff'), diff);
    await execFileAsync('git', ['apply', 'task.diff'], { cwd: clone });
    for (const file of ['examples/train-basic.mjs', UNTRACKED_FILE]) {
      expect(await readFile(join(clone, file), 'utf8'), file).toBe(await readFile(join(harness.repo.root, file), 'utf8'));
    }
  });

  it('records the requirements: installed versions of package.json dependencies and the lock file hash', async ({ expect }) => {
    const { requirements } = (await readTask(api(), taskIdOf(await basic()))).script;
    expect(requirements).toEqual({
      node: process.version,
      npm: `commander@${harness.repo.installed.commander}\nyargs@${harness.repo.installed.yargs}`,
      lockfile: `package-lock.json sha256:${harness.repo.lockSha256}`,
    });
  });

  it('records the runtime (Node.js version, platform, host) and progress 100 at the end', async ({ expect }) => {
    const { runtime } = await readTask(api(), taskIdOf(await basic()));
    expect(runtime).toMatchObject({ node_version: process.version, platform: platform(), arch: arch(), hostname: hostname(), progress: '100' });
    expect(Number(runtime.cpu_count)).toBeGreaterThan(0);
  });

  it('records plain argv as the Args section, typed', async ({ expect }) => {
    const { hyperparams } = await readTask(api(), taskIdOf(await basic()));
    expect(hyperparams.Args).toEqual({ epochs: { section: 'Args', name: 'epochs', value: '4', type: 'int' } });
  });

  it('records the connected object as the General section: flattened, with types', async ({ expect }) => {
    const { hyperparams } = await readTask(api(), taskIdOf(await basic()));
    const item = (name: string, value: string, type: string) => ({ section: 'General', name, value, type });
    expect(hyperparams.General).toEqual({
      learningRate: item('learningRate', '0.01', 'float'),
      batchSize: item('batchSize', '32', 'int'),
      'optimizer/name': item('optimizer/name', 'adam', 'str'),
      'optimizer/beta1': item('optimizer/beta1', '0.9', 'float'),
      augment: item('augment', 'true', 'bool'),
    });
  });

  it('records the configuration object "model" as JSON text of type dictionary', async ({ expect }) => {
    const { configuration } = await readTask(api(), taskIdOf(await basic()));
    expect(Object.keys(configuration)).toEqual(['model']);
    expect(configuration.model).toMatchObject({ name: 'model', type: 'dictionary' });
    expect(JSON.parse(configuration.model!.value)).toEqual({ layers: [784, 128, 10], activation: 'relu' });
  });

  it('sends every console line printed after Task.init, in order', async ({ expect }) => {
    const result = await basic();
    expect(await readLog(api(), taskIdOf(result))).toEqual([
      'info: training with lr=0.01, batch=32, layers=784-128-10',
      'info: epoch 1/4 loss=1.0000',
      'info: epoch 2/4 loss=0.5000',
      'info: epoch 3/4 loss=0.3333',
      'info: epoch 4/4 loss=0.2500',
      'info: done',
    ]);
    // ... and still prints them.
    expect(result.stdout).toContain('epoch 4/4 loss=0.2500\ndone\n');
  });
});

describe.concurrent('Task.init records', () => {
  it('the working directory relative to the repository root when run from a sub-folder', async ({ expect }) => {
    const result = await run('train-basic.mjs', ['--epochs', '1'], { cwd: join(harness.repo.root, 'examples') });
    expectExitCode(result, 0);
    const { script } = await readTask(api(), taskIdOf(result));
    expect([script.entry_point, script.working_dir, script.repository]).toEqual(['examples/train-basic.mjs', 'examples', ORIGIN_URL]);
  });

  it('a script outside git: no repository, the script itself as the diff', async ({ expect }) => {
    const loose = await harness.repo.newLooseDir('train-basic.mjs');
    const result = await run('train-basic.mjs', ['--epochs', '1'], { cwd: loose });
    expectExitCode(result, 0);
    const task = await readTask(api(), taskIdOf(result));
    const { diff, requirements, ...script } = task.script;
    expect(script).toEqual({ binary: 'node', repository: '', branch: '', version_num: '', entry_point: 'train-basic.mjs', working_dir: '.' });
    expect(diff).toBe(await readFile(join(loose, 'train-basic.mjs'), 'utf8'));
    expect(requirements).toEqual({ node: process.version });
    expect(task.status).toBe('completed');
  });

  it('commander options: names, parsed values, types and descriptions (not raw argv)', async ({ expect }) => {
    const result = await run('examples/train-commander.mjs', ['--lr', '0.1', '--epochs', '2', '--no-shuffle']);
    expectExitCode(result, 0);
    expect(result.stdout).toContain('lr=0.1 (number) epochs=2 model=resnet18 shuffle=false');
    const task = await readTask(api(), taskIdOf(result));
    const arg = (name: string, value: string, type: string, description: string) => ({ section: 'Args', name, value, type, description });
    expect(task.hyperparams.Args).toEqual({
      lr: arg('lr', '0.1', 'float', 'learning rate — default: 0.01'),
      epochs: arg('epochs', '2', 'int', 'number of epochs — default: 5'),
      model: arg('model', 'resnet18', 'str', 'model architecture — default: resnet18'),
      shuffle: arg('shuffle', 'false', 'bool', 'keep the data order — default: true'),
    });
    expect(task.status).toBe('completed');
  });

  it('yargs options: names, parsed values, types and descriptions (not raw argv)', async ({ expect }) => {
    const result = await run('examples/train-yargs.mjs', ['--lr', '0.1', '--epochs', '2']);
    expectExitCode(result, 0);
    expect(result.stdout).toContain('lr=0.1 (number) epochs=2 model=resnet18');
    const task = await readTask(api(), taskIdOf(result));
    const arg = (name: string, value: string, type: string, description: string) => ({ section: 'Args', name, value, type, description });
    expect(task.hyperparams.Args).toEqual({
      lr: arg('lr', '0.1', 'float', 'learning rate — default: 0.01'),
      epochs: arg('epochs', '2', 'int', 'number of epochs — default: 5'),
      model: arg('model', 'resnet18', 'str', 'model architecture — default: resnet18'),
    });
    expect(task.status).toBe('completed');
  });
});

describe.concurrent('console and resources of a run lasting about a second', () => {
  const lines = shared(() => run('fixtures/console-lines.mjs', ['900']));

  it('sends stdout lines at level info and stderr lines at level error, in the order printed', async ({ expect }) => {
    const result = await lines();
    expectExitCode(result, 0);
    expect(await readLog(api(), taskIdOf(result))).toEqual([
      'info: out 1',
      'error: err 1',
      'info: out 2, written in two pieces',
      'info: out 3',
      'error: err 2',
      'info: out 4',
      'info: out 5, after the wait',
      'info: last words, without a newline',
    ]);
  });

  it('reports :monitor:machine scalars (CPU, memory) that do not move the iteration', async ({ expect }) => {
    const result = await lines();
    const id = taskIdOf(result);
    const { metrics } = await api().call('events.get_scalar_metrics_and_variants', { task: id });
    expect(metrics[':monitor:machine']?.slice().sort()).toEqual(['cpu_usage', 'memory_free_gb', 'memory_used_gb', 'process_memory_gb']);
    const histogram = await api().call('events.scalar_metrics_iter_histogram', { task: id, metrics: [{ metric: ':monitor:machine' }] });
    const cpu = histogram[':monitor:machine']?.cpu_usage?.y ?? [];
    expect(cpu.length).toBeGreaterThanOrEqual(2);
    expect(cpu.every((percent) => percent >= 0 && percent <= 100), `cpu_usage ${cpu.join(', ')}`).toBe(true);
    const memory = histogram[':monitor:machine']?.process_memory_gb?.y ?? [];
    expect(memory.every((gb) => gb > 0.01 && gb < 16)).toBe(true);
    expect((await readTask(api(), id)).last_iteration).toBe(0);
  });
});

describe.concurrent('Task.init errors', () => {
  it('fails fast, naming the address and `tasklane server`, when the server is unreachable (port 9 as asked)', async ({ expect }) => {
    const result = await run('examples/fail-and-exit.mjs', ['ok'], { env: { TASKLANE_API_HOST: 'http://127.0.0.1:9' } });
    expectExitCode(result, 1);
    expect(result.durationMs).toBeLessThan(5000);
    const message = /^TasklaneError: .*$/m.exec(result.stderr)?.[0].replaceAll(harness.repo.dir, '<tmp>');
    expect(message).toMatchInlineSnapshot(
      `"TasklaneError: Task.init: cannot reach the Tasklane server at http://127.0.0.1:9. Start one with \`npx tasklane server\`, or point TASKLANE_API_HOST (or <tmp>/config-home/tasklane/config.json) at yours."`,
    );
  });

  it('fails fast the same way when nothing listens on the port (connection refused)', async ({ expect }) => {
    // fetch refuses port 9 without connecting ("bad port"): also try a port that really refuses the connection.
    const port = await closedPort();
    const result = await run('examples/fail-and-exit.mjs', ['ok'], { env: { TASKLANE_API_HOST: `http://127.0.0.1:${port}` } });
    expectExitCode(result, 1);
    expect(result.durationMs).toBeLessThan(5000);
    const message = /^TasklaneError: .*$/m.exec(result.stderr)?.[0] ?? result.stderr;
    expect(message).toContain(`cannot reach the Tasklane server at http://127.0.0.1:${port}.`);
    expect(message).toContain('tasklane server');
    expect(result.stderr).toContain('ECONNREFUSED');
  });

  it('refuses a second Task.init while a task is open, and allows one after close()', async ({ expect }) => {
    const result = await run('fixtures/init-twice.mjs', ['sdk-tests/twice']);
    expectExitCode(result, 0);
    const outcome = markerJson<{
      firstId: string;
      secondId: string;
      error?: { name: string; code: string; message: string };
      currentBeforeClose: string;
      currentAfterClose: string | null;
      currentAtEnd: string;
    }>(result.stdout, 'result');
    expect(outcome.error?.code).toBe('INVALID_INPUT');
    expect(outcome.error?.message.replace(/[0-9a-f]{8}/, '<id>')).toMatchInlineSnapshot(
      `"Task.init: task <id> ("first task") is still open in this process; await task.close() before starting another."`,
    );
    expect(outcome.currentBeforeClose).toBe(outcome.firstId);
    expect(outcome.currentAfterClose).toBeNull();
    expect(outcome.secondId).not.toBe(outcome.firstId);
    expect(outcome.currentAtEnd).toBe(outcome.secondId);
    const [first, second] = await Promise.all([readTask(api(), outcome.firstId), readTask(api(), outcome.secondId)]);
    expect([first.name, first.status, second.name, second.status]).toEqual(['first task', 'completed', 'second task', 'completed']);
  });
});

/** A TCP port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
