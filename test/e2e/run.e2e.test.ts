// `tasklane run` end to end, with real processes: a server and an agent daemon through the built CLI, a bash script in
// a temporary git repository (with an uncommitted change) that prints metric lines; runs that complete, fail, are
// interrupted; a run task cloned, edited, enqueued and re-run by the agent with the edited value; --queue; --offline.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '@tasklane/protocol';
import { ApiClient } from 'tasklane/client';
import { CLI_BIN, runCli, type CliResult } from '../support/cli.js';
import { agentFinished, consoleLines, isRunning, startAgent, startServerAt, waitFor, waitForStatus, type AgentProcess, type ServerProcess } from '../support/agent-e2e.js';
import { buildWorkspace } from '../support/workspace-build.js';

const execFileAsync = promisify(execFile);
const QUEUE = 'e2e-run';

/** Prints its pid and arguments, metric lines (loss per iteration, the --lr it got), a bad metric line, then exits. */
const SCRIPT = `#!/usr/bin/env bash
echo "pid $$"
echo "args: $*"
lr=0.1; code=0; pause=0
while [ $# -gt 0 ]; do
  case "$1" in --lr) lr=$2; shift 2;; --code) code=$2; shift 2;; --sleep) pause=$2; shift 2;; *) shift;; esac
done
for i in 0 1 2; do echo "{\\"tasklane\\": {\\"metric\\": \\"loss\\", \\"series\\": \\"train\\", \\"value\\": $i.5, \\"iteration\\": $i}}"; done
echo "{\\"tasklane\\": {\\"metric\\": \\"used\\", \\"series\\": \\"lr\\", \\"value\\": $lr}}"
echo '{"tasklane": {"metric": "bad"}}'
echo "a warning" >&2
if [ "$pause" != 0 ]; then sleep "$pause" & echo "child $!"; wait; fi
echo done
exit $code
`;

type Scalars = Record<string, Record<string, { x: number[]; y: number[] }>>;

describe('tasklane run', { timeout: 120_000 }, () => {
  let dir: string;
  let repo: string;
  let server: ServerProcess;
  let api: ApiClient;
  let agent: AgentProcess;
  let env: Record<string, string>;
  let completedId: string;

  /** `tasklane run ... -- bash train.sh ARGS` in the repository. */
  const run = (flags: string[], args: string[], extraEnv: Record<string, string> = {}) =>
    runIn(repo, ['run', '--project', 'e2e/run', ...flags, '--', 'bash', 'train.sh', ...args], { ...env, ...extraEnv });
  const cli = (...args: string[]) => runCli([...args, '--server', server.url], env);

  const runIn = (cwd: string, args: string[], childEnv: Record<string, string>) => runCli(args, childEnv, cwd);

  function taskIdOf(result: CliResult): string {
    const match = /task ([0-9a-f]{32})/.exec(result.stdout + result.stderr);
    if (!match) throw new Error(`no task id in the output:\n${result.stdout}\n${result.stderr}`);
    return match[1]!;
  }

  const getTask = async (id: string): Promise<Task> => (await api.call('tasks.get_by_id', { task: id })).task;
  const scalarsOf = async (id: string) => (await api.call('events.scalar_metrics_iter_histogram', { task: id })) as Scalars;
  const messages = async (id: string) => (await consoleLines(api, id)).map((e) => e.msg);

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-run-e2e-'));
    env = {
      XDG_CONFIG_HOME: join(dir, 'config'),
      TASKLANE_STATE_DIR: join(dir, 'state'),
      TASKLANE_OFFLINE_DIR: join(dir, 'offline'),
      TASKLANE_FLUSH_INTERVAL_MS: '200',
    };
    server = await startServerAt(join(dir, 'data'));
    env.TASKLANE_API_HOST = server.url;
    api = new ApiClient({ baseUrl: server.url });
    repo = join(dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execFileAsync('git', args, { cwd: repo, env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_'))) });
    await git('init', '--quiet', '--initial-branch=main');
    await git('config', 'user.email', 'e2e@example.com');
    await git('config', 'user.name', 'e2e');
    await writeFile(join(repo, 'train.sh'), SCRIPT.replace('echo done', 'echo committed'), { mode: 0o755 });
    await git('add', 'train.sh');
    await git('commit', '--quiet', '-m', 'train');
    // Uncommitted: the agent's run shows "done" only if it applied the recorded diff.
    await writeFile(join(repo, 'train.sh'), SCRIPT, { mode: 0o755 });
    agent = await startAgent({ serverUrl: server.url, queues: [QUEUE], workdir: join(dir, 'agent'), name: 'e2e-run-agent', env });
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('records the command, streams the console, turns metric lines into scalars, monitors the tree, completes on exit 0', async () => {
    const result = await run(['--name', 'run ok', '--tags', 'bash'], ['--lr', '0.3', 'data.csv', '--sleep', '1'], { TASKLANE_MONITOR_INTERVAL_MS: '250' });
    expect(result.code).toBe(0);
    // The program's output passes through, metric lines included; the bad one is warned about once.
    expect(result.stdout).toContain('args: --lr 0.3 data.csv --sleep 1');
    expect(result.stdout).toContain('{"tasklane": {"metric": "used", "series": "lr", "value": 0.3}}');
    expect(result.stderr).toContain('a warning');
    expect(result.stderr.match(/looks like a metric line/g)).toHaveLength(1);
    expect(result.stderr).toContain('tasklane.value must be a finite number, got nothing');
    completedId = taskIdOf(result);

    const task = await waitForStatus(api, completedId, ['completed']);
    expect(task.status_reason).toBe('completed');
    expect(task.tags).toEqual(['bash']);
    expect(task.system_tags).toContain('run');
    const head = (await execFileAsync('git', ['rev-parse', 'HEAD'], { cwd: repo })).stdout.trim();
    expect(task.script).toMatchObject({ binary: 'bash', entry_point: 'train.sh', working_dir: '.', branch: 'main', version_num: head });
    expect(task.script.repository).toBe(repo);
    expect(task.script.diff).toContain('+echo done');
    expect(String(task.script.requirements?.bash)).toMatch(/bash, version/);
    expect(task.runtime.interpreter_version).toMatch(/bash, version/);
    const args = task.hyperparams.Args ?? {};
    expect(Object.fromEntries(Object.entries(args).map(([k, v]) => [k, [v.value, v.type]]))).toEqual({
      lr: ['0.3', 'float'],
      sleep: ['1', 'int'],
      _: ['["data.csv"]', 'list'],
    });

    const scalars = await scalarsOf(completedId);
    expect(scalars.loss?.train).toMatchObject({ x: [0, 1, 2], y: [0.5, 1.5, 2.5] });
    expect(scalars.used?.lr?.y).toEqual([0.3]);
    expect(scalars[':monitor:machine']?.process_memory_gb?.y.length).toBeGreaterThan(0);
    expect(Math.max(...(scalars[':monitor:machine']?.process_count?.y ?? [0]))).toBeGreaterThanOrEqual(2);

    const lines = await messages(completedId);
    expect(lines).toContain('args: --lr 0.3 data.csv --sleep 1');
    expect(lines).toContain('a warning');
    expect(lines).toContain('{"tasklane": {"metric": "bad"}}');
    expect(lines.some((line) => line.startsWith('{"tasklane": {"metric": "loss"'))).toBe(false);
    const warningLine = (await consoleLines(api, completedId)).find((e) => e.msg.includes('looks like a metric line'));
    expect(warningLine?.level).toBe('warning');
    expect((await consoleLines(api, completedId)).find((e) => e.msg === 'a warning')?.level).toBe('error');
  });

  it('fails with the exit code in the status reason, and exits with it', async () => {
    const result = await run(['--name', 'run fails'], ['--code', '3']);
    expect(result.code).toBe(3);
    const task = await waitForStatus(api, taskIdOf(result), ['failed']);
    expect(task.status_reason).toBe('exit code 3');
    expect(result.stderr).toContain(`task ${task.id} failed (exit code 3)`);
  });

  it('keeps a character split between two output chunks whole, and sends a line that never ends in pieces', async () => {
    // "é" is two bytes, written apart; then 150,000 characters without a newline (as a \r progress bar writes them).
    const program = "printf '\\xc3'; sleep 0.3; printf '\\xa9t\\xc3\\xa9\\n'; head -c 150000 /dev/zero | tr '\\0' x; sleep 0.3; echo";
    const result = await runIn(dir, ['run', '--project', 'e2e/run', '--name', 'run chunks', '--', 'bash', '-c', program], env);
    expect(result.code, result.stderr).toBe(0);
    const id = taskIdOf(result);
    await waitForStatus(api, id, ['completed']);
    const lines = await messages(id);
    expect(lines).toContain('été');
    const pieces = lines.filter((line) => /^x+$/.test(line));
    expect(pieces.map((line) => line.length)).toEqual([65_536, 65_536, 150_000 - 2 * 65_536]);
  });

  it('goes on recording when the reader of its output goes away (tasklane run ... | head)', async () => {
    // More than a pipe holds (about 250 KB) after the reader is gone.
    const program = "echo first; sleep 0.5; seq 1 5000 | sed 's/.*/line & padding-padding-padding-padding-padding/'; echo end";
    const child = spawn(process.execPath, [CLI_BIN, 'run', '--project', 'e2e/run', '--name', 'run piped', '--', 'bash', '-c', program], {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // As head does: read the first line, then close the pipe.
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('first\n')) child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toContain('EPIPE');
    expect(code, stderr).toBe(0);
    const id = /task ([0-9a-f]{32})/.exec(out + stderr)![1]!;
    const task = await waitForStatus(api, id, ['completed', 'failed']);
    expect(task.status).toBe('completed');
    const lines = await messages(id);
    expect(lines).toContain('line 5000 padding-padding-padding-padding-padding');
    expect(lines).toContain('end');
  });

  it('marks the task aborted on SIGINT, forwarded to the program, and leaves no process behind', async () => {
    const child = spawn(process.execPath, [CLI_BIN, 'run', '--project', 'e2e/run', '--name', 'run interrupted', '--', 'bash', 'train.sh', '--sleep', '30'], {
      cwd: repo,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const [, pid, sleeper] = await waitFor('the script to start its sleep', async () => /pid (\d+)[\s\S]*child (\d+)/.exec(out), 20_000);
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    const id = /task ([0-9a-f]{32})/.exec(out)![1]!;
    const task = await waitForStatus(api, id, ['stopped']);
    expect(task.status_reason).toMatch(/^aborted by SIGINT/);
    expect(await isRunning(Number(pid))).toBe(false);
    expect(await isRunning(Number(sleeper))).toBe(false);
    expect(out).not.toContain('\ndone');
  });

  it('is re-run by an agent after clone + edit of an argument + enqueue, with the edited value', async () => {
    expect(completedId).toBeDefined();
    const cloned = await cli('task', 'clone', completedId, '--name', 'run edited', '--json');
    expect(cloned.code).toBe(0);
    const cloneId = (JSON.parse(cloned.stdout) as { id: string }).id;
    expect((await cli('task', 'edit', cloneId, '--param', 'Args/lr=0.7', '--param', 'Args/sleep=0')).code).toBe(0);
    expect((await cli('task', 'enqueue', cloneId, '--queue', QUEUE)).code).toBe(0);

    const task = await waitForStatus(api, cloneId, ['completed', 'failed'], 60_000);
    const lines = await agentFinished(api, cloneId);
    expect(task.status, lines.join('\n')).toBe('completed');
    expect(lines).toContain('tasklane-agent: running: bash train.sh --lr 0.7 data.csv --sleep 0 (in .)');
    expect(lines).toContain('args: --lr 0.7 data.csv --sleep 0');
    expect(lines).toContain('done'); // the uncommitted change, applied from the recorded diff
    expect(lines.some((line) => line.startsWith('{"tasklane": {"metric": "loss"'))).toBe(false);
    expect(lines.filter((line) => line.includes('looks like a metric line'))).toHaveLength(1);
    const scalars = await scalarsOf(cloneId);
    expect(scalars.used?.lr?.y).toEqual([0.7]);
    expect(scalars.loss?.train?.y).toEqual([0.5, 1.5, 2.5]);
  });

  it('--queue records a draft with the command and enqueues it for an agent, which runs it word for word', async () => {
    const result = await run(['--name', 'run queued', '--queue', QUEUE, '--json'], ['--lr=0.2', '--tag', 'a', '--tag', 'b', '--verbose', 'x.csv']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { id, queue } = JSON.parse(result.stdout) as { id: string; queue: string };
    expect(queue).toBe(QUEUE);
    const task = await waitForStatus(api, id, ['completed', 'failed'], 60_000);
    const lines = await agentFinished(api, id);
    expect(task.status, lines.join('\n')).toBe('completed');
    expect(task.hyperparams.Args?.tag).toMatchObject({ value: '["a","b"]', type: 'list' });
    expect(lines).toContain('args: --lr=0.2 --tag a --tag b --verbose x.csv');
    expect((await scalarsOf(id)).used?.lr?.y).toEqual([0.1]); // the script reads only "--lr 0.2", not "--lr=0.2"
  });

  it('--offline records to an offline session that imports into the server', async () => {
    const result = await run(['--name', 'run offline', '--offline'], ['--lr', '0.4']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('args: --lr 0.4');
    const zips = (await readdir(join(dir, 'offline'))).filter((name) => name.endsWith('.zip'));
    expect(zips).toHaveLength(1);
    const imported = await cli('import-offline', join(dir, 'offline', zips[0]!), '--json');
    expect(imported.code, imported.stderr).toBe(0);
    const id = /[0-9a-f]{32}/.exec(imported.stdout)![0];
    const task = await getTask(id);
    expect(task.status).toBe('completed');
    expect(task.system_tags).toContain('run');
    expect(task.hyperparams.Args?.lr?.value).toBe('0.4');
    expect((await scalarsOf(id)).used?.lr?.y).toEqual([0.4]);
  });

  it('refuses bad usage with a clear message, and documents itself in --help', async () => {
    const none = await runCli(['run', '--project', 'e2e/run', '--name', 'nothing'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no command given; put it after --');
    const both = await run(['--name', 'both', '--queue', QUEUE, '--offline'], []);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--queue and --offline do not go together');
    const missing = await runIn(repo, ['run', '--project', 'e2e/run', '--name', 'missing', '--', './no-such-program'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot run "./no-such-program"');
    const help = await runCli(['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('{"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}');
    expect(help.stdout).toContain('tasklane run --project demo --name baseline -- python3 train.py --lr 0.1 --epochs 3');
    expect(existsSync(CLI_BIN)).toBe(true);
  });
});
