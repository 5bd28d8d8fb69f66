import { z } from 'zod';
import { TimestampSchema, ParamValueSchema } from './common.js';
import { MAX_CONFIGURATION_ITEMS_PER_TASK, MAX_HYPERPARAMS_PER_TASK, MAX_PARAM_NAME_LENGTH } from './limits.js';
import { TASK_STATUSES } from './task-lifecycle.js';

/** Task types, as ClearML's API enum. */
export const TASK_TYPES = [
  'training',
  'testing',
  'inference',
  'data_processing',
  'application',
  'monitor',
  'controller',
  'optimizer',
  'service',
  'qc',
  'custom',
] as const;
export const TaskTypeSchema = z.enum(TASK_TYPES);
export type TaskType = z.infer<typeof TaskTypeSchema>;

export const TaskStatusSchema = z.enum(TASK_STATUSES);

/** One hyperparameter: its value is text on the wire; `type` keeps what it was (int, float, bool, str, list...). */
export const HyperParamItemSchema = z.object({
  section: z.string().optional(),
  name: z.string().optional(),
  value: ParamValueSchema.optional().default(''),
  type: z.string().optional(),
  description: z.string().optional(),
});
export type HyperParamItem = z.infer<typeof HyperParamItemSchema>;

/** section → name → item. */
const ParamNameSchema = z.string().max(MAX_PARAM_NAME_LENGTH, `section and parameter names have at most ${MAX_PARAM_NAME_LENGTH} characters`);

/** Hyperparameters by section and name: at most {@link MAX_HYPERPARAMS_PER_TASK} in all. */
export const HyperParamsSchema = z
  .record(ParamNameSchema, z.record(ParamNameSchema, HyperParamItemSchema))
  .refine((sections) => countHyperParams(sections) <= MAX_HYPERPARAMS_PER_TASK, {
    message: `a task holds at most ${MAX_HYPERPARAMS_PER_TASK} hyperparameters`,
  });

/** How many hyperparameters the sections hold in all. */
export function countHyperParams(sections: Record<string, Record<string, unknown>>): number {
  let count = 0;
  for (const items of Object.values(sections)) count += Object.keys(items).length;
  return count;
}
export type HyperParams = z.infer<typeof HyperParamsSchema>;

/** One configuration object: a text (JSON, YAML, HOCON...) with its type. */
export const ConfigurationItemSchema = z.object({
  name: z.string().optional(),
  value: ParamValueSchema.optional().default(''),
  type: z.string().optional(),
  description: z.string().optional(),
});
export type ConfigurationItem = z.infer<typeof ConfigurationItemSchema>;
export const ConfigurationSchema = z
  .record(ParamNameSchema, ConfigurationItemSchema)
  .refine((items) => Object.keys(items).length <= MAX_CONFIGURATION_ITEMS_PER_TASK, {
    message: `a task holds at most ${MAX_CONFIGURATION_ITEMS_PER_TASK} configuration objects`,
  });
export type Configuration = z.infer<typeof ConfigurationSchema>;

/** Requirements as ClearML keeps them: `pip`, `conda`, `org_pip`... as text; Tasklane adds `npm`. */
export const RequirementsSchema = z.record(z.string(), z.unknown());

/** Where the code came from and how to run it again. */
export const ScriptSchema = z.object({
  binary: z.string().optional().describe('interpreter, e.g. "node" or "python3"'),
  repository: z.string().optional(),
  tag: z.string().optional(),
  branch: z.string().optional(),
  version_num: z.string().optional().describe('commit id'),
  entry_point: z.string().optional(),
  working_dir: z.string().optional(),
  requirements: RequirementsSchema.optional(),
  diff: z.string().optional().describe('uncommitted changes, or the whole script when outside git'),
});
export type Script = z.infer<typeof ScriptSchema>;

export const ArtifactModeSchema = z.enum(['input', 'output']);

/** A file or object a task produced (output) or used (input). */
export const ArtifactSchema = z.object({
  key: z.string().min(1),
  type: z.string().min(1),
  mode: ArtifactModeSchema.optional().default('output'),
  uri: z.string().optional(),
  hash: z.string().optional(),
  content_size: z.number().optional(),
  timestamp: z.number().optional().describe('epoch seconds'),
  type_data: z
    .object({ preview: z.string().optional(), content_type: z.string().optional(), data_hash: z.string().optional() })
    .optional(),
  display_data: z.array(z.array(z.string())).optional(),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** Execution: the queue it last went to, artifacts, and ClearML's legacy fields. */
export const ExecutionSchema = z
  .object({
    queue: z.string().nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    model_desc: z.record(z.string(), z.unknown()).optional(),
    model_labels: z.record(z.string(), z.number()).optional(),
    framework: z.string().optional(),
    test_split: z.number().optional(),
    artifacts: z.array(ArtifactSchema).optional(),
  })
  .loose();
export type Execution = z.infer<typeof ExecutionSchema>;

export const TaskModelRefSchema = z.object({
  name: z.string(),
  model: z.string(),
  updated: TimestampSchema.optional(),
});
export type TaskModelRef = z.infer<typeof TaskModelRefSchema>;

export const TaskModelsSchema = z.object({
  input: z.array(TaskModelRefSchema).optional().default([]),
  output: z.array(TaskModelRefSchema).optional().default([]),
});
export type TaskModels = z.infer<typeof TaskModelsSchema>;

export const ContainerSchema = z.record(z.string(), z.string().nullable());

export const TaskOutputSchema = z.object({
  destination: z.string().nullable().optional(),
  error: z.string().optional(),
  result: z.string().optional(),
});

/** Last/min/max of one metric variant, kept current on the task as events arrive. */
export const LastMetricsEventSchema = z.object({
  metric: z.string(),
  variant: z.string(),
  value: z.number().nullable().optional(),
  min_value: z.number().nullable().optional(),
  min_value_iteration: z.number().nullable().optional(),
  max_value: z.number().nullable().optional(),
  max_value_iteration: z.number().nullable().optional(),
  first_value: z.number().nullable().optional(),
  first_value_iteration: z.number().nullable().optional(),
  mean_value: z.number().nullable().optional(),
  count: z.number().optional(),
  x_axis_label: z.string().optional(),
});

/** A task as the API returns it (ClearML's field names). */
export const TaskSchema = z.object({
  id: z.string(),
  name: z.string(),
  user: z.string().optional(),
  company: z.string().optional(),
  project: z.string().nullable().optional(),
  parent: z.string().nullable().optional(),
  type: TaskTypeSchema,
  status: TaskStatusSchema,
  status_reason: z.string().optional(),
  status_message: z.string().optional(),
  status_changed: TimestampSchema.optional(),
  comment: z.string().optional(),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
  created: TimestampSchema,
  started: TimestampSchema.nullable().optional(),
  completed: TimestampSchema.nullable().optional(),
  published: TimestampSchema.nullable().optional(),
  last_update: TimestampSchema,
  last_change: TimestampSchema.optional(),
  active_duration: z.number().nullable().optional(),
  script: ScriptSchema,
  execution: ExecutionSchema,
  hyperparams: HyperParamsSchema,
  configuration: ConfigurationSchema,
  runtime: z.record(z.string(), z.unknown()),
  models: TaskModelsSchema,
  container: ContainerSchema,
  output: TaskOutputSchema,
  last_iteration: z.number().int(),
  last_metrics: z.record(z.string(), z.record(z.string(), LastMetricsEventSchema)),
  last_worker: z.string().nullable().optional(),
  last_worker_report: TimestampSchema.nullable().optional(),
  enqueue_status: TaskStatusSchema.nullable().optional(),
});
export type Task = z.infer<typeof TaskSchema>;

/** The `runtime` key where progress (0–100) is kept, as ClearML's SDK writes it. */
export const PROGRESS_RUNTIME_KEY = 'progress';

/** System tags with a meaning to the server. */
export const SYSTEM_TAG = {
  archived: 'archived',
  hidden: 'hidden',
  development: 'development',
  defaultQueue: 'default',
} as const;
