import { SignInPage } from './auth/sign-in-page';
import { useSession, type SessionState } from './auth/session-store';
import { UserMenu } from './auth/user-menu';
import { href, useRoute } from './router';
import { ComparePage } from './pages/compare-page';
import { ModelPage } from './pages/model-page';
import { ModelsPage } from './pages/models-page';
import { ProfilePage } from './pages/profile-page';
import { ProjectsPage } from './pages/projects-page';
import { QueuesPage } from './pages/queues-page';
import { TasksPage } from './pages/tasks-page';
import { TaskPage } from './pages/task-page';

/**
 * The app once the server has said who the page is for. Where authentication is on and there is no working
 * session, the sign-in page takes the place of every page; the address is kept, so signing in opens the page the
 * user was going to (or was on when the session ended).
 */
export function App() {
  const session = useSession();
  if (session.phase === 'checking') return <div className="app-checking" aria-busy="true" />;
  if (session.phase === 'signed-out') return <SignInPage ended={session.ended} lastUserName={session.lastUserName} />;
  return <Pages session={session} />;
}

/**
 * Addresses (hash routing, every page shareable):
 * `#/projects`, `#/projects/<id>/tasks?...`, `#/tasks/<id>/<tab>`, `#/compare?ids=a,b&...`, `#/queues`,
 * `#/models?...`, `#/models/<id>`, `#/profile`.
 */
function Pages({ session }: { session: Exclude<SessionState, { phase: 'checking' | 'signed-out' }> }) {
  const route = useRoute();
  const [first, id, second] = route.parts;
  let page;
  if (first === 'projects' && id !== undefined && second === 'tasks') page = <TasksPage projectId={id} query={route.query} />;
  else if (first === 'tasks' && id !== undefined) page = <TaskPage taskId={id} tab={second ?? 'info'} />;
  else if (first === 'compare') page = <ComparePage query={route.query} />;
  else if (first === 'queues') page = <QueuesPage />;
  else if (first === 'models' && id !== undefined) page = <ModelPage modelId={id} />;
  else if (first === 'models') page = <ModelsPage query={route.query} />;
  else if (first === 'profile') page = <ProfilePage />;
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
        {session.phase !== 'unknown' && <UserMenu user={session.user} isAuthOn={session.phase === 'signed-in'} />}
      </header>
      <main>{page}</main>
    </div>
  );
}
