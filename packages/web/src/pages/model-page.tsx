import type { Model, Task } from '@tasklane/protocol';
import { api } from '../api';
import { ErrorBox } from '../components/error-box';
import { Fields } from '../components/fields';
import { StatusBadge } from '../components/status-badge';
import { formatTime } from '../format-time';
import { ModelStatus } from '../models/model-status';
import { href } from '../router';
import { useAsync } from '../use-async';
import '../styles/models.css';

type TaskLink = Pick<Task, 'id' | 'name' | 'status'>;

interface ModelDetails {
  model: Model;
  creator: TaskLink | undefined;
  usedBy: TaskLink[];
  projectName: string | undefined;
  parentName: string | undefined;
}

async function loadModel(modelId: string): Promise<ModelDetails> {
  const { model } = await api.call('models.get_by_id', { model: modelId });
  const [creator, usedBy, project, parent] = await Promise.all([
    model.task
      ? api.call('tasks.get_all', { id: [model.task], only_fields: ['id', 'name', 'status'] }).then((r) => r.tasks[0] as TaskLink | undefined)
      : undefined,
    api
      .call('tasks.get_all', { 'models.input.model': [model.id], only_fields: ['id', 'name', 'status'], order_by: ['-last_update'], page: 0, page_size: 200 })
      .then((r) => r.tasks as TaskLink[]),
    model.project ? api.call('projects.get_all', { id: [model.project], only_fields: ['id', 'name'] }).then((r) => r.projects[0]?.name) : undefined,
    model.parent ? api.call('models.get_all', { id: [model.parent], only_fields: ['id', 'name'] }).then((r) => r.models[0]?.name) : undefined,
  ]);
  return { model, creator, usedBy, projectName: project, parentName: parent };
}

/** A download link only for web addresses: other schemes (file://, s3://) are shown as text to copy. */
function downloadUrl(uri: string): string | undefined {
  try {
    const url = new URL(uri, window.location.origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** The model's design as readable text: `{design: "..."}` (how SDKs send text) shows the text itself. */
function designText(design: Record<string, unknown>): string {
  const keys = Object.keys(design);
  if (keys.length === 1 && typeof design.design === 'string') return design.design;
  return JSON.stringify(design, null, 2);
}

/** `#/models/<id>`: what a model is, where its weights are, the task that made it and the tasks that use it. */
export function ModelPage({ modelId }: { modelId: string }) {
  const details = useAsync(() => loadModel(modelId), [modelId]);
  if (details.error) {
    return (
      <section>
        <p className="crumbs">
          <a href={href(['models'])}>Models</a>
        </p>
        <ErrorBox message={details.error} />
      </section>
    );
  }
  if (!details.data) return <p className="muted">Loading model…</p>;
  const { model, creator, usedBy, projectName, parentName } = details.data;
  const url = downloadUrl(model.uri);
  const labels = Object.entries(model.labels).sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const metadata = Object.values(model.metadata).sort((a, b) => a.key.localeCompare(b.key));
  const hasDesign = Object.keys(model.design).length > 0;

  return (
    <section className="model-page">
      <p className="crumbs">
        <a href={href(['models'])}>Models</a>
        {model.project && (
          <>
            {' / '}
            <a href={href(['models'], { project: model.project })}>{projectName ?? model.project}</a>
          </>
        )}
      </p>
      <h1 className="model-title">
        <span className="model-name">{model.name}</span> <ModelStatus ready={model.ready} />
      </h1>
      <Fields
        rows={[
          ['ID', <code key="id">{model.id}</code>],
          ['Framework', model.framework],
          [
            'Weights',
            url ? (
              <a key="uri" className="model-download" href={url} download>
                {model.uri}
              </a>
            ) : (
              <code key="uri">{model.uri}</code>
            ),
          ],
          [
            'Created by',
            creator ? (
              <span key="creator">
                <a className="model-task" href={href(['tasks', creator.id, 'info'])}>
                  {creator.name}
                </a>{' '}
                <StatusBadge status={creator.status} />
              </span>
            ) : model.task ? (
              <span key="creator" className="muted">
                task {model.task} (no longer exists)
              </span>
            ) : undefined,
          ],
          ['Derived from', model.parent ? <a key="parent" href={href(['models', model.parent])}>{parentName ?? model.parent}</a> : undefined],
          [
            'Tags',
            model.tags.length > 0 ? (
              <span key="tags">
                {model.tags.map((t) => (
                  <span key={t} className="model-tag">
                    {t}
                  </span>
                ))}
              </span>
            ) : undefined,
          ],
          ['Last iteration', model.last_iteration],
          ['Created', formatTime(model.created)],
          ['Updated', formatTime(model.last_update)],
          ['User', model.user],
          ['Description', model.comment],
        ]}
      />

      <h2>Labels</h2>
      {labels.length === 0 ? (
        <p className="muted">No labels.</p>
      ) : (
        <table className="grid model-labels">
          <thead>
            <tr>
              <th>Label</th>
              <th className="num">Class id</th>
            </tr>
          </thead>
          <tbody>
            {labels.map(([name, id]) => (
              <tr key={name}>
                <td>{name}</td>
                <td className="num">{id}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Design</h2>
      {hasDesign ? <pre className="code model-design">{designText(model.design)}</pre> : <p className="muted">No design (configuration) stored.</p>}

      <h2>Metadata</h2>
      {metadata.length === 0 ? (
        <p className="muted">No metadata.</p>
      ) : (
        <table className="grid model-metadata">
          <thead>
            <tr>
              <th>Key</th>
              <th>Type</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {metadata.map((m) => (
              <tr key={m.key}>
                <td>{m.key}</td>
                <td>{m.type || '—'}</td>
                <td>{m.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>Used by</h2>
      {usedBy.length === 0 ? (
        <p className="muted">No task uses this model as input.</p>
      ) : (
        <ul className="model-users">
          {usedBy.map((t) => (
            <li key={t.id} data-task={t.id}>
              <a href={href(['tasks', t.id, 'models'])}>{t.name}</a> <StatusBadge status={t.status} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
