import { useState } from 'react';
import type { Task } from '@tasklane/protocol';
import { api } from '../api';
import { href, navigate } from '../router';
import { useAsync } from '../use-async';
import { ActionDialog } from './action-dialog';

/** Clone: a new draft with the task's configuration, named and placed by the user; opens it for editing. */
export function CloneDialog({ task, onClose }: { task: Task; onClose: () => void }) {
  const [name, setName] = useState(`Clone of ${task.name}`);
  const [project, setProject] = useState(task.project ?? '');
  const [comment, setComment] = useState(task.comment ?? '');
  const projects = useAsync(async () => (await api.call('projects.get_all', { only_fields: ['name'], order_by: ['name'] })).projects, []);
  return (
    <ActionDialog
      title="Clone task"
      submitLabel="Clone"
      onClose={onClose}
      onSubmit={async () => {
        const { id } = await api.call('tasks.clone', {
          task: task.id,
          new_task_name: name.trim(),
          new_task_project: project || null,
          new_task_comment: comment,
        });
        navigate(href(['tasks', id, 'configuration']));
      }}
    >
      <label>
        Name
        <input name="name" value={name} onChange={(e) => setName(e.target.value)} required minLength={3} autoFocus />
      </label>
      <label>
        Project
        <select name="project" value={project} onChange={(e) => setProject(e.target.value)}>
          <option value="">(no project)</option>
          {(projects.data ?? []).map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
          {/* Keep the current project choosable while the list loads. */}
          {task.project && !projects.data && <option value={task.project}>{task.project}</option>}
        </select>
      </label>
      {projects.error && <p className="error">{projects.error}</p>}
      <label>
        Description
        <textarea name="comment" rows={3} value={comment} onChange={(e) => setComment(e.target.value)} />
      </label>
    </ActionDialog>
  );
}
