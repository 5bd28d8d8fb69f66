import { setTimeout as sleep } from 'node:timers/promises';
import { TasklaneError, isTransientError, type TaskStatus } from '@tasklane/protocol';

/** Options of {@link deliverFinalStatus}. */
export interface DeliverFinalStatusOptions {
  /** The status the run ends with. */
  status: TaskStatus;
  /** Sends the status change once (`tasks.completed`, `tasks.failed`, `tasks.stopped`). */
  send: () => Promise<unknown>;
  /** The task's status on the server now. */
  readStatus: () => Promise<TaskStatus | undefined>;
  /** No new attempt starts after this (epoch ms). */
  deadline: number;
  /** Waits between attempts (a seam for tests). @default node's timers */
  wait?: (ms: number) => Promise<unknown>;
  /** The clock in epoch ms (a seam for tests). @default Date.now */
  now?: () => number;
}

/** Waits before the 2nd, 3rd, ... attempt: 0.25 s doubling up to 2 s, as long as the deadline allows. */
const FIRST_WAIT_MS = 250;
const MAX_WAIT_MS = 2000;

/**
 * Sends the final status of a run, and sends it again while the server cannot be reached: behind a load balancer a
 * server process may die with the request on its way (the connection drops), and the run's status would stay
 * "in_progress" until the watchdog. When a later attempt is refused as an illegal transition, an earlier one did
 * arrive and only its answer was lost: the task has the status, which counts as delivered. Other refusals, and a
 * transient failure past the deadline, are thrown.
 */
export async function deliverFinalStatus(options: DeliverFinalStatusOptions): Promise<void> {
  const wait = options.wait ?? sleep;
  const now = options.now ?? Date.now;
  for (let attempt = 0; ; attempt += 1) {
    try {
      await options.send();
      return;
    } catch (error) {
      if (attempt > 0 && error instanceof TasklaneError && error.code === 'INVALID_TRANSITION') {
        const status = await options.readStatus().catch(() => undefined);
        if (status === options.status) return;
      }
      const pause = Math.min(FIRST_WAIT_MS * 2 ** attempt, MAX_WAIT_MS);
      if (!isTransientError(error) || now() + pause > options.deadline) throw error;
      await wait(pause);
    }
  }
}
