import { PROGRESS_RUNTIME_KEY, SYSTEM_TAG, TASK_STATUS_LABEL, type Task } from '@tasklane/protocol';
import { api } from '../../api';
import { Fields } from '../../components/fields';
import { formatTime } from '../../format-time';
import { href } from '../../router';
import { useAsync } from '../../use-async';
import { formatDuration } from '../../task-details/format-duration';
import { runSeconds } from '../../tasks-table/format-duration';
import '../../styles/task-details.css';

/** Names of the task's project, parent and queue (the task holds only their ids); missing ones stay undefined. */
async function loadNames(task: Task) {
  const [project, parent, queue] = await Promise.all([
    task.project ? api.call('projects.get_by_id', { project: task.project }).then((r) => r.project.name, () => undefined) : undefined,
    task.parent
      ? api.call('tasks.get_all', { id: [task.parent], only_fields: ['name'] }).then((r) => r.tasks[0]?.name, () => undefined)
      : undefined,
    task.execution.queue
      ? api.call('queues.get_by_id', { queue: task.execution.queue }).then((r) => r.queue.name, () => undefined)
      : undefined,
  ]);
  return { project, parent, queue };
}

export function InfoTab({ task }: { task: Task }) {
  const names = useAsync(() => loadNames(task), [task.project, task.parent, task.execution.queue]);
  const runTime = runSeconds(task, Date.now());
  const progress = task.runtime[PROGRESS_RUNTIME_KEY];
  const runtime = Object.entries(task.runtime).filter(([key]) => key !== PROGRESS_RUNTIME_KEY);
  const link = (to: string, text: string | undefined, id: string) => (
    <a href={to}>
      {text ?? id} {text && <span className="muted mono">({id})</span>}
    </a>
  );
  return (
    <div className="info">
      <Fields
        rows={[
          ['ID', <code key="id">{task.id}</code>],
          ['Name', task.name],
          ['Type', task.type],
          ['Status', TASK_STATUS_LABEL[task.status] ?? task.status],
          ['Status reason', task.status_reason],
          ['Status message', task.status_message],
          ['Archived', task.system_tags.includes(SYSTEM_TAG.archived) ? 'yes' : 'no'],
          ['Project', task.project && link(href(['projects', task.project, 'tasks']), names.data?.project, task.project)],
          ['Parent', task.parent && link(href(['tasks', task.parent, 'info']), names.data?.parent, task.parent)],
          ['User', task.user],
          ['Created', formatTime(task.created)],
          ['Started', task.started && formatTime(task.started)],
          ['Completed', task.completed && formatTime(task.completed)],
          ['Published', task.published && formatTime(task.published)],
          ['Last update', formatTime(task.last_update)],
          ['Run time', runTime === undefined ? undefined : formatDuration(runTime)],
          ['Last iteration', task.last_iteration],
          ['Progress', typeof progress === 'number' || typeof progress === 'string' ? `${progress}%` : undefined],
          ['Queue', task.execution.queue && (names.data?.queue ?? task.execution.queue)],
          ['Worker', task.last_worker],
          ['Last worker report', task.last_worker_report && formatTime(task.last_worker_report)],
          ['Tags', task.tags.length > 0 ? task.tags.join(', ') : undefined],
          ['System tags', task.system_tags.length > 0 ? task.system_tags.join(', ') : undefined],
          ['Comment', task.comment && <span className="pre-wrap">{task.comment}</span>],
        ]}
      />
      {runtime.length > 0 && (
        <>
          <h2>Runtime properties</h2>
          <Fields rows={runtime.map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)])} />
        </>
      )}
    </div>
  );
}
