import { useEffect, useMemo, useState, type ReactNode } from 'react';
import type { TaskEvent } from '@tasklane/protocol';
import { api, errorMessage } from '../../api';
import { Modal } from '../../components/dialog';
import { ErrorBox } from '../../components/error-box';
import { fileNameOf, mediaKind, safeUrl } from '../../outputs/media';
import { href, navigate, useRoute } from '../../router';
import { POLL_MS, usePolling } from '../../use-polling';
import { useAsync } from '../../use-async';
import '../../styles/outputs.css';

/** Iterations per page of events.debug_images: the series found there make the grid. */
const PAGE_ITERATIONS = 20;

/** The newest sample of each title/series, from pages of iterations (newest page first). */
function latestBySeries(pages: readonly TaskEvent[][]): Map<string, Map<string, TaskEvent>> {
  const byMetric = new Map<string, Map<string, TaskEvent>>();
  for (const events of pages) {
    for (const e of events) {
      const variants = byMetric.get(e.metric ?? '') ?? new Map<string, TaskEvent>();
      byMetric.set(e.metric ?? '', variants);
      const known = variants.get(e.variant ?? '');
      if (!known || (known.iter ?? 0) < (e.iter ?? 0)) variants.set(e.variant ?? '', e);
    }
  }
  return byMetric;
}

export function DebugSamplesTab({ taskId, isLive }: { taskId: string; isLive: boolean }) {
  const { query } = useRoute();
  const first = useAsync(() => api.call('events.debug_images', { metrics: [{ task: taskId }], iters: PAGE_ITERATIONS }), [taskId]);
  usePolling(isLive, POLL_MS * 5, first.reload);
  // Earlier pages, loaded on request: series that stopped reporting long ago show up from there.
  const [earlier, setEarlier] = useState<{ scroll: string; events: TaskEvent[]; done: boolean } | null>(null);
  const [earlierError, setEarlierError] = useState<string>();
  useEffect(() => setEarlier(null), [taskId]);
  const firstEvents = useMemo(() => (first.data?.metrics[0]?.iterations ?? []).flatMap((i) => i.events), [first.data]);
  const groups = useMemo(() => {
    const map = latestBySeries([firstEvents, earlier?.events ?? []]);
    return [...map.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([metric, variants]) => [metric, [...variants.entries()].sort(([a], [b]) => a.localeCompare(b))] as const);
  }, [firstEvents, earlier]);
  const loadEarlier = async () => {
    const scroll = earlier?.scroll ?? first.data?.scroll_id;
    if (!scroll) return;
    try {
      const page = await api.call('events.debug_images', { metrics: [{ task: taskId }], iters: PAGE_ITERATIONS, scroll_id: scroll, navigate_earlier: true });
      const events = (page.metrics[0]?.iterations ?? []).flatMap((i) => i.events);
      setEarlier({ scroll: page.scroll_id, events: [...(earlier?.events ?? []), ...events], done: events.length === 0 });
      setEarlierError(undefined);
    } catch (error) {
      setEarlierError(errorMessage(error));
    }
  };

  const viewing = parseView(query.get('view'));
  const viewIter = query.get('iter') === null ? undefined : Number(query.get('iter'));
  const open = (metric: string, variant: string, iter: number | undefined) =>
    navigate(href(['tasks', taskId, 'debug-samples'], { view: JSON.stringify([metric, variant]), iter }));
  const close = () => navigate(href(['tasks', taskId, 'debug-samples']));

  return (
    <>
      <ErrorBox message={first.error ?? earlierError} />
      {first.loading && !first.data && <p className="muted">Loading debug samples…</p>}
      {first.data && groups.length === 0 && <p className="muted">No debug samples reported.</p>}
      {groups.map(([metric, variants]) => (
        <section key={metric} className="sample-group" data-sample-title={metric}>
          <h2>{metric}</h2>
          <div className="sample-grid">
            {variants.map(([variant, latest]) => (
              <SampleBrowser
                key={variant}
                taskId={taskId}
                metric={metric}
                variant={variant}
                latest={latest}
                onOpen={(iter) => open(metric, variant, iter)}
              />
            ))}
          </div>
        </section>
      ))}
      {groups.length > 0 && !earlier?.done && (
        <button type="button" onClick={() => void loadEarlier()}>
          Look for more series in earlier iterations
        </button>
      )}
      {viewing && (
        <SampleViewer title={`${viewing[0]} / ${viewing[1]}`} onClose={close}>
          <SampleBrowser
            key={`${viewing[0]}\u0000${viewing[1]}`}
            taskId={taskId}
            metric={viewing[0]}
            variant={viewing[1]}
            iteration={viewIter}
            onIteration={(iter) => navigate(href(['tasks', taskId, 'debug-samples'], { view: JSON.stringify(viewing), iter }))}
            large
          />
        </SampleViewer>
      )}
    </>
  );
}

function parseView(value: string | null): [string, string] | undefined {
  if (!value) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.length === 2 && parsed.every((p) => typeof p === 'string') ? (parsed as [string, string]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One title/series: its sample at the chosen iteration (the newest by default) and a slider over the iterations
 * stored for it. The server answers the sample at the iteration or the last one before it.
 */
function SampleBrowser({
  taskId,
  metric,
  variant,
  latest,
  iteration,
  onOpen,
  onIteration,
  large = false,
}: {
  taskId: string;
  metric: string;
  variant: string;
  latest?: TaskEvent;
  iteration?: number;
  onOpen?: (iter: number | undefined) => void;
  onIteration?: (iter: number) => void;
  large?: boolean;
}) {
  const [picked, setPicked] = useState<number | undefined>(iteration);
  const [asked, setAsked] = useState<number | undefined>(iteration);
  // Ask the server once the slider rests, not for every step it passes.
  useEffect(() => {
    if (picked === asked) return;
    const timer = setTimeout(() => {
      setAsked(picked);
      if (picked !== undefined) onIteration?.(picked);
    }, 150);
    return () => clearTimeout(timer);
  }, [picked, asked, onIteration]);
  const sample = useAsync(
    () => api.call('events.get_debug_image_sample', { task: taskId, metric, variant, ...(asked !== undefined ? { iteration: asked } : {}) }),
    [taskId, metric, variant, asked, latest?.id],
  );
  const event = sample.data?.event ?? (asked === undefined ? latest : undefined);
  const min = sample.data?.min_iteration ?? event?.iter ?? 0;
  const max = sample.data?.max_iteration ?? event?.iter ?? 0;
  const sliderValue = picked ?? event?.iter ?? max;
  return (
    <figure className={large ? 'sample sample-large' : 'sample'} data-sample-series={variant} data-iteration={event?.iter}>
      <figcaption>
        <strong>{variant}</strong>{' '}
        <span className="muted sample-iteration">{event ? `iteration ${event.iter}` : sample.loading ? 'loading…' : 'no sample'}</span>
      </figcaption>
      <ErrorBox message={sample.error} />
      {event && <SampleMedia event={event} large={large} onOpen={onOpen ? () => onOpen(event.iter) : undefined} />}
      {min < max && (
        <label className="sample-slider">
          <span className="muted">Iteration</span>
          <input
            type="range"
            min={min}
            max={max}
            step={1}
            value={sliderValue}
            aria-label={`Iteration of ${metric} / ${variant}`}
            onChange={(e) => setPicked(Number(e.target.value))}
          />
          <output>{sliderValue}</output>
        </label>
      )}
    </figure>
  );
}

/** An image (click for the full-size view), a video or audio player, or a link for any other file. */
function SampleMedia({ event, large, onOpen }: { event: TaskEvent; large: boolean; onOpen?: () => void }) {
  const url = safeUrl(event.url);
  if (!url) return <p className="muted">Stored at {event.url ?? event.key ?? 'an unknown place'} (not viewable in the browser).</p>;
  const kind = mediaKind(url);
  const alt = `${event.metric ?? ''} / ${event.variant ?? ''}, iteration ${event.iter ?? ''}`;
  if (kind === 'image') {
    const img = <img src={url} alt={alt} className={large ? 'sample-full' : 'sample-thumb'} loading="lazy" />;
    return onOpen ? (
      <button type="button" className="sample-open" onClick={onOpen} title="Open full size">
        {img}
      </button>
    ) : (
      <a href={url} target="_blank" rel="noreferrer">
        {img}
      </a>
    );
  }
  if (kind === 'video') return <video src={url} controls className={large ? 'sample-full' : 'sample-thumb'} />;
  if (kind === 'audio') return <audio src={url} controls />;
  return (
    <a href={url} target="_blank" rel="noreferrer" className="sample-link">
      {fileNameOf(url)}
    </a>
  );
}

/** The full-size view: a modal dialog (Escape closes it). */
function SampleViewer({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  return (
    <Modal title={title} className="sample-viewer" onClose={onClose}>
      <div className="sample-viewer-head">
        <h2>{title}</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {children}
    </Modal>
  );
}
