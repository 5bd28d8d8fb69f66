/** One event in ClearML's `events.add_batch` format (`type`, `task`, `timestamp` in ms, then the type's fields). */
export interface ReportEvent {
  type: 'log' | 'training_stats_scalar' | 'training_stats_vector' | 'training_debug_image' | 'plot';
  task: string;
  timestamp: number;
  [field: string]: unknown;
}

export interface EventReporterOptions {
  /** Sends one batch; throws when it did not arrive. */
  send: (events: ReportEvent[]) => Promise<void>;
  flushIntervalMs: number;
  /** Largest batch per request. @default 2000 */
  maxBatch?: number;
  /** Called once per failure streak, with the error. */
  onError?: (error: unknown) => void;
  /**
   * Tells whether a failed batch can never succeed (the server refused its content, e.g. HTTP 400): such a batch is
   * dropped, with `onDropped`, instead of being retried forever in front of the events behind it.
   */
  isPermanent?: (error: unknown) => boolean;
  onDropped?: (events: ReportEvent[], error: unknown) => void;
}

/**
 * Queues events in memory (a push is an array append) and sends them in order, in batches, from a timer. A batch
 * that fails stays at the head of the queue and is tried again later with back-off, so nothing is lost or reordered
 * while the server is away.
 */
export class EventReporter {
  private queue: ReportEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private failures = 0;
  private nextTryAt = 0;
  private readonly maxBatch: number;

  constructor(private readonly options: EventReporterOptions) {
    this.maxBatch = options.maxBatch ?? 2000;
  }

  /** Starts the background flusher (its timer does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (Date.now() >= this.nextTryAt) void this.sendQueued().catch(() => undefined);
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  push(event: ReportEvent): void {
    this.queue.push(event);
  }

  /** Events not yet delivered, oldest first. */
  pending(): readonly ReportEvent[] {
    return this.queue;
  }

  /** Takes every undelivered event out of the queue (for a last synchronous delivery at exit). */
  drain(): ReportEvent[] {
    const all = this.queue;
    this.queue = [];
    return all;
  }

  /**
   * Delivers everything queued so far. Retries with back-off until `deadline` (epoch ms); throws the last error if
   * events are still undelivered then.
   */
  async flush(deadline = Date.now() + 10_000): Promise<void> {
    for (;;) {
      try {
        await this.sendQueued();
        if (this.queue.length === 0) return;
      } catch (error) {
        const wait = Math.min(250 * 2 ** Math.min(this.failures, 5), 4000);
        if (Date.now() + wait > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  private sendQueued(): Promise<void> {
    this.sending ??= this.sendAll().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.maxBatch);
      try {
        await this.options.send(batch);
      } catch (error) {
        if (this.options.isPermanent?.(error)) {
          this.queue.splice(0, batch.length);
          this.options.onDropped?.(batch, error);
          continue;
        }
        if (this.failures === 0) this.options.onError?.(error);
        this.failures += 1;
        this.nextTryAt = Date.now() + Math.min(1000 * 2 ** Math.min(this.failures, 5), 30_000);
        throw error;
      }
      this.failures = 0;
      this.queue.splice(0, batch.length);
    }
  }
}
