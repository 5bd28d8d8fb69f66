import { useState } from 'react';
import type { Task } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { ErrorBox } from '../components/error-box';

/** The task's tags as chips, with add and remove (tags are metadata: any status may change them). */
export function TaskTags({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [adding, setAdding] = useState(false);
  const [draft, setDraft] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const save = async (tags: string[]) => {
    setBusy(true);
    setError(undefined);
    try {
      await api.call('tasks.update', { task: task.id, tags });
      onChanged();
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  const add = async () => {
    const tag = draft.trim();
    if (!tag) return setAdding(false);
    if (task.tags.includes(tag) || (await save([...task.tags, tag]))) {
      setDraft('');
      setAdding(false);
    }
  };
  return (
    <div className="task-tags" aria-label="Tags">
      {task.tags.map((tag) => (
        <span key={tag} className="tag" data-tag={tag}>
          {tag}
          <button
            type="button"
            className="tag-remove"
            aria-label={`Remove tag ${tag}`}
            title={`Remove tag ${tag}`}
            disabled={busy}
            onClick={() => void save(task.tags.filter((t) => t !== tag))}
          >
            ×
          </button>
        </span>
      ))}
      {adding ? (
        <form
          className="tag-form"
          onSubmit={(e) => {
            e.preventDefault();
            void add();
          }}
        >
          <input
            aria-label="New tag"
            value={draft}
            autoFocus
            disabled={busy}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                setDraft('');
                setAdding(false);
              }
            }}
          />
          <button type="submit" disabled={busy}>
            Add
          </button>
        </form>
      ) : (
        <button type="button" className="tag-add" onClick={() => setAdding(true)}>
          + Add tag
        </button>
      )}
      <ErrorBox message={error} />
    </div>
  );
}
