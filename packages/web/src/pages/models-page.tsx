import { useEffect, useState } from 'react';
import type { Model } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { formatTime } from '../format-time';
import { ModelStatus } from '../models/model-status';
import { href, navigate } from '../router';
import { useAsync } from '../use-async';
import '../styles/models.css';

const PAGE_SIZE = 50;
const DEFAULT_ORDER = '-last_update';
const COLUMNS = [
  { key: 'name', label: 'Name', sortable: true },
  { key: 'framework', label: 'Framework', sortable: true },
  { key: 'tags', label: 'Tags', sortable: false },
  { key: 'ready', label: 'Status', sortable: true },
  { key: 'project', label: 'Project', sortable: false },
  { key: 'task', label: 'Task', sortable: false },
  { key: 'last_update', label: 'Updated', sortable: true },
] as const;
const FIELDS = ['id', 'name', 'framework', 'tags', 'ready', 'project', 'task', 'last_update', 'system_tags'];

type ModelRow = Pick<Model, 'id' | 'name' | 'framework' | 'tags' | 'ready' | 'project' | 'task' | 'last_update' | 'system_tags'>;

/** The table's state, all of it in the address: `#/models?framework=PyTorch&ready=true&q=resnet&order=name&page=1`. */
interface ModelsState {
  project: string;
  framework: string;
  tags: string;
  ready: string;
  q: string;
  archived: string;
  order: string;
  page: number;
}

function readState(query: URLSearchParams): ModelsState {
  return {
    project: query.get('project') ?? '',
    framework: query.get('framework') ?? '',
    tags: query.get('tags') ?? '',
    ready: query.get('ready') ?? '',
    q: query.get('q') ?? '',
    archived: query.get('archived') === '1' ? '1' : '',
    order: query.get('order') || DEFAULT_ORDER,
    page: Math.max(0, Number(query.get('page') ?? 0) || 0),
  };
}

function tagList(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
}

/** `#/models`: every model with filters (project, framework, tags, published, name), sorting and paging. */
export function ModelsPage({ query }: { query: URLSearchParams }) {
  const state = readState(query);
  const [searchDraft, setSearchDraft] = useState(state.q);
  const [tagsDraft, setTagsDraft] = useState(state.tags);
  // The address can change from outside (back button, a pasted link): keep the text boxes in step.
  useEffect(() => setSearchDraft(state.q), [state.q]);
  useEffect(() => setTagsDraft(state.tags), [state.tags]);

  const go = (change: Partial<ModelsState>) => {
    const next = { ...state, page: 0, ...change };
    navigate(href(['models'], { ...next, page: next.page || undefined, order: next.order === DEFAULT_ORDER ? undefined : next.order }));
  };

  const projects = useAsync(() => api.call('projects.get_all', { only_fields: ['id', 'name'], order_by: ['name'] }), []);
  const frameworks = useAsync(() => api.call('models.get_frameworks', state.project ? { projects: [state.project] } : {}), [state.project]);
  const stateKey = JSON.stringify(state);
  const models = useAsync(async () => {
    const tags = tagList(state.tags);
    const { models } = await api.call('models.get_all', {
      order_by: [state.order, '-created'],
      page: state.page,
      page_size: PAGE_SIZE + 1,
      system_tags: [state.archived ? 'archived' : '-archived'],
      only_fields: FIELDS,
      ...(state.project ? { project: [state.project] } : {}),
      ...(state.framework ? { framework: [state.framework] } : {}),
      ...(tags.length > 0 ? { tags } : {}),
      ...(state.ready ? { ready: state.ready === 'true' } : {}),
      ...(state.q ? { search_text: state.q } : {}),
    });
    const rows = models as ModelRow[];
    // Names of the creating tasks, one call for the page.
    const taskIds = [...new Set(rows.map((m) => m.task).filter((t): t is string => !!t))];
    const taskNames = new Map<string, string>();
    if (taskIds.length > 0) {
      const { tasks } = await api.call('tasks.get_all', { id: taskIds, only_fields: ['id', 'name'] });
      for (const t of tasks) if (t.id && t.name !== undefined) taskNames.set(t.id, t.name);
    }
    return { rows, taskNames };
  }, [stateKey]);

  const projectName = new Map((projects.data?.projects ?? []).map((p) => [p.id, p.name ?? p.id]));
  const rows = models.data?.rows.slice(0, PAGE_SIZE) ?? [];
  const hasNext = (models.data?.rows.length ?? 0) > PAGE_SIZE;
  const sortKey = state.order.replace(/^-/, '');
  const isDescending = state.order.startsWith('-');
  const hasFilters = !!(state.project || state.framework || state.tags || state.ready || state.q || state.archived);

  return (
    <section className="models-page">
      <h1>Models</h1>
      <form
        className="toolbar models-filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: searchDraft.trim(), tags: tagList(tagsDraft).join(',') });
        }}
      >
        <input type="search" aria-label="Search models" placeholder="Search by name or id" value={searchDraft} onChange={(e) => setSearchDraft(e.target.value)} />
        <input aria-label="Filter by tags" placeholder="Tags (comma-separated)" value={tagsDraft} onChange={(e) => setTagsDraft(e.target.value)} />
        <button type="submit">Search</button>
        <select aria-label="Filter by project" value={state.project} onChange={(e) => go({ project: e.target.value, framework: '' })}>
          <option value="">All projects</option>
          {(projects.data?.projects ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <select aria-label="Filter by framework" value={state.framework} onChange={(e) => go({ framework: e.target.value })}>
          <option value="">All frameworks</option>
          {/* Keep a framework from the address selectable even when no model of it is left. */}
          {[...new Set([...(frameworks.data?.frameworks ?? []), ...(state.framework ? [state.framework] : [])])].map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>
        <select aria-label="Filter by status" value={state.ready} onChange={(e) => go({ ready: e.target.value })}>
          <option value="">Draft and published</option>
          <option value="true">Published</option>
          <option value="false">Draft</option>
        </select>
        <label className="models-archived">
          <input type="checkbox" checked={!!state.archived} onChange={(e) => go({ archived: e.target.checked ? '1' : '' })} /> Archived
        </label>
        {hasFilters && (
          <button type="button" onClick={() => navigate(href(['models']))}>
            Clear filters
          </button>
        )}
      </form>
      <ErrorBox message={models.error ?? projects.error ?? frameworks.error} />
      <table className="grid models-table" aria-busy={models.loading}>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th key={c.key} aria-sort={sortKey === c.key ? (isDescending ? 'descending' : 'ascending') : undefined}>
                {c.sortable ? (
                  <button type="button" className="sort" onClick={() => go({ order: sortKey === c.key && !isDescending ? `-${c.key}` : c.key })}>
                    {c.label}
                    {sortKey === c.key ? (isDescending ? ' ▼' : ' ▲') : ''}
                  </button>
                ) : (
                  c.label
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((m) => (
            <tr key={m.id} data-model={m.id}>
              <td>
                <a className="model-name" href={href(['models', m.id])}>
                  {m.name}
                </a>
              </td>
              <td>{m.framework || '—'}</td>
              <td>
                {m.tags.map((t) => (
                  <span key={t} className="model-tag">
                    {t}
                  </span>
                ))}
              </td>
              <td>
                <ModelStatus ready={m.ready} />
              </td>
              <td>{m.project ? (projectName.get(m.project) ?? m.project) : '—'}</td>
              <td>{m.task ? <a href={href(['tasks', m.task, 'info'])}>{models.data?.taskNames.get(m.task) ?? m.task}</a> : '—'}</td>
              <td title={m.last_update}>{formatTime(m.last_update)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {models.data && rows.length === 0 && (
        <p className="muted">{hasFilters ? 'No model matches these filters.' : 'No models yet: tasks register them when they save weights.'}</p>
      )}
      <div className="pager">
        <button type="button" disabled={state.page === 0} onClick={() => go({ page: state.page - 1 })}>
          Previous
        </button>
        <span>Page {state.page + 1}</span>
        <button type="button" disabled={!hasNext} onClick={() => go({ page: state.page + 1 })}>
          Next
        </button>
      </div>
    </section>
  );
}
