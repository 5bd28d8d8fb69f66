import { useCallback, useEffect, useRef, useState } from 'react';
import type { LogEvent } from '@tasklane/protocol';
import { api, errorMessage } from '../api';
import { POLL_MS, usePolling } from '../use-polling';

/** Lines asked per page (the tail, and each "load earlier"). */
export const CONSOLE_PAGE = 500;
/** Lines kept in the page at most while following a chatty task; older ones can be loaded again. */
const MAX_KEPT = 20_000;
/** Forward pages fetched per poll before waiting for the next one. */
const MAX_PAGES_PER_POLL = 5;
const FORWARD_BATCH = 2000;

export interface ConsoleLog {
  lines: LogEvent[];
  /** All lines of the task (with a search: all matching lines) on the server. */
  total: number;
  hasEarlier: boolean;
  isLoading: boolean;
  isLoadingEarlier: boolean;
  error: string | undefined;
  loadEarlier: () => void;
  /** Tells which change of `lines` came last, so the view can keep its scroll position right. */
  lastChange: 'reset' | 'append' | 'prepend';
}

function appendNew(lines: LogEvent[], incoming: LogEvent[]): LogEvent[] {
  const seen = new Set(lines.slice(-FORWARD_BATCH * 2).map((l) => l.id));
  const fresh = incoming.filter((l) => !seen.has(l.id));
  if (fresh.length === 0) return lines;
  const next = lines.concat(fresh);
  return next.length > MAX_KEPT ? next.slice(next.length - MAX_KEPT) : next;
}

/**
 * The console of a task, paged over events.get_task_log: the tail first, earlier pages on demand, and (while the
 * task is live) new lines polled and appended. A search is done by the server over the whole log.
 */
export function useConsoleLog(taskId: string, search: string, isLive: boolean): ConsoleLog {
  const [lines, setLines] = useState<LogEvent[]>([]);
  const [total, setTotal] = useState(0);
  const [isLoading, setLoading] = useState(true);
  const [isLoadingEarlier, setLoadingEarlier] = useState(false);
  const [error, setError] = useState<string>();
  const [lastChange, setLastChange] = useState<ConsoleLog['lastChange']>('reset');
  // Answers for an older task or search are dropped: each reset starts a new generation.
  const generation = useRef(0);
  const linesRef = useRef(lines);
  linesRef.current = lines;
  const polling = useRef(false);
  const query = search ? { search } : {};

  useEffect(() => {
    const gen = ++generation.current;
    setLines([]);
    setTotal(0);
    setLoading(true);
    setError(undefined);
    api.call('events.get_task_log', { task: taskId, batch_size: CONSOLE_PAGE, navigate_earlier: true, order: 'asc', ...query }).then(
      (page) => {
        if (gen !== generation.current) return;
        setLastChange('reset');
        setLines(page.events);
        setTotal(page.total);
        setLoading(false);
      },
      (err: unknown) => {
        if (gen !== generation.current) return;
        setError(errorMessage(err));
        setLoading(false);
      },
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [taskId, search]);

  const pollNew = useCallback(async () => {
    if (polling.current) return;
    polling.current = true;
    const gen = generation.current;
    try {
      for (let i = 0; i < MAX_PAGES_PER_POLL; i++) {
        const last = linesRef.current.at(-1);
        // From just before the last line's time: a line written later with that same timestamp is not missed;
        // the lines already shown are dropped by id.
        const page = await api.call('events.get_task_log', {
          task: taskId,
          batch_size: FORWARD_BATCH,
          navigate_earlier: !last,
          order: 'asc',
          ...(last ? { from_timestamp: last.timestamp - 1 } : {}),
          ...(search ? { search } : {}),
        });
        if (gen !== generation.current) return;
        const next = appendNew(linesRef.current, page.events);
        linesRef.current = next;
        setLastChange('append');
        setLines(next);
        setTotal(page.total);
        setError(undefined);
        if (page.returned < FORWARD_BATCH) break;
      }
    } catch (err) {
      if (gen === generation.current) setError(errorMessage(err));
    } finally {
      polling.current = false;
    }
  }, [taskId, search]);

  const tick = useCallback(() => void pollNew(), [pollNew]);
  usePolling(isLive, POLL_MS, tick);
  // One last look when the task stops being live, for the lines it wrote at the very end.
  const wasLive = useRef(isLive);
  useEffect(() => {
    if (wasLive.current && !isLive) void pollNew();
    wasLive.current = isLive;
  }, [isLive, pollNew]);

  const loadEarlier = useCallback(() => {
    const first = linesRef.current[0];
    if (!first) return;
    const gen = generation.current;
    setLoadingEarlier(true);
    api
      .call('events.get_task_log', {
        task: taskId,
        batch_size: CONSOLE_PAGE,
        navigate_earlier: true,
        order: 'asc',
        from_timestamp: first.timestamp,
        ...(search ? { search } : {}),
      })
      .then(
        (page) => {
          if (gen !== generation.current) return;
          const shown = new Set(linesRef.current.slice(0, FORWARD_BATCH).map((l) => l.id));
          setLastChange('prepend');
          setLines((current) => page.events.filter((l) => !shown.has(l.id)).concat(current));
          setTotal(page.total);
        },
        (err: unknown) => gen === generation.current && setError(errorMessage(err)),
      )
      .finally(() => gen === generation.current && setLoadingEarlier(false));
  }, [taskId, search]);

  return { lines, total, hasEarlier: lines.length < total, isLoading, isLoadingEarlier, error, loadEarlier, lastChange };
}
