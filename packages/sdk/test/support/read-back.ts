import type { ApiClient } from 'tasklane/client';

/** The task as the server has it now. */
export async function readTask(api: ApiClient, id: string) {
  return (await api.call('tasks.get_by_id', { task: id })).task;
}

/** Every console line of the task, oldest first, as `level: msg`. */
export async function readLog(api: ApiClient, id: string): Promise<string[]> {
  const { events, total } = await api.call('events.get_task_log', { task: id, navigate_earlier: false, order: 'asc', batch_size: 10_000 });
  if (events.length !== total) throw new Error(`get_task_log answered ${events.length} of ${total} lines`);
  return events.map((e) => `${e.level}: ${e.msg}`);
}

/** Parses the `@@<marker> {json}` line a fixture script printed. */
export function markerJson<T = Record<string, unknown>>(stdout: string, marker: string): T {
  const line = stdout.split('\n').find((l) => l.startsWith(`@@${marker} `));
  if (line === undefined) throw new Error(`no @@${marker} line in:\n${stdout}`);
  return JSON.parse(line.slice(marker.length + 3)) as T;
}
