import { useState, type KeyboardEvent } from 'react';
import type { HyperParamItem } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { ErrorBox } from '../components/error-box';

interface Row {
  name: string;
  value: string;
  /** Kept when the value is saved, so an edit does not lose what the SDK recorded. */
  item?: HyperParamItem;
  isNew: boolean;
  isDeleted: boolean;
}

function rowsOf(params: Record<string, HyperParamItem>): Row[] {
  return Object.entries(params)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, item]) => ({ name, value: String(item.value ?? ''), item, isNew: false, isDeleted: false }));
}

/**
 * One hyperparameter section (ClearML's "Args", "General", "properties"…) as a table; on a draft it can be edited in
 * place: change values, add and delete parameters, then save or cancel.
 */
export function ParamSection({
  taskId,
  section,
  title = section,
  isTitleShown = true,
  params,
  isEditable,
  onChanged,
}: {
  taskId: string;
  section: string;
  title?: string;
  /** False when a heading above already names the section. */
  isTitleShown?: boolean;
  params: Record<string, HyperParamItem>;
  isEditable: boolean;
  onChanged: () => void;
}) {
  const [rows, setRows] = useState<Row[]>();
  const [newName, setNewName] = useState('');
  const [newValue, setNewValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const isEditing = rows !== undefined;
  const update = (index: number, patch: Partial<Row>) => setRows((rs) => rs?.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  const cancel = () => {
    setRows(undefined);
    setNewName('');
    setNewValue('');
    setError(undefined);
  };
  const addRow = () => {
    const name = newName.trim();
    if (!name) return setError('Give the new parameter a name.');
    if (rows?.some((r) => r.name === name && !r.isDeleted)) return setError(`"${name}" is already a parameter of ${title}.`);
    setError(undefined);
    setRows((rs) => [...(rs ?? []), { name, value: newValue, isNew: true, isDeleted: false }]);
    setNewName('');
    setNewValue('');
  };
  const addOnEnter = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    addRow();
  };
  const save = async () => {
    if (!rows) return;
    // A name typed in the add row but not added yet is meant to be saved too.
    const pending = newName.trim();
    if (pending && rows.some((r) => r.name === pending && !r.isDeleted)) return setError(`"${pending}" is already a parameter of ${title}.`);
    const all = pending ? [...rows, { name: pending, value: newValue, isNew: true, isDeleted: false }] : rows;
    const deleted = all.filter((r) => r.isDeleted && !r.isNew).map((r) => ({ section, name: r.name }));
    const edited = all
      .filter((r) => !r.isDeleted && (r.isNew || r.value !== String(r.item?.value ?? '')))
      .map((r) => ({ ...r.item, section, name: r.name, value: r.value }));
    setBusy(true);
    setError(undefined);
    try {
      if (deleted.length > 0) await api.call('tasks.delete_hyper_params', { task: taskId, hyperparams: deleted });
      if (edited.length > 0) await api.call('tasks.edit_hyper_params', { task: taskId, hyperparams: edited });
      cancel();
      if (deleted.length > 0 || edited.length > 0) onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const shown = rows ?? rowsOf(params);
  return (
    <div className={`param-section${isEditing ? ' editing' : ''}`} data-section={section}>
      <div className="section-head">
        {isTitleShown ? <h3>{title}</h3> : <span className="section-spacer" />}
        {isEditable && !isEditing && (
          <button type="button" onClick={() => setRows(rowsOf(params))} aria-label={`Edit ${title}`}>
            Edit
          </button>
        )}
      </div>
      {shown.length === 0 && !isEditing && <p className="muted">None.</p>}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {(shown.length > 0 || isEditing) && (
          <table className="grid params">
            <tbody>
              {shown.map((row, i) => (
                <tr key={row.name} data-param={row.name} className={row.isDeleted ? 'deleted' : row.isNew ? 'added' : undefined}>
                  <th title={row.item?.description}>{row.name}</th>
                  {isEditing ? (
                    <td>
                      <input
                        aria-label={`Value of ${row.name}`}
                        value={row.value}
                        disabled={row.isDeleted || busy}
                        onChange={(e) => update(i, { value: e.target.value })}
                      />
                    </td>
                  ) : (
                    <td className="param-value">{row.value}</td>
                  )}
                  <td className="muted param-type">{row.item?.type ?? ''}</td>
                  {isEditing && (
                    <td className="row-actions">
                      <button
                        type="button"
                        aria-label={`${row.isDeleted ? 'Keep' : 'Delete'} ${row.name}`}
                        disabled={busy}
                        onClick={() =>
                          row.isNew ? setRows((rs) => rs?.filter((_, j) => j !== i)) : update(i, { isDeleted: !row.isDeleted })
                        }
                      >
                        {row.isDeleted ? 'Undo' : 'Delete'}
                      </button>
                    </td>
                  )}
                </tr>
              ))}
              {isEditing && (
                <tr className="add-row">
                  <th>
                    <input aria-label={`New parameter name in ${title}`} placeholder="name" value={newName} disabled={busy} onChange={(e) => setNewName(e.target.value)} onKeyDown={addOnEnter} />
                  </th>
                  <td>
                    <input aria-label={`New parameter value in ${title}`} placeholder="value" value={newValue} disabled={busy} onChange={(e) => setNewValue(e.target.value)} onKeyDown={addOnEnter} />
                  </td>
                  <td />
                  <td className="row-actions">
                    <button type="button" onClick={addRow} disabled={busy}>
                      Add
                    </button>
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        )}
        <ErrorBox message={error} />
        {isEditing && (
          <div className="edit-buttons">
            <button type="submit" className="primary" disabled={busy}>
              Save
            </button>
            <button type="button" onClick={cancel} disabled={busy}>
              Cancel
            </button>
          </div>
        )}
      </form>
    </div>
  );
}
