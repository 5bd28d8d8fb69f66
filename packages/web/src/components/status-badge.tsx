import { TASK_STATUS_LABEL, type TaskStatus } from '@tasklane/protocol';

export function StatusBadge({ status, progress }: { status: TaskStatus; progress?: number | undefined }) {
  const showProgress = status === 'in_progress' && progress !== undefined;
  return (
    <span className={`status status-${status}`} data-status={status}>
      {TASK_STATUS_LABEL[status] ?? status}
      {showProgress && (
        <span className="progress" title={`${progress}%`}>
          <span className="progress-bar" style={{ width: `${Math.max(0, Math.min(100, progress))}%` }} />
        </span>
      )}
    </span>
  );
}
