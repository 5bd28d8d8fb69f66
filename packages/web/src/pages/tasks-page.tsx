import { useState } from 'react';
import { TASK_STATUS_LABEL, type Task, type TaskStatus } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { formatTime } from '../format-time';
import { href, navigate } from '../router';
import { useAsync } from '../use-async';

const PAGE_SIZE = 50;
const FILTER_STATUSES: TaskStatus[] = ['created', 'queued', 'in_progress', 'stopped', 'completed', 'failed', 'published'];
const COLUMNS = [
  { key: 'type', label: 'Type' },
  { key: 'name', label: 'Name' },
  { key: 'status', label: 'Status' },
  { key: 'last_update', label: 'Updated' },
  { key: 'last_iteration', label: 'Iteration' },
] as const;
type TaskRow = Partial<Task> & { id: string };

export function progressOf(task: Partial<Task>): number | undefined {
  const value = Number(task.runtime?.progress);
  return Number.isFinite(value) && task.runtime?.progress !== undefined ? value : undefined;
}

export function TasksPage({ projectId, query }: { projectId: string; query: URLSearchParams }) {
  const order = query.get('order') || '-last_update';
  const status = query.get('status') ?? '';
  const search = query.get('q') ?? '';
  const page = Math.max(0, Number(query.get('page') ?? 0) || 0);
  const [searchDraft, setSearchDraft] = useState(search);
  const state = { order, status, q: search, page };
  const go = (change: Partial<typeof state>) => {
    const next = { ...state, page: 0, ...change };
    navigate(href(['projects', projectId, 'tasks'], { ...next, page: next.page || undefined, order: next.order === '-last_update' ? undefined : next.order }));
  };

  const project = useAsync(() => api.call('projects.get_by_id', { project: projectId }), [projectId]);
  const tasks = useAsync(
    async () => {
      const { tasks } = await api.call('tasks.get_all', {
        project: [projectId],
        order_by: [order, '-created'],
        page,
        page_size: PAGE_SIZE + 1,
        ...(status ? { status: [status] } : {}),
        ...(search ? { search_text: search } : {}),
        system_tags: ['-archived'],
        only_fields: ['id', 'name', 'type', 'status', 'last_update', 'last_iteration', 'runtime', 'created'],
      });
      return tasks as TaskRow[];
    },
    [projectId, order, status, search, page],
  );
  const rows = tasks.data?.slice(0, PAGE_SIZE) ?? [];
  const hasNext = (tasks.data?.length ?? 0) > PAGE_SIZE;
  const sortKey = order.replace(/^-/, '');
  const descending = order.startsWith('-');

  return (
    <section>
      <p className="crumbs">
        <a href={href(['projects'])}>Projects</a> / <span>{project.data?.project.name ?? '…'}</span>
      </p>
      <h1>Tasks</h1>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: searchDraft.trim() });
        }}
      >
        <input
          type="search"
          aria-label="Search tasks"
          placeholder="Search by name or id"
          value={searchDraft}
          onChange={(e) => setSearchDraft(e.target.value)}
        />
        <button type="submit">Search</button>
        <label>
          Status{' '}
          <select aria-label="Filter by status" value={status} onChange={(e) => go({ status: e.target.value })}>
            <option value="">All</option>
            {FILTER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {TASK_STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorBox message={project.error ?? tasks.error} />
      <table className="grid tasks">
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} aria-sort={sortKey === c.key ? (descending ? 'descending' : 'ascending') : 'none'}>
                <button
                  type="button"
                  className="sort"
                  onClick={() => go({ order: sortKey === c.key && !descending ? `-${c.key}` : c.key })}
                >
                  {c.label}
                  {sortKey === c.key ? (descending ? ' ▼' : ' ▲') : ''}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((task) => (
            <tr key={task.id} data-task={task.id}>
              <td>{task.type}</td>
              <td>
                <a className="task-name" href={href(['tasks', task.id])}>
                  {task.name}
                </a>
              </td>
              <td>{task.status && <StatusBadge status={task.status} progress={progressOf(task)} />}</td>
              <td>{formatTime(task.last_update)}</td>
              <td className="num">{task.last_iteration ?? ''}</td>
            </tr>
          ))}
          {!tasks.loading && rows.length === 0 && (
            <tr>
              <td colSpan={COLUMNS.length} className="muted">
                No tasks match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={page === 0} onClick={() => go({ page: page - 1 })}>
          ← Previous
        </button>
        <span>Page {page + 1}</span>
        <button type="button" disabled={!hasNext} onClick={() => go({ page: page + 1 })}>
          Next →
        </button>
      </div>
    </section>
  );
}
