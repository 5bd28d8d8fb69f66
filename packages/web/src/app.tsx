import { href, useRoute } from './router';
import { ComparePage } from './pages/compare-page';
import { ModelPage } from './pages/model-page';
import { ModelsPage } from './pages/models-page';
import { ProjectsPage } from './pages/projects-page';
import { QueuesPage } from './pages/queues-page';
import { TasksPage } from './pages/tasks-page';
import { TaskPage } from './pages/task-page';

/**
 * Addresses (hash routing, every page shareable):
 * `#/projects`, `#/projects/<id>/tasks?...`, `#/tasks/<id>/<tab>`, `#/compare?ids=a,b&...`, `#/queues`,
 * `#/models?...`, `#/models/<id>`.
 */
export function App() {
  const route = useRoute();
  const [first, id, second] = route.parts;
  let page;
  if (first === 'projects' && id !== undefined && second === 'tasks') page = <TasksPage projectId={id} query={route.query} />;
  else if (first === 'tasks' && id !== undefined) page = <TaskPage taskId={id} tab={second ?? 'info'} />;
  else if (first === 'compare') page = <ComparePage query={route.query} />;
  else if (first === 'queues') page = <QueuesPage />;
  else if (first === 'models' && id !== undefined) page = <ModelPage modelId={id} />;
  else if (first === 'models') page = <ModelsPage query={route.query} />;
  else if (first === 'projects' || first === undefined) page = <ProjectsPage />;
  else page = <p className="error">No page at this address. <a href={href(['projects'])}>Go to the projects</a>.</p>;
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href={href(['projects'])}>Tasklane</a>
        <nav>
          <a href={href(['projects'])}>Projects</a>
          <a href={href(['models'])}>Models</a>
          <a href={href(['queues'])}>Queues &amp; workers</a>
        </nav>
      </header>
      <main>{page}</main>
    </div>
  );
}
