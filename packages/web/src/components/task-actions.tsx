import { useState } from 'react';
import { TASK_STATUS_LABEL, isTransitionAllowed, type Task, type TaskStatus } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { href, navigate } from '../router';
import { ErrorBox } from './error-box';

const LIVE: TaskStatus[] = ['queued', 'in_progress'];

/** The buttons of the task details page, each enabled only where the lifecycle allows it. */
export function TaskActions({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const s = task.status;
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const moves = (to: TaskStatus) => s !== to && isTransitionAllowed(s, to);
  const actions = [
    {
      label: 'Clone',
      enabled: true,
      act: async () => {
        const { id } = await api.call('tasks.clone', { task: task.id, new_task_name: `Clone of ${task.name}` });
        navigate(href(['tasks', id, 'info']));
      },
    },
    { label: 'Enqueue', enabled: moves('queued'), act: async () => void (await api.call('tasks.enqueue', { task: task.id })) },
    { label: 'Abort', enabled: LIVE.includes(s) && moves('stopped'), act: async () => void (await api.call('tasks.stop', { task: task.id })) },
    {
      label: 'Reset',
      enabled: moves('created'),
      confirm: 'Reset deletes the outputs of this task (console, scalars, plots, artifacts). Continue?',
      act: async () => void (await api.call('tasks.reset', { task: task.id })),
    },
    { label: 'Publish', enabled: moves('published'), act: async () => void (await api.call('tasks.publish', { task: task.id })) },
  ];
  return (
    <div className="actions">
      {actions.map((a) => (
        <button
          key={a.label}
          type="button"
          disabled={busy || !a.enabled}
          title={a.enabled ? undefined : `Not possible while the task is ${TASK_STATUS_LABEL[s]}`}
          onClick={() => {
            if (a.confirm && !window.confirm(a.confirm)) return;
            void run(a.act);
          }}
        >
          {a.label}
        </button>
      ))}
      <ErrorBox message={error} />
    </div>
  );
}

