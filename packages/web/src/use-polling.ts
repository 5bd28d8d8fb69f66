import { useEffect } from 'react';

/** How often pages showing live data (running tasks, queues, workers) refresh. */
export const POLL_MS = 2000;

/** Re-runs `tick` every `ms` while `active`. */
export function usePolling(active: boolean, ms: number, tick: () => void): void {
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  }, [active, ms, tick]);
}
