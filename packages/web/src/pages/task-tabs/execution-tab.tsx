import type { Task } from '@tasklane/protocol';
import { Fields } from '../../components/fields';

export function ExecutionTab({ task }: { task: Task }) {
  const s = task.script;
  const requirements = s.requirements ? Object.entries(s.requirements) : [];
  return (
    <>
      <Fields
        rows={[
          ['Repository', s.repository],
          ['Branch', s.branch],
          ['Commit', s.version_num],
          ['Entry point', s.entry_point],
          ['Working directory', s.working_dir],
          ['Interpreter', s.binary],
          ['Container image', task.container.image as string | undefined],
        ]}
      />
      {requirements.map(([kind, text]) => (
        <div key={kind}>
          <h3>Requirements ({kind})</h3>
          <pre className="code">{typeof text === 'string' ? text : JSON.stringify(text, null, 2)}</pre>
        </div>
      ))}
      <h3>Uncommitted changes</h3>
      {s.diff ? <pre className="code diff">{s.diff}</pre> : <p className="muted">None.</p>}
    </>
  );
}

