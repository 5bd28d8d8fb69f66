import { TASK_STATUS_LABEL, type Task } from '@tasklane/protocol';
import { Fields } from '../../components/fields';
import { formatTime } from '../../format-time';

export function InfoTab({ task }: { task: Task }) {
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

