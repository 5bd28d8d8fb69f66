// The remote-execution workflow, end to end, with real processes: a server and agent daemons started through the
// built CLI, a training script in a temporary git repository run locally with the SDK, then cloned, edited,
// enqueued and run again by an agent with the edited values. Also: abort, failures, setup errors, a bash task.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { runCli } from '../support/cli.js';
import {
  agentFinished,
  consoleLines,
  isRunning,
  makeTrainingRepo,
  runNode,
  startAgent,
  startServerAt,
  waitFor,
  waitForStatus,
  type AgentProcess,
  type ServerProcess,
  type TrainingRepo,
} from '../support/agent-e2e.js';
import { WORKSPACE_ROOT, buildWorkspace } from '../support/workspace-build.js';

const QUEUE = 'e2e-agent';

describe('tasklane agent runs tasks from a queue', { timeout: 120_000 }, () => {
  let dir: string;
  let server: ServerProcess;
  let api: ApiClient;
  let agent: AgentProcess;
  let repo: TrainingRepo;
  /** Keeps the SDK's state and config away from the user's. */
  let sdkEnv: Record<string, string>;
  const cli = (...args: string[]) => runCli([...args, '--server', server.url], sdkEnv);

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-agent-e2e-'));
    sdkEnv = { XDG_CONFIG_HOME: join(dir, 'config'), TASKLANE_STATE_DIR: join(dir, 'state'), TASKLANE_TASK_NO_REUSE: '1' };
    server = await startServerAt(join(dir, 'data'));
    api = new ApiClient({ baseUrl: server.url });
    repo = await makeTrainingRepo(dir);
    agent = await startAgent({ serverUrl: server.url, queues: [QUEUE], workdir: join(dir, 'agent'), name: 'e2e-agent-1', env: sdkEnv });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Writes a script file and makes a draft of it with `tasklane task create`, enqueued; answers its id. */
  async function createFromScript(fileName: string, content: string, extra: string[] = []): Promise<string> {
    const file = join(dir, fileName);
    await writeFile(file, content);
    const created = await cli('task', 'create', '--project', 'e2e/agent', '--name', fileName, '--script', file, '--queue', QUEUE, '--json', ...extra);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    return (JSON.parse(created.stdout) as { id: string }).id;
  }

  it('clone → edit Args/lr and a connected value → enqueue: the agent reproduces the code and runs the edited values', async () => {
    const local = await runNode(join(repo.root, repo.script), ['--lr', '0.1', '--epochs', '2'], {
      cwd: repo.root,
      env: { ...sdkEnv, TASKLANE_API_HOST: server.url },
    });
    expect(local.stderr).toBe('');
    expect(local.code).toBe(0);
    expect(local.stdout).toContain('RUN uncommitted lr=0.1 momentum=0.9 epochs=2');
    const originalId = /task ([0-9a-f]{32}) created/.exec(local.stdout)![1]!;
    const original = (await api.call('tasks.get_by_id', { task: originalId })).task;
    expect(original).toMatchObject({ status: 'completed', script: { repository: repo.root, version_num: repo.head, entry_point: 'train.mjs' } });
    expect(original.script.requirements?.npm).toMatch(/^commander@\d/);

    const { id: cloneId } = await api.call('tasks.clone', { task: originalId, new_task_name: 'agent training (lr 0.05)' });
    const edited = await cli('task', 'edit', cloneId.slice(0, 10), '--param', 'Args/lr=0.05', '--param', 'General/momentum=0.95');
    expect(edited.code).toBe(0);
    expect(edited.stdout).toContain('Args/lr: 0.1 → 0.05');
    expect(edited.stdout).toContain('General/momentum: 0.9 → 0.95');
    expect((await cli('task', 'enqueue', cloneId, '--queue', QUEUE)).code).toBe(0);

    const done = await waitForStatus(api, cloneId, ['completed', 'failed', 'stopped'], 90_000);
    // The SDK inside marks the task completed as the script exits; the agent's last console lines follow.
    const lines = await agentFinished(api, cloneId);
    // The SDK inside marked it completed as the script ended; the agent left that as it was.
    expect({ status: done.status, reason: done.status_reason, lines }).toMatchObject({ status: 'completed', reason: 'completed' });
    expect(done.parent).toBe(originalId);
    expect(done.last_worker).toBe('e2e-agent-1');
    expect(done.runtime.worker).toBe('e2e-agent-1');

    const scalars = (await api.call('events.scalar_metrics_iter_histogram', { task: cloneId })) as Record<string, Record<string, { y: number[] }>>;
    expect(scalars.used?.lr?.y).toEqual([0.05]);
    expect(scalars.used?.momentum?.y).toEqual([0.95]);

    // The script's output, once each (the SDK inside does not send the console: the agent does).
    const runLines = lines.filter((line) => line.startsWith('RUN '));
    expect(runLines).toEqual(['RUN uncommitted lr=0.05 momentum=0.95 epochs=2']);
    expect(lines.filter((line) => /^epoch \d loss=/.test(line))).toEqual(['epoch 1 loss=0.2000', 'epoch 2 loss=0.1000']);
    // The setup is in the console too.
    expect(lines).toContain(`tasklane-agent: cloning ${repo.root} at commit ${repo.head}`);
    expect(lines.some((line) => line.startsWith('tasklane-agent: applying the recorded uncommitted changes'))).toBe(true);
    expect(lines).toContain('tasklane-agent: installing dependencies: npm ci in the repository root');
    expect(lines).toContain('tasklane-agent: running: node train.mjs --lr 0.05 --epochs 2 (in .)');
    expect(lines.at(-1)).toBe('tasklane-agent: process completed successfully');
  });

  it('an abort ends the whole process tree within 5 seconds and marks the task aborted', async () => {
    const id = await createFromScript(
      'abort-me.mjs',
      `import { spawn } from 'node:child_process';
import { Task } from 'tasklane';
await Task.init({ projectName: 'e2e/agent', taskName: 'abort me' });
const child = spawn('sleep', ['300'], { stdio: 'ignore' });
console.log(\`PIDS \${process.pid} \${child.pid}\`);
setInterval(() => console.log('still running'), 300);
`,
    );
    const pidsLine = await waitFor('the script to print its pids', async () =>
      (await consoleLines(api, id)).map((e) => e.msg).find((msg) => msg.startsWith('PIDS ')),
    );
    const pids = pidsLine.split(' ').slice(1).map(Number);
    expect(await Promise.all(pids.map(isRunning))).toEqual([true, true]);

    const abortedAt = Date.now();
    const abort = await cli('task', 'abort', id);
    expect(abort.stdout).toContain(`Asked the agent running ${id.slice(0, 8)} to stop it`);
    // The SDK inside reports "aborted by SIGTERM" as it ends; the agent's reason follows once the tree is gone.
    const stopped = await waitFor('the task to be aborted by the agent', async () => {
      const { task } = await api.call('tasks.get_by_id', { task: id });
      return task.status !== 'in_progress' && task.status_reason !== 'aborted by SIGTERM' ? task : undefined;
    }, 10_000, 50);
    const elapsedMs = Date.now() - abortedAt;
    expect({ status: stopped.status, reason: stopped.status_reason }).toEqual({ status: 'stopped', reason: 'aborted by user' });
    expect(elapsedMs).toBeLessThan(5000);
    expect(await Promise.all(pids.map(isRunning))).toEqual([false, false]);
    const lines = (await consoleLines(api, id)).map((e) => e.msg);
    expect(lines).toContain('tasklane-agent: process aborted by user');
  });

  it('a failing script fails the task with the error in the reason (tasklane agent execute, exit code 1)', async () => {
    const file = join(dir, 'fail.mjs');
    await writeFile(
      file,
      `import { Task } from 'tasklane';
await Task.init({ projectName: 'e2e/agent', taskName: 'failing' });
console.log('step 1 ok');
throw new Error('loss diverged at step 2');
`,
    );
    const created = await cli('task', 'create', '--project', 'e2e/agent', '--name', 'failing script', '--script', file, '--json');
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const executed = await runCli(['agent', 'execute', '--id', id.slice(0, 8), '--server', server.url, '--workdir', join(dir, 'execute'), '--log-level', 'warn'], sdkEnv);
    expect(executed.code).toBe(1);
    expect(executed.stderr).toContain(`error: task ${id.slice(0, 8)} failed after`);
    const failed = (await api.call('tasks.get_by_id', { task: id })).task;
    expect(failed.status).toBe('failed');
    expect(failed.status_reason).toMatch(/^exit code 1; last output:\n/);
    expect(failed.status_reason).toContain('Error: loss diverged at step 2');
    expect(failed.status_reason).toContain('step 1 ok');
    // `agent execute` reported as a worker while it ran, and unregistered after.
    const { workers } = await api.call('workers.get_all', {});
    expect(workers.map((w) => w.id)).toEqual(['e2e-agent-1']);
  });

  it('a commit that is not in the repository fails the task at setup, saying so', async () => {
    const badCommit = '0123456789abcdef0123456789abcdef01234567';
    const created = await cli(
      'task', 'create', '--project', 'e2e/agent', '--name', 'bad commit', '--repo', repo.root, '--commit', badCommit,
      '--script', 'train.mjs', '--queue', QUEUE, '--json',
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toBe(`warning: commit ${badCommit} is not in ${repo.root}; the agent will fail at checkout unless it is there when the task runs.\n`);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const failed = await waitForStatus(api, id, ['failed', 'completed', 'stopped']);
    expect(failed.status).toBe('failed');
    expect(failed.status_reason?.replace(repo.root, '<repo>')).toMatchInlineSnapshot(
      `"setup failed at checkout: commit 0123456789abcdef0123456789abcdef01234567 is not in <repo>"`,
    );
    const lines = (await consoleLines(api, id)).map((e) => e.msg.replace(repo.root, '<repo>'));
    expect(lines.at(-1)).toBe(`tasklane-agent: setup failed at checkout: commit ${badCommit} is not in <repo>`);
  });

  it('runs a bash script made with task create --interpreter bash, with its recorded arguments', async () => {
    const id = await createFromScript(
      'job.sh',
      'echo "hello from bash: $*"\necho "task id: $TASKLANE_TASK_ID"\necho "oops" >&2\n',
      ['--interpreter', 'bash', '--args', '--name world --count 3 input.txt'],
    );
    const done = await waitForStatus(api, id, ['completed', 'failed', 'stopped']);
    // No SDK inside: the agent completes it.
    expect({ status: done.status, reason: done.status_reason }).toEqual({ status: 'completed', reason: 'worker execution done' });
    expect(done.hyperparams.Args).toMatchObject({ name: { value: 'world', type: 'str' }, count: { value: '3', type: 'int' }, _: { value: '["input.txt"]' } });
    const events = await consoleLines(api, id);
    const script = events.filter((e) => !e.msg.startsWith('tasklane-agent: ')).map((e) => [e.level, e.msg]);
    expect(script).toEqual([
      ['info', 'hello from bash: input.txt --name world --count 3'],
      ['info', `task id: ${id}`],
      ['error', 'oops'],
    ]);
  });

  it('installs recorded requirements with npm install when there is no lock file', async () => {
    const version = JSON.parse(await readFile(join(WORKSPACE_ROOT, 'node_modules/commander/package.json'), 'utf8')).version as string;
    const id = await createFromScript(
      'needs-commander.mjs',
      `import { Command } from 'commander';
const options = new Command().option('--size <n>').parse().opts();
console.log(\`size=\${options.size}\`);
`,
      ['--requirements', `commander@${version}`, '--args', '--size 7'],
    );
    const done = await waitForStatus(api, id, ['completed', 'failed', 'stopped'], 60_000);
    const lines = (await consoleLines(api, id)).map((e) => e.msg);
    expect({ status: done.status, lines }).toMatchObject({ status: 'completed' });
    expect(lines).toContain(`tasklane-agent: installing dependencies: npm install commander@${version}`);
    expect(lines).toContain('size=7');
  });

  it('task edit refuses a task that is not a draft, and task create names what is wrong', async () => {
    const { id } = await api.call('tasks.create', { name: 'finished one', project_name: 'e2e/agent' });
    await api.call('tasks.started', { task: id });
    await api.call('tasks.completed', { task: id });
    const edit = await cli('task', 'edit', id, '--param', 'Args/lr=0.5');
    expect(edit.code).toBe(1);
    expect(edit.stderr.replaceAll(id.slice(0, 8), '<id>')).toMatchInlineSnapshot(`
      "error (TASK_READ_ONLY): Cannot edit task <id>: its status is "completed" (Completed); only a draft can be edited. Clone it and edit the clone: tasklane task clone <id>
      "
    `);
    const noChange = await cli('task', 'edit', id);
    expect(noChange.code).toBe(2);
    expect(noChange.stderr).toContain('Nothing to edit: give --param Section/name=value, --config name=@file or --requirements @requirements.txt.');

    const missing = await cli('task', 'create', '--project', 'e2e/agent', '--name', 'missing file', '--script', join(dir, 'nope.mjs'));
    expect(missing.code).toBe(2);
    expect(missing.stderr.replace(dir, '<dir>')).toMatchInlineSnapshot(`
      "error (INVALID_INPUT): --script <dir>/nope.mjs: no such file. Without --repo, --script is a local file whose content the task stores.
      "
    `);
    const notInRepo = await cli('task', 'create', '--project', 'e2e/agent', '--name', 'wrong path', '--repo', repo.root, '--script', 'src/train.mjs');
    expect(notInRepo.code).toBe(2);
    expect(notInRepo.stderr).toContain(`--script src/train.mjs is not in ${repo.root} at HEAD`);
  });

  it('task edit sets a configuration object from a file and from text', async () => {
    const { id } = await api.call('tasks.create', { name: 'config draft', project_name: 'e2e/agent' });
    const file = join(dir, 'model.yaml');
    await writeFile(file, 'layers: 3\nwidth: 128\n');
    const edit = await cli('task', 'edit', id, '--config', `model=@${file}`, '--config', 'notes=just text', '--param', 'lr=0.3');
    expect(edit.code).toBe(0);
    expect(edit.stdout).toBe(
      `Edited draft ${id.slice(0, 8)}:\n  General/lr: (new) 0.3\n  configuration "model": yaml, 3 lines (new)\n  configuration "notes": text, 1 lines (new)\n`,
    );
    const { task } = await api.call('tasks.get_by_id', { task: id });
    expect(task.configuration.model).toMatchObject({ value: 'layers: 3\nwidth: 128\n', type: 'yaml' });
    expect(task.configuration.notes).toMatchObject({ value: 'just text', type: 'text' });
    expect(task.hyperparams.General?.lr).toMatchObject({ value: '0.3', type: 'float' });
  });

  it('task edit replaces the requirements of a kind from a file, keeping the other kinds, and refuses a missing file', async () => {
    const { id } = await api.call('tasks.create', {
      name: 'python draft',
      project_name: 'e2e/agent',
      script: { entry_point: 'train.py', requirements: { pip: 'numpy\npsutil\n', org_pip: 'numpy\n' } },
    });
    const file = join(dir, 'requirements.txt');
    await writeFile(file, '# pinned\nnumpy==1.26.4\npsutil==5.9.8\n\n');
    const edit = await cli('task', 'edit', id, '--requirements', `@${file}`);
    expect(edit.code).toBe(0);
    expect(edit.stdout).toBe(`Edited draft ${id.slice(0, 8)}:\n  requirements (pip): 2 packages\n`);
    const { task } = await api.call('tasks.get_by_id', { task: id });
    expect(task.script.requirements).toEqual({ pip: '# pinned\nnumpy==1.26.4\npsutil==5.9.8\n\n', org_pip: 'numpy\n' });
    const npm = await cli('task', 'edit', id, '--requirements', 'npm=zod@4.1.0');
    expect(npm.stdout).toContain('requirements (npm): 1 package (new)');
    const missing = await cli('task', 'edit', id, '--requirements', `@${join(dir, 'nope.txt')}`);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--requirements @${join(dir, 'nope.txt')}: cannot read ${join(dir, 'nope.txt')} (no such file).`);
  });

  it('documents the agent and task create/edit options in --help', async () => {
    const daemon = await runCli(['agent', 'daemon', '--help']);
    for (const option of ['--queue', '--workdir', '--name', '--server', '--poll-interval', '--create-queue', '--keep-working-copies']) {
      expect(daemon.stdout).toContain(option);
    }
    expect((await runCli(['agent', 'execute', '--help'])).stdout).toContain('--id <task>');
    const create = await runCli(['task', 'create', '--help']);
    for (const option of ['--project', '--name', '--repo', '--branch', '--commit', '--script', '--args', '--requirements', '--requirements-file', '--interpreter', '--working-dir', '--queue']) {
      expect(create.stdout).toContain(option);
    }
    const edit = await runCli(['task', 'edit', '--help']);
    expect(edit.stdout).toContain('--param <Section/name=value>');
    expect(edit.stdout).toContain('--config <name=@file|name=text>');
    expect(edit.stdout).toContain('--requirements <[kind=]@file|text>');
  });
});
