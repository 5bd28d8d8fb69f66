/**
 * Caps on what one events request may carry (issue 13). A request over a cap is refused as a whole, before any of
 * its events is looked at, so that no request can hold the server for long. The senders of this repository (the
 * SDK's reporter and offline import, the agent's console) split their batches below them by themselves, and the
 * figures leave room for what ClearML's own SDK sends. docs/errors.md and docs/api.md say which applies where.
 */

/**
 * Most events in one `events.add_batch` request (REQUEST_TOO_LARGE, 413, past it). ClearML's Python SDK sends a whole
 * flush as one batch, cut only into bodies of at most 15 MiB (its `api.http.max_req_size`); its smallest event line
 * is 174 bytes, so it never sends more than ~90,000 events in a request. Tasklane's SDK sends at most 20,000.
 */
export const MAX_EVENTS_PER_BATCH = 100_000;

/**
 * Most events other than scalars (console lines, plots, debug samples, vectors) in one `events.add_batch` request
 * (413 past it): each costs the server several times what a scalar costs. ClearML's SDK joins a second's console
 * output into one event and uploads a file per debug sample, so it sends few of them; Tasklane's SDK at most 20,000.
 */
export const MAX_OTHER_EVENTS_PER_BATCH = 20_000;

/** Most scalar points in one `events.add_scalars` request, summed over its series (413 past it). */
export const MAX_SCALAR_POINTS_PER_REQUEST = 100_000;

/**
 * Most scalar series (metric/variant pairs) the scalar events of one `events.add_batch` request may touch (413 past
 * it). Each series costs the server a few lookups and writes of its own, whatever its number of points. A run that
 * reports per-class metrics of a thousand classes stays well below it.
 */
export const MAX_SERIES_PER_BATCH = 10_000;

/**
 * Most entries in the `series` of one `events.add_scalars` request (413 past it). They are validated as the request
 * arrives, in one go, so the cap is lower than add_batch's; only Tasklane's SDK sends this request, and it splits.
 */
export const MAX_SERIES_PER_SCALARS_REQUEST = 250;

/**
 * Most tasks the events of one `events.add_batch` request may belong to (413 past it). A client's batch holds its own
 * task's events (ClearML's SDK has a reporter per task); each task costs a lookup and a write of its own.
 */
export const MAX_TASKS_PER_BATCH = 100;

/** Most numbers in the `values` of one `training_stats_vector` event (400 past it). */
export const MAX_VECTOR_VALUES = 100_000;

/**
 * Most entries in the `metrics` filter of a read request, and most variants listed in it, all entries together
 * (400 past them): each becomes a condition of the query.
 */
export const MAX_METRICS_PER_FILTER = 100;
export const MAX_VARIANTS_PER_FILTER = 10_000;

/** Most tasks one multi-task read may name (`events.get_task_metrics`, `events.get_task_single_value_metrics`). */
export const MAX_TASKS_PER_READ = 1_000;

/**
 * Most tasks one comparison may name (`events.multi_task_scalar_metrics_iter_histogram`, the `metrics` of
 * `events.debug_images`): each reads its own series or samples.
 */
export const MAX_TASKS_PER_COMPARE = 100;

/** Longest `line_format` of `events.download_task_log`, in characters. */
export const MAX_LOG_LINE_FORMAT_LENGTH = 1_000;

/** How many problems an error message lists before "and N more" (the rest are counted). */
export const MAX_LISTED_PROBLEMS = 5;
