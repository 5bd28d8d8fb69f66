/**
 * Size limits of what a request may store, each answered with a 400 that names it (docs/errors.md lists which applies
 * where). They bound what one client can make every later reader load, sort and render; real use stays far below.
 */

/** Longest name of a task, project (its full path), model or queue, in characters. */
export const MAX_NAME_LENGTH = 512;

/** Most tags (or system tags) in one list, and the longest tag. */
export const MAX_TAGS = 200;
export const MAX_TAG_LENGTH = 256;

/** Most hyperparameters one task may hold (all sections together), and the longest section or parameter name. */
export const MAX_HYPERPARAMS_PER_TASK = 10_000;
export const MAX_PARAM_NAME_LENGTH = 1024;

/** Most configuration objects one task may hold. */
export const MAX_CONFIGURATION_ITEMS_PER_TASK = 1_000;

/**
 * Most tasks or models one bulk request may name: the `ids` of the `*_many` actions and the `tasks` of
 * `tasks.archive`, `tasks.get_hyper_params`, `tasks.get_configurations` and `tasks.get_configuration_names`. Each
 * is looked up (and changed) on its own in one transaction, which holds the server meanwhile: 100,000 ids held it
 * for seconds. Larger selections are sent in several requests.
 */
export const MAX_IDS_PER_BULK = 1_000;

/**
 * Longest plain-text search (`search_text` of `tasks.get_all` and `models.get_all`), in characters. SQLite refuses
 * LIKE patterns of over 50,000 bytes, and no one types more than this in a search box.
 */
export const MAX_SEARCH_TEXT_LENGTH = 1_000;
