import { describe, expect, it } from 'vitest';
import { TasklaneError, type TaskStatus } from '@tasklane/protocol';
import { deliverFinalStatus } from './final-status.js';

/**
 * A server stand-in for one task's status change: each attempt's fate is scripted — `lost` (no answer, not stored),
 * `answer-lost` (stored, then the connection dropped), `ok` — and waits advance a fake clock.
 */
function fakeServer(fates: ('lost' | 'answer-lost' | 'ok' | 'refused')[], to: TaskStatus = 'completed') {
  const state = { status: 'in_progress' as TaskStatus, attempts: 0, clock: 0, waits: [] as number[] };
  const send = async () => {
    const fate = fates[state.attempts++] ?? 'ok';
    if (fate === 'refused') throw new TasklaneError('UNAUTHORIZED', 'revoked');
    if (fate === 'lost') throw new TasklaneError('SERVER_UNREACHABLE', 'Cannot reach the Tasklane server (UND_ERR_SOCKET)');
    if (state.status !== 'in_progress') throw new TasklaneError('INVALID_TRANSITION', `Cannot complete: it is "${state.status}"`);
    state.status = to;
    if (fate === 'answer-lost') throw new TasklaneError('SERVER_UNREACHABLE', 'Cannot reach the Tasklane server (UND_ERR_SOCKET)');
  };
  const options = {
    status: to,
    send,
    readStatus: async () => state.status,
    deadline: 10_000,
    wait: async (ms: number) => {
      state.waits.push(ms);
      state.clock += ms;
    },
    now: () => state.clock,
  };
  return { state, options };
}

describe('deliverFinalStatus', () => {
  it('sends once when the server answers', async () => {
    const { state, options } = fakeServer(['ok']);
    await deliverFinalStatus(options);
    expect(state).toMatchObject({ status: 'completed', attempts: 1, waits: [] });
  });

  it('sends again, backing off, while the connection drops before the change is stored', async () => {
    const { state, options } = fakeServer(['lost', 'lost', 'lost', 'ok']);
    await deliverFinalStatus(options);
    expect(state).toMatchObject({ status: 'completed', attempts: 4, waits: [250, 500, 1000] });
  });

  it('counts a retry refused because the lost-answer attempt was stored as delivered', async () => {
    const { state, options } = fakeServer(['answer-lost']);
    await deliverFinalStatus(options);
    expect(state).toMatchObject({ status: 'completed', attempts: 2, waits: [250] });
  });

  it('throws a first refusal as it is (the task was moved on the server), and refusals that are not transient', async () => {
    const moved = fakeServer(['ok']);
    moved.state.status = 'stopped';
    await expect(deliverFinalStatus(moved.options)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(moved.state.attempts).toBe(1);

    const refused = fakeServer(['lost', 'refused']);
    await expect(deliverFinalStatus(refused.options)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(refused.state.attempts).toBe(2);
  });

  it('a retry refused while the task has another status is an error, not a delivery', async () => {
    const { state, options } = fakeServer(['lost']);
    // Between the attempts someone aborted the task on the server.
    const send = options.send;
    options.send = async () => {
      if (state.attempts === 1) state.status = 'stopped';
      return send();
    };
    await expect(deliverFinalStatus(options)).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
  });

  it('gives up with the last error once the next wait would pass the deadline', async () => {
    const { state, options } = fakeServer(Array(100).fill('lost'));
    await expect(deliverFinalStatus({ ...options, deadline: 3000 })).rejects.toMatchObject({ code: 'SERVER_UNREACHABLE' });
    // 250 + 500 + 1000 = 1750; the next wait (2000) would end past 3000.
    expect(state).toMatchObject({ status: 'in_progress', attempts: 4, waits: [250, 500, 1000] });
  });
});
