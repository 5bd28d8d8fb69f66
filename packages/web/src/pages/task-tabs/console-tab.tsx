import { useLayoutEffect, useRef, useState } from 'react';
import { errorMessage } from '../../api';
import { ErrorBox } from '../../components/error-box';
import { href, navigate, useRoute } from '../../router';
import { downloadTaskLog } from '../../task-details/download-log';
import { splitMatches } from '../../task-details/split-matches';
import { useConsoleLog } from '../../task-details/use-console-log';
import '../../styles/task-details.css';

/** How close to the bottom (px) still counts as "at the end" when deciding whether to keep following. */
const BOTTOM_SLACK_PX = 24;

export function ConsoleTab({ taskId, taskName, isLive }: { taskId: string; taskName: string; isLive: boolean }) {
  const route = useRoute();
  const search = route.query.get('search') ?? '';
  const [typed, setTyped] = useState(search);
  const [isFollowing, setFollowing] = useState(true);
  const [downloadError, setDownloadError] = useState<string>();
  const [isDownloading, setDownloading] = useState(false);
  const log = useConsoleLog(taskId, search, isLive);
  const box = useRef<HTMLPreElement>(null);
  const heightBefore = useRef(0);

  // Keep the address and the box in step when the search changes by the address (back/forward).
  const [shownSearch, setShownSearch] = useState(search);
  if (shownSearch !== search) {
    setShownSearch(search);
    setTyped(search);
  }

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    if (log.lastChange === 'prepend') {
      // Earlier lines went in above: keep the lines the user was reading where they were.
      el.scrollTop += el.scrollHeight - heightBefore.current;
    } else if (isFollowing) {
      el.scrollTop = el.scrollHeight;
    }
    heightBefore.current = el.scrollHeight;
  }, [log.lines, log.lastChange, isFollowing]);

  const setSearch = (value: string) => navigate(href(['tasks', taskId, 'console'], { search: value.trim() }));
  const download = async () => {
    setDownloading(true);
    setDownloadError(undefined);
    try {
      await downloadTaskLog(taskId, taskName);
    } catch (err) {
      setDownloadError(errorMessage(err));
    } finally {
      setDownloading(false);
    }
  };

  return (
    <div className="console-tab">
      <div className="toolbar console-toolbar">
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setSearch(typed);
          }}
        >
          <input type="search" aria-label="Search the console" placeholder="Search the whole log…" value={typed} onChange={(e) => setTyped(e.target.value)} />
          <button type="submit">Search</button>
          {search && (
            <button type="button" onClick={() => setSearch('')}>
              Clear
            </button>
          )}
        </form>
        <label className="follow">
          <input type="checkbox" checked={isFollowing} onChange={(e) => setFollowing(e.target.checked)} /> Follow
        </label>
        <button type="button" onClick={() => void download()} disabled={isDownloading}>
          {isDownloading ? 'Preparing…' : 'Download'}
        </button>
        {isLive && <span className="live-dot" title="New lines appear as the task writes them">live</span>}
      </div>
      <ErrorBox message={log.error ?? downloadError} />
      <p className="muted console-summary" data-total={log.total}>
        {log.isLoading
          ? 'Loading…'
          : search
            ? `${log.total} ${log.total === 1 ? 'line matches' : 'lines match'} “${search}”${log.hasEarlier ? `; showing the last ${log.lines.length}` : ''}.`
            : log.total === 0
              ? 'No console output yet.'
              : log.hasEarlier
                ? `Showing the last ${log.lines.length} of ${log.total} lines.`
                : `${log.total} ${log.total === 1 ? 'line' : 'lines'}.`}
      </p>
      {log.hasEarlier && (
        <button type="button" className="load-earlier" disabled={log.isLoadingEarlier} onClick={() => {
          heightBefore.current = box.current?.scrollHeight ?? 0;
          log.loadEarlier();
        }}>
          {log.isLoadingEarlier ? 'Loading…' : 'Load earlier lines'}
        </button>
      )}
      {log.lines.length > 0 && (
        <pre
          ref={box}
          className="code console"
          tabIndex={0}
          aria-label="Console output"
          onScroll={(e) => {
            const el = e.currentTarget;
            const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
            if (atBottom !== isFollowing) setFollowing(atBottom);
          }}
        >
          {log.lines.map((line) => (
            <span key={line.id} className={`log-line level-${line.level}`} data-level={line.level}>
              {splitMatches(line.msg.replace(/\n$/, ''), search).map((part, i) => (part.isMatch ? <mark key={i}>{part.text}</mark> : part.text))}
              {'\n'}
            </span>
          ))}
        </pre>
      )}
    </div>
  );
}
