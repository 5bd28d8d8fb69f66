import { useState } from 'react';
import { shortId, type Queue, type Task } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { Dialog } from '../components/dialog';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { href } from '../router';
import { formatAge } from './format-age';

export type QueuedTask = Pick<Task, 'id' | 'name' | 'status'>;

/** The tasks waiting in one queue, head first, with reorder / move / remove buttons. */
export function QueueEntries({
  queue,
  queues,
  tasks,
  nowMs,
  onChanged,
}: {
  queue: Queue;
  queues: Queue[];
  tasks: Map<string, QueuedTask>;
  nowMs: number;
  onChanged: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [moving, setMoving] = useState<{ task: string; priority: number }>();
  const [target, setTarget] = useState('');
  const others = queues.filter((q) => q.id !== queue.id);
  const nameOf = (id: string) => tasks.get(id)?.name ?? shortId(id);

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
      onChanged();
    }
  };

  const moveToQueue = async (task: string, priority: number, to: string) => {
    // Dequeue then enqueue: the task ends queued in the other queue, with its execution.queue updated. A failed
    // enqueue leaves it a draft, which the error says.
    await api.call('tasks.dequeue', { task, status_reason: `moved from queue ${queue.name}` });
    try {
      await api.call('tasks.enqueue', { task, queue: to, priority, status_reason: `moved from queue ${queue.name}` });
    } catch (err) {
      throw new Error(`The task left queue "${queue.name}" but could not join the other one: ${errorMessage(err)}`, { cause: err });
    }
  };

  const last = queue.entries.length - 1;
  return (
    <div className="queue-entries" data-queue={queue.id}>
      <ErrorBox message={error} />
      {queue.entries.length === 0 ? (
        <p className="muted">No task waits in this queue.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Task</th>
              <th>Status</th>
              <th className="num">Priority</th>
              <th>Waiting</th>
              <th>Order</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {queue.entries.map((entry, i) => {
              const task = tasks.get(entry.task);
              const name = nameOf(entry.task);
              const move = (call: 'queues.move_task_forward' | 'queues.move_task_backward' | 'queues.move_task_to_front' | 'queues.move_task_to_back') =>
                void run(() => api.call(call, { queue: queue.id, task: entry.task }));
              return (
                <tr key={entry.task} data-entry={entry.task}>
                  <td className="num">{i + 1}</td>
                  <td>
                    <a className="task-name" href={href(['tasks', entry.task, 'info'])} title={entry.task}>
                      {name}
                    </a>
                  </td>
                  <td>{task ? <StatusBadge status={task.status} /> : '—'}</td>
                  <td className="num">{entry.priority ?? 0}</td>
                  <td title={entry.added}>{formatAge(entry.added, nowMs)}</td>
                  <td className="queue-order">
                    <button type="button" aria-label={`Move ${name} to the top`} title="To the top" disabled={busy || i === 0} onClick={() => move('queues.move_task_to_front')}>
                      ⤒
                    </button>
                    <button type="button" aria-label={`Move ${name} up`} title="Up" disabled={busy || i === 0} onClick={() => move('queues.move_task_forward')}>
                      ↑
                    </button>
                    <button type="button" aria-label={`Move ${name} down`} title="Down" disabled={busy || i === last} onClick={() => move('queues.move_task_backward')}>
                      ↓
                    </button>
                    <button type="button" aria-label={`Move ${name} to the bottom`} title="To the bottom" disabled={busy || i === last} onClick={() => move('queues.move_task_to_back')}>
                      ⤓
                    </button>
                  </td>
                  <td className="queue-entry-actions">
                    <button
                      type="button"
                      disabled={busy || others.length === 0}
                      title={others.length === 0 ? 'There is no other queue' : undefined}
                      onClick={() => {
                        setTarget(others[0]?.id ?? '');
                        setMoving({ task: entry.task, priority: entry.priority ?? 0 });
                      }}
                    >
                      Move to…
                    </button>
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Remove ${name} from the queue`}
                      onClick={() => void run(() => api.call('tasks.dequeue', { task: entry.task, status_reason: 'removed from the queue page' }))}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {moving && (
        <Dialog
          title={`Move “${nameOf(moving.task)}” to another queue`}
          submitLabel="Move"
          busy={busy || !target}
          onClose={() => setMoving(undefined)}
          onSubmit={() => {
            const { task, priority } = moving;
            setMoving(undefined);
            void run(() => moveToQueue(task, priority, target));
          }}
        >
          <label>
            Queue
            <select aria-label="Target queue" value={target} onChange={(e) => setTarget(e.target.value)}>
              {others.map((q) => (
                <option key={q.id} value={q.id}>
                  {q.name} ({q.entries.length} waiting)
                </option>
              ))}
            </select>
          </label>
          <p className="muted">It joins the end of that queue and stays pending.</p>
        </Dialog>
      )}
    </div>
  );
}
