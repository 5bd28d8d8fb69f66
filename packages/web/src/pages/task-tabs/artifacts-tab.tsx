import type { Task } from '@tasklane/protocol';
import { Fields } from '../../components/fields';
import { formatTime } from '../../format-time';
import { ArtifactPreview } from '../../outputs/artifact-preview';
import { fileNameOf, formatBytes, safeUrl } from '../../outputs/media';
import { href, useRoute } from '../../router';
import '../../styles/outputs.css';

/** epoch seconds (ClearML's artifact timestamps) as local time. */
function formatEpochSeconds(seconds: number | undefined): string {
  return seconds === undefined ? '—' : formatTime(new Date(seconds * 1000).toISOString());
}

export function ArtifactsTab({ task }: { task: Task }) {
  const { query } = useRoute();
  const artifacts = [...(task.execution.artifacts ?? [])].sort((a, b) => a.mode.localeCompare(b.mode) || a.key.localeCompare(b.key));
  if (artifacts.length === 0) return <p className="muted">No artifacts.</p>;
  const selectedKey = query.get('artifact');
  const selected = artifacts.find((a) => a.key === selectedKey) ?? artifacts[0]!;
  return (
    <div className="artifacts">
      <table className="grid artifact-list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Mode</th>
            <th className="num">Size</th>
            <th>Hash</th>
            <th>Stored</th>
            <th>File</th>
          </tr>
        </thead>
        <tbody>
          {artifacts.map((a) => {
            const url = safeUrl(a.uri);
            return (
              <tr key={`${a.mode}\u0000${a.key}`} data-artifact={a.key} className={a === selected ? 'selected' : ''}>
                <td>
                  <a href={href(['tasks', task.id, 'artifacts'], { artifact: a.key })} aria-current={a === selected ? 'true' : undefined}>
                    {a.key}
                  </a>
                </td>
                <td>{a.type}</td>
                <td>{a.mode}</td>
                <td className="num">{formatBytes(a.content_size)}</td>
                <td className="hash" title={a.hash}>
                  {a.hash ? a.hash.slice(0, 12) : '—'}
                </td>
                <td>{formatEpochSeconds(a.timestamp)}</td>
                <td>
                  {url ? (
                    <a href={url} download={fileNameOf(url)} className="download">
                      Download
                    </a>
                  ) : (
                    <span className="muted">{a.uri ? 'not downloadable here' : '—'}</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <section className="artifact-detail" data-artifact-detail={selected.key}>
        <h2>{selected.key}</h2>
        <Fields
          rows={[
            ['Type', selected.type],
            ['Mode', selected.mode],
            ['Content type', selected.type_data?.content_type],
            ['Size', selected.content_size === undefined ? undefined : `${formatBytes(selected.content_size)} (${selected.content_size} bytes)`],
            ['Hash', selected.hash],
            ['Stored', formatEpochSeconds(selected.timestamp)],
            ['URI', selected.uri],
          ]}
        />
        <h3>Preview</h3>
        <ArtifactPreview artifact={selected} />
      </section>
    </div>
  );
}
