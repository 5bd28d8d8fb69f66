import { useState } from 'react';
import { isId, shortId, type Task } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { href } from '../router';
import { MAX_COMPARED, MIN_COMPARED, type ComparedTask } from './compare-rows';

type Found = Pick<Task, 'id' | 'name' | 'status'>;

/** Who is compared: name links, status, remove buttons, and a box to add a task by id or name. */
export function CompareHeader({
  ids,
  tasks,
  onChange,
}: {
  ids: string[];
  tasks: Map<string, ComparedTask>;
  onChange: (ids: string[]) => void;
}) {
  const [search, setSearch] = useState('');
  const [found, setFound] = useState<Found[]>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const isFull = ids.length >= MAX_COMPARED;

  const add = (id: string) => {
    if (!ids.includes(id)) onChange([...ids, id]);
    setFound(undefined);
    setSearch('');
  };
  const lookUp = async () => {
    const text = search.trim();
    if (!text) return;
    setError(undefined);
    if (isId(text)) {
      add(text);
      return;
    }
    setBusy(true);
    try {
      const { tasks: matches } = await api.call('tasks.get_all', {
        search_text: text,
        system_tags: ['-archived'],
        order_by: ['-last_update'],
        page: 0,
        page_size: 10,
        only_fields: ['id', 'name', 'status'],
      });
      setFound(matches as Found[]);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="compare-header">
      <ol className="compare-tasks" aria-label="Compared tasks">
        {ids.map((id) => {
          const task = tasks.get(id);
          return (
            <li key={id} data-compared={id}>
              {task ? (
                <>
                  <a className="task-name" href={href(['tasks', id, 'info'])} title={id}>
                    {task.name}
                  </a>
                  <StatusBadge status={task.status} />
                </>
              ) : (
                <span className="muted" title={id}>
                  {shortId(id)}
                </span>
              )}
              <button
                type="button"
                className="remove"
                aria-label={`Remove ${task?.name ?? id} from the comparison`}
                title={ids.length <= MIN_COMPARED ? `Compare needs at least ${MIN_COMPARED} tasks` : 'Remove from the comparison'}
                disabled={ids.length <= MIN_COMPARED}
                onClick={() => onChange(ids.filter((other) => other !== id))}
              >
                ×
              </button>
            </li>
          );
        })}
      </ol>
      <form
        className="toolbar compare-add"
        onSubmit={(e) => {
          e.preventDefault();
          void lookUp();
        }}
      >
        <input
          type="search"
          aria-label="Add a task by id or name"
          placeholder={isFull ? `At most ${MAX_COMPARED} tasks` : 'Add a task: id or name'}
          value={search}
          disabled={isFull}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="submit" disabled={isFull || busy || !search.trim()}>
          Add
        </button>
      </form>
      <ErrorBox message={error} />
      {found && (
        <ul className="compare-found" aria-label="Matching tasks">
          {found.length === 0 && <li className="muted">No task matches “{search}”.</li>}
          {found.map((task) => (
            <li key={task.id}>
              <button type="button" disabled={ids.includes(task.id)} onClick={() => add(task.id)}>
                Add
              </button>{' '}
              <span className="task-name">{task.name}</span> <StatusBadge status={task.status} />{' '}
              <span className="muted">{shortId(task.id)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
