import { useState, type ReactNode } from 'react';
import { SYSTEM_TAG, TASK_STATUS_LABEL, isTransitionAllowed, shortId, type Task, type TaskStatus } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { href, navigate } from '../router';
import { CloneDialog } from '../task-details/clone-dialog';
import { ConfirmDialog } from '../task-details/confirm-dialog';
import { EnqueueDialog } from '../task-details/enqueue-dialog';
import { ErrorBox } from './error-box';
import '../styles/task-details.css';

const LIVE: TaskStatus[] = ['queued', 'in_progress'];

/** Bulk endpoints answer failures in the body instead of an error; turn the first into a thrown error. */
function throwFailed(result: { failed: { error: { msg: string } }[] }): void {
  const failure = result.failed[0];
  if (failure) throw new Error(failure.error.msg);
}

interface Action {
  label: string;
  /** Why the action is not possible now; undefined when it is. */
  blocked?: string | undefined;
  danger?: boolean;
  /** Opens a dialog (its own or a confirmation) instead of acting at once. */
  dialog?: (close: () => void) => ReactNode;
  act?: () => Promise<void>;
}

/** The buttons of the task details page, each enabled only where the lifecycle allows it. */
export function TaskActions({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [open, setOpen] = useState<string>();
  const s = task.status;
  const id = shortId(task.id);
  const isArchived = task.system_tags.includes(SYSTEM_TAG.archived);
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
  const notIn = `Not possible while the task is ${TASK_STATUS_LABEL[s] ?? s}`;
  const unless = (allowed: boolean, why = notIn) => (allowed ? undefined : why);
  const moves = (to: TaskStatus) => s !== to && isTransitionAllowed(s, to);
  const confirm = (title: string, message: string, confirmLabel: string, act: () => Promise<void>) => (close: () => void) => (
    <ConfirmDialog
      title={title}
      message={message}
      confirmLabel={confirmLabel}
      onClose={close}
      onConfirm={async () => {
        await act();
        onChanged();
      }}
    />
  );
  const actions: Action[] = [
    { label: 'Clone', dialog: (close) => <CloneDialog task={task} onClose={close} /> },
    {
      label: 'Enqueue',
      blocked: unless(moves('queued') && s !== 'in_progress'),
      dialog: (close) => <EnqueueDialog task={task} onClose={close} onDone={onChanged} />,
    },
    { label: 'Dequeue', blocked: unless(s === 'queued', 'Only a pending task can leave its queue'), act: async () => void (await api.call('tasks.dequeue', { task: task.id })) },
    {
      label: 'Abort',
      danger: true,
      blocked: unless(LIVE.includes(s) && moves('stopped')),
      dialog: confirm(
        'Abort task',
        s === 'queued'
          ? `Abort task ${id}? It leaves its queue and becomes Aborted.`
          : `Abort task ${id}? Its agent stops the run; what it reported so far stays.`,
        'Abort',
        async () => void (await api.call('tasks.stop', { task: task.id })),
      ),
    },
    {
      label: 'Reset',
      danger: true,
      blocked: unless(moves('created')),
      dialog: confirm(
        'Reset task',
        'Reset deletes the outputs of this task (console, scalars, plots, debug samples, output artifacts and its unpublished output models) and makes it a draft again. A task that ran outside an agent is better cloned. Continue?',
        'Reset',
        async () => void (await api.call('tasks.reset', { task: task.id })),
      ),
    },
    {
      label: 'Publish',
      blocked: unless(moves('published')),
      dialog: confirm(
        'Publish task',
        `Publish task ${id}? A published task (and its output models, published with it) is read-only forever; clone it to run it again.`,
        'Publish',
        async () => void (await api.call('tasks.publish', { task: task.id })),
      ),
    },
    isArchived
      ? { label: 'Restore', act: async () => throwFailed(await api.call('tasks.unarchive_many', { ids: [task.id] })) }
      : s === 'queued'
        ? {
            label: 'Archive',
            dialog: confirm('Archive task', `Task ${id} is pending: archiving takes it out of its queue. Continue?`, 'Archive', async () =>
              throwFailed(await api.call('tasks.archive_many', { ids: [task.id] })),
            ),
          }
        : { label: 'Archive', act: async () => throwFailed(await api.call('tasks.archive_many', { ids: [task.id] })) },
    {
      label: 'Delete',
      danger: true,
      blocked: s === 'in_progress' ? 'Abort the task before deleting it' : s === 'published' ? 'A published task cannot be deleted' : undefined,
      dialog: (close) => (
        <ConfirmDialog
          title="Delete task"
          message={`Delete “${task.name}” (${id}) for good, with its console, scalars, plots, debug samples, artifacts and unpublished output models? This cannot be undone.`}
          confirmLabel="Delete"
          onClose={close}
          onConfirm={async () => {
            await api.call('tasks.delete', { task: task.id });
            navigate(task.project ? href(['projects', task.project, 'tasks']) : href(['projects']));
          }}
        />
      ),
    },
  ];
  const current = actions.find((a) => a.label === open);
  return (
    <div className="task-actions">
      <div className="actions">
        {actions.map((a) => (
          <button
            key={a.label}
            type="button"
            className={a.danger ? 'danger' : undefined}
            disabled={busy || a.blocked !== undefined}
            title={a.blocked}
            onClick={() => {
              setError(undefined);
              if (a.dialog) setOpen(a.label);
              else if (a.act) void run(a.act);
            }}
          >
            {a.label}
          </button>
        ))}
      </div>
      {current?.dialog?.(() => setOpen(undefined))}
      <ErrorBox message={error} />
    </div>
  );
}
