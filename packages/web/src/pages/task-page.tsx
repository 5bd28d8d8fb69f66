import { useEffect, useMemo, useState } from 'react';
import { TASK_STATUS_LABEL, canWriteTask, isTransitionAllowed, type Task, type TaskStatus } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { ErrorBox } from '../components/error-box';
import { ScalarChart } from '../components/scalar-chart';
import { StatusBadge } from '../components/status-badge';
import { formatTime } from '../format-time';
import { href, navigate } from '../router';
import { useAsync } from '../use-async';
import { progressOf } from './tasks-page';

const TABS = [
  { key: 'info', label: 'Info' },
  { key: 'execution', label: 'Execution' },
  { key: 'configuration', label: 'Configuration' },
  { key: 'console', label: 'Console' },
  { key: 'scalars', label: 'Scalars' },
] as const;
const POLL_MS = 2000;
const LIVE: TaskStatus[] = ['queued', 'in_progress'];

/** Re-runs `tick` every `ms` while `active`. */
function usePolling(active: boolean, ms: number, tick: () => void): void {
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  }, [active, ms, tick]);
}

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
          </div>
        </>
      )}
    </section>
  );
}

function TaskActions({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const s = task.status;
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const moves = (to: TaskStatus) => s !== to && isTransitionAllowed(s, to);
  const actions = [
    {
      label: 'Clone',
      enabled: true,
      act: async () => {
        const { id } = await api.call('tasks.clone', { task: task.id, new_task_name: `Clone of ${task.name}` });
        navigate(href(['tasks', id, 'info']));
      },
    },
    { label: 'Enqueue', enabled: moves('queued'), act: async () => void (await api.call('tasks.enqueue', { task: task.id })) },
    { label: 'Abort', enabled: LIVE.includes(s) && moves('stopped'), act: async () => void (await api.call('tasks.stop', { task: task.id })) },
    {
      label: 'Reset',
      enabled: moves('created'),
      confirm: 'Reset deletes the outputs of this task (console, scalars, plots, artifacts). Continue?',
      act: async () => void (await api.call('tasks.reset', { task: task.id })),
    },
    { label: 'Publish', enabled: moves('published'), act: async () => void (await api.call('tasks.publish', { task: task.id })) },
  ];
  return (
    <div className="actions">
      {actions.map((a) => (
        <button
          key={a.label}
          type="button"
          disabled={busy || !a.enabled}
          title={a.enabled ? undefined : `Not possible while the task is ${TASK_STATUS_LABEL[s]}`}
          onClick={() => {
            if (a.confirm && !window.confirm(a.confirm)) return;
            void run(a.act);
          }}
        >
          {a.label}
        </button>
      ))}
      <ErrorBox message={error} />
    </div>
  );
}

function Fields({ rows }: { rows: [string, string | number | null | undefined][] }) {
  return (
    <dl className="fields">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value === undefined || value === null || value === '' ? '—' : String(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

function InfoTab({ task }: { task: Task }) {
  return (
    <Fields
      rows={[
        ['ID', task.id],
        ['Type', task.type],
        ['Status', TASK_STATUS_LABEL[task.status]],
        ['Status reason', task.status_reason],
        ['User', task.user],
        ['Parent', task.parent],
        ['Created', formatTime(task.created)],
        ['Started', formatTime(task.started)],
        ['Completed', formatTime(task.completed)],
        ['Last update', formatTime(task.last_update)],
        ['Last iteration', task.last_iteration],
        ['Worker', task.last_worker],
        ['Tags', task.tags.join(', ')],
        ['Comment', task.comment],
      ]}
    />
  );
}

function ExecutionTab({ task }: { task: Task }) {
  const s = task.script;
  const requirements = s.requirements ? Object.entries(s.requirements) : [];
  return (
    <>
      <Fields
        rows={[
          ['Repository', s.repository],
          ['Branch', s.branch],
          ['Commit', s.version_num],
          ['Entry point', s.entry_point],
          ['Working directory', s.working_dir],
          ['Interpreter', s.binary],
          ['Container image', task.container.image as string | undefined],
        ]}
      />
      {requirements.map(([kind, text]) => (
        <div key={kind}>
          <h3>Requirements ({kind})</h3>
          <pre className="code">{typeof text === 'string' ? text : JSON.stringify(text, null, 2)}</pre>
        </div>
      ))}
      <h3>Uncommitted changes</h3>
      {s.diff ? <pre className="code diff">{s.diff}</pre> : <p className="muted">None.</p>}
    </>
  );
}

function ConfigurationTab({ task }: { task: Task }) {
  const sections = Object.entries(task.hyperparams).sort(([a], [b]) => a.localeCompare(b));
  const objects = Object.entries(task.configuration);
  return (
    <>
      <p className="muted">
        {canWriteTask(task.status, 'configuration')
          ? 'This draft can be edited before it is enqueued.'
          : 'Read-only in this status: clone the task to change its configuration.'}
      </p>
      <h2>Hyperparameters</h2>
      {sections.length === 0 && <p className="muted">None.</p>}
      {sections.map(([section, params]) => (
        <div key={section} className="param-section" data-section={section}>
          <h3>{section}</h3>
          <table className="grid params">
            <tbody>
              {Object.entries(params).map(([name, item]) => (
                <tr key={name}>
                  <th>{item.name ?? name}</th>
                  <td>{String(item.value ?? '')}</td>
                  <td className="muted">{item.type ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      <h2>Configuration objects</h2>
      {objects.length === 0 && <p className="muted">None.</p>}
      {objects.map(([name, item]) => (
        <div key={name}>
          <h3>
            {item.name ?? name} {item.type && <span className="muted">({item.type})</span>}
          </h3>
          <pre className="code">{typeof item.value === 'string' ? item.value : JSON.stringify(item.value, null, 2)}</pre>
        </div>
      ))}
    </>
  );
}

function ConsoleTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const log = useAsync(
    () => api.call('events.get_task_log', { task: taskId, batch_size: 1000, navigate_earlier: true, order: 'asc' }),
    [taskId],
  );
  usePolling(isLive, POLL_MS, log.reload);
  const events = log.data?.events ?? [];
  return (
    <>
      <ErrorBox message={log.error} />
      {log.data && log.data.total > events.length && (
        <p className="muted">
          Showing the last {events.length} of {log.data.total} lines.
        </p>
      )}
      {log.data && events.length === 0 && <p className="muted">No console output.</p>}
      {events.length > 0 && <pre className="code console">{events.map((e) => e.msg.replace(/\n$/, '')).join('\n')}</pre>}
    </>
  );
}

function ScalarsTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const scalars = useAsync(() => api.call('events.scalar_metrics_iter_histogram', { task: taskId, samples: 2000 }), [taskId]);
  usePolling(isLive, POLL_MS * 5, scalars.reload);
  const metrics = useMemo(
    () => Object.entries(scalars.data ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([m, v]) => [m, Object.values(v)] as const),
    [scalars.data],
  );
  return (
    <>
      <ErrorBox message={scalars.error} />
      {scalars.data && metrics.length === 0 && <p className="muted">No scalars reported.</p>}
      <div className="charts">
        {metrics.map(([metric, variants]) => (
          <ScalarChart key={metric} metric={metric} variants={variants} />
        ))}
      </div>
    </>
  );
}
