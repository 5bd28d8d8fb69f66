import { api } from '../api';
import { useAsync } from '../use-async';

/** A <select> of the server's queues (by id); picks the default queue's name first when there is one. */
export function QueueSelect({ value, onChange }: { value: string; onChange: (queueId: string) => void }) {
  const queues = useAsync(async () => {
    const { queues } = await api.call('queues.get_all', {});
    return queues.slice().sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  }, []);
  const list = queues.data ?? [];
  if (queues.error) return <p className="error">{queues.error}</p>;
  if (queues.data && list.length === 0) return <p className="muted">No queues yet: start an agent (tasklane agent daemon --queue default) or create one.</p>;
  return (
    <select aria-label="Queue" value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">Choose a queue…</option>
      {list.map((q) => (
        <option key={q.id} value={q.id}>
          {q.name} ({q.entries?.length ?? 0} waiting)
        </option>
      ))}
    </select>
  );
}
