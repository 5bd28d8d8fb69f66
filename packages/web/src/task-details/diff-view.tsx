import { useMemo } from 'react';
import { CodeLine } from './code-line';
import { flavourOf } from './highlight-code';
import { parseDiff, type DiffFile } from './parse-diff';

const MARKER = { add: '+', del: '-', context: ' ', note: '' } as const;

/**
 * The uncommitted changes of a task: a unified diff shown file by file, with hunk headers, line numbers and
 * coloured +/- lines; any other text (ClearML stores the whole script when it ran outside git) as numbered code.
 */
export function DiffView({ text, fileName }: { text: string; fileName?: string | undefined }) {
  const files = useMemo(() => parseDiff(text), [text]);
  if (!files) return <PlainCode text={text} fileName={fileName} />;
  return (
    <div className="diff-view">
      <p className="muted diff-summary">
        {files.length} {files.length === 1 ? 'file' : 'files'} changed,{' '}
        <span className="diff-count-add">+{files.reduce((n, f) => n + f.added, 0)}</span>{' '}
        <span className="diff-count-del">−{files.reduce((n, f) => n + f.deleted, 0)}</span>
      </p>
      {files.map((file, i) => (
        <DiffFileView key={i} file={file} />
      ))}
    </div>
  );
}

function DiffFileView({ file }: { file: DiffFile }) {
  const flavour = flavourOf(file.path);
  const renamed = file.oldPath && file.newPath && file.oldPath !== file.newPath && file.oldPath !== '/dev/null' && file.newPath !== '/dev/null';
  return (
    <section className="diff-file" data-file={file.path}>
      <header className="diff-file-header">
        <span className="diff-path">{renamed ? `${file.oldPath} → ${file.newPath}` : file.path}</span>
        {file.newPath === '/dev/null' && <span className="muted"> (deleted)</span>}
        {file.oldPath === '/dev/null' && <span className="muted"> (new)</span>}
        <span className="diff-count-add">+{file.added}</span>
        <span className="diff-count-del">−{file.deleted}</span>
      </header>
      {file.hunks.length === 0 && <pre className="diff-meta">{file.meta.filter((m) => !m.startsWith('diff ')).join('\n')}</pre>}
      {file.hunks.length > 0 && (
        <table className="diff-table">
          {file.hunks.map((hunk, h) => (
            <tbody key={h}>
              <tr className="diff-hunk">
                <td colSpan={3}>{hunk.header}</td>
              </tr>
              {hunk.lines.map((line, i) => (
                <tr key={i} className={`diff-${line.kind}`}>
                  <td className="ln">{line.oldNo ?? ''}</td>
                  <td className="ln">{line.newNo ?? ''}</td>
                  <td className="code-cell">
                    <span className="diff-marker">{MARKER[line.kind]}</span>
                    {line.kind === 'note' ? line.text : <CodeLine text={line.text} flavour={flavour} />}
                  </td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      )}
    </section>
  );
}

function PlainCode({ text, fileName }: { text: string; fileName?: string | undefined }) {
  const flavour = flavourOf(fileName ?? '') ?? 'hash';
  const lines = text.replace(/\n$/, '').split('\n');
  return (
    <div className="diff-view">
      <table className="diff-table">
        <tbody>
          {lines.map((line, i) => (
            <tr key={i} className="diff-context">
              <td className="ln">{i + 1}</td>
              <td className="code-cell">
                <CodeLine text={line} flavour={flavour} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
