import type { Command } from 'commander';
import { shortId } from '@tasklane/protocol';
import { AGENT_ENV_VARS, createAgentLog, executeTask, loadAgentConfig, runAgentDaemon, type AgentConfigInput } from '@tasklane/agent';
import { resolveTaskId } from './task.js';
import { CREDENTIALS_HELP, clientFor } from '../api-options.js';

interface AgentOptions {
  server?: string;
  workdir?: string;
  name?: string;
  keepWorkingCopies?: boolean;
  logLevel?: string;
}

const FLAG_NAMES: Partial<Record<keyof AgentConfigInput, string>> = {
  apiUrl: '--server',
  queues: '--queue',
  workdir: '--workdir',
  workerName: '--name',
  pollIntervalSec: '--poll-interval',
  logLevel: '--log-level',
};

function configFrom(options: AgentOptions & { queue?: string[]; pollInterval?: string; createQueue?: boolean }) {
  return loadAgentConfig(
    process.env,
    {
      apiUrl: options.server,
      queues: options.queue,
      workdir: options.workdir,
      workerName: options.name,
      pollIntervalSec: options.pollInterval,
      createQueues: options.createQueue,
      keepWorkingCopies: options.keepWorkingCopies,
      logLevel: options.logLevel,
    },
    FLAG_NAMES,
  );
}

/**
 * Ctrl+C (SIGINT) or SIGTERM aborts `controller`; a second one exits at once. Answers a function that removes the
 * handlers.
 */
function stopOnSignals(controller: AbortController, what: string): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`${signal} again: exiting now\n`);
      process.exit(130);
    }
    process.stderr.write(`\n${signal}: ${what} (again to exit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };
}

export function registerAgentCommands(program: Command): void {
  const agent = program
    .command('agent')
    .description('Run tasks from queues on this machine (clone, install, run with the edited values, stream the console back)');
  const common = (command: Command) =>
    command
      .option('--server <url>', 'server URL (default: $TASKLANE_API_HOST or http://127.0.0.1:8008)')
      .option('--workdir <dir>', 'where working copies and the npm cache go (default: ~/.tasklane/agent)')
      .option('--name <name>', 'worker name shown on the server; unique per agent (default: <hostname>:<pid>)')
      .option('--keep-working-copies', 'keep <workdir>/<task id> after each run, to look at it')
      .option('--log-level <level>', 'debug, info, warn, error or silent (default: info)');

  common(agent.command('daemon'))
    .description('Serve queues in the foreground: take one task at a time and run it; Ctrl+C aborts the running task and unregisters')
    .option('-q, --queue <name...>', 'queue to serve, by name or id; repeat for several, first has priority (default: default)')
    .option('--create-queue', 'create the queues that do not exist yet')
    .option('--poll-interval <seconds>', 'how often empty queues are polled; fractions allowed (default: 2)')
    .addHelpText(
      'after',
      `
What it does with a task: marks it running on this worker; clones its repository at the recorded commit (or
writes its stored script), applies the recorded uncommitted diff; runs npm ci (with a lock file) or npm install of
the recorded requirements, with a shared cache in <workdir>/.npm-cache; links this agent's own tasklane SDK into
node_modules; runs the entry point with the recorded interpreter (node by default) and arguments rebuilt from the
task's Args section, with TASKLANE_TASK_ID, TASKLANE_API_HOST, TASKLANE_FILES_HOST and TASKLANE_WORKER_ID set, and
the agent's key pair as TASKLANE_API_ACCESS_KEY / TASKLANE_API_SECRET_KEY (also as CLEARML_API_* for a task not run
by node); git and npm never get it, and the console shows [redacted] wherever the secret key would appear.
The console goes to the task's log. An abort (tasklane task abort, the UI) ends the whole process tree within
about 5 seconds. Exit code 0 completes the task; anything else fails it with the last lines of output.

Settings are read from, lowest to highest: defaults, environment variables, then these options. The variables:
  ${AGENT_ENV_VARS.slice(0, 4).join(' ')}
  ${AGENT_ENV_VARS.slice(4, 8).join(' ')}
  ${AGENT_ENV_VARS.slice(8).join(' ')}
${CREDENTIALS_HELP.trimStart()}

Examples:
  tasklane agent daemon                                  # serve the default queue of http://127.0.0.1:8008
  tasklane agent daemon --queue gpu --queue default      # gpu first, then default
  tasklane agent daemon --queue cpu --server http://ml-server:8008 --name box1:cpu --workdir /data/agent`,
    )
    .action(async (options: AgentOptions & { queue?: string[]; pollInterval?: string; createQueue?: boolean }) => {
      const config = configFrom(options);
      const log = createAgentLog({ level: config.logLevel });
      const controller = new AbortController();
      const removeHandlers = stopOnSignals(controller, 'aborting the running task (if any) and unregistering');
      try {
        await runAgentDaemon({
          apiUrl: config.apiUrl,
          filesUrl: config.filesUrl,
          queues: config.queues,
          workdir: config.workdir,
          workerName: config.workerName,
          pollIntervalMs: config.pollIntervalMs,
          reportIntervalMs: config.reportIntervalMs,
          createQueues: config.createQueues,
          keepWorkingCopy: config.keepWorkingCopies,
          keyPair: config.keyPair,
          signal: controller.signal,
          log,
          onReady: ({ worker, queues }) => {
            process.stdout.write(
              `Tasklane agent ${worker} serving ${queues.map((q) => `"${q.name}"`).join(', ')} of ${config.apiUrl}; ` +
                `working copies in ${config.workdir}. Ctrl+C to stop.\n`,
            );
          },
          onTaskStart: ({ taskId, pid }) => process.stdout.write(`task ${shortId(taskId)} running (pid ${pid})\n`),
          onTaskDone: (result) =>
            process.stdout.write(
              `task ${shortId(result.taskId)} ${result.status} after ${(result.durationMs / 1000).toFixed(1)} s` +
                `${result.reason && result.status !== 'completed' ? `: ${result.reason.split('\n')[0]}` : ''}\n`,
            ),
        });
      } finally {
        removeHandlers();
      }
    });

  common(agent.command('execute'))
    .description('Run one task here and now (any status: a draft, or a finished task to run again), as the daemon would')
    .requiredOption('--id <task>', 'task id, or its first characters')
    .addHelpText(
      'after',
      `
The task is marked running on this worker, set up and run exactly as by "tasklane agent daemon" (see its --help);
the command exits 0 when the task completed, 1 otherwise. Ctrl+C aborts the task.

Example:
  tasklane agent execute --id 3f2c9a1b --workdir /tmp/agent`,
    )
    .action(async (options: AgentOptions & { id: string }) => {
      const config = configFrom(options);
      const taskId = await resolveTaskId(clientFor({ server: config.apiUrl }), options.id);
      const controller = new AbortController();
      const removeHandlers = stopOnSignals(controller, 'aborting the task');
      try {
        const result = await executeTask({
          apiUrl: config.apiUrl,
          filesUrl: config.filesUrl,
          taskId,
          workdir: config.workdir,
          workerName: config.workerName,
          keepWorkingCopy: config.keepWorkingCopies,
          keyPair: config.keyPair,
          signal: controller.signal,
          log: createAgentLog({ level: config.logLevel }),
        });
        const summary = `task ${shortId(taskId)} ${result.status} after ${(result.durationMs / 1000).toFixed(1)} s`;
        if (result.status !== 'completed') throw new Error(`${summary}${result.reason ? `: ${result.reason}` : ''}`);
        process.stdout.write(`${summary}\n`);
      } finally {
        removeHandlers();
      }
    });
}
