import { canWriteTask, type Task } from '@tasklane/protocol';

export function ConfigurationTab({ task }: { task: Task }) {
  const sections = Object.entries(task.hyperparams).sort(([a], [b]) => a.localeCompare(b));
  const objects = Object.entries(task.configuration);
  return (
    <>
      <p className="muted">
        {canWriteTask(task.status, 'configuration')
          ? 'This draft can be edited before it is enqueued.'
          : 'Read-only in this status: clone the task to change its configuration.'}
      </p>
      <h2>Hyperparameters</h2>
      {sections.length === 0 && <p className="muted">None.</p>}
      {sections.map(([section, params]) => (
        <div key={section} className="param-section" data-section={section}>
          <h3>{section}</h3>
          <table className="grid params">
            <tbody>
              {Object.entries(params).map(([name, item]) => (
                <tr key={name}>
                  <th>{item.name ?? name}</th>
                  <td>{String(item.value ?? '')}</td>
                  <td className="muted">{item.type ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      <h2>Configuration objects</h2>
      {objects.length === 0 && <p className="muted">None.</p>}
      {objects.map(([name, item]) => (
        <div key={name}>
          <h3>
            {item.name ?? name} {item.type && <span className="muted">({item.type})</span>}
          </h3>
          <pre className="code">{typeof item.value === 'string' ? item.value : JSON.stringify(item.value, null, 2)}</pre>
        </div>
      ))}
    </>
  );
}

