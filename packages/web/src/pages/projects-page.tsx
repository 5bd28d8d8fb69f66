import { useState } from 'react';
import type { Project, ProjectTaskStats } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { formatTime } from '../format-time';
import { href } from '../router';
import { ActionDialog } from '../task-details/action-dialog';
import { useAsync } from '../use-async';
import '../styles/tasks.css';

// Partial() makes id and name optional in the type; the server always sends them.
type ProjectItem = Partial<Project> & { id: string; name: string; stats?: { active?: ProjectTaskStats } };

interface ProjectRow {
  project: ProjectItem;
  depth: number;
  own: ProjectTaskStats | undefined;
  all: ProjectTaskStats | undefined;
}

/** Orders full names as a tree: a parent right before its children ("a", "a/b", "a/b/c", "ab"). */
function byPath(a: ProjectItem, b: ProjectItem): number {
  const x = a.name.split('/');
  const y = b.name.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const order = x[i]!.localeCompare(y[i]!);
    if (order !== 0) return order;
  }
  return x.length - y.length;
}

async function loadProjects(): Promise<ProjectRow[]> {
  // Counted on the server: own tasks, and with those of every sub-project.
  const [own, all] = await Promise.all([
    api.call('projects.get_all_ex', { order_by: ['name'], page_size: 10_000, include_stats: true, stats_with_children: false }),
    api.call('projects.get_all_ex', { order_by: ['name'], page_size: 10_000, include_stats: true, stats_with_children: true }),
  ]);
  const allById = new Map(all.projects.map((p) => [p.id, p.stats?.active]));
  return (own.projects as ProjectItem[])
    .slice()
    .sort(byPath)
    .map((project) => ({
      project,
      depth: project.path?.length ?? 0,
      own: project.stats?.active,
      all: allById.get(project.id),
    }));
}

type Edit =
  | { kind: 'create'; parent?: ProjectItem }
  | { kind: 'rename'; project: ProjectItem }
  | { kind: 'move'; project: ProjectItem };

export function ProjectsPage() {
  const { data, error, loading, reload } = useAsync(loadProjects, []);
  const [edit, setEdit] = useState<Edit>();
  return (
    <section>
      <h1>Projects</h1>
      <div className="project-toolbar">
        <button type="button" className="primary" onClick={() => setEdit({ kind: 'create' })}>
          New project
        </button>
      </div>
      <ErrorBox message={error} />
      {loading && !data && <p className="muted">Loading…</p>}
      {data && data.length === 0 && <p className="muted">No projects yet. Create one, or run a script with Task.init.</p>}
      {data && data.length > 0 && (
        <table className="grid projects">
          <thead>
            <tr>
              <th>Project</th>
              <th className="num">Tasks</th>
              <th className="num">With sub-projects</th>
              <th className="num">Running</th>
              <th>Last activity</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map(({ project, depth, own, all }) => (
              <tr key={project.id} data-project={project.name}>
                <td style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
                  <a href={href(['projects', project.id, 'tasks'])} title={project.name}>
                    {project.basename ?? project.name}
                  </a>
                </td>
                <td className="num">{own?.total_tasks ?? 0}</td>
                <td className="num">{all?.total_tasks ?? 0}</td>
                <td className="num">{all?.status_count.in_progress ?? 0}</td>
                <td>{formatTime(all?.last_update ?? project.last_update)}</td>
                <td className="actions-cell">
                  <button type="button" aria-label={`Rename ${project.name}`} onClick={() => setEdit({ kind: 'rename', project })}>
                    Rename
                  </button>
                  <button type="button" aria-label={`Move ${project.name}`} onClick={() => setEdit({ kind: 'move', project })}>
                    Move
                  </button>
                  <button
                    type="button"
                    aria-label={`New sub-project of ${project.name}`}
                    onClick={() => setEdit({ kind: 'create', parent: project })}
                  >
                    New sub-project
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {edit && (
        <ProjectDialog
          edit={edit}
          onClose={() => setEdit(undefined)}
          onSaved={reload}
        />
      )}
    </section>
  );
}

/** Create, rename or move: one text field and the server's answer, its error shown as it says it. */
function ProjectDialog({ edit, onClose, onSaved }: { edit: Edit; onClose: () => void; onSaved: () => void }) {
  const initial =
    edit.kind === 'create'
      ? edit.parent
        ? `${edit.parent.name}/`
        : ''
      : edit.kind === 'rename'
        ? edit.project.name
        : edit.project.name.split('/').slice(0, -1).join('/');
  const [value, setValue] = useState(initial);
  const save = async () => {
    if (edit.kind === 'create') await api.call('projects.create', { name: value });
    else if (edit.kind === 'rename') await api.call('projects.update', { project: edit.project.id, name: value });
    else await api.call('projects.move', { project: edit.project.id, new_location: value });
    onSaved();
  };
  const title =
    edit.kind === 'create' ? 'New project' : edit.kind === 'rename' ? `Rename ${edit.project.name}` : `Move ${edit.project.name}`;
  const label = edit.kind === 'move' ? 'New parent project (empty: top level)' : 'Full name (parts separated by "/")';
  return (
    <ActionDialog title={title} submitLabel={edit.kind === 'create' ? 'Create' : edit.kind === 'rename' ? 'Rename' : 'Move'} onClose={onClose} onSubmit={save}>
      <label>
        {label}
        <input autoFocus value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
    </ActionDialog>
  );
}
