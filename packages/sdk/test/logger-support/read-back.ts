import { createHash } from 'node:crypto';
import type { ApiClient } from 'tasklane/client';

type EventType = 'training_stats_scalar' | 'training_stats_vector' | 'training_debug_image' | 'plot' | 'log';

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The task as the server has it now. */
export async function readTask(api: ApiClient, id: string) {
  return (await api.call('tasks.get_by_id', { task: id })).task;
}

/** The `last_metrics` entry of one series (the server keys them by md5 of the names, as ClearML). */
export async function lastMetricsOf(api: ApiClient, id: string, metric: string, variant: string) {
  return (await readTask(api, id)).last_metrics[md5(metric)]?.[md5(variant)];
}

/** Every event of a type, oldest first, read page by page; checks the pages add up to the reported total. */
export async function readEvents(api: ApiClient, id: string, eventType: EventType) {
  const events = [];
  let scrollId: string | undefined;
  let total = 0;
  for (;;) {
    const page = await api.call('events.get_task_events', { task: id, event_type: eventType, batch_size: 10_000, scroll_id: scrollId });
    total = page.total;
    events.push(...page.events);
    scrollId = page.scroll_id;
    if (page.returned === 0) break;
  }
  if (events.length !== total) throw new Error(`get_task_events answered ${events.length} ${eventType} events, but total ${total}`);
  return events;
}

/** Every console line, oldest first, with the total the server reports. */
export async function readLog(api: ApiClient, id: string) {
  const { events, total } = await api.call('events.get_task_log', { task: id, navigate_earlier: false, order: 'asc', batch_size: 10_000 });
  return { lines: events, total };
}

/** All points of every scalar series (no downsampling): metric → variant → {x, y}. */
export async function readAllScalars(api: ApiClient, id: string) {
  return api.call('events.scalar_metrics_iter_histogram', { task: id, samples: 0 });
}
