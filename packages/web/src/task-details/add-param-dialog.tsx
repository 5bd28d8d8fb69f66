import { useState } from 'react';
import { api } from '../api';
import { ActionDialog } from './action-dialog';

/** Adds one hyperparameter, in an existing section or a new one. */
export function AddParamDialog({
  taskId,
  sections,
  defaultSection,
  onClose,
  onDone,
}: {
  taskId: string;
  sections: string[];
  defaultSection: string;
  onClose: () => void;
  onDone: () => void;
}) {
  const [section, setSection] = useState(defaultSection);
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  return (
    <ActionDialog
      title="Add parameter"
      submitLabel="Add"
      onClose={onClose}
      onSubmit={async () => {
        await api.call('tasks.edit_hyper_params', { task: taskId, hyperparams: [{ section: section.trim(), name: name.trim(), value }] });
        onDone();
      }}
    >
      <label>
        Section
        <input name="section" list="param-sections" value={section} required onChange={(e) => setSection(e.target.value)} />
        <datalist id="param-sections">
          {sections.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Name
        <input name="name" value={name} required autoFocus onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        Value
        <input name="value" value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
    </ActionDialog>
  );
}
