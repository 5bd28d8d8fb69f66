import type { Command } from 'commander';
import { CONNECTION_HELP, clientFor, printJson, type ApiOptions } from '../api-options.js';
import { formatTable, truncate } from '../format-table.js';
import { timeAgo } from '../format-time.js';

function formatWait(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  return timeAgo(iso, now).replace(' ago', '');
}

/** `tasklane queue list` and `tasklane worker list`: what waits where, and who runs what. */
export function registerQueueAndWorkerCommands(program: Command): void {
  const common = (command: Command) =>
    command
      .option('--server <url>', 'server URL (default: $TASKLANE_API_HOST or http://127.0.0.1:8008)')
      .option('--json', 'print the raw API reply as JSON');

  const queue = program.command('queue').description('Queues of a running server').addHelpText('afterAll', CONNECTION_HELP);
  common(queue.command('list'))
    .description('List queues with their length, the longest wait and the workers serving them')
    .action(async (options: ApiOptions) => {
      const api = clientFor(options);
      const [{ queues }, { workers }] = await Promise.all([api.call('queues.get_all', {}), api.call('workers.get_all', {})]);
      if (options.json) return printJson(queues);
      const rows = queues.map((q) => {
        const entries = q.entries ?? [];
        const oldest = entries.reduce<string | undefined>((min, e) => (min === undefined || e.added < min ? e.added : min), undefined);
        const serving = workers.filter((w) => w.queues.includes(q.id!)).map((w) => w.id);
        return [
          truncate(q.name ?? '', 30),
          q.id!.slice(0, 8),
          String(entries.length),
          formatWait(oldest),
          serving.length > 0 ? truncate(serving.join(', '), 40) : '-',
          (q.system_tags ?? []).includes('default') ? 'default' : '',
        ];
      });
      process.stdout.write(`${formatTable(['QUEUE', 'ID', 'WAITING', 'LONGEST WAIT', 'WORKERS', ''], rows)}\n`);
    });

  const worker = program.command('worker').description('Workers (running agents) of a server').addHelpText('afterAll', CONNECTION_HELP);
  common(worker.command('list'))
    .description('List the workers seen recently and what each one runs')
    .action(async (options: ApiOptions) => {
      const api = clientFor(options);
      const [{ workers }, { queues }] = await Promise.all([api.call('workers.get_all', {}), api.call('queues.get_all', { only_fields: ['name'] })]);
      if (options.json) return printJson(workers);
      if (workers.length === 0) {
        process.stdout.write('No workers seen in the last hour. Start one with: tasklane agent daemon --queue default\n');
        return;
      }
      const names = new Map(queues.map((q) => [q.id!, q.name!]));
      const rows = workers.map((w) => [
        truncate(w.id, 30),
        w.task ? `${w.task.id.slice(0, 8)} ${truncate(w.task.name, 30)}` : 'idle',
        w.task?.running_time !== undefined ? `${w.task.running_time} s` : '-',
        truncate(w.queues.map((id) => names.get(id) ?? id.slice(0, 8)).join(', '), 30),
        timeAgo(w.last_activity_time),
      ]);
      process.stdout.write(`${formatTable(['WORKER', 'RUNNING', 'FOR', 'QUEUES', 'LAST SEEN'], rows)}\n`);
    });
}
