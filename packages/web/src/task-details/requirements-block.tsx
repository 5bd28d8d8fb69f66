import { useState } from 'react';
import { api, errorMessage } from '../api';
import { TextEditForm } from '../components/text-edit-form';

/** Requirements are text in ClearML (`pip`, `conda`…); anything else is shown as JSON. */
function requirementText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/**
 * The packages a task records (`script.requirements`: pip, conda, org_pip, npm), one block per kind, each editable in
 * place on a draft (what an agent installs: an edited, pinned version wins over the recorded one).
 */
export function RequirementsBlock({
  taskId,
  requirements,
  isEditable,
  onChanged,
}: {
  taskId: string;
  requirements: Record<string, unknown>;
  isEditable: boolean;
  onChanged: () => void;
}) {
  const recorded = Object.entries(requirements).filter(([, text]) => text !== undefined && text !== null && text !== '');
  const [editing, setEditing] = useState<{ kind: string; text: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const save = async () => {
    if (editing === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      if (editing.text !== requirementText(requirements[editing.kind] ?? '')) {
        await api.call('tasks.set_requirements', { task: taskId, requirements: { ...requirements, [editing.kind]: editing.text } });
        onChanged();
      }
      setEditing(undefined);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const editor = editing && (
    <TextEditForm
      label={`${editing.kind} requirements`}
      text={editing.text}
      busy={busy}
      error={error}
      onChange={(text) => setEditing({ ...editing, text })}
      onSave={() => void save()}
      onCancel={() => {
        setEditing(undefined);
        setError(undefined);
      }}
    />
  );
  return (
    <>
      {recorded.length === 0 && editing === undefined && (
        <p className="muted">
          None recorded.{' '}
          {isEditable && (
            <button type="button" onClick={() => setEditing({ kind: 'pip', text: '' })}>
              Add pip requirements
            </button>
          )}
        </p>
      )}
      {recorded.length === 0 && editing !== undefined && (
        <div data-requirements={editing.kind}>
          <h3>{editing.kind}</h3>
          {editor}
        </div>
      )}
      {recorded.map(([kind, text]) => (
        <div key={kind} data-requirements={kind}>
          <div className="section-head">
            <h3>{kind}</h3>
            {isEditable && editing === undefined && (
              <button type="button" aria-label={`Edit ${kind} requirements`} onClick={() => setEditing({ kind, text: requirementText(text) })}>
                Edit
              </button>
            )}
          </div>
          {editing?.kind === kind ? editor : <pre className="code">{requirementText(text)}</pre>}
        </div>
      ))}
    </>
  );
}
