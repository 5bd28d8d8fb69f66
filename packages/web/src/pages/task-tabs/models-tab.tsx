import type { Model, Task, TaskModelRef } from '@tasklane/protocol';
import { api } from '../../api';
import { ErrorBox } from '../../components/error-box';
import { formatTime } from '../../format-time';
import { href } from '../../router';
import { useAsync } from '../../use-async';
import '../../styles/outputs.css';

const FIELDS = ['id', 'name', 'framework', 'uri', 'ready', 'last_update', 'system_tags'];

export function ModelsTab({ task }: { task: Task }) {
  const refs = [...task.models.input, ...task.models.output];
  const ids = [...new Set(refs.map((r) => r.model))];
  const models = useAsync(
    async () => (ids.length === 0 ? [] : (await api.call('models.get_all', { id: ids, only_fields: FIELDS })).models),
    [ids.join(',')],
  );
  const byId = new Map((models.data ?? []).map((m) => [m.id, m]));
  return (
    <>
      <ErrorBox message={models.error} />
      <ModelList title="Input models" kind="input" refs={task.models.input} byId={byId} loaded={models.data !== undefined} />
      <ModelList title="Output models" kind="output" refs={task.models.output} byId={byId} loaded={models.data !== undefined} />
    </>
  );
}

function ModelList({
  title,
  kind,
  refs,
  byId,
  loaded,
}: {
  title: string;
  kind: 'input' | 'output';
  refs: TaskModelRef[];
  byId: Map<string | undefined, Partial<Model>>;
  loaded: boolean;
}) {
  return (
    <section className="task-models" data-models={kind}>
      <h2>{title}</h2>
      {refs.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Used as</th>
              <th>Model</th>
              <th>Framework</th>
              <th>Status</th>
              <th>Weights</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {refs.map((r) => {
              const m = byId.get(r.model);
              return (
                <tr key={`${r.name}\u0000${r.model}`} data-model={r.model}>
                  <td>{r.name}</td>
                  <td>
                    <a href={href(['models', r.model])} className="model-link">
                      {m?.name ?? r.model}
                    </a>
                    {loaded && !m && <span className="muted"> (not found: deleted?)</span>}
                  </td>
                  <td>{m?.framework ?? '—'}</td>
                  <td>{m ? (m.system_tags?.includes('archived') ? 'archived' : m.ready ? 'published' : 'draft') : '—'}</td>
                  <td className="uri">{m?.uri ?? '—'}</td>
                  <td>{formatTime(m?.last_update ?? r.updated)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
