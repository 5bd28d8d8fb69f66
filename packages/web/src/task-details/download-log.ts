import { api } from '../api';

/** A file name from a task name: letters, digits, dot, dash and underscore only. */
export function logFileName(taskName: string, taskId: string): string {
  const base = taskName.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80);
  return `${base || taskId}.log`;
}

/**
 * Saves the whole console log as a text file. events.download_task_log answers the text inside the JSON envelope
 * (not a file), so the page fetches it and hands the browser a Blob to save.
 */
export async function downloadTaskLog(taskId: string, taskName: string): Promise<void> {
  const { text } = await api.call('events.download_task_log', { task: taskId, line_type: 'text' });
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = logFileName(taskName, taskId);
  document.body.append(link);
  link.click();
  link.remove();
  // The click has started the download by now; give the browser a moment before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
