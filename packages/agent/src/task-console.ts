import { MAX_OTHER_EVENTS_PER_BATCH, TasklaneError, newId } from '@tasklane/protocol';
import { redactSecrets } from 'tasklane/client';

/**
 * Most bytes of one batch, about (lines may be 64 KiB each: 2,000 of them would be over the server's request size
 * limit, 16 MiB by default, and the whole batch refused).
 */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** What an event adds to a batch's JSON beside its msg, at most (ids, timestamp, worker, field names). */
const EVENT_OVERHEAD_BYTES = 256;

/** One console line as `events.add_batch` takes it (json-lines). */
export interface ConsoleLineEvent {
  type: 'log';
  task: string;
  /** Made here, so a batch sent again after a lost reply is not stored twice. */
  id: string;
  timestamp: number;
  level: 'info' | 'error';
  worker: string;
  msg: string;
}

/** A scalar point as `events.add_batch` takes it (read from the program's metric lines). */
export interface ScalarEvent {
  type: 'training_stats_scalar';
  task: string;
  timestamp: number;
  iter: number;
  metric: string;
  variant: string;
  value: number;
}

/** What the console sends: its lines, and the scalars read from the output on the way. */
export type TaskConsoleEvent = ConsoleLineEvent | ScalarEvent;

export interface TaskConsoleOptions {
  taskId: string;
  worker: string;
  /** Sends one batch; throws when it did not arrive. */
  send: (events: TaskConsoleEvent[]) => Promise<void>;
  /** @default 1000 */
  flushIntervalMs?: number;
  /** Most events per batch (never more than the server's MAX_OTHER_EVENTS_PER_BATCH). @default 2000 */
  maxBatch?: number;
  /** Lines kept while the server is away; the oldest are dropped past it. @default 50000 */
  maxPending?: number;
  /** Lines of the process kept for the failure reason. @default 50 */
  tailLines?: number;
  /** A line longer than this is cut into pieces. @default 65536 */
  maxLineChars?: number;
  /** Called once per failure streak. */
  onError?: (error: unknown) => void;
  /** Sees each line of the process first; answering true takes it out of the console (e.g. a metric line). */
  takeLine?: (stream: 'stdout' | 'stderr', line: string) => boolean;
  /** Values never sent nor kept (the key pair's secret): each is replaced with `[redacted]` in every line. */
  secrets?: readonly string[];
  now?: () => number;
}

type StreamName = 'stdout' | 'stderr';

/**
 * The task's console as the agent sees it: the process's stdout and stderr cut into lines, plus the agent's own
 * lines ("cloning ..."), sent in order to the task's log in batches, from a timer. A batch that fails stays at the
 * head and is sent again (with the same ids) on the next tick. Keeps the process's last lines for the failure reason.
 */
export class TaskConsole {
  private pending: TaskConsoleEvent[] = [];
  private readonly partial: Record<StreamName, { text: string; since: number }> = {
    stdout: { text: '', since: 0 },
    stderr: { text: '', since: 0 },
  };
  private readonly lastLines: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private isFailing = false;
  private dropped = 0;
  private readonly options: Required<Omit<TaskConsoleOptions, 'onError' | 'takeLine'>> & Pick<TaskConsoleOptions, 'onError' | 'takeLine'>;

  constructor(options: TaskConsoleOptions) {
    this.options = {
      flushIntervalMs: 1000,
      maxBatch: 2000,
      maxPending: 50_000,
      tailLines: 50,
      maxLineChars: 65_536,
      secrets: [],
      now: Date.now,
      ...options,
    };
    this.options.maxBatch = Math.max(1, Math.min(this.options.maxBatch, MAX_OTHER_EVENTS_PER_BATCH));
  }

  /** Starts sending every `flushIntervalMs` (the timer does not keep the process alive). */
  start(): void {
    this.timer ??= setInterval(() => void this.tick(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Output of the process; a line without its newline yet waits for the rest (at most two ticks). */
  write(stream: StreamName, chunk: string): void {
    const buffer = this.partial[stream];
    if (buffer.text === '') buffer.since = this.options.now();
    buffer.text += chunk;
    const lines = buffer.text.split('\n');
    buffer.text = lines.pop() ?? '';
    // The unfinished line waits from now (not from when an earlier, now finished, line began).
    if (lines.length > 0) buffer.since = this.options.now();
    for (const line of lines) this.processLine(stream, line);
    if (buffer.text.length > this.options.maxLineChars) {
      this.processLine(stream, buffer.text);
      buffer.text = '';
    }
  }

  /** Ends a stream: its unfinished last line becomes a line. */
  endStream(stream: StreamName): void {
    const buffer = this.partial[stream];
    if (buffer.text !== '') this.processLine(stream, buffer.text);
    buffer.text = '';
  }

  /** A line of the agent's own (setup steps, outcome), not kept in the tail. */
  agentLine(text: string, level: 'info' | 'error' = 'info'): void {
    for (const line of text.split('\n')) this.push(level, `tasklane-agent: ${line}`);
  }

  /** A scalar point, sent in order with the console lines. */
  scalar(point: { metric: string; series: string; value: number; iteration: number }): void {
    this.enqueue({
      type: 'training_stats_scalar',
      task: this.options.taskId,
      timestamp: this.options.now(),
      iter: point.iteration,
      metric: point.metric,
      variant: point.series,
      value: point.value,
    });
  }

  /** The process's last lines (without the agent's), oldest first. */
  tail(): string[] {
    return [...this.lastLines];
  }

  /** Lines not delivered yet. */
  pendingCount(): number {
    return this.pending.length;
  }

  /** Stops the timer and sends everything left, trying until `deadline` (epoch ms); answers whether all arrived. */
  async close(deadline: number): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.endStream('stdout');
    this.endStream('stderr');
    while (this.pending.length > 0 && this.options.now() < deadline) {
      await this.sendNext();
      if (this.isFailing) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return this.pending.length === 0;
  }

  private processLine(stream: StreamName, raw: string): void {
    // A progress bar rewrites its line with \r: keep what a terminal would show last.
    const segments = raw.split('\r').filter((segment) => segment !== '');
    const line = redactSecrets(segments.length > 0 ? segments[segments.length - 1]! : '', this.options.secrets);
    if (this.options.takeLine?.(stream, line)) return;
    this.lastLines.push(line);
    if (this.lastLines.length > this.options.tailLines) this.lastLines.shift();
    const max = this.options.maxLineChars;
    for (let start = 0; start === 0 || start < line.length; start += max) {
      this.push(stream === 'stderr' ? 'error' : 'info', line.slice(start, start + max));
    }
  }

  private push(level: 'info' | 'error', msg: string): void {
    const { taskId, worker, secrets } = this.options;
    this.enqueue({ type: 'log', task: taskId, id: newId(), timestamp: this.options.now(), level, worker, msg: redactSecrets(msg, secrets) });
  }

  private enqueue(event: TaskConsoleEvent): void {
    this.pending.push(event);
    const overflow = this.pending.length - this.options.maxPending;
    if (overflow > 0) {
      this.pending.splice(0, overflow);
      this.dropped += overflow;
    }
  }

  private async tick(): Promise<void> {
    const now = this.options.now();
    for (const stream of ['stdout', 'stderr'] as const) {
      const buffer = this.partial[stream];
      if (buffer.text !== '' && now - buffer.since >= 2 * this.options.flushIntervalMs) this.endStream(stream);
    }
    // Drain what is there (a chatty script prints more than one batch a second), unless the server is away.
    do {
      await this.sendNext();
    } while (this.pending.length > 0 && !this.isFailing && this.timer);
  }

  private sendNext(): Promise<void> {
    // `finally` runs after the assignment, even when the batch is empty and nothing is awaited.
    this.sending ??= this.sendBatch().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async sendBatch(): Promise<void> {
    if (this.dropped > 0 && this.pending.length > 0) {
      const note = `tasklane-agent: ${this.dropped} console lines were dropped while the server could not be reached`;
      const { taskId, worker } = this.options;
      this.pending.unshift({ type: 'log', task: taskId, worker, timestamp: this.pending[0]!.timestamp, id: newId(), level: 'error', msg: note });
      this.dropped = 0;
    }
    const batch = this.nextBatch();
    if (batch.length === 0) return;
    try {
      await this.options.send(batch);
    } catch (error) {
      const isRefused = error instanceof TasklaneError && error.status >= 400 && error.status < 500;
      if (!this.isFailing) this.options.onError?.(error);
      this.isFailing = true;
      // A batch the server refuses for good (the task was deleted) would block every line behind it.
      if (!isRefused) return;
    }
    this.isFailing = false;
    const sent = new Set(batch);
    this.pending = this.pending.filter((event) => !sent.has(event));
  }

  /** The oldest pending events, at most maxBatch of them and about MAX_BATCH_BYTES (one, whatever its size). */
  private nextBatch(): TaskConsoleEvent[] {
    let bytes = 0;
    let count = 0;
    for (const event of this.pending) {
      if (count >= this.options.maxBatch) break;
      bytes += EVENT_OVERHEAD_BYTES + (event.type === 'log' ? event.msg.length * 3 : 0);
      if (count > 0 && bytes > MAX_BATCH_BYTES) break;
      count += 1;
    }
    return this.pending.slice(0, count);
  }
}
