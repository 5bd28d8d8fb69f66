import type { Task } from '@tasklane/protocol';

// TODO(#7): placeholder, filled in by the task outputs work.
export function ModelsTab({ task }: { task: Task }) {
  return <p className="muted">Nothing to show yet for {task.name}.</p>;
}
