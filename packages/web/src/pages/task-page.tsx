import { SYSTEM_TAG, TASK_STATUS_LABEL, type TaskStatus } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { TaskActions } from '../components/task-actions';
import { href } from '../router';
import { TaskTags } from '../task-details/task-tags';
import { useAsync } from '../use-async';
import { POLL_MS, usePolling } from '../use-polling';
import { progressOf } from './tasks-page';
import { ArtifactsTab } from './task-tabs/artifacts-tab';
import { ConfigurationTab } from './task-tabs/configuration-tab';
import { ConsoleTab } from './task-tabs/console-tab';
import { DebugSamplesTab } from './task-tabs/debug-samples-tab';
import { ExecutionTab } from './task-tabs/execution-tab';
import { InfoTab } from './task-tabs/info-tab';
import { ModelsTab } from './task-tabs/models-tab';
import { PlotsTab } from './task-tabs/plots-tab';
import { ScalarsTab } from './task-tabs/scalars-tab';
import '../styles/task-details.css';

const TABS = [
  { key: 'info', label: 'Info' },
  { key: 'execution', label: 'Execution' },
  { key: 'configuration', label: 'Configuration' },
  { key: 'artifacts', label: 'Artifacts' },
  { key: 'models', label: 'Models' },
  { key: 'console', label: 'Console' },
  { key: 'scalars', label: 'Scalars' },
  { key: 'plots', label: 'Plots' },
  { key: 'debug-samples', label: 'Debug samples' },
] as const;
const LIVE: TaskStatus[] = ['queued', 'in_progress'];

export function TaskPage({ taskId, tab }: { taskId: string; tab: string }) {
  const task = useAsync(async () => (await api.call('tasks.get_by_id', { task: taskId })).task, [taskId]);
  // After a navigation to another task (a clone), the previous one is not shown while the new one loads.
  const t = task.data?.id === taskId ? task.data : undefined;
  const isLive = t !== undefined && LIVE.includes(t.status);
  usePolling(isLive, POLL_MS, task.reload);
  const projectId = t?.project;
  const project = useAsync(
    async () => (projectId ? (await api.call('projects.get_by_id', { project: projectId })).project.name : undefined),
    [projectId],
  );
  return (
    <section>
      <p className="crumbs">
        <a href={href(['projects'])}>Projects</a>
        {t?.project && (
          <>
            {' / '}
            <a href={href(['projects', t.project, 'tasks'])}>{project.data ?? 'Tasks'}</a>
          </>
        )}
      </p>
      <ErrorBox message={task.error} />
      {t && (
        <>
          <h1 className="task-title">
            <span className="task-name">{t.name}</span> <StatusBadge status={t.status} progress={progressOf(t)} />
            {t.system_tags.includes(SYSTEM_TAG.archived) && <span className="archived-badge">Archived</span>}
          </h1>
          <div className="task-subtitle">
            <span className="muted">{t.type}</span>
            <code className="task-id" title="Task ID">
              {t.id}
            </code>
            {t.status_message && <span className="muted" title={`Status: ${TASK_STATUS_LABEL[t.status]}`}>{t.status_message}</span>}
            <TaskTags task={t} onChanged={task.reload} />
          </div>
          <TaskActions task={t} onChanged={task.reload} />
          <nav className="tabs" role="tablist">
            {TABS.map((x) => (
              <a key={x.key} role="tab" aria-selected={tab === x.key} className={tab === x.key ? 'active' : ''} href={href(['tasks', taskId, x.key])}>
                {x.label}
              </a>
            ))}
          </nav>
          <div className="tab-body" key={taskId}>
            {tab === 'info' && <InfoTab task={t} />}
            {tab === 'execution' && <ExecutionTab task={t} onChanged={task.reload} />}
            {tab === 'configuration' && <ConfigurationTab task={t} onChanged={task.reload} />}
            {tab === 'console' && <ConsoleTab taskId={taskId} taskName={t.name} isLive={isLive} />}
            {tab === 'scalars' && <ScalarsTab taskId={taskId} isLive={isLive} />}
            {tab === 'artifacts' && <ArtifactsTab task={t} />}
            {tab === 'models' && <ModelsTab task={t} />}
            {tab === 'plots' && <PlotsTab taskId={taskId} isLive={isLive} />}
            {tab === 'debug-samples' && <DebugSamplesTab taskId={taskId} isLive={isLive} />}
          </div>
        </>
      )}
    </section>
  );
}
