import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { TasklaneError, type TaskType } from '@tasklane/protocol';
import { RUN_COMMAND_CONFIGURATION, RUN_SYSTEM_TAG, recordCommand, type RecordedCommand } from '@tasklane/agent';
import { Task, captureCode, captureEnvironment, loadSdkConfig, type TaskScript } from 'tasklane';
import { MetricLineReader, invalidMetricLineWarning } from 'tasklane/metric-lines';
import { describeCommand, findProgram, interpreterVersion, type CommandShape } from './describe-command.js';
import { outputLines } from './output-lines.js';
import { createTreeSampler } from './process-tree-usage.js';

/** What `tasklane run` was asked. */
export interface RunAsTaskOptions {
  project: string;
  name: string;
  type: TaskType;
  tags?: string[];
  comment?: string;
  queue?: string;
  isOffline: boolean;
  json?: boolean;
}

/** Everything recorded about the command before it runs (or is enqueued). */
interface Recording {
  shape: CommandShape;
  command: RecordedCommand;
  script: TaskScript;
  runtime: Record<string, string>;
}

const COMMAND_DESCRIPTION =
  'the command tasklane run recorded, word by word after the program; an agent rebuilds it with the values of the Args section';

function say(message: string): void {
  process.stderr.write(`tasklane: ${message}\n`);
}

/** Records the git state, the command, its arguments and the interpreter, as the task will hold them. */
async function recordRun(words: string[], cwd: string): Promise<Recording> {
  const shape = describeCommand(words, cwd);
  // git runs from the entry file's folder (or the working directory): the code state the command runs with.
  const entryFile = shape.entryFile ?? `${cwd}/.tasklane-run-entry`;
  const [code, environment, version] = await Promise.all([
    captureCode({ entryFile, cwd }),
    captureEnvironment(entryFile),
    shape.interpreter ? interpreterVersion(shape.program, shape.interpreter) : Promise.resolve(undefined),
  ]);
  for (const note of code.notes) if (/cut|not shown|too large|skipped/i.test(note)) say(note);
  const isNode = shape.interpreter !== undefined && /^node(js)?$/.test(shape.interpreter);
  const requirements: Record<string, string> = isNode ? environment.requirements : {};
  if (shape.interpreter && version) requirements[shape.interpreter.replace(/[\d.]+$/, '') || shape.interpreter] = version;
  // Outside git the diff is the entry file's text; without an entry file (a program on PATH) there is nothing to store.
  const isTextEntry = shape.entryFile !== undefined && !code.diff.includes('\u0000');
  const script: TaskScript = {
    binary: shape.program,
    repository: code.repository,
    branch: code.branch,
    commit: code.version_num,
    diff: code.isGitRepo || isTextEntry ? code.diff : '',
    entryPoint: shape.entryFile ? code.entry_point : '',
    workingDir: code.working_dir,
    requirements,
  };
  const runtime: Record<string, string> = { ...environment.runtime, run_program: shape.program };
  if (version) runtime.interpreter_version = version;
  return { shape, command: recordCommand(words.slice(1), shape.entryIndex), script, runtime };
}

/** Writes the recording into the task: code, Args, the command template, the `run` system tag. */
async function applyRecording(task: Task, recording: Recording, withRuntime: boolean): Promise<void> {
  task.setScript(recording.script);
  task.setArgs(recording.command.args);
  await task.connectConfiguration(recording.command.template, RUN_COMMAND_CONFIGURATION, COMMAND_DESCRIPTION);
  task.setSystemTags([...task.getSystemTags(), RUN_SYSTEM_TAG]);
  if (withRuntime) task.setRuntimeProperties(recording.runtime);
  await task.flush();
}

function checkOptions(options: RunAsTaskOptions, words: string[]): void {
  if (words.length === 0) {
    throw new TasklaneError('INVALID_INPUT', 'tasklane run: no command given; put it after --, e.g. tasklane run --project demo --name try -- python3 train.py --lr 0.1');
  }
  if (options.queue !== undefined && options.isOffline) {
    throw new TasklaneError('INVALID_INPUT', 'tasklane run: --queue and --offline do not go together (an offline task has no server to queue on); choose one.');
  }
  for (const [flag, value] of [['--project', options.project], ['--name', options.name]] as const) {
    if (value.trim().length < 3) throw new TasklaneError('INVALID_INPUT', `tasklane run: ${flag} needs at least 3 characters, got ${JSON.stringify(value)}`);
  }
}

/** `--queue`: a draft with everything recorded, enqueued; answers the exit code. */
export async function enqueueRun(options: RunAsTaskOptions, words: string[], cwd = process.cwd()): Promise<number> {
  checkOptions(options, words);
  const recording = await recordRun(words, cwd);
  const task = await Task.create({
    projectName: options.project,
    taskName: options.name,
    taskType: options.type,
    tags: options.tags,
    comment: options.comment,
    binary: recording.script.binary,
  });
  await applyRecording(task, recording, false);
  await Task.enqueue(task, { queueName: options.queue });
  const url = task.getOutputLogWebPage();
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ id: task.id, queue: options.queue, url }, null, 2)}\n`);
  } else {
    process.stdout.write(`Created task ${task.id} "${options.name}" (${words.join(' ')}) and enqueued it in queue "${options.queue}": ${url}\n`);
  }
  return 0;
}

/** What a terminal shows of a line rewritten with \r (a progress bar): its last part. */
function shownLine(line: string): string {
  const parts = line.replace(/\r$/, '').split('\r').filter((part) => part !== '');
  return parts.length > 0 ? parts[parts.length - 1]! : '';
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Writes the program's output to one of our streams while it can be written: a reader that went away (`tasklane run
 * ... | head`) must not crash the run with EPIPE; the program goes on, and its output still goes to the task's console.
 */
function passThrough(stream: NodeJS.WriteStream): (chunk: Buffer) => void {
  let isOpen = true;
  stream.on('error', () => {
    isOpen = false;
  });
  return (chunk) => {
    if (isOpen) stream.write(chunk);
  };
}

/**
 * Runs the command as a task: records it, starts it (stdin inherited, output passed through and sent as the
 * task's console, metric lines turned into scalars), samples its process tree, forwards SIGINT/SIGTERM/SIGHUP, and
 * sets the final status from how it ended. Answers the exit code to leave with: the program's, or 128 + the signal.
 */
export async function runAsTask(options: RunAsTaskOptions, words: string[], cwd = process.cwd()): Promise<number> {
  checkOptions(options, words);
  if (!findProgram(words[0]!, cwd)) {
    throw new TasklaneError('INVALID_INPUT', `tasklane run: cannot run "${words[0]}": no such file, and not found on PATH. Check the spelling, or give its path.`);
  }
  if (options.isOffline) Task.setOffline(true);
  const recording = await recordRun(words, cwd);
  const config = loadSdkConfig();
  const task = await Task.init({
    projectName: options.project,
    taskName: options.name,
    taskType: options.type,
    tags: options.tags,
    reuseLastTaskId: false,
    autoCaptureCode: false,
    autoConnectArgParser: false,
    autoConnectStreams: false,
    autoResourceMonitoring: false,
  });
  if (options.comment) await task.setComment(options.comment);
  await applyRecording(task, recording, true);
  const logger = task.getLogger();

  // With a terminal, the program stays in our process group: it keeps the terminal (it may read it) and gets Ctrl-C
  // from it directly. Otherwise it leads a group of its own, so that a signal forwarded to it reaches its children.
  const isInteractive = Boolean(process.stdin.isTTY);
  const child = spawn(words[0]!, words.slice(1), {
    cwd,
    stdio: ['inherit', 'pipe', 'pipe'],
    detached: !isInteractive,
    env: { ...process.env, PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED ?? '1', TASKLANE_TASK_ID: undefined },
  });
  const started = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  try {
    await started;
  } catch (error) {
    const reason = `cannot start ${words[0]}: ${(error as Error).message}`;
    await task.markFailed(reason);
    throw new TasklaneError('INVALID_INPUT', `tasklane run: ${reason}`, {}, { cause: error });
  }
  child.on('error', () => undefined);
  const pid = child.pid!;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  // Output: passed through as it comes; complete lines go to the console, metric lines become scalars.
  const reader = new MetricLineReader();
  let hasWarned = false;
  const onStdoutLine = (raw: string) => {
    const line = shownLine(raw);
    const result = reader.read(line);
    if (result.kind === 'scalars') {
      for (const point of result.scalars) logger.reportScalar(point.metric, point.series, point.value, point.iteration);
      return;
    }
    if (result.kind === 'invalid' && !hasWarned) {
      hasWarned = true;
      const warning = invalidMetricLineWarning(line, result.reason);
      say(warning);
      logger.reportText(`tasklane: ${warning}`, 'warning');
    }
    logger.reportText(line, 'info');
  };
  const stdoutLines = outputLines(onStdoutLine);
  const stderrLines = outputLines((raw) => logger.reportText(shownLine(raw), 'error'));
  const toStdout = passThrough(process.stdout);
  const toStderr = passThrough(process.stderr);
  child.stdout.on('data', (chunk: Buffer) => {
    toStdout(chunk);
    stdoutLines.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    toStderr(chunk);
    stderrLines.write(chunk);
  });

  const startedAt = Date.now();
  const sample = createTreeSampler(pid);
  const monitor = setInterval(() => {
    void sample().then((usage) => {
      const elapsedSec = Math.round((Date.now() - startedAt) / 1000);
      for (const [variant, value] of Object.entries(usage ?? {})) {
        if (Number.isFinite(value)) logger.reportScalar(':monitor:machine', variant, value, elapsedSec);
      }
    }, () => undefined);
  }, config.monitorIntervalMs);
  monitor.unref();

  let received: NodeJS.Signals | undefined;
  let forwardCount = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received ??= signal;
    forwardCount += 1;
    // A terminal's Ctrl-C already reached the program (same process group); anything else is passed on. A third
    // signal ends the program's whole group at once.
    const target = isInteractive ? pid : -pid;
    const sent = forwardCount >= 3 ? 'SIGKILL' : signal;
    if (forwardCount === 1) say(`${signal}: stopping ${words[0]} (the task will be marked aborted)${isInteractive ? '' : '; send it twice more to kill it'}`);
    if (isInteractive && signal === 'SIGINT' && forwardCount < 3) return;
    try {
      process.kill(target, sent);
    } catch {
      // already gone
    }
  };
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);

  const exit = await exited;
  // Output still in the pipes arrives before 'close'; a grandchild holding them open must not hang us.
  await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  clearInterval(monitor);
  stdoutLines.end();
  stderrLines.end();
  if (!isInteractive) {
    // Whatever the program left running in its group goes with it.
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // none left
    }
  }

  const stoppedBy = received ?? (exit.signal === 'SIGINT' || exit.signal === 'SIGTERM' ? exit.signal : undefined);
  let exitCode: number;
  if (stoppedBy) {
    exitCode = exit.code ?? 128 + (osConstants.signals[exit.signal ?? stoppedBy] ?? 0);
    await task.markStopped(`aborted by ${stoppedBy}${exit.code !== null ? ` (exit code ${exit.code})` : ''}`);
  } else if (exit.signal) {
    exitCode = 128 + (osConstants.signals[exit.signal] ?? 0);
    await task.markFailed(`killed by ${exit.signal}`);
  } else if (exit.code === 0) {
    exitCode = 0;
    await task.markCompleted('completed');
  } else {
    exitCode = exit.code ?? 1;
    await task.markFailed(`exit code ${exitCode}`);
  }
  for (const signal of FORWARDED_SIGNALS) process.removeListener(signal, onSignal);
  const status = (await task.reload().catch(() => task.info)).status;
  say(`task ${task.id} ${status} (${stoppedBy ? `aborted by ${stoppedBy}` : exit.signal ? `killed by ${exit.signal}` : `exit code ${exitCode}`})`);
  return exitCode;
}
