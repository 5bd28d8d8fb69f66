import type { ApiClient } from 'tasklane/client';
import type { AgentLog } from './agent-log.js';
import { isUnreachable } from './retry-while-unreachable.js';

export interface WorkerPresenceOptions {
  api: ApiClient;
  worker: string;
  /** Ids of the queues served (for the worker listing). */
  queues?: string[];
  /** @default 5000 */
  reportIntervalMs?: number;
  log: AgentLog;
}

/**
 * Keeps the worker visible on the server: `workers.status_report` every few seconds, naming the task it runs. The
 * server uses the report to tell a live agent's task (aborted by asking the agent) from an orphan (aborted at once).
 */
export class WorkerPresence {
  private taskId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private isWarned = false;
  private reporting: Promise<void> = Promise.resolve();

  constructor(private readonly options: WorkerPresenceOptions) {}

  get worker(): string {
    return this.options.worker;
  }

  /** Reports now and then every `reportIntervalMs` (the timer does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    void this.report();
    this.timer = setInterval(() => void this.report(), this.options.reportIntervalMs ?? 5000);
    this.timer.unref();
  }

  /** Names the task being run (or none) and reports it at once. */
  async setTask(taskId: string | undefined): Promise<void> {
    this.taskId = taskId;
    await this.report();
  }

  /** Sends one status report; failures are logged once per streak, never thrown. */
  report(): Promise<void> {
    this.reporting = this.reporting.then(async () => {
      try {
        await this.options.api.call('workers.status_report', {
          worker: this.options.worker,
          timestamp: Date.now(),
          task: this.taskId,
          queues: this.options.queues,
        });
        this.isWarned = false;
      } catch (error) {
        if (!this.isWarned) {
          const level = isUnreachable(error) ? 'debug' : 'warn';
          this.options.log[level]({ err: (error as Error).message }, 'status report failed (will try again)');
        }
        this.isWarned = true;
      }
    });
    return this.reporting;
  }

  /** Stops reporting. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops reporting and removes the worker from the server's list (errors are ignored: it expires anyway). */
  async unregister(): Promise<void> {
    this.stop();
    await this.reporting;
    await this.options.api.call('workers.unregister', { worker: this.options.worker }).catch(() => undefined);
  }
}
