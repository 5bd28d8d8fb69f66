import type { Artifact } from '@tasklane/protocol';
import { parseTablePreview } from './csv';
import { mediaKind, safeUrl } from './media';

/** How an artifact's preview text is best shown. */
export function previewKind(a: Artifact): 'table' | 'json' | 'image' | 'text' | 'none' {
  const contentType = a.type_data?.content_type ?? '';
  const preview = a.type_data?.preview ?? '';
  if ((a.type === 'table' || a.type === 'pandas' || contentType === 'text/csv') && parseTablePreview(preview)) return 'table';
  if (a.type === 'image' || (a.uri && mediaKind(a.uri) === 'image' && safeUrl(a.uri))) return 'image';
  if (!preview) return 'none';
  if (a.type === 'dict' || contentType === 'application/json') {
    try {
      JSON.parse(preview);
      return 'json';
    } catch {
      return 'text';
    }
  }
  return 'text';
}

/** The preview of an artifact: tables as tables, JSON pretty, images inline, anything else as text. */
export function ArtifactPreview({ artifact }: { artifact: Artifact }) {
  const preview = artifact.type_data?.preview ?? '';
  const kind = previewKind(artifact);
  if (kind === 'table') {
    const table = parseTablePreview(preview)!;
    return (
      <div className="artifact-preview" data-preview="table">
        {table.caption && <p className="muted">{table.caption}</p>}
        <div className="table-scroll">
          <table className="grid preview-table">
            <thead>
              <tr>
                {table.header.map((h, i) => (
                  <th key={i}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row, r) => (
                <tr key={r}>
                  {table.header.map((_h, c) => (
                    <td key={c}>{row[c] ?? ''}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {table.caption && /^(\d+) rows/.exec(table.caption)?.[1] !== String(table.rows.length) && (
          <p className="muted">The preview shows the first {table.rows.length} rows; download the artifact for all.</p>
        )}
      </div>
    );
  }
  if (kind === 'image') {
    const url = safeUrl(artifact.uri);
    return url ? (
      <div className="artifact-preview" data-preview="image">
        <img src={url} alt={artifact.key} className="artifact-image" />
      </div>
    ) : (
      <pre className="code" data-preview="text">{preview}</pre>
    );
  }
  if (kind === 'json') {
    return (
      <pre className="code artifact-preview" data-preview="json">
        {JSON.stringify(JSON.parse(preview), null, 2)}
      </pre>
    );
  }
  if (kind === 'text') {
    return (
      <pre className="code artifact-preview" data-preview="text">
        {preview}
      </pre>
    );
  }
  return <p className="muted">No preview.</p>;
}
