import { describe, expect, it } from 'vitest';
import { MAX_OTHER_EVENTS_PER_BATCH, TasklaneError } from '@tasklane/protocol';
import { TaskConsole, type ConsoleLineEvent, type TaskConsoleEvent } from './task-console.js';

function makeConsole(send: (events: ConsoleLineEvent[]) => Promise<void>, options: { maxPending?: number; tailLines?: number } = {}) {
  // Only console lines here: the scalar events are tested on their own below.
  return new TaskConsole({ taskId: 't'.repeat(32), worker: 'w1', send: (events) => send(events as ConsoleLineEvent[]), flushIntervalMs: 10_000, ...options });
}

describe('TaskConsole', () => {
  it('cuts output into lines (stderr as error), keeps a partial line for later, and sends the agent lines in order', async () => {
    const sent: ConsoleLineEvent[] = [];
    const taskConsole = makeConsole(async (events) => void sent.push(...events));
    taskConsole.agentLine('cloning x');
    taskConsole.write('stdout', 'one\ntw');
    taskConsole.write('stderr', 'bad\r\n');
    taskConsole.write('stdout', 'o\n10%\r50%\r100%\nno newline');
    expect(await taskConsole.close(Date.now() + 1000)).toBe(true);
    expect(sent.map((e) => [e.level, e.msg])).toEqual([
      ['info', 'tasklane-agent: cloning x'],
      ['info', 'one'],
      ['error', 'bad'],
      ['info', 'two'],
      ['info', '100%'],
      ['info', 'no newline'],
    ]);
    expect(sent.every((e) => e.type === 'log' && e.worker === 'w1' && /^[0-9a-f]{32}$/.test(e.id))).toBe(true);
    expect(taskConsole.tail()).toEqual(['one', 'bad', 'two', '100%', 'no newline']);
  });

  it('keeps a batch that failed and sends it again with the same ids', async () => {
    const attempts: string[][] = [];
    let fail = true;
    const taskConsole = makeConsole(async (events) => {
      attempts.push(events.map((e) => e.id));
      if (fail) {
        fail = false;
        throw new TasklaneError('SERVER_UNREACHABLE', 'down');
      }
    });
    taskConsole.write('stdout', 'a\nb\n');
    expect(await taskConsole.close(Date.now() + 5000)).toBe(true);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]).toEqual(attempts[0]);
  });

  it('drops a batch the server refuses for good, so the lines behind it still go', async () => {
    const delivered: string[] = [];
    let calls = 0;
    const taskConsole = new TaskConsole({
      taskId: 't'.repeat(32),
      worker: 'w',
      maxBatch: 1,
      send: async (events) => {
        calls += 1;
        if (calls === 1) throw new TasklaneError('INVALID_INPUT', 'refused');
        delivered.push(...events.map((e) => e.msg));
      },
    });
    taskConsole.write('stdout', 'first\nsecond\n');
    expect(await taskConsole.close(Date.now() + 1000)).toBe(true);
    expect(delivered).toEqual(['second']);
  });

  it('keeps at most maxPending lines while the server is away, and says how many it dropped', async () => {
    let isDown = true;
    const delivered: string[] = [];
    const taskConsole = makeConsole(
      async (events) => {
        if (isDown) throw new TasklaneError('SERVER_UNREACHABLE', 'down');
        delivered.push(...events.map((e) => e.msg));
      },
      { maxPending: 3, tailLines: 2 },
    );
    taskConsole.write('stdout', '1\n2\n3\n4\n5\n');
    expect(await taskConsole.close(Date.now() + 50)).toBe(false);
    isDown = false;
    expect(await taskConsole.close(Date.now() + 5000)).toBe(true);
    expect(delivered).toEqual(['tasklane-agent: 2 console lines were dropped while the server could not be reached', '3', '4', '5']);
    expect(taskConsole.tail()).toEqual(['4', '5']);
  });

  it('cuts very long lines into pieces', async () => {
    const sent: string[] = [];
    const taskConsole = new TaskConsole({ taskId: 't'.repeat(32), worker: 'w', maxLineChars: 4, send: async (events) => void sent.push(...(events as ConsoleLineEvent[]).map((e) => e.msg)) });
    taskConsole.write('stdout', 'abcdefghij\n');
    await taskConsole.close(Date.now() + 1000);
    expect(sent).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('hands each line to takeLine first, and sends the scalars it reports in order with the lines', async () => {
    const sent: TaskConsoleEvent[] = [];
    const seen: string[] = [];
    const taskConsole = new TaskConsole({
      taskId: 't'.repeat(32),
      worker: 'w',
      send: async (events) => void sent.push(...events),
      takeLine: (stream, line) => {
        seen.push(`${stream}:${line}`);
        if (stream !== 'stdout' || !line.startsWith('metric ')) return false;
        taskConsole.scalar({ metric: 'loss', series: 'train', value: Number(line.slice(7)), iteration: 4 });
        return true;
      },
    });
    taskConsole.write('stdout', 'before\nmetric 0.5\n');
    taskConsole.write('stderr', 'metric 9\n');
    taskConsole.agentLine('agent says');
    await taskConsole.close(Date.now() + 1000);
    expect(seen).toEqual(['stdout:before', 'stdout:metric 0.5', 'stderr:metric 9']);
    expect(sent.map((e) => (e.type === 'log' ? e.msg : `${e.metric}/${e.variant}@${e.iter}=${e.value}`))).toEqual([
      'before',
      'loss/train@4=0.5',
      'metric 9',
      'tasklane-agent: agent says',
    ]);
    expect(taskConsole.tail()).toEqual(['before', 'metric 9']);
  });

  it('sends batches the server takes: at most MAX_OTHER_EVENTS_PER_BATCH events, and about 8 MB of lines however long they are', async () => {
    const batches: { count: number; bytes: number }[] = [];
    const lines: string[] = [];
    const taskConsole = new TaskConsole({
      taskId: 't'.repeat(32),
      worker: 'w',
      flushIntervalMs: 10_000,
      maxBatch: 1_000_000,
      maxPending: 1_000_000,
      send: async (events) => {
        batches.push({ count: events.length, bytes: Buffer.byteLength(events.map((e) => JSON.stringify(e)).join('\n')) });
        for (const e of events) if (e.type === 'log') lines.push(e.msg);
      },
    });
    for (let i = 0; i < MAX_OTHER_EVENTS_PER_BATCH + 5; i += 1) taskConsole.write('stdout', `short ${i}\n`);
    // A chatty program printing long lines: 300 of 64 KiB would be 19 MiB in one batch, over the server's 16 MiB.
    const long = 'y'.repeat(65_536);
    for (let i = 0; i < 300; i += 1) taskConsole.write('stdout', `${long}\n`);
    expect(await taskConsole.close(Date.now() + 10_000)).toBe(true);
    expect(batches.every((b) => b.count <= MAX_OTHER_EVENTS_PER_BATCH)).toBe(true);
    expect(Math.max(...batches.map((b) => b.bytes))).toBeLessThan(9 * 1024 * 1024);
    expect(batches[0]!.count).toBe(MAX_OTHER_EVENTS_PER_BATCH);
    expect(lines).toHaveLength(MAX_OTHER_EVENTS_PER_BATCH + 5 + 300);
    expect(lines.slice(0, 2)).toEqual(['short 0', 'short 1']);
    expect(lines.at(-1)).toBe(long);
  });
});
