import { ErrorBox } from './error-box';

/** A text edited in place: a textarea sized to its lines, the server's refusal if any, Save and Cancel. */
export function TextEditForm({
  label,
  text,
  busy,
  error,
  onChange,
  onSave,
  onCancel,
}: {
  label: string;
  text: string;
  busy: boolean;
  error: string | undefined;
  onChange: (text: string) => void;
  onSave: () => void;
  onCancel: () => void;
}) {
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        onSave();
      }}
    >
      <textarea
        className="config-text"
        aria-label={label}
        value={text}
        rows={Math.min(30, Math.max(6, text.split('\n').length + 1))}
        spellCheck={false}
        disabled={busy}
        onChange={(e) => onChange(e.target.value)}
      />
      <ErrorBox message={error} />
      <div className="edit-buttons">
        <button type="submit" className="primary" disabled={busy}>
          Save
        </button>
        <button type="button" disabled={busy} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
