import { relative, sep } from 'node:path';
import type { Task } from '@tasklane/protocol';
import { MetricLineReader, invalidMetricLineWarning } from 'tasklane/metric-lines';
import { parseCommandTemplate, renderCommand, RUN_COMMAND_CONFIGURATION, RUN_SYSTEM_TAG } from './run-command-template.js';
import { SetupError } from './setup-error.js';
import type { TaskConsole } from './task-console.js';
import type { WorkingCopy } from './working-copy.js';

/** Whether the task was made by `tasklane run`: its command is rebuilt and run as is, with no SDK inside. */
export function isRunTask(task: Pick<Task, 'system_tags' | 'configuration'>): boolean {
  return task.system_tags.includes(RUN_SYSTEM_TAG) && task.configuration[RUN_COMMAND_CONFIGURATION] !== undefined;
}

/** The process to start for a `tasklane run` task, and how to show it. */
export interface RunTaskCommand {
  command: string;
  args: string[];
  shown: string[];
}

/** A path as typed on a command line from `cwd`: `train.py`, `../src/train.py`, `./train.sh` for a program. */
function fromCwd(cwd: string, path: string, isProgram: boolean): string {
  const rel = relative(cwd, path).split(sep).join('/');
  return isProgram && !rel.includes('/') ? `./${rel}` : rel;
}

/**
 * Rebuilds a `tasklane run` task's command in its working copy: the recorded program (`node` is this agent's
 * Node.js), or the entry file itself when the program was a file of the repository (`./train.sh`), followed by the
 * template's words with the (edited) `Args` values.
 */
export function runTaskCommand(task: Pick<Task, 'script' | 'configuration' | 'hyperparams'>, copy: WorkingCopy): RunTaskCommand {
  let template;
  try {
    template = parseCommandTemplate(task.configuration[RUN_COMMAND_CONFIGURATION]?.value);
  } catch (error) {
    throw new SetupError('start', (error as Error).message, { cause: error });
  }
  const binary = task.script.binary?.trim() ?? '';
  const hasEntryWord = template.words.some((word) => typeof word === 'object' && 'entry' in word);
  const entry = copy.entry === '' ? undefined : fromCwd(copy.cwd, copy.entry, false);
  const args = renderCommand(template, task.hyperparams, entry);
  if (!hasEntryWord && copy.entry !== '') {
    // The program is a file of the task's code (./train.sh): run the working copy's file.
    return { command: copy.entry, args, shown: [fromCwd(copy.cwd, copy.entry, true), ...args] };
  }
  if (binary === '') throw new SetupError('start', 'the task records no program to run (script.binary is empty)');
  const command = /^node(js)?$/.test(binary) ? process.execPath : binary;
  return { command, args, shown: [binary, ...args] };
}

/**
 * The console's line filter for a `tasklane run` task: metric lines of stdout become scalars; the first line that
 * looks like one but is not gets a warning (once) and stays console text.
 */
export function metricLineTaker(getConsole: () => TaskConsole): (stream: 'stdout' | 'stderr', line: string) => boolean {
  const reader = new MetricLineReader();
  let hasWarned = false;
  return (stream, line) => {
    if (stream !== 'stdout') return false;
    const result = reader.read(line);
    if (result.kind === 'scalars') {
      for (const point of result.scalars) getConsole().scalar(point);
      return true;
    }
    if (result.kind === 'invalid' && !hasWarned) {
      hasWarned = true;
      getConsole().agentLine(invalidMetricLineWarning(line, result.reason), 'error');
    }
    return false;
  };
}
