import { describe, expect, it } from 'vitest';
import { TasklaneError } from './errors.js';
import {
  STATUS_ACTIONS,
  TASK_STATUSES,
  assertTaskWritable,
  assertTransition,
  canWriteTask,
  isTransitionAllowed,
  type StatusAction,
  type TaskStatus,
  type TaskWriteKind,
} from './task-lifecycle.js';

const TASK_ID = '3f2c9a1b4d5e6f708192a3b4c5d6e7f8';

/**
 * clearml-api.md §4, "Allowed transitions (with force=false)", copied by hand row by row. Deliberately NOT built
 * from ALLOWED_TRANSITIONS: this table is what catches a wrong one. `unknown` has no row in §4, so nothing leaves it.
 */
const SPEC_ALLOWED: Record<TaskStatus, readonly TaskStatus[]> = {
  created: ['queued', 'in_progress'],
  queued: ['created', 'in_progress', 'stopped'],
  in_progress: ['stopped', 'failed', 'created', 'completed'],
  stopped: ['closed', 'created', 'failed', 'queued', 'in_progress', 'published', 'publishing', 'completed'],
  closed: ['created', 'failed', 'published', 'publishing', 'stopped'],
  failed: ['created', 'stopped', 'published', 'queued'],
  publishing: ['published'],
  published: [],
  completed: ['published', 'in_progress', 'created'],
  unknown: [],
};

/** clearml-api.md §4, "Statuses:", in its order. */
const SPEC_STATUSES = [
  'created',
  'queued',
  'in_progress',
  'stopped',
  'publishing',
  'published',
  'closed',
  'failed',
  'completed',
  'unknown',
] as const;

/** Expected by §4: the same status is always allowed, otherwise only what the row lists. */
function specAllows(from: TaskStatus, to: TaskStatus): boolean {
  return from === to || SPEC_ALLOWED[from].includes(to);
}

const ALL_PAIRS = TASK_STATUSES.flatMap((from) => TASK_STATUSES.map((to) => [from, to] as const));
const DISALLOWED_PAIRS = ALL_PAIRS.filter(([from, to]) => !specAllows(from, to));
const ALLOWED_PAIRS = ALL_PAIRS.filter(([from, to]) => specAllows(from, to));

/** Runs `fn` and answers what it threw; fails the test if it did not throw. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw, but it returned normally');
}

describe('TASK_STATUSES', () => {
  it('are exactly the statuses of clearml-api.md §4', () => {
    expect([...TASK_STATUSES]).toEqual([...SPEC_STATUSES]);
  });

  it('each have a row in the expected table (so the pair tables below are complete)', () => {
    expect(Object.keys(SPEC_ALLOWED).sort()).toEqual([...TASK_STATUSES].sort());
  });
});

describe('isTransitionAllowed', () => {
  it('covers every status pair, 40 of them allowed', () => {
    expect(ALL_PAIRS).toHaveLength(100);
    // 30 moves listed in §4 plus the 10 "stay in the same status".
    expect(ALLOWED_PAIRS).toHaveLength(40);
  });

  it.each(ALL_PAIRS)('%s → %s follows clearml-api.md §4', (from, to) => {
    expect(isTransitionAllowed(from, to)).toBe(specAllows(from, to));
  });

  it.each(TASK_STATUSES)('%s → itself is always allowed', (status) => {
    expect(isTransitionAllowed(status, status)).toBe(true);
  });

  it('allows nothing out of published but staying published', () => {
    for (const to of TASK_STATUSES) expect(isTransitionAllowed('published', to)).toBe(to === 'published');
  });
});

describe('assertTransition', () => {
  it.each(DISALLOWED_PAIRS)('refuses %s → %s with INVALID_TRANSITION', (from, to) => {
    const error = thrownBy(() => assertTransition({ taskId: TASK_ID, from, to, action: 'move' }));
    expect(error).toBeInstanceOf(TasklaneError);
    expect(error).toMatchObject({
      code: 'INVALID_TRANSITION',
      status: 409,
      subcode: 110,
      details: { task: TASK_ID, current_status: from, new_status: to, action: 'move' },
    });
    const { message } = error as TasklaneError;
    expect(message).toMatch(/^Cannot move task 3f2c9a1b: /);
    expect(message).toContain(`its status is "${from}"`);
    expect(message).toContain(`moving to "${to}" is allowed only from `);
    expect(message).not.toContain(TASK_ID);
  });

  it.each(DISALLOWED_PAIRS)('refuses %s → %s also with force: false', (from, to) => {
    expect(() => assertTransition({ taskId: TASK_ID, from, to, action: 'move', force: false })).toThrow(TasklaneError);
  });

  it.each(ALLOWED_PAIRS)('lets %s → %s through without force', (from, to) => {
    expect(() => assertTransition({ taskId: TASK_ID, from, to, action: 'move' })).not.toThrow();
  });

  it.each(ALL_PAIRS)('lets %s → %s through with force: true', (from, to) => {
    expect(() => assertTransition({ taskId: TASK_ID, from, to, action: 'move', force: true })).not.toThrow();
  });

  it('lists the statuses a move is allowed from, in status order', () => {
    const error = thrownBy(() => assertTransition({ taskId: TASK_ID, from: 'created', to: 'completed', action: 'complete' }));
    expect((error as TasklaneError).message).toContain('moving to "completed" is allowed only from "in_progress", "stopped".');
  });

  it('says "no status" for a status nothing moves to', () => {
    const error = thrownBy(() => assertTransition({ taskId: TASK_ID, from: 'created', to: 'unknown', action: 'move' }));
    expect((error as TasklaneError).message).toContain('moving to "unknown" is allowed only from no status.');
  });

  it('tells why a draft cannot be published', () => {
    expect(() =>
      assertTransition({ taskId: TASK_ID, from: 'created', to: 'published', action: 'publish' }),
    ).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot publish task 3f2c9a1b: its status is "created" (Draft); moving to "published" is allowed only from "stopped", "publishing", "closed", "failed", "completed". Only a finished task (completed, stopped, failed or closed) can be published.]`);
  });

  it('tells how to run a completed task again when it is enqueued', () => {
    expect(() =>
      assertTransition({ taskId: TASK_ID, from: 'completed', to: 'queued', action: 'enqueue' }),
    ).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot enqueue task 3f2c9a1b: its status is "completed" (Completed); moving to "queued" is allowed only from "created", "stopped", "failed". Reset it (tasklane task reset 3f2c9a1b) or clone it (tasklane task clone 3f2c9a1b) first.]`);
  });

  it('says a published task is read-only when it is reset', () => {
    expect(() =>
      assertTransition({ taskId: TASK_ID, from: 'published', to: 'created', action: 'reset' }),
    ).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot reset task 3f2c9a1b: its status is "published" (Published); moving to "created" is allowed only from "queued", "in_progress", "stopped", "closed", "failed", "completed". A published task is read-only: clone it to run it again.]`);
  });

  it('names the status a draft must reach before it is marked completed', () => {
    expect(() =>
      assertTransition({ taskId: TASK_ID, from: 'created', to: 'completed', action: 'complete' }),
    ).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot complete task 3f2c9a1b: its status is "created" (Draft); moving to "completed" is allowed only from "in_progress", "stopped".]`);
  });
});

describe('STATUS_ACTIONS', () => {
  it('lead to the statuses of the endpoint table in clearml-api.md §4', () => {
    expect(STATUS_ACTIONS).toEqual({
      enqueue: 'queued',
      dequeue: 'created',
      started: 'in_progress',
      stopped: 'stopped',
      failed: 'failed',
      completed: 'completed',
      close: 'closed',
      reset: 'created',
      publish: 'published',
    });
  });

  const ACTION_CASES = (Object.keys(STATUS_ACTIONS) as StatusAction[]).flatMap((action) =>
    TASK_STATUSES.map((from) => [action, from, STATUS_ACTIONS[action]] as const),
  );

  it.each(ACTION_CASES)('%s from %s (→ %s) is checked against §4', (action, from, to) => {
    const run = () => assertTransition({ taskId: TASK_ID, from, to, action });
    if (specAllows(from, to)) {
      expect(run).not.toThrow();
    } else {
      const error = thrownBy(run);
      expect(error).toMatchObject({ code: 'INVALID_TRANSITION', details: { action, current_status: from, new_status: to } });
      expect((error as TasklaneError).message).toMatch(new RegExp(`^Cannot ${action} task 3f2c9a1b: its status is "${from}"`));
    }
    expect(() => assertTransition({ taskId: TASK_ID, from, to, action, force: true })).not.toThrow();
  });
});

const WRITE_KINDS: readonly TaskWriteKind[] = ['metadata', 'configuration', 'runtime', 'outputs'];

/**
 * Which statuses each part of a task may be written in, written out from the rules: metadata always; published never
 * for the other parts, even with force; with force any other status; without force configuration only in a draft,
 * runtime and outputs in a draft or a running task.
 */
const WRITABLE_IN: Record<TaskWriteKind, { withoutForce: readonly TaskStatus[]; withForce: readonly TaskStatus[] }> = {
  metadata: {
    withoutForce: ['created', 'queued', 'in_progress', 'stopped', 'publishing', 'published', 'closed', 'failed', 'completed', 'unknown'],
    withForce: ['created', 'queued', 'in_progress', 'stopped', 'publishing', 'published', 'closed', 'failed', 'completed', 'unknown'],
  },
  configuration: {
    withoutForce: ['created'],
    withForce: ['created', 'queued', 'in_progress', 'stopped', 'publishing', 'closed', 'failed', 'completed', 'unknown'],
  },
  runtime: {
    withoutForce: ['created', 'in_progress'],
    withForce: ['created', 'queued', 'in_progress', 'stopped', 'publishing', 'closed', 'failed', 'completed', 'unknown'],
  },
  outputs: {
    withoutForce: ['created', 'in_progress'],
    withForce: ['created', 'queued', 'in_progress', 'stopped', 'publishing', 'closed', 'failed', 'completed', 'unknown'],
  },
};

const WRITE_CASES = TASK_STATUSES.flatMap((status) =>
  WRITE_KINDS.flatMap((kind) =>
    [false, true].map((force) => {
      const table = WRITABLE_IN[kind];
      const expected = (force ? table.withForce : table.withoutForce).includes(status);
      return [status, kind, force, expected] as const;
    }),
  ),
);

describe('canWriteTask', () => {
  it('has a case for every status × kind × force', () => {
    expect(WRITE_CASES).toHaveLength(10 * 4 * 2);
  });

  it.each(WRITE_CASES)('status %s, %s, force %s → %s', (status, kind, force, expected) => {
    expect(canWriteTask(status, kind, force)).toBe(expected);
  });

  it.each(TASK_STATUSES)('defaults force to false (%s)', (status) => {
    for (const kind of WRITE_KINDS) expect(canWriteTask(status, kind)).toBe(canWriteTask(status, kind, false));
  });
});

describe('assertTaskWritable', () => {
  it.each(WRITE_CASES)('status %s, %s, force %s: writable %s', (status, kind, force, expected) => {
    const run = () => assertTaskWritable(TASK_ID, status, kind, force);
    if (expected) {
      expect(run).not.toThrow();
      return;
    }
    const error = thrownBy(run);
    expect(error).toBeInstanceOf(TasklaneError);
    expect(error).toMatchObject({
      code: 'TASK_READ_ONLY',
      status: 409,
      subcode: 110,
      details: { task: TASK_ID, current_status: status, part: kind },
    });
    expect((error as TasklaneError).message).toMatch(/^Cannot change the .+ of task 3f2c9a1b: its status is /);
  });

  it('tells how to edit the configuration of a completed task', () => {
    expect(() => assertTaskWritable(TASK_ID, 'completed', 'configuration')).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot change the configuration (script, hyperparameters, configuration objects, container, requirements) of task 3f2c9a1b: its status is "completed" (Completed). Only a draft ("created") can be edited: reset it (tasklane task reset 3f2c9a1b) or clone it (tasklane task clone 3f2c9a1b), or pass force to edit it anyway.]`);
  });

  it('says force does not open a published task', () => {
    expect(() => assertTaskWritable(TASK_ID, 'published', 'outputs', true)).toThrowErrorMatchingInlineSnapshot(`[TasklaneError: Cannot change the outputs (artifacts, models) of task 3f2c9a1b: its status is "published" (Published). A published task is read-only forever: clone it (tasklane task clone 3f2c9a1b) and edit the clone.]`);
  });
});
