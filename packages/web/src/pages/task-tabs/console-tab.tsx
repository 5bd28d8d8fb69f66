import { api } from '../../api';
import { ErrorBox } from '../../components/error-box';
import { POLL_MS, usePolling } from '../../use-polling';
import { useAsync } from '../../use-async';

export function ConsoleTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const log = useAsync(
    () => api.call('events.get_task_log', { task: taskId, batch_size: 1000, navigate_earlier: true, order: 'asc' }),
    [taskId],
  );
  usePolling(isLive, POLL_MS, log.reload);
  const events = log.data?.events ?? [];
  return (
    <>
      <ErrorBox message={log.error} />
      {log.data && log.data.total > events.length && (
        <p className="muted">
          Showing the last {events.length} of {log.data.total} lines.
        </p>
      )}
      {log.data && events.length === 0 && <p className="muted">No console output.</p>}
      {events.length > 0 && <pre className="code console">{events.map((e) => e.msg.replace(/\n$/, '')).join('\n')}</pre>}
    </>
  );
}

