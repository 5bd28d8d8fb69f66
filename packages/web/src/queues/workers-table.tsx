import type { Queue, Worker } from '@tasklane/protocol';
import { formatTime } from '../format-time';
import { href } from '../router';
import { formatAge } from './format-age';

/** The workers seen lately: what each runs, which queues it serves, when it last reported. */
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
                <td title={formatTime(lastSeen)}>{formatAge(lastSeen, nowMs)} ago</td>
                <td>{formatTime(worker.register_time)}</td>
              </tr>
            );
          })}
      </tbody>
    </table>
  );
}
