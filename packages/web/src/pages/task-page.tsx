import type { TaskStatus } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { StatusBadge } from '../components/status-badge';
import { TaskActions } from '../components/task-actions';
import { href } from '../router';
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
  const isLive = task.data !== undefined && LIVE.includes(task.data.status);
  usePolling(isLive, POLL_MS, task.reload);
  const t = task.data;
  return (
    <section>
      <p className="crumbs">
        <a href={href(['projects'])}>Projects</a>
        {t?.project && (
          <>
            {' / '}
            <a href={href(['projects', t.project, 'tasks'])}>Tasks</a>
          </>
        )}
      </p>
      <ErrorBox message={task.error} />
      {t && (
        <>
          <h1 className="task-title">
            <span className="task-name">{t.name}</span> <StatusBadge status={t.status} progress={progressOf(t)} />
          </h1>
          <TaskActions task={t} onChanged={task.reload} />
          <nav className="tabs" role="tablist">
            {TABS.map((x) => (
              <a key={x.key} role="tab" aria-selected={tab === x.key} className={tab === x.key ? 'active' : ''} href={href(['tasks', taskId, x.key])}>
                {x.label}
              </a>
            ))}
          </nav>
          <div className="tab-body">
            {tab === 'info' && <InfoTab task={t} />}
            {tab === 'execution' && <ExecutionTab task={t} />}
            {tab === 'configuration' && <ConfigurationTab task={t} />}
            {tab === 'console' && <ConsoleTab taskId={taskId} isLive={isLive} />}
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
