import { useState } from 'react';
import type { ConfigurationItem } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { ErrorBox } from '../components/error-box';

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
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <textarea
            className="config-text"
            aria-label={`Text of ${name}`}
            value={draft}
            rows={Math.min(30, Math.max(6, draft.split('\n').length + 1))}
            spellCheck={false}
            disabled={busy}
            onChange={(e) => setDraft(e.target.value)}
          />
          <ErrorBox message={error} />
          <div className="edit-buttons">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button
              type="button"
              disabled={busy}
              onClick={() => {
                setDraft(undefined);
                setError(undefined);
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
