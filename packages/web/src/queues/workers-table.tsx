import type { Queue, Worker } from '@tasklane/protocol';
import { formatTime } from '../format-time';
import { href } from '../router';
import { formatAge } from './format-age';

const mean = (values: unknown): number | undefined => {
  const numbers = Array.isArray(values) ? values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [];
  return numbers.length > 0 ? numbers.reduce((a, b) => a + b, 0) / numbers.length : undefined;
};
const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

/**
 * A worker's last machine stats in a few words, from the keys ClearML's agent reports (`cpu_usage` and `gpu_usage`
 * per core or device in %, `memory_used` and `memory_free` in MiB): "CPU 12% · memory 3.2 / 15.6 GiB · GPU 87%".
 */
export function machineSummary(stats: Record<string, unknown> | null | undefined): string {
  if (!stats) return '—';
  const parts: string[] = [];
  const cpu = mean(stats.cpu_usage);
  if (cpu !== undefined) parts.push(`CPU ${Math.round(cpu)}%`);
  const used = finite(stats.memory_used);
  const free = finite(stats.memory_free);
  if (used !== undefined) parts.push(`memory ${(used / 1024).toFixed(1)}${free !== undefined ? ` / ${((used + free) / 1024).toFixed(1)}` : ''} GiB`);
  const gpu = mean(stats.gpu_usage);
  if (gpu !== undefined) parts.push(`GPU ${Math.round(gpu)}%`);
  return parts.length > 0 ? parts.join(' · ') : '—';
}

/** The workers seen lately: what each runs, which queues it serves, its machine, when it last reported. */
export function WorkersTable({ workers, queues, nowMs }: { workers: Worker[]; queues: Queue[]; nowMs: number }) {
  if (workers.length === 0) {
    return <p className="muted">No worker reported in the last hour. Start one with: tasklane agent daemon --queue default</p>;
  }
  const queueName = (ref: string) => queues.find((q) => q.id === ref || q.name === ref)?.name ?? ref;
  return (
    <table className="grid workers-table">
      <thead>
        <tr>
          <th>Worker</th>
          <th>Running</th>
          <th>Queues</th>
          <th>Machine</th>
          <th>Last report</th>
          <th>Registered</th>
        </tr>
      </thead>
      <tbody>
        {[...workers]
          .sort((a, b) => a.id.localeCompare(b.id))
          .map((worker) => {
            const lastSeen = worker.last_report_time ?? worker.last_activity_time;
            return (
              <tr key={worker.id} data-worker={worker.id}>
                <td className="worker-id">{worker.id}</td>
                <td>
                  {worker.task ? (
                    <>
                      <a className="task-name" href={href(['tasks', worker.task.id, 'console'])}>
                        {worker.task.name}
                      </a>
                      {worker.task.last_iteration !== undefined && <span className="muted"> · iteration {worker.task.last_iteration}</span>}
                    </>
                  ) : (
                    <span className="muted">idle</span>
                  )}
                </td>
                <td>{worker.queues.length > 0 ? worker.queues.map(queueName).join(', ') : '—'}</td>
                <td className="machine-stats">{machineSummary(worker.machine_stats)}</td>
                <td title={formatTime(lastSeen)}>{formatAge(lastSeen, nowMs)} ago</td>
                <td>{formatTime(worker.register_time)}</td>
              </tr>
            );
          })}
      </tbody>
    </table>
  );
}
