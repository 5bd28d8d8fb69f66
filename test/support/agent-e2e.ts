import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { LogEvent, Task, TaskStatus } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { CLI_BIN } from './cli.js';
import { WORKSPACE_ROOT } from './workspace-build.js';

const execFileAsync = promisify(execFile);

/** Polls `probe` until it answers something truthy; fails naming `what` (and the last answer) after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Waits until the task has one of `statuses`, answering it. */
export async function waitForStatus(api: ApiClient, taskId: string, statuses: TaskStatus[], timeoutMs = 30_000): Promise<Task> {
  let last: Task | undefined;
  try {
    return await waitFor(
      `task ${taskId.slice(0, 8)} to be ${statuses.join(' or ')}`,
      async () => {
        last = (await api.call('tasks.get_by_id', { task: taskId })).task;
        return statuses.includes(last.status) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    const log = await consoleLines(api, taskId).catch(() => []);
    throw new Error(
      `${(error as Error).message}; it is ${last?.status} (${last?.status_reason ?? ''}). Console:\n${log.map((e) => e.msg).join('\n')}`,
      { cause: error },
    );
  }
}

/** Every console line of a task, oldest first. */
export async function consoleLines(api: ApiClient, taskId: string): Promise<LogEvent[]> {
  const { events } = await api.call('events.get_task_log', { task: taskId, batch_size: 10_000, navigate_earlier: false, order: 'asc' });
  return events;
}

/** Waits until the agent has sent its last console line of a run (`tasklane-agent: process ...`); answers the lines. */
export async function agentFinished(api: ApiClient, taskId: string, timeoutMs = 20_000): Promise<string[]> {
  return waitFor(`the agent to finish task ${taskId.slice(0, 8)}`, async () => {
    const lines = (await consoleLines(api, taskId)).map((e) => e.msg);
    return lines.some((line) => /^tasklane-agent: (process |setup failed)/.test(line)) ? lines : undefined;
  }, timeoutMs);
}

/** Tells whether a process is running; a zombie (ended, not reaped by its new parent) is not. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    if (existsSync('/proc/self/stat')) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A `tasklane agent daemon` child process. */
export interface AgentProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartAgentOptions {
  serverUrl: string;
  queues: string[];
  workdir: string;
  name: string;
  /** @default 0.2 */
  pollIntervalSec?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Wait for the "serving" line. @default true */
  waitUntilReady?: boolean;
}

/** Starts `tasklane agent daemon` with `--create-queue` and waits until it serves its queues. */
export async function startAgent(options: StartAgentOptions): Promise<AgentProcess> {
  const args = [
    CLI_BIN,
    'agent',
    'daemon',
    ...options.queues.flatMap((q) => ['--queue', q]),
    '--create-queue',
    '--server',
    options.serverUrl,
    '--workdir',
    options.workdir,
    '--name',
    options.name,
    '--poll-interval',
    String(options.pollIntervalSec ?? 0.2),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (options.waitUntilReady !== false) {
    await waitFor(`agent ${options.name} to be ready`, async () => {
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${out}`);
      return out.includes(' serving ');
    }, 20_000, 50).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${out}`);
    });
  }
  return {
    name: options.name,
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A server child process on a given data dir and port (restartable: same data, same address), with `extraArgs`. */
export interface ServerProcess {
  url: string;
  port: number;
  /** What the server printed so far (its log lines at --log-level warn). */
  output(): string;
  stop(): Promise<void>;
}

export async function startServerAt(dataDir: string, port = 0, extraArgs: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI_BIN, 'server', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    output: () => out,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function git(cwd: string, args: string[]): Promise<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  const { stdout } = await execFileAsync('git', args, { cwd, env });
  return stdout.trim();
}

/** The committed training script: commander arguments, a connected dict, scalars of the values it used. */
const TRAIN_SCRIPT = `import { Command } from 'commander';
import { Task } from 'tasklane';
import { describeRun } from './helper.mjs';

const MARK = 'committed';
const task = await Task.init({ projectName: 'e2e/agent', taskName: 'agent training' });
const program = new Command()
  .option('--lr <number>', 'learning rate', parseFloat, 0.01)
  .option('--epochs <count>', 'number of epochs', (v) => parseInt(v, 10), 2)
  .parse();
const options = program.opts();
const params = task.connect({ momentum: 0.9 });
console.log(\`RUN \${MARK} \${describeRun(options.lr, params.momentum, options.epochs)}\`);
const logger = task.getLogger();
logger.reportScalar('used', 'lr', options.lr, 0);
logger.reportScalar('used', 'momentum', params.momentum, 0);
for (let epoch = 1; epoch <= options.epochs; epoch += 1) {
  console.log(\`epoch \${epoch} loss=\${(1 / (epoch * options.lr * 100)).toFixed(4)}\`);
}
`;

/** A temporary git repository holding a training script, as a user's project would, with uncommitted changes. */
export interface TrainingRepo {
  root: string;
  /** The commit the script's Task.init records. */
  head: string;
  /** The script, relative to the root. */
  script: string;
}

/**
 * Makes the repository under `dir`: package.json and package-lock.json (commander, as the workspace has it),
 * `node_modules/` links to the workspace's commander and built SDK (ignored by git), train.mjs; one commit on `main`;
 * then an uncommitted change to train.mjs (`MARK`) and an untracked helper.mjs it imports: the run works only if
 * the agent applies the recorded diff.
 */
export async function makeTrainingRepo(dir: string): Promise<TrainingRepo> {
  const root = join(dir, 'repo');
  await mkdir(root, { recursive: true });
  const rootLock = JSON.parse(await readFile(join(WORKSPACE_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string; integrity?: string; resolved?: string; license?: string; engines?: unknown }>;
  };
  const commander = rootLock.packages['node_modules/commander']!;
  const manifest = { name: 'ml-project', version: '1.0.0', private: true, type: 'module', dependencies: { commander: `^${commander.version}` } };
  const lock = {
    name: 'ml-project',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'ml-project', version: '1.0.0', dependencies: manifest.dependencies },
      'node_modules/commander': commander,
    },
  };
  await writeFile(join(root, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(root, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  await writeFile(join(root, '.gitignore'), 'node_modules/\n');
  await writeFile(join(root, 'train.mjs'), TRAIN_SCRIPT);
  await mkdir(join(root, 'node_modules'));
  await symlink(join(WORKSPACE_ROOT, 'node_modules/commander'), join(root, 'node_modules/commander'), 'dir');
  await symlink(join(WORKSPACE_ROOT, 'packages/sdk'), join(root, 'node_modules/tasklane'), 'dir');
  await writeFile(join(root, 'helper.mjs'), 'export const describeRun = () => "helper committed";\n');
  await git(root, ['init', '--quiet', '--initial-branch', 'main']);
  await git(root, ['config', 'user.name', 'Test User']);
  await git(root, ['config', 'user.email', 'test@example.com']);
  await git(root, ['config', 'commit.gpgsign', 'false']);
  await git(root, ['add', '--all']);
  await git(root, ['commit', '--quiet', '--message', 'initial']);
  const head = await git(root, ['rev-parse', 'HEAD']);
  // Uncommitted: a tracked change and a changed helper... plus a new, untracked module.
  await writeFile(join(root, 'train.mjs'), TRAIN_SCRIPT.replace("const MARK = 'committed';", "const MARK = 'uncommitted';").replace("'./helper.mjs'", "'./lib/describe.mjs'"));
  await mkdir(join(root, 'lib'));
  await writeFile(
    join(root, 'lib/describe.mjs'),
    'export const describeRun = (lr, momentum, epochs) => `lr=${lr} momentum=${momentum} epochs=${epochs}`;\n',
  );
  return { root, head, script: 'train.mjs' };
}

export { runNode } from './cli.js';
