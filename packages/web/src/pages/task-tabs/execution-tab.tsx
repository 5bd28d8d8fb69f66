import { canWriteTask, type Task } from '@tasklane/protocol';
import { Fields } from '../../components/fields';
import { DiffView } from '../../task-details/diff-view';
import { RequirementsBlock } from '../../task-details/requirements-block';
import '../../styles/task-details.css';

export function ExecutionTab({ task, onChanged }: { task: Task; onChanged: () => void }) {
  const s = task.script;
  const container = task.container;
  const hasContainer = Object.values(container).some((v) => v);
  return (
    <div className="execution">
      <h2>Source</h2>
      <Fields
        rows={[
          ['Repository', s.repository],
          ['Branch', s.branch],
          ['Tag', s.tag],
          ['Commit', s.version_num && <code>{s.version_num}</code>],
          ['Entry point', s.entry_point && <code>{s.entry_point}</code>],
          ['Working directory', s.working_dir && <code>{s.working_dir}</code>],
          ['Interpreter', s.binary && <code>{s.binary}</code>],
          ['Output destination', task.output.destination],
        ]}
      />
      <h2>Uncommitted changes</h2>
      {s.diff ? <DiffView text={s.diff} fileName={s.entry_point} /> : <p className="muted">None.</p>}
      <h2>Requirements</h2>
      <RequirementsBlock
        taskId={task.id}
        requirements={(s.requirements ?? {}) as Record<string, unknown>}
        isEditable={canWriteTask(task.status, 'configuration')}
        onChanged={onChanged}
      />
      <h2>Container</h2>
      {hasContainer ? (
        <>
          <Fields
            rows={[
              ['Image', container.image],
              ['Arguments', container.arguments && <code>{container.arguments}</code>],
            ]}
          />
          {container.setup_shell_script && (
            <>
              <h3>Setup shell script</h3>
              <pre className="code">{container.setup_shell_script}</pre>
            </>
          )}
        </>
      ) : (
        <p className="muted">None: the agent runs the task in its own environment.</p>
      )}
    </div>
  );
}
