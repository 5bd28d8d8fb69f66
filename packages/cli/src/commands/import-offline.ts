import type { Command } from 'commander';
import { Task } from 'tasklane';
import { CREDENTIALS_HELP, printJson, type ApiOptions } from '../api-options.js';

interface ImportOfflineCliOptions extends ApiOptions {
  project?: string;
}

/** `tasklane import-offline SESSION`: replays an offline session (zip or folder) into a server. */
export function registerImportOfflineCommand(program: Command): void {
  program
    .command('import-offline')
    .summary('Import an offline session (its zip or folder) into a server')
    .description(
      'Import an offline session (recorded with TASKLANE_OFFLINE_MODE=1 or Task.setOffline(true)) into a server: a new task ' +
        'with the recorded configuration, every event with its original time and iteration, artifacts and models uploaded ' +
        "to the server's storage, and the final status. The whole session is checked first; a corrupt or truncated one " +
        'is refused before anything is sent. A session is imported once: a second import is refused, naming the task. ' +
        'If a step fails midway, the partly imported task is deleted.',
    )
    .argument('<session>', 'the session zip (<stateDir>/offline/<id>.zip) or its folder (<stateDir>/offline/<id>/)')
    .option('-p, --project <name>', 'import into this project (full name, e.g. main/sub) instead of the recorded one')
    .option('--server <url>', 'server URL (default: $TASKLANE_API_HOST, the SDK config file, or http://127.0.0.1:8008)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nProgress goes to stderr, the result to stdout. Exit code 0 imported, 1 failed (nothing is left half-imported),\n' +
        '2 bad usage or a corrupt session.\n\nExample:\n  tasklane import-offline ~/.config/tasklane/offline/3f2c9a1b....zip --project field/robot\n',
    )
    .addHelpText('after', CREDENTIALS_HELP)
    .action(async (session: string, options: ImportOfflineCliOptions) => {
      const result = await Task.importOfflineSession(session, {
        projectName: options.project,
        // As the other commands: --server, else TASKLANE_API_HOST (read by the SDK settings), else TASKLANE_API_URL.
        apiHost: options.server ?? (process.env.TASKLANE_API_HOST ? undefined : process.env.TASKLANE_API_URL),
        onProgress: (message) => process.stderr.write(`import-offline: ${message}\n`),
      });
      const { task, ...summary } = result;
      if (options.json) return printJson({ ...summary, url: task.getOutputLogWebPage() });
      for (const note of summary.notes) process.stderr.write(`import-offline: note: ${note}\n`);
      process.stdout.write(
        `Imported offline session ${summary.sessionId} as task ${summary.taskId} (${summary.status}) in project "${summary.projectName}": ` +
          `${summary.events} events, ${summary.files} files, ${summary.models} models. ${task.getOutputLogWebPage()}\n`,
      );
    });
}
