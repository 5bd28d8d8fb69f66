import { useState } from 'react';
import type { ConfigurationItem } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { TextEditForm } from '../components/text-edit-form';

/** A configuration object (a named text: JSON, YAML, HOCON…), with in-place editing of its text on a draft. */
export function ConfigurationObject({
  taskId,
  name,
  item,
  isEditable,
  onChanged,
}: {
  taskId: string;
  name: string;
  item: ConfigurationItem;
  isEditable: boolean;
  onChanged: () => void;
}) {
  const text = String(item.value ?? '');
  const [draft, setDraft] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const save = async () => {
    if (draft === undefined) return;
    setBusy(true);
    setError(undefined);
    try {
      if (draft !== text) {
        await api.call('tasks.edit_configuration', { task: taskId, configuration: [{ ...item, name, value: draft }] });
        onChanged();
      }
      setDraft(undefined);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="config-object" data-config={name}>
      <div className="section-head">
        <h3>
          {item.name ?? name} {item.type && <span className="muted">({item.type})</span>}
        </h3>
        {isEditable && draft === undefined && (
          <button type="button" aria-label={`Edit ${name}`} onClick={() => setDraft(text)}>
            Edit
          </button>
        )}
      </div>
      {item.description && <p className="muted">{item.description}</p>}
      {draft === undefined ? (
        text ? <pre className="code">{text}</pre> : <p className="muted">Empty.</p>
      ) : (
        <TextEditForm
          label={`Text of ${name}`}
          text={draft}
          busy={busy}
          error={error}
          onChange={setDraft}
          onSave={() => void save()}
          onCancel={() => {
            setDraft(undefined);
            setError(undefined);
          }}
        />
      )}
    </div>
  );
}
