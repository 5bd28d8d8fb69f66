import { TasklaneError } from '@tasklane/protocol';
import type { SdkConfig } from '../config.js';

/** Set by `Task.setOffline`; when undefined the settings (`TASKLANE_OFFLINE_MODE`, config file) decide. */
let offlineOverride: boolean | undefined;

/** Turns offline mode on or off for this process, over the settings. @internal (public as `Task.setOffline`) */
export function setOfflineMode(isOn: boolean): void {
  if (typeof isOn !== 'boolean') {
    throw new TasklaneError('INVALID_INPUT', `Task.setOffline: expected true or false, got ${JSON.stringify(isOn)}`);
  }
  offlineOverride = isOn;
}

/** Whether the SDK records to an offline session instead of a server. @internal */
export function isOfflineMode(config: Pick<SdkConfig, 'offlineMode'>): boolean {
  return offlineOverride ?? config.offlineMode;
}

/**
 * The error of everything that needs a server (other tasks, queues, registered models) while offline. The code is
 * INVALID_INPUT (the call cannot work in this mode) and `details.offline` is true, so scripts can tell it apart.
 */
export function offlineError(what: string): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `${what} is not available offline: offline mode is on (Task.setOffline(true) or TASKLANE_OFFLINE_MODE), so there is ` +
      'no server to ask. Do it online, after importing the session: tasklane import-offline <session.zip>',
    { offline: true },
  );
}

/** What each server call the SDK makes is for, in the words of the SDK's API (for the offline error). */
const WHAT_NEEDS_A_SERVER: Record<string, string> = {
  'tasks.clone': 'Task.clone',
  'tasks.enqueue': 'Task.enqueue',
  'tasks.dequeue': 'Task.dequeue',
  'tasks.reset': 'task.reset()',
  'tasks.publish': 'task.publish()',
  'tasks.archive': 'task.archive()',
  'tasks.delete': 'task.delete()',
  'tasks.create': 'Creating a task without Task.init (Task.create)',
  'tasks.get_all': 'Querying tasks (Task.getTasks, Task.getTask)',
  'tasks.get_by_id': 'Reading another task (Task.getTask)',
  'projects.get_all': 'Looking up projects (Task.getTask, Task.getTasks, Model.query)',
  'models.get_all': 'Querying models (Model.query, InputModel.import)',
  'models.get_by_id': 'Reading a registered model (Model.get, InputModel)',
};

/** The offline error of one API call. @internal */
export function offlineCallError(endpoint: string): TasklaneError {
  return offlineError(WHAT_NEEDS_A_SERVER[endpoint] ?? `The API call ${endpoint}`);
}
