import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_SEARCH_TEXT_LENGTH } from './limits.js';
import { BulkIdListSchema, IdListSchema, IdSchema, ListOptionsShape, ParamValueSchema, StringListSchema, TimestampSchema, UpdatedSchema, TagListSchema } from './common.js';

/** One metadata entry of a model: text value with a free-form type (`int`, `str`, `float`...), as ClearML's. */
export const ModelMetadataItemSchema = z.object({
  key: z.string().min(1),
  type: z.string().optional().default('').describe('type of the value, e.g. "int" or "str"'),
  value: ParamValueSchema.optional().default('').describe('kept as text'),
});
export type ModelMetadataItem = z.infer<typeof ModelMetadataItemSchema>;

/** Label name → integer class id, as ClearML's `labels`. */
export const ModelLabelsSchema = z.record(z.string(), z.number().int());

/**
 * A model's design (its configuration): an object on the wire. Text is wrapped as `{design: "..."}`, as ClearML's
 * SDK does.
 */
export const ModelDesignSchema = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .transform((value) => (typeof value === 'string' ? { design: value } : value))
  .describe('object; text is kept as {design: text}');

/** A model as the API returns it (ClearML's field names). */
export const ModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  user: z.string().optional(),
  company: z.string().optional(),
  created: TimestampSchema,
  last_update: TimestampSchema,
  task: z.string().nullable().describe('the task that created the model'),
  parent: z.string().nullable().describe('the model this one was derived from'),
  project: z.string().nullable(),
  comment: z.string(),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
  framework: z.string().nullable(),
  design: z.record(z.string(), z.unknown()),
  labels: ModelLabelsSchema,
  uri: z.string().describe('where the weights are'),
  ready: z.boolean().describe('published: read-only but for name, comment, tags, project and metadata'),
  metadata: z.record(z.string(), z.object({ key: z.string(), type: z.string(), value: z.string() })),
  last_iteration: z.number().int(),
});
export type Model = z.infer<typeof ModelSchema>;

const force = z.boolean().optional().default(false);

/** Fields a model is created with; `models.edit` takes the same ones. */
const ModelFieldsShape = {
  uri: z.string().describe('where the weights are; ClearML\'s SDK sends "<destination>/uploading_file" until the upload ends'),
  name: z.string().trim().min(1).max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`),
  comment: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  framework: z.string().nullable().optional(),
  design: ModelDesignSchema.optional(),
  labels: ModelLabelsSchema.optional(),
  ready: z.boolean().optional().describe('published'),
  project: IdSchema.nullable().optional().describe('project id'),
  project_name: z
    .string()
    .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`)
    .optional()
    .describe('project by full name (Tasklane extension); missing projects and parents are created'),
  parent: IdSchema.nullable().optional().describe('id of the model this one derives from'),
  task: IdSchema.nullable().optional().describe('id of the task that created the model'),
  metadata: z.array(ModelMetadataItemSchema).optional(),
};

/** The body of `models.create`. */
export const ModelsCreateRequestSchema = z.object({
  ...ModelFieldsShape,
  ready: ModelFieldsShape.ready.default(false),
});

/** A body naming one model (`models.get_by_id`). */
export const ModelIdRequestSchema = z.object({ model: IdSchema });

/** The body of `models.edit`: the fields to change (given ones replace the stored ones). */
export const ModelsEditRequestSchema = z.object({
  model: IdSchema,
  ...ModelFieldsShape,
  uri: ModelFieldsShape.uri.optional(),
  name: ModelFieldsShape.name.optional(),
  iteration: z.number().int().optional().describe('raises last_iteration of the model and of its task'),
  force: force.describe('change a published (ready) model beyond name, comment, tags, project and metadata'),
});

/** The body of `models.update`: the describing fields of `models.edit`. */
export const ModelsUpdateRequestSchema = ModelsEditRequestSchema.pick({
  model: true,
  name: true,
  comment: true,
  tags: true,
  system_tags: true,
  ready: true,
  project: true,
  project_name: true,
  task: true,
  iteration: true,
  force: true,
});

/** The body of `models.get_all`: filters (ClearML's list semantics), ordering, paging and projection. */
export const ModelsGetAllRequestSchema = z.object({
  id: IdListSchema.optional(),
  name: z.string().optional().describe('regular expression on the name (case-insensitive)'),
  project: IdListSchema.optional(),
  include_subprojects: z.boolean().optional().describe('with project: also models of its sub-projects'),
  task: IdListSchema.optional().describe('ids of the tasks that created the models'),
  uri: StringListSchema.optional(),
  framework: StringListSchema.optional().describe('any of these frameworks; "-framework" excludes'),
  tags: StringListSchema.optional().describe('any of these tags; "-tag" excludes'),
  system_tags: StringListSchema.optional().describe('any of these system tags; "-archived" excludes archived models'),
  ready: z.boolean().optional().describe('true: only published models; false: only unpublished ones'),
  user: StringListSchema.optional(),
  search_text: z
    .string()
    .max(MAX_SEARCH_TEXT_LENGTH, `a search text has at most ${MAX_SEARCH_TEXT_LENGTH} characters`)
    .optional()
    .describe('plain text searched in id, name and comment'),
  search_hidden: z.boolean().optional().describe('include models with the "hidden" system tag'),
  ...ListOptionsShape,
});

/** The body of `models.set_ready` (publish a model). */
export const ModelsSetReadyRequestSchema = z.object({
  model: IdSchema,
  publish_task: z.boolean().optional().default(true).describe('also publish the task that created the model'),
  force_publish_task: z.boolean().optional().default(false).describe('publish that task whatever its status'),
});

/** What publishing a model did to the task that created it. */
export const ModelPublishedTaskSchema = z.object({ id: z.string(), data: UpdatedSchema });

/** The body of `models.publish_many`. */
export const ModelsPublishManyRequestSchema = z.object({
  ids: BulkIdListSchema,
  publish_task: ModelsSetReadyRequestSchema.shape.publish_task,
  force_publish_task: ModelsSetReadyRequestSchema.shape.force_publish_task,
});

/** The body of `models.archive_many` and `models.unarchive_many`. */
export const ModelsManyRequestSchema = z.object({ ids: BulkIdListSchema });

/** The body of `models.delete`. */
export const ModelsDeleteRequestSchema = z.object({
  model: IdSchema,
  force: z.boolean().optional().default(false).describe('delete even while tasks that are not drafts use the model'),
});

/** The body of `models.add_or_update_metadata`. */
export const ModelsAddOrUpdateMetadataRequestSchema = z.object({
  model: IdSchema,
  metadata: z.array(ModelMetadataItemSchema),
  replace_metadata: z.boolean().optional().default(false).describe('drop the entries not given'),
});

/** The body of `models.delete_metadata`. */
export const ModelsDeleteMetadataRequestSchema = z.object({
  model: IdSchema,
  keys: StringListSchema.describe('keys of the entries to delete'),
});

/** The body of `models.get_frameworks`. */
export const ModelsGetFrameworksRequestSchema = z.object({
  projects: IdListSchema.optional().describe('only models of these projects (all projects when missing)'),
});
