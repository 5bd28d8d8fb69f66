import { href, useRoute } from './router';
import { ProjectsPage } from './pages/projects-page';
import { TasksPage } from './pages/tasks-page';
import { TaskPage } from './pages/task-page';

export function App() {
  const route = useRoute();
  const [first, id, second, tab] = route.parts;
  let page;
  if (first === 'projects' && id !== undefined && second === 'tasks') page = <TasksPage projectId={id} query={route.query} />;
  else if (first === 'tasks' && id !== undefined) page = <TaskPage taskId={id} tab={second ?? 'info'} />;
  else if (first === 'projects' || first === undefined) page = <ProjectsPage />;
  else page = <p className="error">No page at this address. <a href={href(['projects'])}>Go to the projects</a>.</p>;
  void tab;
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href={href(['projects'])}>Tasklane</a>
        <nav>
          <a href={href(['projects'])}>Projects</a>
        </nav>
      </header>
      <main>{page}</main>
    </div>
  );
}
