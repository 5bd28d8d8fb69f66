import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { TASK_STATUS_LABEL, TASK_TYPES, type Task, type TaskStatus } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { formatTime } from '../format-time';
import { href, navigate } from '../router';
import { BulkActions, type BulkOutcome, type TaskRow } from '../tasks-table/bulk-actions';
import { ColumnPicker } from '../tasks-table/column-picker';
import { formatAgo, formatDuration, runSeconds } from '../tasks-table/format-duration';
import { md5Hex } from '../tasks-table/md5';
import {
  PAGE_SIZE,
  columnId,
  columnLabel,
  columnSortKey,
  readTableState,
  tableHref,
  tasksRequest,
  type ExtraColumn,
  type TableState,
} from '../tasks-table/table-query';
import { POLL_MS, usePolling } from '../use-polling';
import { useAsync } from '../use-async';
import '../styles/tasks.css';

const FILTER_STATUSES: TaskStatus[] = ['created', 'queued', 'in_progress', 'stopped', 'completed', 'failed', 'published'];

/** Progress (0–100) a running task reported, if any. */
export function progressOf(task: Partial<Task>): number | undefined {
  const value = Number(task.runtime?.progress);
  return Number.isFinite(value) && task.runtime?.progress !== undefined ? value : undefined;
}

interface Column {
  id: string;
  label: string;
  /** The server's `order_by` key. */
  sortKey: string;
  numeric?: boolean;
  cell: (task: TaskRow) => ReactNode;
}

/** The value of a user column in a row (the server sent only those fields). */
function extraValue(task: TaskRow, column: ExtraColumn): string | number | undefined {
  if (column.kind === 'hp') return task.hyperparams?.[column.section]?.[column.name]?.value;
  const value = task.last_metrics?.[md5Hex(column.metric)]?.[md5Hex(column.variant)]?.value;
  return value ?? undefined;
}

/** Numbers rounded for the table; the full value is in the cell's title. */
function formatValue(value: string | number | undefined): string {
  if (value === undefined || value === '') return '';
  const number = typeof value === 'number' ? value : Number(value);
  if (typeof value === 'number' || (value.trim() !== '' && Number.isFinite(number))) {
    return Number.isInteger(number) ? String(number) : String(Number(number.toPrecision(6)));
  }
  return String(value);
}

/** Relative time, the exact local time on hover. */
function Ago({ iso, nowMs }: { iso: string | null | undefined; nowMs: number }) {
  const ago = formatAgo(iso, nowMs);
  return ago ? <time dateTime={iso ?? undefined} title={formatTime(iso)}>{ago}</time> : <>—</>;
}

export function TasksPage({ projectId, query }: { projectId: string; query: URLSearchParams }) {
  const state = readTableState(query);
  const key = tableHref(projectId, { ...state, selected: [] });
  const [searchDraft, setSearchDraft] = useState(state.q);
  const [userDraft, setUserDraft] = useState(state.user);
  const [picking, setPicking] = useState(false);
  const [outcome, setOutcome] = useState<BulkOutcome>();
  // The selection lives in the address; this copy changes in the click itself (the address follows a moment later,
  // on hashchange), so a checkbox never flips back in between.
  const selectionKey = state.selected.join(',');
  const [selectedIds, setSelectedIds] = useState(state.selected);
  useEffect(() => setSelectedIds(selectionKey ? selectionKey.split(',') : []), [selectionKey]);
  useEffect(() => {
    setSearchDraft(state.q);
    setUserDraft(state.user);
  }, [state.q, state.user]);

  /** Moves to another table state; any change but the selection itself starts again at page 1 with nothing selected. */
  const go = (change: Partial<TableState>) => {
    const keepsPage = 'page' in change || 'selected' in change;
    navigate(tableHref(projectId, { ...state, ...(keepsPage ? {} : { page: 0 }), selected: [], ...change }));
  };

  const project = useAsync(() => api.call('projects.get_by_id', { project: projectId }), [projectId]);
  const tasks = useAsync(async () => {
    // A full page means there may be more: one query (not a second one probing the next row) keeps a sort on a
    // large project to a single scan; at an exact multiple the last "Next" shows an empty page.
    const rows = (await api.call('tasks.get_all', tasksRequest(projectId, state))).tasks as TaskRow[];
    // Parent names for the parent column: one call for the page.
    const parentIds = [...new Set(rows.map((t) => t.parent).filter((p): p is string => !!p))];
    const parents = parentIds.length
      ? (await api.call('tasks.get_all', { id: parentIds, only_fields: ['name'], search_hidden: true })).tasks
      : [];
    return { rows, hasNext: rows.length === PAGE_SIZE, parentNames: new Map(parents.map((p) => [p.id!, p.name ?? p.id!])) };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  // The tag list scans every task of the project: asked only once the first rows are in, so they come first.
  const hasRows = tasks.data !== undefined;
  const tags = useAsync(
    async () =>
      hasRows ? (await api.call('projects.get_task_tags', { projects: [projectId], include_subprojects: state.deep })).tags : [],
    [projectId, state.deep, hasRows],
  );
  const rows = tasks.data?.rows ?? [];
  const isLive = rows.some((t) => t.status === 'queued' || t.status === 'in_progress');
  const reload = tasks.reload;
  usePolling(isLive, POLL_MS, useCallback(() => reload(), [reload]));
  const nowMs = Date.now();

  const columns: Column[] = [
    { id: 'type', label: 'Type', sortKey: 'type', cell: (t) => t.type },
    {
      id: 'name',
      label: 'Name',
      sortKey: 'name',
      cell: (t) => (
        <a className="task-name" href={href(['tasks', t.id])} title={t.id}>
          {t.name}
        </a>
      ),
    },
    {
      id: 'tags',
      label: 'Tags',
      sortKey: 'tags',
      cell: (t) => (
        <span className="tags">
          {(t.tags ?? []).map((tag) => (
            <span key={tag} className="tag">
              {tag}
            </span>
          ))}
        </span>
      ),
    },
    {
      id: 'status',
      label: 'Status',
      sortKey: 'status',
      cell: (t) => t.status && <StatusBadge status={t.status} progress={progressOf(t)} />,
    },
    {
      id: 'parent',
      label: 'Parent',
      sortKey: 'parent',
      cell: (t) =>
        t.parent ? <a href={href(['tasks', t.parent])}>{tasks.data?.parentNames.get(t.parent) ?? t.parent.slice(0, 8)}</a> : '',
    },
    { id: 'started', label: 'Started', sortKey: 'started', cell: (t) => <Ago iso={t.started} nowMs={nowMs} /> },
    { id: 'last_update', label: 'Updated', sortKey: 'last_update', cell: (t) => <Ago iso={t.last_update} nowMs={nowMs} /> },
    { id: 'last_iteration', label: 'Iteration', sortKey: 'last_iteration', numeric: true, cell: (t) => t.last_iteration ?? '' },
    {
      id: 'duration',
      label: 'Duration',
      sortKey: 'active_duration',
      numeric: true,
      cell: (t) => formatDuration(runSeconds(t, nowMs)),
    },
    ...state.columns.map(
      (c): Column => ({
        id: columnId(c),
        label: columnLabel(c),
        sortKey: columnSortKey(c),
        numeric: true,
        cell: (t) => {
          const value = extraValue(t, c);
          return <span title={value === undefined ? undefined : String(value)}>{formatValue(value)}</span>;
        },
      }),
    ),
  ];

  const sortKey = state.order.replace(/^-/, '');
  const descending = state.order.startsWith('-');
  const selected = rows.filter((t) => selectedIds.includes(t.id));
  const allSelected = rows.length > 0 && selected.length === rows.length;
  const setSelected = (ids: string[]) => {
    setSelectedIds(ids);
    navigate(tableHref(projectId, { ...state, selected: ids }));
  };
  const toggle = (id: string) =>
    setSelected(selectedIds.includes(id) ? selectedIds.filter((s) => s !== id) : [...selectedIds, id]);
  const projectName = project.data?.project.name;

  return (
    <section className="tasks-page">
      <p className="crumbs">
        <a href={href(['projects'])}>Projects</a> / <span>{projectName ?? '…'}</span>
      </p>
      <h1>
        Tasks{state.archived ? ' — archive' : ''}
        {projectName && <span className="muted"> in {projectName}</span>}
      </h1>
      <form
        className="toolbar tasks-toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: searchDraft.trim(), user: userDraft.trim() });
        }}
      >
        <input
          type="search"
          aria-label="Search tasks"
          placeholder="Search by name or id"
          value={searchDraft}
          onChange={(e) => setSearchDraft(e.target.value)}
        />
        <input
          className="user-filter"
          aria-label="Filter by user"
          placeholder="User"
          value={userDraft}
          onChange={(e) => setUserDraft(e.target.value)}
        />
        <button type="submit">Search</button>
        <label>
          Status{' '}
          <select aria-label="Filter by status" value={state.status} onChange={(e) => go({ status: e.target.value })}>
            <option value="">All</option>
            {FILTER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {TASK_STATUS_LABEL[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type{' '}
          <select aria-label="Filter by type" value={state.type} onChange={(e) => go({ type: e.target.value })}>
            <option value="">All</option>
            {TASK_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Tag{' '}
          <select aria-label="Filter by tag" value={state.tag} onChange={(e) => go({ tag: e.target.value })}>
            <option value="">All</option>
            {[...new Set([...(tags.data ?? []), ...(state.tag ? [state.tag] : [])])].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </form>
      <div className="toolbar tasks-toolbar">
        <label className="check">
          {/* Uncontrolled, re-made when the address changes: it flips in the click, the address follows. */}
          <input key={`deep-${state.deep}`} type="checkbox" defaultChecked={state.deep} onChange={(e) => go({ deep: e.target.checked })} />
          With sub-projects
        </label>
        <label className="check">
          <input
            key={`archived-${state.archived}`}
            type="checkbox"
            defaultChecked={state.archived}
            onChange={(e) => go({ archived: e.target.checked })}
          />
          Show archived
        </label>
        <button type="button" onClick={() => setPicking(true)}>
          Columns…
        </button>
        <button type="button" onClick={() => reload()} disabled={tasks.loading}>
          Refresh
        </button>
        {isLive && <span className="muted">Live: refreshing every {POLL_MS / 1000} s</span>}
      </div>
      {picking && (
        <ColumnPicker
          projectId={projectId}
          deep={state.deep}
          columns={state.columns}
          onClose={() => setPicking(false)}
          onApply={(next) => {
            setPicking(false);
            go({ columns: next });
          }}
        />
      )}
      <ErrorBox message={project.error ?? tasks.error ?? tags.error} />
      {outcome && (
        <div className="bulk-outcome" role="status">
          <span>{outcome.message}</span>
          <ErrorBox message={outcome.failures && `Failed:\n${outcome.failures}`} />
          <button type="button" onClick={() => setOutcome(undefined)}>
            Dismiss
          </button>
        </div>
      )}
      {selected.length > 0 && (
        <BulkActions
          selected={selected}
          isArchiveView={state.archived}
          onDone={(result) => {
            setOutcome(result);
            setSelected([]);
            reload();
          }}
        />
      )}
      <div className="table-scroll">
        <table className="grid tasks" aria-busy={tasks.loading}>
          <thead>
            <tr>
              <th className="select">
                <input
                  type="checkbox"
                  aria-label="Select all tasks on this page"
                  checked={allSelected}
                  disabled={rows.length === 0}
                  onChange={() => setSelected(allSelected ? [] : rows.map((t) => t.id))}
                />
              </th>
              {columns.map((c) => (
                <th
                  key={c.id}
                  data-column={c.id}
                  className={c.numeric ? 'num' : undefined}
                  aria-sort={sortKey === c.sortKey ? (descending ? 'descending' : 'ascending') : 'none'}
                >
                  <button
                    type="button"
                    className="sort"
                    onClick={() => go({ order: sortKey === c.sortKey && !descending ? `-${c.sortKey}` : c.sortKey })}
                  >
                    {c.label}
                    {sortKey === c.sortKey ? (descending ? ' ▼' : ' ▲') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((task) => (
              <tr key={task.id} data-task={task.id} className={selectedIds.includes(task.id) ? 'selected' : undefined}>
                <td className="select">
                  <input
                    type="checkbox"
                    aria-label={`Select ${task.name ?? task.id}`}
                    checked={selectedIds.includes(task.id)}
                    onChange={() => toggle(task.id)}
                  />
                </td>
                {columns.map((c) => (
                  <td key={c.id} data-column={c.id} className={c.numeric ? 'num' : undefined}>
                    {c.cell(task)}
                  </td>
                ))}
              </tr>
            ))}
            {tasks.data && rows.length === 0 && (
              <tr>
                <td colSpan={columns.length + 1} className="muted">
                  {state.archived ? 'No archived tasks match.' : 'No tasks match.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <button type="button" disabled={state.page === 0} onClick={() => go({ page: state.page - 1 })}>
          ← Previous
        </button>
        <span>
          Page {state.page + 1}
          {rows.length > 0 && ` · tasks ${state.page * PAGE_SIZE + 1}–${state.page * PAGE_SIZE + rows.length}`}
        </span>
        <button type="button" disabled={!tasks.data?.hasNext} onClick={() => go({ page: state.page + 1 })}>
          Next →
        </button>
      </div>
    </section>
  );
}
