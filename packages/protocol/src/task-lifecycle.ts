import { TasklaneError } from './errors.js';
import { shortId } from './ids.js';

/** Task statuses as ClearML spells them on the wire. */
export const TASK_STATUSES = [
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
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** The names people see for each status (web UI, CLI tables). */
export const TASK_STATUS_LABEL: Record<TaskStatus, string> = {
  created: 'Draft',
  queued: 'Pending',
  in_progress: 'Running',
  stopped: 'Aborted',
  publishing: 'Publishing',
  published: 'Published',
  closed: 'Closed',
  failed: 'Failed',
  completed: 'Completed',
  unknown: 'Unknown',
};

/**
 * Allowed status changes without `force`, exactly ClearML's table (`bll/task/utils.py`).
 * Staying in the same status is always allowed.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
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

/** The actions that change a task's status, and the status each one leads to. */
export const STATUS_ACTIONS = {
  enqueue: 'queued',
  dequeue: 'created',
  started: 'in_progress',
  stopped: 'stopped',
  failed: 'failed',
  completed: 'completed',
  close: 'closed',
  reset: 'created',
  publish: 'published',
} as const satisfies Record<string, TaskStatus>;
export type StatusAction = keyof typeof STATUS_ACTIONS;

/** Tells whether `from → to` is allowed without force. */
export function isTransitionAllowed(from: TaskStatus, to: TaskStatus): boolean {
  return from === to || ALLOWED_TRANSITIONS[from].includes(to);
}

/** What a status-changing action needs to be checked. */
export interface TransitionCheck {
  taskId: string;
  from: TaskStatus;
  to: TaskStatus;
  /** The action's name as the user called it (`enqueue`, `publish`, ...), for the message. */
  action: string;
  /** ClearML's `force`: skips the check entirely. */
  force?: boolean;
}

/**
 * Throws INVALID_TRANSITION unless the move is allowed (or forced). The message names the task, its current
 * status, the move, the statuses it could be moved from, and what to do instead.
 */
export function assertTransition({ taskId, from, to, action, force = false }: TransitionCheck): void {
  if (force || isTransitionAllowed(from, to)) return;
  const sources = TASK_STATUSES.filter((s) => s !== to && ALLOWED_TRANSITIONS[s].includes(to));
  const allowedFrom = sources.length > 0 ? sources.map((s) => `"${s}"`).join(', ') : 'no status';
  throw new TasklaneError(
    'INVALID_TRANSITION',
    `Cannot ${action} task ${shortId(taskId)}: its status is "${from}" (${TASK_STATUS_LABEL[from]}); ` +
      `moving to "${to}" is allowed only from ${allowedFrom}.${transitionHint(taskId, from, to)}`,
    { task: taskId, current_status: from, new_status: to, action },
  );
}

function transitionHint(taskId: string, from: TaskStatus, to: TaskStatus): string {
  const id = shortId(taskId);
  if (from === 'published') return ' A published task is read-only: clone it to run it again.';
  if (to === 'queued' || to === 'in_progress') {
    return ` Reset it (tasklane task reset ${id}) or clone it (tasklane task clone ${id}) first.`;
  }
  if (to === 'published') return ' Only a finished task (completed, stopped, failed or closed) can be published.';
  return '';
}

/** Which part of a task a write touches; each part has its own rule of when it may change. */
export type TaskWriteKind = 'metadata' | 'configuration' | 'requirements' | 'runtime' | 'outputs';

const WRITE_DESCRIPTION: Record<TaskWriteKind, string> = {
  metadata: 'name, comment and tags',
  configuration: 'configuration (script, hyperparameters, configuration objects, container, requirements)',
  requirements: 'recorded packages (script.requirements)',
  runtime: 'runtime properties',
  outputs: 'outputs (artifacts, models)',
};

/**
 * Tells whether a part of a task may be written in its status.
 * - metadata (name, comment, tags, system tags, project): always.
 * - configuration: only a draft; with `force` any status but published.
 * - requirements, runtime and outputs: a draft or a running task; with `force` any status but published. A running
 *   task's SDK records its packages once it knows them (ClearML's `tasks.set_requirements`), and an agent after its
 *   install, as ClearML's server allows.
 */
export function canWriteTask(status: TaskStatus, kind: TaskWriteKind, force = false): boolean {
  if (kind === 'metadata') return true;
  if (status === 'published') return false;
  if (force) return true;
  if (kind === 'configuration') return status === 'created';
  return status === 'created' || status === 'in_progress';
}

/** Throws TASK_READ_ONLY when {@link canWriteTask} says no, with a message that says what to do. */
export function assertTaskWritable(taskId: string, status: TaskStatus, kind: TaskWriteKind, force = false): void {
  if (canWriteTask(status, kind, force)) return;
  const id = shortId(taskId);
  const hint =
    status === 'published'
      ? `A published task is read-only forever: clone it (tasklane task clone ${id}) and edit the clone.`
      : kind === 'configuration'
        ? `Only a draft ("created") can be edited: reset it (tasklane task reset ${id}) or clone it ` +
          `(tasklane task clone ${id}), or pass force to edit it anyway.`
        : `Only a draft or a running task can change its ${WRITE_DESCRIPTION[kind]}; pass force to change it anyway.`;
  throw new TasklaneError(
    'TASK_READ_ONLY',
    `Cannot change the ${WRITE_DESCRIPTION[kind]} of task ${id}: its status is "${status}" (${TASK_STATUS_LABEL[status]}). ${hint}`,
    { task: taskId, current_status: status, part: kind },
  );
}
