/** "3h 02m", "4m 05s", "12s"; "—" when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/**
 * How long a task ran: the server's active_duration once finished; for a task still running, from its start until
 * `nowMs`.
 */
export function runSeconds(
  task: { active_duration?: number | null; started?: string | null; completed?: string | null; status?: string },
  nowMs: number,
): number | undefined {
  if (typeof task.active_duration === 'number') return task.active_duration;
  if (!task.started) return undefined;
  const end = task.completed ? Date.parse(task.completed) : task.status === 'in_progress' ? nowMs : Number.NaN;
  const seconds = (end - Date.parse(task.started)) / 1000;
  return Number.isFinite(seconds) ? Math.max(0, seconds) : undefined;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago"; older than 30 days: the date. Undefined for no time. */
export function formatAgo(iso: string | null | undefined, nowMs: number): string | undefined {
  if (!iso) return undefined;
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  const seconds = Math.max(0, (nowMs - at) / 1000);
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 30 * 86_400) return `${Math.floor(seconds / 86_400)} d ago`;
  return iso.slice(0, 10);
}
