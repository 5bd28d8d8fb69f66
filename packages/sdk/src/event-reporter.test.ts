import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TasklaneError } from '@tasklane/protocol';
import { EventReporter, type ReportEvent } from './event-reporter.js';

const scalar = (iter: number): ReportEvent => ({ type: 'training_stats_scalar', task: 't', timestamp: 0, iter, metric: 'm', variant: 'v', value: iter });

/** A server stand-in that can be switched off, recording what it received. */
function fakeServer() {
  const received: number[] = [];
  const state = { isUp: true, refuse: new Set<number>() };
  const send = async (events: ReportEvent[]) => {
    if (!state.isUp) throw new TasklaneError('SERVER_UNREACHABLE', 'down');
    if (events.some((e) => state.refuse.has(e.iter as number))) throw new TasklaneError('INVALID_INPUT', 'bad event');
    received.push(...events.map((e) => e.iter as number));
  };
  return { received, state, send };
}

describe('EventReporter', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('delivers everything in order, in batches, after the server comes back', async () => {
    const server = fakeServer();
    const reporter = new EventReporter({ send: server.send, flushIntervalMs: 1000, maxBatch: 7 });
    server.state.isUp = false;
    for (let i = 0; i < 50; i++) reporter.push(scalar(i));
    await expect(reporter.flush(Date.now() + 300)).rejects.toThrow('down');
    expect(reporter.pendingCount()).toBe(50);
    server.state.isUp = true;
    for (let i = 50; i < 60; i++) reporter.push(scalar(i));
    await reporter.flush();
    expect(server.received).toEqual(Array.from({ length: 60 }, (_v, i) => i));
    expect(reporter.pendingCount()).toBe(0);
  });

  it('spills to files past its memory bound and reads them back in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    const server = fakeServer();
    server.state.isUp = false;
    const reporter = new EventReporter({ send: server.send, flushIntervalMs: 1000, maxBatch: 100, maxInMemory: 250, spillDir: dir });
    for (let i = 0; i < 1000; i++) reporter.push(scalar(i));
    expect((await readdir(dir)).length).toBe(4);
    expect(reporter.pendingCount()).toBe(1000);
    server.state.isUp = true;
    await reporter.flush();
    expect(server.received).toEqual(Array.from({ length: 1000 }, (_v, i) => i));
    expect(await readdir(dir)).toEqual([]);
  });

  it('spills every kind of event intact (scalars go column by column in the files)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    const sent: ReportEvent[] = [];
    const events: ReportEvent[] = [];
    for (let i = 0; i < 40; i++) {
      events.push({ ...scalar(i), timestamp: 1000 + i, ...(i % 2 ? { x_axis_label: 'epoch' } : {}), variant: i % 2 ? 'odd' : 'even' });
      if (i % 10 === 0) events.push({ type: 'log', task: 't', timestamp: 2000 + i, id: `line-${i}`, level: 'info', msg: `line ${i}` });
    }
    const reporter = new EventReporter({ send: async (batch) => void sent.push(...batch), flushIntervalMs: 1000, maxBatch: 7, maxInMemory: 15, spillDir: dir });
    for (const event of events) reporter.push(event);
    expect((await readdir(dir)).length).toBeGreaterThan(1);
    await reporter.flush();
    const key = (e: ReportEvent) => JSON.stringify(Object.entries(e).sort(([a], [b]) => a.localeCompare(b)));
    expect(sent.map(key).sort()).toEqual(events.map(key).sort());
    // Each series keeps its order (a later point of an iteration overwrites an earlier one on the server).
    expect(sent.filter((e) => e.variant === 'even').map((e) => e.iter)).toEqual(events.filter((e) => e.variant === 'even').map((e) => e.iter));
  });

  it('spills while a send hangs, so memory stays bounded, and still delivers everything in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    const received: number[] = [];
    let release!: () => void;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    const send = async (events: ReportEvent[]) => {
      calls += 1;
      if (calls === 1) await hanging;
      received.push(...events.map((e) => e.iter as number));
    };
    const reporter = new EventReporter({ send, flushIntervalMs: 1000, maxBatch: 50, maxInMemory: 100, spillDir: dir });
    for (let i = 0; i < 30; i++) reporter.push(scalar(i));
    const flushing = reporter.flush();
    await new Promise((resolve) => setImmediate(resolve));
    for (let i = 30; i < 330; i++) reporter.push(scalar(i));
    // 300 events pushed during the hanging send: three files of 100, nothing left in memory.
    expect((await readdir(dir)).length).toBe(3);
    expect(reporter.pendingCount()).toBe(330);
    release();
    await flushing;
    expect(received).toEqual(Array.from({ length: 330 }, (_v, i) => i));
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps the order when a send fails after newer events were spilled meanwhile', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    const server = fakeServer();
    let fail = true;
    let pushDuringSend = true;
    const reporter: EventReporter = new EventReporter({
      send: async (events) => {
        if (pushDuringSend) {
          pushDuringSend = false;
          for (let i = 20; i < 70; i++) reporter.push(scalar(i)); // spilled: newer than the batch on the wire
        }
        if (fail) throw new TasklaneError('SERVER_UNREACHABLE', 'down');
        await server.send(events);
      },
      flushIntervalMs: 1000,
      maxBatch: 10,
      maxInMemory: 50,
      spillDir: dir,
    });
    for (let i = 0; i < 20; i++) reporter.push(scalar(i));
    await expect(reporter.flush(Date.now() + 100)).rejects.toThrow('down');
    for (let i = 70; i < 75; i++) reporter.push(scalar(i));
    expect(reporter.pendingCount()).toBe(75);
    expect(reporter.drain().map((e) => e.iter)).toEqual(Array.from({ length: 75 }, (_v, i) => i));
  });

  it('hands over spilled and queued events, oldest first, at exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    const reporter = new EventReporter({ send: async () => undefined, flushIntervalMs: 1000, maxInMemory: 10, spillDir: dir });
    for (let i = 0; i < 25; i++) reporter.push(scalar(i));
    expect(reporter.drain().map((e) => e.iter)).toEqual(Array.from({ length: 25 }, (_v, i) => i));
    expect(reporter.pendingCount()).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps events in memory, without throwing into the report call, when the spill folder cannot be written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
    dirs.push(dir);
    // A file where the spill folder should be: mkdir fails (as on a read-only or full disk).
    await writeFile(join(dir, 'not-a-folder'), '');
    const server = fakeServer();
    server.state.isUp = false;
    const problems: string[] = [];
    const reporter = new EventReporter({
      send: server.send,
      flushIntervalMs: 1000,
      maxBatch: 10,
      maxInMemory: 20,
      spillDir: join(dir, 'not-a-folder', 'spill'),
      onSpillError: (message) => problems.push(message),
    });
    for (let i = 0; i < 50; i++) reporter.push(scalar(i));
    expect(problems).toHaveLength(2); // at 20 queued, then again at 40, not at every push
    expect(problems[0]).toMatch(/^could not write 20 queued reports to a file in .*not-a-folder\/spill \(.*\); keeping them in memory$/);
    expect(reporter.pendingCount()).toBe(50);
    server.state.isUp = true;
    await reporter.flush();
    expect(server.received).toEqual(Array.from({ length: 50 }, (_v, i) => i));
  });

  it('gives up a spill file that cannot be read back instead of blocking every event behind it, and at exit', async () => {
    for (const atExit of [false, true]) {
      const dir = await mkdtemp(join(tmpdir(), 'tasklane-spill-'));
      dirs.push(dir);
      const server = fakeServer();
      server.state.isUp = false;
      const problems: string[] = [];
      const reporter = new EventReporter({ send: server.send, flushIntervalMs: 1000, maxBatch: 10, maxInMemory: 10, spillDir: dir, onSpillError: (m) => problems.push(m) });
      for (let i = 0; i < 25; i++) reporter.push(scalar(i));
      const files = (await readdir(dir)).sort();
      expect(files).toHaveLength(2);
      // The first file vanishes (a temp cleaner), as if never written.
      await rm(join(dir, files[0]!));
      server.state.isUp = true;
      if (atExit) {
        expect(reporter.drain().map((e) => e.iter)).toEqual(Array.from({ length: 15 }, (_v, i) => i + 10));
      } else {
        await reporter.flush(Date.now() + 2000);
        expect(server.received).toEqual(Array.from({ length: 15 }, (_v, i) => i + 10));
      }
      expect(problems).toEqual([expect.stringMatching(new RegExp(`^could not read back 10 reports from .*${files[0]} \\(ENOENT.*\\); they are lost$`))]);
      expect(reporter.pendingCount()).toBe(0);
    }
  });

  it('drops a batch the server refuses for good instead of blocking the ones behind it', async () => {
    const server = fakeServer();
    const dropped: number[] = [];
    const reporter = new EventReporter({
      send: server.send,
      flushIntervalMs: 1000,
      maxBatch: 5,
      isPermanent: (error) => error instanceof TasklaneError && error.status === 400,
      onDropped: (events) => dropped.push(...events.map((e) => e.iter as number)),
    });
    server.state.refuse.add(7);
    for (let i = 0; i < 15; i++) reporter.push(scalar(i));
    await reporter.flush();
    expect(dropped).toEqual([5, 6, 7, 8, 9]);
    expect(server.received).toEqual([0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
  });
});
