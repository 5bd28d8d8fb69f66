import { useCallback, useState } from 'react';
import type { Queue } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { Dialog } from '../components/dialog';
import { ErrorBox } from '../components/error-box';
import { QueueEntries, type QueuedTask } from '../queues/queue-entries';
import { WorkersTable } from '../queues/workers-table';
import { formatAge } from '../queues/format-age';
import { href, navigate, useRoute } from '../router';
import { useAsync } from '../use-async';
import { POLL_MS, usePolling } from '../use-polling';
import '../styles/queues.css';

interface QueuesData {
  queues: Queue[];
  tasks: Map<string, QueuedTask>;
}

async function loadQueues(): Promise<QueuesData> {
  const { queues } = await api.call('queues.get_all', {});
  const full = (queues as Queue[]).slice().sort((a, b) => a.name.localeCompare(b.name));
  const ids = [...new Set(full.flatMap((q) => q.entries.map((e) => e.task)))];
  const tasks = new Map<string, QueuedTask>();
  if (ids.length > 0) {
    const { tasks: found } = await api.call('tasks.get_all', { id: ids, only_fields: ['id', 'name', 'status'] });
    for (const task of found as QueuedTask[]) tasks.set(task.id, task);
  }
  return { queues: full, tasks };
}

/** `#/queues?queue=<id>`: queues with their waiting tasks (reorder, move, remove) and the workers; polled live. */
export function QueuesPage() {
  const { query } = useRoute();
  const data = useAsync(loadQueues, []);
  const workers = useAsync(() => api.call('workers.get_all', {}), []);
  const [nowMs, setNowMs] = useState(() => Date.now());
  const { reload: reloadQueues } = data;
  const { reload: reloadWorkers } = workers;
  usePolling(
    true,
    POLL_MS,
    useCallback(() => {
      reloadQueues();
      reloadWorkers();
      setNowMs(Date.now());
    }, [reloadQueues, reloadWorkers]),
  );
  const [creating, setCreating] = useState(false);
  const [newName, setNewName] = useState('');
  const [createError, setCreateError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const queues = data.data?.queues ?? [];
  const workerList = workers.data?.workers ?? [];
  const wanted = query.get('queue');
  // Without a choice in the address, the default queue (a fixed choice, so the panel does not jump as queues empty).
  const selected = queues.find((q) => q.id === wanted) ?? queues.find((q) => q.system_tags.includes('default')) ?? queues[0];
  const servedBy = (q: Queue) => workerList.filter((w) => w.queues.includes(q.id) || w.queues.includes(q.name)).length;

  const create = async () => {
    setBusy(true);
    setCreateError(undefined);
    try {
      const { id } = await api.call('queues.create', { name: newName.trim() });
      setCreating(false);
      setNewName('');
      navigate(href(['queues'], { queue: id }));
      reloadQueues();
    } catch (err) {
      setCreateError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="queues-page">
      <h1>Queues &amp; workers</h1>
      <div className="toolbar">
        <button type="button" onClick={() => setCreating(true)}>
          New queue
        </button>
        <span className="muted">Refreshes every {POLL_MS / 1000} s.</span>
      </div>
      <ErrorBox message={data.error} />
      {!data.data && !data.error && <p className="muted">Loading queues…</p>}
      {data.data && queues.length === 0 && <p className="muted">No queues yet.</p>}
      {queues.length > 0 && (
        <div className="queues-layout">
          <table className="grid queues-table">
            <thead>
              <tr>
                <th>Queue</th>
                <th className="num">Waiting</th>
                <th className="num">Workers</th>
                <th>Next task</th>
                <th>Oldest wait</th>
              </tr>
            </thead>
            <tbody>
              {queues.map((q) => {
                const head = q.entries[0];
                const oldest = q.entries.reduce<string | undefined>((min, e) => (min === undefined || e.added < min ? e.added : min), undefined);
                return (
                  <tr key={q.id} data-queue={q.name} className={q.id === selected?.id ? 'selected' : undefined}>
                    <td>
                      <a href={href(['queues'], { queue: q.id })} aria-current={q.id === selected?.id ? 'true' : undefined}>
                        {q.name}
                      </a>
                      {q.system_tags.includes('default') && <span className="muted"> (default)</span>}
                    </td>
                    <td className="num">{q.entries.length}</td>
                    <td className="num">{servedBy(q)}</td>
                    <td>{head ? (data.data?.tasks.get(head.task)?.name ?? head.task) : '—'}</td>
                    <td>{formatAge(oldest, nowMs)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {selected && (
            <div className="queue-panel">
              <h2>
                Queue <span className="queue-name">{selected.name}</span>
              </h2>
              <QueueEntries queue={selected} queues={queues} tasks={data.data?.tasks ?? new Map()} nowMs={nowMs} onChanged={reloadQueues} />
            </div>
          )}
        </div>
      )}
      <h2>Workers</h2>
      <ErrorBox message={workers.error} />
      {workers.data && <WorkersTable workers={workerList} queues={queues} nowMs={nowMs} />}
      {creating && (
        <Dialog
          title="New queue"
          submitLabel="Create"
          busy={busy || !newName.trim()}
          onClose={() => {
            setCreating(false);
            setCreateError(undefined);
          }}
          onSubmit={() => void create()}
        >
          <label>
            Name
            <input autoFocus value={newName} onChange={(e) => setNewName(e.target.value)} aria-label="Queue name" />
          </label>
          <ErrorBox message={createError} />
        </Dialog>
      )}
    </section>
  );
}
