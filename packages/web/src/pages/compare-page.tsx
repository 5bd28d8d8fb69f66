import { useCallback, useMemo, useState } from 'react';
import { shortId, type TaskStatus } from '@tasklane/protocol';
import { api } from '../api';
import { CompareConfig } from '../compare/compare-config';
import { CompareHeader } from '../compare/compare-header';
import { CompareMetrics } from '../compare/compare-metrics';
import { ComparePlots } from '../compare/compare-plots';
import { CompareScalars } from '../compare/compare-scalars';
import { CompareScatter, type ScatterChoice } from '../compare/compare-scatter';
import { MAX_COMPARED, METRIC_VALUE_KINDS, parseIds, refusalOf, type ComparedTask, type MetricValueKind } from '../compare/compare-rows';
import { ErrorBox } from '../components/error-box';
import { href, navigate } from '../router';
import { useAsync } from '../use-async';
import { POLL_MS, usePolling } from '../use-polling';
import '../styles/compare.css';

const VIEWS = [
  { key: 'config', label: 'Configuration' },
  { key: 'scalars', label: 'Scalars' },
  { key: 'metrics', label: 'Metric values' },
  { key: 'plots', label: 'Plots' },
  { key: 'scatter', label: 'Scatter' },
] as const;
type View = (typeof VIEWS)[number]['key'];

const LIVE: TaskStatus[] = ['queued', 'in_progress'];
const TASK_FIELDS = ['id', 'name', 'status', 'type', 'tags', 'script', 'hyperparams', 'configuration', 'last_metrics', 'last_iteration'];

/** `#/compare?ids=a,b&view=...`: 2–10 tasks side by side; every choice on the page is in the address. */
export function ComparePage({ query }: { query: URLSearchParams }) {
  const ids = parseIds(query.get('ids'));
  const idsKey = ids.join(',');
  const rawView = query.get('view');
  const view: View = VIEWS.some((v) => v.key === rawView) ? (rawView as View) : 'config';
  const rawValues = query.get('values');
  const shownValues = (METRIC_VALUE_KINDS as string[]).includes(rawValues ?? '') ? (rawValues as MetricValueKind) : 'all';
  const refusal = refusalOf(ids);

  const go = (change: Record<string, string | undefined>) => {
    const next: Record<string, string | undefined> = { ...Object.fromEntries(query), ...change };
    navigate(href(['compare'], next));
  };
  const setIds = (next: string[]) => go({ ids: next.join(',') });

  // Live tasks keep their charts and values current; `refresh` reloads every view at once.
  const [refresh, setRefresh] = useState(0);
  const tasks = useAsync(async () => {
    // The address may name many ids: read only as many as the page can show (plus one to tell it is too many).
    const wanted = ids.slice(0, MAX_COMPARED + 1);
    if (wanted.length === 0) return new Map<string, ComparedTask>();
    const { tasks: found } = await api.call('tasks.get_all', { id: wanted, only_fields: TASK_FIELDS });
    return new Map((found as ComparedTask[]).map((t) => [t.id, t]));
  }, [idsKey, refresh]);
  const isLive = [...(tasks.data?.values() ?? [])].some((t) => LIVE.includes(t.status));
  usePolling(
    isLive && !refusal,
    POLL_MS,
    useCallback(() => setRefresh((n) => n + 1), []),
  );

  const byId = tasks.data ?? new Map<string, ComparedTask>();
  const compared = useMemo(
    () => ids.map((id) => byId.get(id)).filter((t): t is ComparedTask => t !== undefined),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [tasks.data, idsKey],
  );
  const missing = tasks.data ? ids.slice(0, MAX_COMPARED + 1).filter((id) => !byId.has(id)) : [];

  return (
    <section className="compare-page">
      <h1>Compare tasks</h1>
      <CompareHeader ids={ids} tasks={byId} onChange={setIds} />
      <ErrorBox message={tasks.error} />
      {refusal ? (
        <p className="error compare-refused" role="alert">
          {refusal}
        </p>
      ) : (
        <>
          {missing.length > 0 && (
            <p className="error" role="alert">
              Not found: {missing.map(shortId).join(', ')}. No task has {missing.length === 1 ? 'this id' : 'these ids'}; remove{' '}
              {missing.length === 1 ? 'it' : 'them'} from the comparison.
            </p>
          )}
          <nav className="tabs" role="tablist" aria-label="Compare views">
            {VIEWS.map((v) => (
              <a
                key={v.key}
                role="tab"
                aria-selected={view === v.key}
                className={view === v.key ? 'active' : undefined}
                href={href(['compare'], { ...Object.fromEntries(query), view: v.key })}
              >
                {v.label}
              </a>
            ))}
          </nav>
          {!tasks.data && !tasks.error && <p className="muted">Loading tasks…</p>}
          {tasks.data && compared.length > 0 && (
            <div role="tabpanel" aria-label={VIEWS.find((v) => v.key === view)?.label}>
              {view === 'config' && (
                <CompareConfig
                  tasks={compared}
                  onlyDifferences={query.get('diffs') === '1'}
                  onOnlyDifferences={(on) => go({ diffs: on ? '1' : undefined })}
                />
              )}
              {view === 'scalars' && <CompareScalars tasks={compared} refresh={refresh} />}
              {view === 'metrics' && (
                <CompareMetrics tasks={compared} shown={shownValues} onShown={(v) => go({ values: v === 'all' ? undefined : v })} />
              )}
              {view === 'plots' && <ComparePlots tasks={compared} refresh={refresh} />}
              {view === 'scatter' && (
                <CompareScatter
                  tasks={compared}
                  choice={{
                    param: query.get('param') ?? undefined,
                    metric: query.get('metric') ?? undefined,
                    variant: query.get('variant') ?? undefined,
                    kind: (METRIC_VALUE_KINDS as string[]).includes(query.get('value') ?? '') ? (query.get('value') as MetricValueKind) : undefined,
                  }}
                  onChoice={(c: ScatterChoice) => go({ param: c.param, metric: c.metric, variant: c.variant, value: c.kind })}
                />
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
