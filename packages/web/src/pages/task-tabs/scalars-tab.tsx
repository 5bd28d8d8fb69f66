import { useMemo } from 'react';
import { api } from '../../api';
import { ErrorBox } from '../../components/error-box';
import { ScalarChart } from '../../components/scalar-chart';
import { POLL_MS, usePolling } from '../../use-polling';
import { useAsync } from '../../use-async';

export function ScalarsTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const scalars = useAsync(() => api.call('events.scalar_metrics_iter_histogram', { task: taskId, samples: 2000 }), [taskId]);
  usePolling(isLive, POLL_MS * 5, scalars.reload);
  const metrics = useMemo(
    () => Object.entries(scalars.data ?? {}).sort(([a], [b]) => a.localeCompare(b)).map(([m, v]) => [m, Object.values(v)] as const),
    [scalars.data],
  );
  return (
    <>
      <ErrorBox message={scalars.error} />
      {scalars.data && metrics.length === 0 && <p className="muted">No scalars reported.</p>}
      <div className="charts">
        {metrics.map(([metric, variants]) => (
          <ScalarChart key={metric} metric={metric} variants={variants} />
        ))}
      </div>
    </>
  );
}
