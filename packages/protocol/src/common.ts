import { z } from 'zod';
import { ID_PATTERN } from './ids.js';
import { MAX_IDS_PER_BULK, MAX_NAME_LENGTH, MAX_TAGS, MAX_TAG_LENGTH } from './limits.js';

/** A 32-character hex id. */
export const IdSchema = z.string().regex(ID_PATTERN, 'expected a 32-character hex id');

/** An ISO-8601 UTC timestamp, as every time on the wire. */
export const TimestampSchema = z.string().describe('ISO-8601 UTC timestamp');

/** Names of tasks and projects: trimmed, at least 3 characters, at most {@link MAX_NAME_LENGTH}. */
export const NameSchema = z
  .string()
  .trim()
  .min(3, 'names must have at least 3 characters')
  .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`);

/** A list of strings, where ClearML also accepts a single string. */
export const StringListSchema = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z.array(z.string()),
);

/** Tags (or system tags), to store or to filter by: at most {@link MAX_TAGS} of at most {@link MAX_TAG_LENGTH} characters. */
export const TagListSchema = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z
    .array(z.string().max(MAX_TAG_LENGTH, `tags have at most ${MAX_TAG_LENGTH} characters`))
    .max(MAX_TAGS, `at most ${MAX_TAGS} tags`),
);

/**
 * An id list filter (`id: [...]`), where a single id is accepted too. Filters may be long (a listing by 30,000 ids
 * works); the body's cap on values (MAX_JSON_VALUES) bounds them.
 */
export const IdListSchema = StringListSchema;

/**
 * The ids a bulk request acts on (`ids` of the `*_many` actions...), where a single id is accepted too; at most
 * {@link MAX_IDS_PER_BULK}, so that no request holds the server for long.
 */
export const BulkIdListSchema = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z
    .array(z.string())
    .max(MAX_IDS_PER_BULK, `at most ${MAX_IDS_PER_BULK} ids per request; send a larger selection in several requests`),
);

/** ClearML's scalar-to-string leniency: hyperparameter values are strings on the wire, numbers and booleans are kept as text. */
export const ParamValueSchema = z
  .union([z.string(), z.number(), z.boolean(), z.null()])
  .transform((v) => (v === null ? '' : String(v)));

/** Field projection (`only_fields`), paging and ordering, shared by the `get_all` endpoints. */
export const ListOptionsShape = {
  only_fields: z.array(z.string()).optional().describe('return only these fields (dotted paths); id is always returned'),
  order_by: StringListSchema.optional().describe('fields to order by; a leading "-" orders descending'),
  page: z.number().int().min(0).optional().describe('page number, from 0 (needs page_size)'),
  page_size: z.number().int().min(1).max(10_000).optional().describe('items per page'),
  size: z.number().int().min(1).max(10_000).optional().describe('maximum number of items (ClearML\'s alias of page_size)'),
};

/** The `{updated, fields}` reply of update endpoints. */
export const UpdatedSchema = z.object({
  updated: z.number().int(),
  fields: z.record(z.string(), z.unknown()).optional(),
});
