import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { joinScalars, splitScalars, type SplitBatch } from './scalar-columns.js';

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
  /** Largest batch per request. @default 5000 */
  maxBatch?: number;
  /**
   * Most events kept in memory; past it the queued events are written to a file in `spillDir` (when the server is
   * away for long) and read back in order when it returns. @default 200000
   */
  maxInMemory?: number;
  /** Folder for spilled events; without it, memory is the only buffer. */
  spillDir?: string;
  /** Called once per failure streak, with the error. */
  onError?: (error: unknown) => void;
  /**
   * Tells whether a failed batch can never succeed (the server refused its content, e.g. HTTP 400): such a batch is
   * dropped, with `onDropped`, instead of being retried forever in front of the events behind it.
   */
  isPermanent?: (error: unknown) => boolean;
  onDropped?: (events: ReportEvent[], error: unknown) => void;
  /**
   * Told when a spill file cannot be written (the events then stay in memory) or read back (its events are lost),
   * with what happened in words.
   */
  onSpillError?: (message: string, error: unknown) => void;
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
  private readonly maxInMemory: number;
  /**
   * Spill files, oldest first: one line per batch of up to maxBatch events (scalars column by column, which is
   * several times cheaper to write and read back than an object per line). The first file may be partly sent
   * already: `spillSent` lines, holding `spillSentEvents` events.
   */
  private spills: { file: string; count: number }[] = [];
  private spillSent = 0;
  private spillSentEvents = 0;
  private spillSeq = 0;
  /** Queue length at which to spill: maxInMemory, higher after a spill failed (so a full disk is not tried per push). */
  private spillAt: number;
  /** The events being sent now (taken from the queue as a whole: no O(n) shifting of a long array per batch). */
  private inFlight: ReportEvent[] = [];
  private inFlightSent = 0;

  constructor(private readonly options: EventReporterOptions) {
    this.maxBatch = options.maxBatch ?? 5000;
    this.maxInMemory = options.maxInMemory ?? 200_000;
    this.spillAt = this.maxInMemory;
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
    // Also while a batch is on the wire: a send that hangs (up to the client's timeout) must not let memory grow.
    if (this.queue.length >= this.spillAt && this.options.spillDir) this.spill();
  }

  /** How many events are not delivered yet. */
  pendingCount(): number {
    return this.spills.reduce((n, s) => n + s.count, -this.spillSentEvents) + this.inFlight.length - this.inFlightSent + this.queue.length;
  }

  /** Writes events to a new spill file; answers its name, or throws (leaving no file behind). */
  private writeSpill(events: readonly ReportEvent[]): string {
    const dir = this.options.spillDir!;
    const file = join(dir, `events-${process.pid}-${String(this.spillSeq++).padStart(6, '0')}.jsonl`);
    try {
      mkdirSync(dir, { recursive: true });
      const lines: string[] = [];
      for (let start = 0; start < events.length; start += this.maxBatch) {
        lines.push(JSON.stringify(splitScalars(events.slice(start, start + this.maxBatch))));
      }
      writeFileSync(file, lines.join('\n'));
      return file;
    } catch (error) {
      try {
        rmSync(file, { force: true });
      } catch {
        // nothing more to do
      }
      throw error;
    }
  }

  /** Puts events in a spill file ahead of the others (they are older); answers false if it could not be written. */
  private spillAhead(events: ReportEvent[]): boolean {
    try {
      this.spills.unshift({ file: this.writeSpill(events), count: events.length });
      return true;
    } catch {
      return false; // they go back in memory, in front of the queue
    }
  }

  /** Writes the in-memory queue to a new spill file, keeping memory bounded while the server is away. */
  private spill(): void {
    let file: string;
    try {
      file = this.writeSpill(this.queue);
    } catch (error) {
      // A full disk or a read-only state folder must not throw into the script's report call, nor leave half a file
      // to be read back: the events stay queued in memory, and spilling is tried again once as many more have come.
      this.spillAt = this.queue.length + this.maxInMemory;
      this.options.onSpillError?.(
        `could not write ${this.queue.length} queued reports to a file in ${this.options.spillDir} (${(error as Error).message}); keeping them in memory`,
        error,
      );
      return;
    }
    this.spills.push({ file, count: this.queue.length });
    this.queue = [];
    this.spillAt = this.maxInMemory;
  }

  /** Gives up the oldest spill file, which cannot be read back (deleted meanwhile, damaged): its events are lost. */
  private loseFirstSpill(error: unknown): void {
    const spill = this.spills.shift()!;
    const lost = spill.count - this.spillSentEvents;
    this.spillSent = 0;
    this.spillSentEvents = 0;
    try {
      rmSync(spill.file, { force: true });
    } catch {
      // nothing more to do
    }
    this.options.onSpillError?.(`could not read back ${lost} reports from ${spill.file} (${(error as Error).message}); they are lost`, error);
  }

  /** The events of one spilled line. */
  private static readSpilled(line: string): ReportEvent[] {
    return joinScalars(JSON.parse(line) as SplitBatch);
  }

  /** Takes every undelivered event, spilled ones included, oldest first (for a last synchronous delivery at exit). */
  drain(): ReportEvent[] {
    const all: ReportEvent[] = [];
    // The batch in the air is older than any spill file (files made while it was sent hold newer events). Sending
    // it again is harmless if it arrived after all: scalars overwrite, lines carry ids.
    for (let i = this.inFlightSent; i < this.inFlight.length; i++) all.push(this.inFlight[i]!);
    this.inFlight = [];
    this.inFlightSent = 0;
    for (const [i, spill] of this.spills.entries()) {
      // Runs inside the process' 'exit' event: an unreadable file must not throw away everything else (and the status).
      try {
        const lines = readFileSync(spill.file, 'utf8').split('\n').slice(i === 0 ? this.spillSent : 0);
        const events: ReportEvent[] = [];
        for (const line of lines) if (line) events.push(...EventReporter.readSpilled(line));
        for (const event of events) all.push(event);
      } catch (error) {
        const lost = spill.count - (i === 0 ? this.spillSentEvents : 0);
        this.options.onSpillError?.(`could not read back ${lost} reports from ${spill.file} (${(error as Error).message}); they are lost`, error);
      }
      try {
        rmSync(spill.file, { force: true });
      } catch {
        // nothing more to do
      }
    }
    this.spills = [];
    this.spillSent = 0;
    this.spillSentEvents = 0;
    for (const event of this.queue) all.push(event);
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
        if (this.pendingCount() === 0) return;
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

  /** Sends everything, oldest first: spill files (always older than the in-memory queue), then the queue. */
  private async sendAll(): Promise<void> {
    for (;;) {
      if (this.spills.length > 0) await this.sendFirstSpill();
      else if (this.queue.length > 0) await this.sendQueue();
      else return;
    }
  }

  private async sendFirstSpill(): Promise<void> {
    const spill = this.spills[0]!;
    let batches: ReportEvent[][];
    try {
      const lines = (await readFile(spill.file, 'utf8')).split('\n').slice(this.spillSent);
      batches = lines.map((line) => EventReporter.readSpilled(line));
    } catch (error) {
      // Retrying would block every event behind this file for good.
      this.loseFirstSpill(error);
      return;
    }
    for (const batch of batches) {
      await this.sendBatch(batch);
      this.spillSent += 1;
      this.spillSentEvents += batch.length;
    }
    this.spills.shift();
    this.spillSent = 0;
    this.spillSentEvents = 0;
    await rm(spill.file, { force: true });
  }

  /** Sends the in-memory queue, taken as a whole (no O(n) shifting of a long array per batch). */
  private async sendQueue(): Promise<void> {
    this.inFlight = this.queue;
    this.inFlightSent = 0;
    this.queue = [];
    try {
      while (this.inFlightSent < this.inFlight.length) {
        const batch = this.inFlight.slice(this.inFlightSent, this.inFlightSent + this.maxBatch);
        await this.sendBatch(batch);
        this.inFlightSent += batch.length;
      }
    } catch (error) {
      const rest = this.inFlight.slice(this.inFlightSent);
      // Unsent events stay ahead of everything reported after them: in front of the queue, or — when the queue was
      // spilled to files meanwhile — in a file of their own ahead of those.
      if (this.spills.length === 0 || !this.spillAhead(rest)) this.queue = rest.concat(this.queue);
      throw error;
    } finally {
      this.inFlight = [];
      this.inFlightSent = 0;
    }
  }

  /** Sends one batch; a batch the server refuses for good is dropped (reported), other failures are thrown. */
  private async sendBatch(batch: ReportEvent[]): Promise<void> {
    try {
      await this.options.send(batch);
      this.failures = 0;
    } catch (error) {
      if (this.options.isPermanent?.(error)) {
        this.options.onDropped?.(batch, error);
        return;
      }
      if (this.failures === 0) this.options.onError?.(error);
      this.failures += 1;
      this.nextTryAt = Date.now() + Math.min(1000 * 2 ** Math.min(this.failures, 5), 30_000);
      throw error;
    }
  }
}
