import { Option, type Command } from 'commander';
import { TASK_TYPES } from '@tasklane/protocol';
import { CREDENTIALS_HELP } from '../api-options.js';
import { enqueueRun, runAsTask, type RunAsTaskOptions } from '../run/run-as-task.js';

/** The parsed flags: what `tasklane run` was asked, with `--offline` and `--server` as given. */
type RunOptions = Omit<RunAsTaskOptions, 'isOffline'> & { offline?: boolean; server?: string };

/** `tasklane run -- COMMAND [ARGS...]`: any program as a task, run here or enqueued for an agent. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .usage('--project <name> --name <name> [options] -- <command> [args...]')
    .description('Run any program (Python, shell, a compiled binary...) as a task: code, arguments, console, resources, status; no SDK needed inside')
    .argument('[command...]', 'the program and its arguments, after --')
    .requiredOption('--project <name>', 'project of the task (a/b nests; created if missing)')
    .requiredOption('--name <name>', 'task name (at least 3 characters)')
    .addOption(new Option('--type <type>', 'task type').choices([...TASK_TYPES]).default('training'))
    .option('--tags <tag...>', 'tags of the task')
    .option('--comment <text>', 'description of the task')
    .option('-q, --queue <name>', 'do not run: record the command as a draft and enqueue it here for an agent (queue created if missing)')
    .option('--offline', 'run with no server: record to an offline session (import it later with tasklane import-offline)')
    .option('--server <url>', 'Tasklane server (default: TASKLANE_API_HOST or the SDK config, else http://127.0.0.1:8008)')
    .option('--json', 'with --queue: print the new task as JSON')
    .addHelpText(
      'after',
      `
What is recorded: the git state of the working directory (repository, branch, commit, uncommitted diff), the
command (script.binary = the program; the entry point when the program is an interpreter such as python3, node
or bash), its arguments as the Args section (--key value, --key=value, --flag, --no-flag, positionals in order),
and the interpreter's version. While it runs: its output goes to this terminal and to the task's console, the CPU
and memory of its process tree are reported as :monitor:machine scalars (every TASKLANE_MONITOR_INTERVAL_MS), and
the final status follows its exit: 0 → completed, non-zero → failed (the code in the status reason), Ctrl-C,
SIGINT or SIGTERM (forwarded to the program) or an abort from the UI → aborted. tasklane run exits with the
program's exit code (128 + the signal number when a signal ended it).

Scalars from any language: print one JSON line per point to stdout,
  {"tasklane": {"metric": "loss", "series": "train", "value": 0.25, "iteration": 3}}
("series" defaults to the metric name, "iteration" to the next one of that series; a list of such objects under
"tasklane" reports several at once). Metric lines are not kept in the console; a line that looks like one but is
not valid is kept as text, with a warning the first time.

A run task can be cloned, edited and enqueued like any other: the agent rebuilds the command with the edited Args
values and runs it (no SDK inside; the agent reads the metric lines itself).

Put -- before the command, so that its options are not read as tasklane's.

Examples:
  tasklane run --project demo --name baseline -- python3 train.py --lr 0.1 --epochs 3
  tasklane run --project demo --name sweep --queue default -- python3 train.py --lr 0.05
  tasklane run --project demo --name smoke --offline -- ./train.sh data/
  python3 -c 'import json; print(json.dumps({"tasklane": {"metric": "acc", "value": 0.9}}))'   # a metric line`,
    )
    .addHelpText('after', CREDENTIALS_HELP)
    .action(async (words: string[], options: RunOptions) => {
      // The SDK reads its server from the environment (before Task.init loads its settings).
      if (options.server) process.env.TASKLANE_API_HOST = options.server;
      const runOptions = { ...options, isOffline: options.offline === true };
      const code = options.queue !== undefined ? await enqueueRun(runOptions, words) : await runAsTask(runOptions, words);
      // The CLI's entry sets the exit code when the command resolves; the program's code is set after that.
      process.once('beforeExit', () => {
        process.exitCode = code;
      });
    });
}
