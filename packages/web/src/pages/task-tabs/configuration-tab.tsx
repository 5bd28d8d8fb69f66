import { useState } from 'react';
import { canWriteTask, type Task } from '@tasklane/protocol';
import { AddParamDialog } from '../../task-details/add-param-dialog';
import { ConfigurationObject } from '../../task-details/configuration-object';
import { ParamSection } from '../../task-details/param-section';
import '../../styles/task-details.css';

/** ClearML keeps user properties as the hyperparameter section "properties". */
const PROPERTIES = 'properties';

export function ConfigurationTab({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const [isAdding, setAdding] = useState(false);
  const isEditable = canWriteTask(task.status, 'configuration');
  const sections = Object.entries(task.hyperparams)
    .filter(([name]) => name !== PROPERTIES)
    .sort(([a], [b]) => a.localeCompare(b));
  const objects = Object.entries(task.configuration).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="configuration">
      {isEditable ? (
        <p className="hint">This draft can be edited before it is enqueued: use Edit on a section, then Save.</p>
      ) : (
        <p className="hint read-only">
          Read-only: only a draft can be edited.{' '}
          {task.status === 'published' ? 'A published task stays as it is;' : 'Reset it, or'} clone it to change its
          configuration and run it again.
        </p>
      )}
      <div className="section-head">
        <h2>Hyperparameters</h2>
        {isEditable && (
          <button type="button" onClick={() => setAdding(true)}>
            Add parameter
          </button>
        )}
      </div>
      {sections.length === 0 && <p className="muted">None.</p>}
      {sections.map(([section, params]) => (
        <ParamSection key={section} taskId={task.id} section={section} params={params} isEditable={isEditable} onChanged={onChanged} />
      ))}
      <h2>User properties</h2>
      <ParamSection
        taskId={task.id}
        section={PROPERTIES}
        title="User properties"
        isTitleShown={false}
        params={task.hyperparams[PROPERTIES] ?? {}}
        isEditable={isEditable}
        onChanged={onChanged}
      />
      <h2>Configuration objects</h2>
      {objects.length === 0 && <p className="muted">None.</p>}
      {objects.map(([name, item]) => (
        <ConfigurationObject key={name} taskId={task.id} name={name} item={item} isEditable={isEditable} onChanged={onChanged} />
      ))}
      {isAdding && (
        <AddParamDialog
          taskId={task.id}
          sections={sections.map(([s]) => s)}
          defaultSection={sections[0]?.[0] ?? 'Args'}
          onClose={() => setAdding(false)}
          onDone={onChanged}
        />
      )}
    </div>
  );
}
