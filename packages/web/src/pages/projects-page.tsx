import type { Project } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { formatTime } from '../format-time';
import { href } from '../router';
import { useAsync } from '../use-async';

interface ProjectRow {
  project: Partial<Project> & { id: string };
  depth: number;
  ownTasks: number;
  allTasks: number;
}

async function loadProjects(): Promise<ProjectRow[]> {
  const [{ projects: listed }, { tasks }] = await Promise.all([
    api.call('projects.get_all', { order_by: ['name'], page_size: 10_000 }),
    // TODO(#7): a server-side count (ClearML's projects.get_all_ex with stats) once projects hold many tasks.
    api.call('tasks.get_all', { only_fields: ['project'], page_size: 10_000, system_tags: ['-archived'] }),
  ]);
  // Partial() makes id optional in the type; the server always sends it.
  const projects = listed as (Partial<Project> & { id: string })[];
  const own = new Map<string, number>();
  for (const task of tasks) if (task.project) own.set(task.project, (own.get(task.project) ?? 0) + 1);
  const all = new Map<string, number>();
  for (const project of projects) {
    const count = own.get(project.id) ?? 0;
    for (const id of [project.id, ...(project.path ?? [])]) all.set(id, (all.get(id) ?? 0) + count);
  }
  return projects
    .slice()
    .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))
    .map((project) => ({
      project,
      depth: project.path?.length ?? 0,
      ownTasks: own.get(project.id) ?? 0,
      allTasks: all.get(project.id) ?? 0,
    }));
}

export function ProjectsPage() {
  const { data, error, loading } = useAsync(loadProjects, []);
  return (
    <section>
      <h1>Projects</h1>
      <ErrorBox message={error} />
      {loading && !data && <p className="muted">Loading…</p>}
      {data && data.length === 0 && <p className="muted">No projects yet. Run a script with Task.init to create one.</p>}
      {data && data.length > 0 && (
        <table className="grid projects">
          <thead>
            <tr>
              <th>Project</th>
              <th className="num">Tasks</th>
              <th className="num">With sub-projects</th>
              <th>Last update</th>
            </tr>
          </thead>
          <tbody>
            {data.map(({ project, depth, ownTasks, allTasks }) => (
              <tr key={project.id} data-project={project.name}>
                <td style={{ paddingLeft: `${0.5 + depth * 1.25}rem` }}>
                  <a href={href(['projects', project.id, 'tasks'])} title={project.name}>
                    {project.basename ?? project.name}
                  </a>
                </td>
                <td className="num">{ownTasks}</td>
                <td className="num">{allTasks}</td>
                <td>{formatTime(project.last_update)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
