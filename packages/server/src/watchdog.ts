import type { Store } from './storage/store.js';
import { changeStatus } from './services/task-status.js';
import type { ServiceContext } from './services/context.js';
import { TasklaneError } from '@tasklane/protocol';

export const WATCHDOG_STATUS_MESSAGE = 'Forced stop (non-responsive)';

function describeSeconds(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** The name every server process claims a watchdog round under (Store.transactionIfIdle). */
export const WATCHDOG_ROUND = 'tasklane watchdog round';

/**
 * One watchdog round: every running task whose last sign of life (ping, progress, event, edit) is older than the
 * timeout is aborted, with a status_reason that says why. Answers the ids it aborted.
 *
 * Every server process on a database runs rounds on its own timer. A round claims the database first, so while one
 * process runs a round the others skip theirs (answering no ids) rather than reading the same silent tasks and
 * colliding on them: each abort then happens once, in one process, without the re-runs of a serialization failure.
 * The claim is not what keeps an abort single (the status change is a compare-and-set on the status that was read);
 * it keeps the rounds from fighting.
 */
export async function abortNonResponsiveTasks(
  store: Store,
  base: Omit<ServiceContext, 'repos'>,
  timeoutSec: number,
): Promise<string[]> {
  const round = await store.transactionIfIdle(WATCHDOG_ROUND, async (repos) => {
    const ctx: ServiceContext = { ...base, repos };
    const cutoff = new Date(Date.parse(ctx.now()) - timeoutSec * 1000).toISOString();
    const stale = await repos.tasks.list({ statuses: { include: ['in_progress'], exclude: [] }, lastUpdateBefore: cutoff, includeHidden: true });
    const aborted: string[] = [];
    for (const task of stale) {
      try {
        await changeStatus(ctx, task, {
          action: 'abort',
          to: 'stopped',
          force: true,
          reason: `${WATCHDOG_STATUS_MESSAGE}: no ping, progress or event since ${task.last_update}, longer than the watchdog timeout of ${describeSeconds(timeoutSec)}`,
          message: WATCHDOG_STATUS_MESSAGE,
          patch: (_t, now) => ({ completed: now }),
        });
        aborted.push(task.id);
      } catch (error) {
        if (!(error instanceof TasklaneError && error.code === 'STATUS_CONFLICT')) throw error;
      }
    }
    return aborted;
  });
  return round?.value ?? [];
}
