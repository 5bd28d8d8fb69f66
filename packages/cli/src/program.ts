import { Command, CommanderError } from 'commander';
import { TasklaneError } from '@tasklane/protocol';
import { registerAgentCommands } from './commands/agent.js';
import { registerDbCommands } from './commands/db.js';
import { registerImportOfflineCommand } from './commands/import-offline.js';
import { registerServerCommand } from './commands/server.js';
import { registerQueueAndWorkerCommands } from './commands/queue-worker.js';
import { registerRunCommand } from './commands/run.js';
import { registerTaskCommands } from './commands/task.js';
import { registerUserCommands } from './commands/users.js';

export const CLI_VERSION = '0.1.0';

/** Builds the `tasklane` command line. */
export function buildProgram(): Command {
  const program = new Command('tasklane')
    .description('Tasklane: experiment manager for machine-learning work (ClearML-compatible server, agent and CLI)')
    .version(CLI_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServerCommand(program);
  registerTaskCommands(program);
  registerAgentCommands(program);
  registerQueueAndWorkerCommands(program);
  registerRunCommand(program);
  registerImportOfflineCommand(program);
  registerUserCommands(program);
  registerDbCommands(program);
  return program;
}

/** Runs the CLI; answers the exit code: 0 ok, 1 error, 2 bad usage. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    const prefix = error instanceof TasklaneError ? `error (${error.code})` : 'error';
    process.stderr.write(`${prefix}: ${message}\n`);
    return error instanceof TasklaneError && error.code === 'INVALID_INPUT' ? 2 : 1;
  }
}
