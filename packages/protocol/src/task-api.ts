import { z } from 'zod';
import {
  BulkIdListSchema,
  IdSchema,
  IdListSchema,
  ListOptionsShape,
  NameSchema,
  ParamValueSchema,
  StringListSchema,
  TagListSchema,
} from './common.js';
import { MAX_NAME_LENGTH, MAX_SEARCH_TEXT_LENGTH } from './limits.js';
import {
  ArtifactModeSchema,
  ArtifactSchema,
  ConfigurationSchema,
  ContainerSchema,
  ExecutionSchema,
  HyperParamsSchema,
  ScriptSchema,
  TaskModelsSchema,
  TaskStatusSchema,
  TaskTypeSchema,
} from './task.js';

const force = z.boolean().optional().default(false).describe('skip the status check');

/** Fields a task is created with; the same fields can be edited on a draft. */
const TaskFieldsShape = {
  name: NameSchema.describe('task name, at least 3 characters'),
  type: TaskTypeSchema.optional().describe('task type; default "training"'),
  project: z.string().nullable().optional().describe('project id'),
  project_name: z
    .string()
    .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`)
    .optional()
    .describe('project by full name (Tasklane extension); missing projects and parents are created'),
  parent: z.string().nullable().optional(),
  comment: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  output_dest: z.string().nullable().optional().describe('output destination (URI) for artifacts and models'),
  script: ScriptSchema.optional(),
  execution: ExecutionSchema.optional(),
  hyperparams: HyperParamsSchema.optional(),
  configuration: ConfigurationSchema.optional(),
  models: TaskModelsSchema.partial().optional(),
  container: ContainerSchema.optional(),
  runtime: z.record(z.string(), z.unknown()).optional(),
};

export const TasksCreateRequestSchema = z.object(TaskFieldsShape);
export type TasksCreateRequest = z.infer<typeof TasksCreateRequestSchema>;

export const TaskIdRequestSchema = z.object({ task: IdSchema });

export const TasksGetAllRequestSchema = z.object({
  id: IdListSchema.optional(),
  name: z.string().optional().describe('regular expression on the name (case-insensitive)'),
  project: IdListSchema.optional(),
  include_subprojects: z.boolean().optional().describe('with project: also tasks of its sub-projects'),
  status: StringListSchema.optional(),
  type: StringListSchema.optional(),
  tags: StringListSchema.optional().describe('any of these tags; "-tag" excludes'),
  system_tags: StringListSchema.optional().describe('any of these system tags; "-archived" excludes archived tasks'),
  parent: z.string().optional(),
  user: StringListSchema.optional(),
  search_text: z
    .string()
    .max(MAX_SEARCH_TEXT_LENGTH, `a search text has at most ${MAX_SEARCH_TEXT_LENGTH} characters`)
    .optional()
    .describe('plain text searched in id, name and comment'),
  search_hidden: z.boolean().optional().describe('include tasks with the "hidden" system tag'),
  'models.input.model': IdListSchema.optional().describe('only tasks that use any of these models as input (ClearML\'s field path)'),
  ...ListOptionsShape,
});
export type TasksGetAllRequest = z.infer<typeof TasksGetAllRequestSchema>;

export const TasksEditRequestSchema = z.object({
  task: IdSchema,
  force,
  ...TaskFieldsShape,
  name: TaskFieldsShape.name.optional(),
});
export type TasksEditRequest = z.infer<typeof TasksEditRequestSchema>;

export const TasksUpdateRequestSchema = z.object({
  task: IdSchema,
  name: NameSchema.optional(),
  comment: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  project: z.string().nullable().optional(),
});

const HyperParamEditItemSchema = z.object({
  section: z.string().min(1),
  name: z.string().min(1),
  value: ParamValueSchema.optional().default(''),
  type: z.string().optional(),
  description: z.string().optional(),
});
export const TasksEditHyperParamsRequestSchema = z.object({
  task: IdSchema,
  hyperparams: z.array(HyperParamEditItemSchema),
  replace_hyperparams: z
    .enum(['none', 'section', 'all'])
    .optional()
    .default('none')
    .describe('none: merge; section: replace the sections given; all: replace every section'),
  force,
});
export const TasksDeleteHyperParamsRequestSchema = z.object({
  task: IdSchema,
  hyperparams: z.array(z.object({ section: z.string().min(1), name: z.string().optional() })),
  force,
});
export const TasksGetHyperParamsRequestSchema = z.object({ tasks: BulkIdListSchema });

const ConfigurationEditItemSchema = z.object({
  name: z.string().min(1),
  value: ParamValueSchema.optional().default(''),
  type: z.string().optional(),
  description: z.string().optional(),
});
export const TasksEditConfigurationRequestSchema = z.object({
  task: IdSchema,
  configuration: z.array(ConfigurationEditItemSchema),
  replace_configuration: z.boolean().optional().default(false),
  force,
});
export const TasksDeleteConfigurationRequestSchema = z.object({
  task: IdSchema,
  configuration: StringListSchema.describe('names of the configuration objects to delete'),
  force,
});
export const TasksGetConfigurationsRequestSchema = z.object({
  tasks: BulkIdListSchema,
  names: StringListSchema.optional(),
});

export const TasksAddOrUpdateArtifactsRequestSchema = z.object({
  task: IdSchema,
  artifacts: z.array(ArtifactSchema),
  force,
});
export const TasksDeleteArtifactsRequestSchema = z.object({
  task: IdSchema,
  artifacts: z.array(z.object({ key: z.string().min(1), mode: ArtifactModeSchema.optional() })),
  force,
});
export const TasksAddOrUpdateModelRequestSchema = z.object({
  task: IdSchema,
  name: z.string().min(1),
  model: z.string().min(1).describe('model id'),
  type: z.enum(['input', 'output']),
  iteration: z.number().int().optional(),
  force,
});
export const TasksSetRequirementsRequestSchema = z.object({
  task: IdSchema,
  requirements: z.record(z.string(), z.unknown()),
  force,
});

/** The body of `started`, `stopped`, `failed`, `close`, `stop` and `publish`. */
export const TaskStatusChangeRequestSchema = z.object({
  task: IdSchema,
  force,
  status_reason: z.string().optional(),
  status_message: z.string().optional(),
});
export const TasksCompletedRequestSchema = TaskStatusChangeRequestSchema.extend({
  publish: z.boolean().optional().default(false).describe('publish right after completing'),
});
/** The body of `tasks.publish`. */
export const TasksPublishRequestSchema = TaskStatusChangeRequestSchema.extend({
  publish_model: z.boolean().optional().default(true).describe('also publish the output models that are not published yet'),
});
/** Whether reset and delete delete the output models the task created (those no other task uses, not published). */
const deleteOutputModels = z
  .boolean()
  .optional()
  .default(true)
  .describe('delete the unpublished output models the task created that no other task uses');
export const TasksResetRequestSchema = TaskStatusChangeRequestSchema.extend({
  clear_all: z.boolean().optional().default(false).describe('also empty the script and execution sections'),
  delete_output_models: deleteOutputModels,
});
export const TasksEnqueueRequestSchema = TaskStatusChangeRequestSchema.extend({
  queue: IdSchema.optional().describe('queue id; the default queue when neither queue nor queue_name is given'),
  queue_name: z.string().min(1).optional().describe('queue by name; created when missing'),
  priority: z.number().int().min(0).max(100).optional().default(0).describe('0–100; higher leaves the queue first'),
});
export const TasksDequeueRequestSchema = TaskStatusChangeRequestSchema.extend({
  new_status: TaskStatusSchema.optional().describe('status after leaving the queue; default: the one before enqueue'),
  remove_from_all_queues: z.boolean().optional(),
});
export const TasksCloneRequestSchema = z.object({
  task: IdSchema,
  new_task_name: NameSchema.optional(),
  new_task_comment: z.string().optional(),
  new_task_tags: TagListSchema.optional(),
  new_task_system_tags: TagListSchema.optional(),
  new_task_parent: z.string().optional(),
  new_task_project: z.string().nullable().optional().describe('project id'),
  new_project_name: z
    .string()
    .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`)
    .optional()
    .describe('project by full name; created when missing'),
  new_task_hyperparams: HyperParamsSchema.optional(),
  new_task_configuration: ConfigurationSchema.optional(),
  new_task_container: ContainerSchema.optional(),
  execution_overrides: ExecutionSchema.optional(),
});
export const TasksArchiveRequestSchema = z.object({ tasks: BulkIdListSchema, status_reason: z.string().optional() });
export const TasksManyRequestSchema = z.object({ ids: BulkIdListSchema });
export const TasksDeleteRequestSchema = z.object({
  task: IdSchema,
  force: z.boolean().optional().default(false).describe('delete even a running or published task'),
  delete_output_models: deleteOutputModels,
});
export const TasksSetProgressRequestSchema = z.object({
  task: IdSchema,
  progress: z.number().min(0).max(100).optional().describe('0–100'),
  status_message: z.string().optional(),
});

/** The options every `*_many` status action shares with its single form. */
const ManyShape = {
  ids: BulkIdListSchema.describe('task ids; each is tried on its own and reported in succeeded or failed'),
  status_reason: z.string().optional(),
  status_message: z.string().optional(),
};
export const TasksEnqueueManyRequestSchema = z.object({
  ...ManyShape,
  queue: IdSchema.optional().describe('queue id; the default queue when neither queue nor queue_name is given'),
  queue_name: z.string().min(1).optional().describe('queue by name; created when missing'),
  priority: z.number().int().min(0).max(100).optional().default(0),
});
export const TasksStopManyRequestSchema = z.object({ ...ManyShape, force });
export const TasksResetManyRequestSchema = z.object({
  ...ManyShape,
  force,
  clear_all: z.boolean().optional().default(false),
  delete_output_models: deleteOutputModels,
});
export const TasksDeleteManyRequestSchema = z.object({
  ids: ManyShape.ids,
  force: z.boolean().optional().default(false).describe('delete even running or published tasks'),
  delete_output_models: deleteOutputModels,
});
