import { useState } from 'react';
import { MAX_IDS_PER_BULK, isTransitionAllowed, type Task, type TaskStatus } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { Dialog } from '../components/dialog';
import { ErrorBox } from '../components/error-box';
import { QueueSelect } from '../components/queue-select';
import { href, navigate } from '../router';

export type TaskRow = Partial<Task> & { id: string };

/** What a bulk call answers (ClearML's `*_many`): who succeeded, and why the others failed. */
interface BulkReply {
  succeeded: { id: string }[];
  failed: { id: string; error: { msg: string } }[];
}

/** The outcome of a bulk action, said in words (failures one per line, by task name). */
export interface BulkOutcome {
  message: string;
  failures: string | undefined;
}

const moves = (task: TaskRow, to: TaskStatus) => !!task.status && task.status !== to && isTransitionAllowed(task.status, to);
const isLive = (task: TaskRow) => task.status === 'queued' || task.status === 'in_progress';

type DialogKind = 'enqueue' | 'reset' | 'delete' | 'add-tag' | 'remove-tag';

/**
 * The bar of actions on the selected rows. Each action says how many of them it applies to (those whose status
 * allows it, by the task lifecycle) and runs on those only.
 */
export function BulkActions({
  selected,
  isArchiveView,
  onDone,
}: {
  selected: TaskRow[];
  isArchiveView: boolean;
  onDone: (outcome: BulkOutcome) => void;
}) {
  const [dialog, setDialog] = useState<DialogKind>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [queue, setQueue] = useState('');
  const [tag, setTag] = useState('');

  const enqueueable = selected.filter((t) => moves(t, 'queued') && !isArchiveView);
  const abortable = selected.filter((t) => isLive(t) && moves(t, 'stopped'));
  const resettable = selected.filter((t) => moves(t, 'created'));
  // As tasks.delete without force: never a running or published task.
  const deletable = selected.filter((t) => t.status !== 'in_progress' && t.status !== 'published');
  const tagsOfSelected = [...new Set(selected.flatMap((t) => t.tags ?? []))].sort();
  const nameOf = new Map(selected.map((t) => [t.id, t.name ?? t.id]));

  const report = (verb: string, reply: BulkReply) => {
    const failures = reply.failed.map((f) => `${nameOf.get(f.id) ?? f.id}: ${f.error.msg}`).join('\n');
    onDone({
      message: `${verb} ${reply.succeeded.length} of ${reply.succeeded.length + reply.failed.length} task(s).`,
      failures: failures || undefined,
    });
  };

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
      setDialog(undefined);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  /** Runs a `*_many` action on the rows, at most MAX_IDS_PER_BULK ids a request (the server's cap), one reply for all. */
  const many = async (rows: TaskRow[], call: (ids: string[]) => Promise<BulkReply>): Promise<BulkReply> => {
    const all: BulkReply = { succeeded: [], failed: [] };
    for (let start = 0; start < rows.length; start += MAX_IDS_PER_BULK) {
      const reply = await call(rows.slice(start, start + MAX_IDS_PER_BULK).map((t) => t.id));
      all.succeeded.push(...reply.succeeded);
      all.failed.push(...reply.failed);
    }
    return all;
  };
  const open = (kind: DialogKind) => {
    setTag('');
    setError(undefined);
    setDialog(kind);
  };

  /** Tags change one task at a time (tasks.update; tags may change in any status). */
  const editTags = (change: (tags: string[]) => string[], verb: string) =>
    run(async () => {
      const reply: BulkReply = { succeeded: [], failed: [] };
      for (const task of selected) {
        try {
          await api.call('tasks.update', { task: task.id, tags: change(task.tags ?? []) });
          reply.succeeded.push({ id: task.id });
        } catch (err) {
          reply.failed.push({ id: task.id, error: { msg: errorMessage(err) } });
        }
      }
      report(verb, reply);
    });

  const count = selected.length;
  const canCompare = count >= 2 && count <= 10;
  const button = (label: string, applies: number, onClick: () => void, why: string) => (
    <button type="button" disabled={busy || applies === 0} title={applies === 0 ? why : undefined} onClick={onClick}>
      {label} ({applies})
    </button>
  );

  return (
    <div className="bulk-bar" role="toolbar" aria-label="Actions on the selected tasks">
      <strong>{count} selected</strong>
      {button('Enqueue', enqueueable.length, () => open('enqueue'), 'Only a draft, aborted or failed task that is not archived can be enqueued')}
      {button(
        'Abort',
        abortable.length,
        () => void run(async () => report('Aborted', await many(abortable, (ids) => api.call('tasks.stop_many', { ids })))),
        'Only pending or running tasks can be aborted',
      )}
      {button('Reset', resettable.length, () => open('reset'), 'Drafts and published tasks cannot be reset')}
      {isArchiveView
        ? button(
            'Restore',
            count,
            () => void run(async () => report('Restored', await many(selected, (ids) => api.call('tasks.unarchive_many', { ids })))),
            '',
          )
        : button(
            'Archive',
            count,
            () => void run(async () => report('Archived', await many(selected, (ids) => api.call('tasks.archive_many', { ids })))),
            '',
          )}
      {button('Delete', deletable.length, () => open('delete'), 'Running and published tasks cannot be deleted')}
      {button('Add tag', count, () => open('add-tag'), '')}
      {button('Remove tag', tagsOfSelected.length > 0 ? count : 0, () => open('remove-tag'), 'The selected tasks have no tags')}
      <button
        type="button"
        disabled={!canCompare}
        title={canCompare ? undefined : 'Select 2 to 10 tasks to compare them'}
        onClick={() => navigate(href(['compare'], { ids: selected.map((t) => t.id).join(',') }))}
      >
        Compare ({count})
      </button>
      {!dialog && <ErrorBox message={error} />}

      {dialog === 'enqueue' && (
        <Dialog
          title={`Enqueue ${enqueueable.length} task(s)`}
          submitLabel="Enqueue"
          busy={busy || !queue}
          onClose={() => setDialog(undefined)}
          onSubmit={() => void run(async () => report('Enqueued', await many(enqueueable, (ids) => api.call('tasks.enqueue_many', { ids, queue }))))}
        >
          <label>
            Queue
            <QueueSelect value={queue} onChange={setQueue} />
          </label>
          <ErrorBox message={error} />
        </Dialog>
      )}
      {dialog === 'reset' && (
        <Dialog
          title={`Reset ${resettable.length} task(s)`}
          submitLabel="Reset"
          busy={busy}
          onClose={() => setDialog(undefined)}
          onSubmit={() => void run(async () => report('Reset', await many(resettable, (ids) => api.call('tasks.reset_many', { ids }))))}
        >
          <p>Reset makes them drafts again and deletes their outputs: console, scalars, plots, debug samples, output models.</p>
          <ErrorBox message={error} />
        </Dialog>
      )}
      {dialog === 'delete' && (
        <Dialog
          title={`Delete ${deletable.length} task(s)`}
          submitLabel="Delete"
          busy={busy}
          onClose={() => setDialog(undefined)}
          onSubmit={() => void run(async () => report('Deleted', await many(deletable, (ids) => api.call('tasks.delete_many', { ids }))))}
        >
          <p>Deleting cannot be undone: the tasks go with all their outputs.</p>
          <ErrorBox message={error} />
        </Dialog>
      )}
      {dialog === 'add-tag' && (
        <Dialog
          title={`Add a tag to ${count} task(s)`}
          submitLabel="Add"
          busy={busy || !tag.trim()}
          onClose={() => setDialog(undefined)}
          onSubmit={() => void editTags((tags) => [...new Set([...tags, tag.trim()])], 'Tagged')}
        >
          <label>
            Tag
            <input autoFocus value={tag} onChange={(e) => setTag(e.target.value)} />
          </label>
          <ErrorBox message={error} />
        </Dialog>
      )}
      {dialog === 'remove-tag' && (
        <Dialog
          title={`Remove a tag from ${count} task(s)`}
          submitLabel="Remove"
          busy={busy || !tagsOfSelected.includes(tag)}
          onClose={() => setDialog(undefined)}
          onSubmit={() => void editTags((tags) => tags.filter((t) => t !== tag), 'Untagged')}
        >
          <label>
            Tag
            <select value={tag} onChange={(e) => setTag(e.target.value)}>
              <option value="">Choose a tag…</option>
              {tagsOfSelected.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <ErrorBox message={error} />
        </Dialog>
      )}
    </div>
  );
}
