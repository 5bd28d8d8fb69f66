import { z } from 'zod';
import { UpdatedSchema } from './common.js';
import {
  MAX_EVENTS_PER_BATCH,
  MAX_OTHER_EVENTS_PER_BATCH,
  MAX_SCALAR_POINTS_PER_REQUEST,
  MAX_SERIES_PER_BATCH,
  MAX_SERIES_PER_SCALARS_REQUEST,
  MAX_TASKS_PER_BATCH,
} from './event-limits.js';
import {
  DebugImageSampleSchema,
  EventsAddBatchRequestSchema,
  EventsAddBatchResponseSchema,
  EventsAddRequestSchema,
  EventsAddScalarsRequestSchema,
  EventsDebugImagesRequestSchema,
  EventsDebugImagesResponseSchema,
  EventsDeleteForTaskRequestSchema,
  EventsDownloadTaskLogRequestSchema,
  EventsDownloadTaskLogResponseSchema,
  EventsGetDebugImageSampleRequestSchema,
  EventsGetScalarMetricsAndVariantsResponseSchema,
  EventsGetTaskEventsRequestSchema,
  EventsGetTaskEventsResponseSchema,
  EventsGetTaskLogRequestSchema,
  EventsGetTaskLogResponseSchema,
  EventsGetTaskMetricsRequestSchema,
  EventsGetTaskMetricsResponseSchema,
  EventsGetTaskPlotsRequestSchema,
  EventsGetTaskPlotsResponseSchema,
  EventsLatestScalarValuesResponseSchema,
  EventsMultiTaskScalarHistogramRequestSchema,
  EventsMultiTaskScalarHistogramResponseSchema,
  EventsNextDebugImageSampleRequestSchema,
  EventsScalarHistogramRequestSchema,
  EventsSingleValueMetricsRequestSchema,
  EventsSingleValueMetricsResponseSchema,
  ScalarHistogramSchema,
} from './events.js';
import {
  ModelIdRequestSchema,
  ModelPublishedTaskSchema,
  ModelSchema,
  ModelsAddOrUpdateMetadataRequestSchema,
  ModelsCreateRequestSchema,
  ModelsDeleteMetadataRequestSchema,
  ModelsDeleteRequestSchema,
  ModelsEditRequestSchema,
  ModelsGetAllRequestSchema,
  ModelsGetFrameworksRequestSchema,
  ModelsManyRequestSchema,
  ModelsPublishManyRequestSchema,
  ModelsSetReadyRequestSchema,
  ModelsUpdateRequestSchema,
} from './model.js';
import {
  ProjectSchema,
  ProjectWithStatsSchema,
  ProjectsCreateRequestSchema,
  ProjectsDeleteRequestSchema,
  ProjectsGetAllExRequestSchema,
  ProjectsGetAllRequestSchema,
  ProjectsGetHyperParametersRequestSchema,
  ProjectsGetTaskTagsRequestSchema,
  ProjectsGetUniqueMetricVariantsRequestSchema,
  ProjectsGetByIdRequestSchema,
  ProjectsMoveRequestSchema,
  ProjectsUpdateRequestSchema,
} from './project.js';
import {
  QueueEntrySchema,
  QueueOnlyRequestSchema,
  QueueSchema,
  QueueTaskRequestSchema,
  QueuesCreateRequestSchema,
  QueuesDeleteRequestSchema,
  QueuesGetAllRequestSchema,
  QueuesGetByIdRequestSchema,
  QueuesGetNextTaskRequestSchema,
  QueuesMoveTaskRequestSchema,
  QueuesMoveTaskResponseSchema,
} from './queue.js';
import { ConfigurationItemSchema, HyperParamItemSchema, TaskSchema } from './task.js';
import {
  TaskIdRequestSchema,
  TaskStatusChangeRequestSchema,
  TasksAddOrUpdateArtifactsRequestSchema,
  TasksAddOrUpdateModelRequestSchema,
  TasksArchiveRequestSchema,
  TasksCloneRequestSchema,
  TasksCompletedRequestSchema,
  TasksCreateRequestSchema,
  TasksDeleteArtifactsRequestSchema,
  TasksDeleteConfigurationRequestSchema,
  TasksDeleteHyperParamsRequestSchema,
  TasksDeleteManyRequestSchema,
  TasksDeleteRequestSchema,
  TasksDequeueRequestSchema,
  TasksEditConfigurationRequestSchema,
  TasksEditHyperParamsRequestSchema,
  TasksEditRequestSchema,
  TasksEnqueueManyRequestSchema,
  TasksEnqueueRequestSchema,
  TasksGetAllRequestSchema,
  TasksGetConfigurationsRequestSchema,
  TasksGetHyperParamsRequestSchema,
  TasksManyRequestSchema,
  TasksPublishRequestSchema,
  TasksResetManyRequestSchema,
  TasksResetRequestSchema,
  TasksSetProgressRequestSchema,
  TasksSetRequirementsRequestSchema,
  TasksStopManyRequestSchema,
  TasksUpdateRequestSchema,
} from './task-api.js';
import {
  WorkerSchema,
  WorkersGetAllRequestSchema,
  WorkersRegisterRequestSchema,
  WorkersStatusReportRequestSchema,
  WorkersUnregisterRequestSchema,
} from './worker.js';
import {
  AuthCreateCredentialsRequestSchema,
  AuthGetCredentialsRequestSchema,
  AuthRevokeCredentialsRequestSchema,
  AuthSignInRequestSchema,
  CredentialSchema,
  NewCredentialSchema,
  UserSchema,
} from './user.js';

/** One endpoint: what it does, the body it takes and the `data` it answers with. */
export interface EndpointDefinition<TRequest extends z.ZodType = z.ZodType, TResponse extends z.ZodType = z.ZodType> {
  summary: string;
  request: TRequest;
  response: TResponse;
}

const fmt = (n: number) => n.toLocaleString('en');

function endpoint<TRequest extends z.ZodType, TResponse extends z.ZodType>(
  summary: string,
  request: TRequest,
  response: TResponse,
): EndpointDefinition<TRequest, TResponse> {
  return { summary, request, response };
}

const Empty = z.object({});
const Counted = (field: string) => z.object({ [field]: z.number().int() });
const StatusChanged = UpdatedSchema;
const BulkFailures = z.array(
  z.object({ id: z.string(), error: z.object({ codes: z.array(z.number()), msg: z.string() }).loose() }),
);
const BulkResult = z.object({
  succeeded: z.array(z.object({ id: z.string() }).loose()),
  failed: BulkFailures,
});

/**
 * Every endpoint of the API, `service.action` → definition. The server routes and validates with it, the SDK client
 * is typed by it, and `docs/api.md` is generated from it.
 */
export const ENDPOINTS = {
  'auth.login': endpoint(
    'Answers a signed, expiring token for the key pair given as HTTP Basic (or a fresh one for a valid Bearer token) — ' +
      'ClearML clients call it first. Where auth is off, any caller gets a token.',
    z.object({ expiration_sec: z.number().int().min(1).optional() }),
    z.object({ token: z.string() }),
  ),
  'auth.sign_in': endpoint(
    'Web UI sign-in: checks a user name and password and sets the session cookie (HttpOnly, SameSite=Strict).',
    AuthSignInRequestSchema,
    z.object({ user: UserSchema, expires: z.string() }),
  ),
  'auth.refresh_session': endpoint(
    "Renews the web UI's session cookie before it expires.",
    Empty,
    z.object({ user: UserSchema, expires: z.string() }),
  ),
  'auth.sign_out': endpoint('Clears the session cookie.', Empty, z.object({ signed_out: z.boolean() })),
  'auth.create_credentials': endpoint(
    'Makes a new key pair for the calling user; the answer is the only time the secret key is shown.',
    AuthCreateCredentialsRequestSchema,
    z.object({ credentials: NewCredentialSchema }),
  ),
  'auth.get_credentials': endpoint(
    "Lists the calling user's key pairs (access keys only).",
    AuthGetCredentialsRequestSchema,
    z.object({ credentials: z.array(CredentialSchema) }),
  ),
  'auth.revoke_credentials': endpoint(
    'Revokes one of the calling user\'s key pairs (an admin may revoke anyone\'s); it stops working at once.',
    AuthRevokeCredentialsRequestSchema,
    z.object({ revoked: z.number().int() }),
  ),
  'users.get_current_user': endpoint('Answers who the caller is.', Empty, z.object({ user: UserSchema, auth: z.boolean() })),
  'users.get_all': endpoint('Lists every user (admins only).', Empty, z.object({ users: z.array(UserSchema) })),

  'projects.create': endpoint(
    'Creates a project; a name with "/" nests it, creating missing parents.',
    ProjectsCreateRequestSchema,
    z.object({ id: z.string() }),
  ),
  'projects.get_by_id': endpoint('Returns one project.', ProjectsGetByIdRequestSchema, z.object({ project: ProjectSchema })),
  'projects.get_all': endpoint(
    'Lists projects, filtered by name, parent, tags.',
    ProjectsGetAllRequestSchema,
    z.object({ projects: z.array(ProjectSchema.partial()) }),
  ),
  'projects.update': endpoint(
    'Changes a project; a new name renames or moves it with its sub-projects.',
    ProjectsUpdateRequestSchema,
    UpdatedSchema,
  ),
  'projects.move': endpoint('Moves a project under another one.', ProjectsMoveRequestSchema, Counted('moved')),
  'projects.delete': endpoint(
    'Deletes a project and its sub-projects; refused while they hold tasks unless forced.',
    ProjectsDeleteRequestSchema,
    z.object({ deleted: z.number().int(), disassociated_tasks: z.number().int(), deleted_tasks: z.number().int() }),
  ),
  'projects.get_all_ex': endpoint(
    'Lists projects as projects.get_all; with include_stats, each project also gets stats.active (or .archived, by ' +
      'stats_for_state): its task counts by status and its latest task update, with the tasks of its sub-projects ' +
      'when stats_with_children (the default). Counted on the server, fast for projects of 100,000 tasks.',
    ProjectsGetAllExRequestSchema,
    z.object({ projects: z.array(ProjectWithStatsSchema) }),
  ),
  'projects.get_hyper_parameters': endpoint(
    'Returns the distinct hyperparameters (section, name) of the tasks of a project (and its sub-projects), a page ' +
      'at a time; total is how many there are, remaining how many come after this page.',
    ProjectsGetHyperParametersRequestSchema,
    z.object({
      parameters: z.array(z.object({ section: z.string(), name: z.string() })),
      total: z.number().int(),
      remaining: z.number().int(),
    }),
  ),
  'projects.get_unique_metric_variants': endpoint(
    'Returns the distinct metric/variant pairs in last_metrics of the tasks of a project (and its sub-projects), with ' +
      'the keys they have there (for ordering tasks by last_metrics.<metric_hash>.<variant_hash>.value).',
    ProjectsGetUniqueMetricVariantsRequestSchema,
    z.object({
      metrics: z.array(z.object({ metric: z.string(), variant: z.string(), metric_hash: z.string(), variant_hash: z.string() })),
    }),
  ),
  'projects.get_task_tags': endpoint(
    'Returns the distinct tags (and with include_system the system tags) of the tasks of some projects, or of all tasks.',
    ProjectsGetTaskTagsRequestSchema,
    z.object({ tags: z.array(z.string()), system_tags: z.array(z.string()).optional() }),
  ),

  'tasks.create': endpoint('Creates a draft task.', TasksCreateRequestSchema, z.object({ id: z.string() })),
  'tasks.get_by_id': endpoint('Returns one task with all its sections.', TaskIdRequestSchema, z.object({ task: TaskSchema })),
  'tasks.get_all': endpoint(
    'Lists tasks with filters, ordering, paging and field projection.',
    TasksGetAllRequestSchema,
    z.object({ tasks: z.array(TaskSchema.partial()) }),
  ),
  'tasks.edit': endpoint(
    'Edits a task. script/execution/output merge key by key; hyperparams, configuration, runtime and container are replaced whole. Configuration needs a draft unless forced.',
    TasksEditRequestSchema,
    UpdatedSchema,
  ),
  'tasks.update': endpoint('Changes name, comment, tags or project, in any status.', TasksUpdateRequestSchema, UpdatedSchema),
  'tasks.get_hyper_params': endpoint(
    'Returns the hyperparameters of tasks as lists.',
    TasksGetHyperParamsRequestSchema,
    z.object({ params: z.array(z.object({ task: z.string(), hyperparams: z.array(HyperParamItemSchema) })) }),
  ),
  'tasks.edit_hyper_params': endpoint(
    'Adds or changes hyperparameters (draft only unless forced).',
    TasksEditHyperParamsRequestSchema,
    Counted('updated'),
  ),
  'tasks.delete_hyper_params': endpoint(
    'Deletes hyperparameters, or whole sections when no name is given.',
    TasksDeleteHyperParamsRequestSchema,
    Counted('deleted'),
  ),
  'tasks.get_configurations': endpoint(
    'Returns the configuration objects of tasks.',
    TasksGetConfigurationsRequestSchema,
    z.object({ configurations: z.array(z.object({ task: z.string(), configuration: z.array(ConfigurationItemSchema) })) }),
  ),
  'tasks.get_configuration_names': endpoint(
    'Returns the names of the configuration objects of tasks.',
    TasksGetHyperParamsRequestSchema,
    z.object({ configurations: z.array(z.object({ task: z.string(), names: z.array(z.string()) })) }),
  ),
  'tasks.edit_configuration': endpoint(
    'Adds or changes configuration objects (draft only unless forced).',
    TasksEditConfigurationRequestSchema,
    Counted('updated'),
  ),
  'tasks.delete_configuration': endpoint(
    'Deletes configuration objects by name.',
    TasksDeleteConfigurationRequestSchema,
    Counted('deleted'),
  ),
  'tasks.add_or_update_artifacts': endpoint(
    'Adds artifacts or replaces those with the same key and mode.',
    TasksAddOrUpdateArtifactsRequestSchema,
    Counted('updated'),
  ),
  'tasks.delete_artifacts': endpoint('Deletes artifacts by key (and mode).', TasksDeleteArtifactsRequestSchema, Counted('deleted')),
  'tasks.add_or_update_model': endpoint(
    'Records an input or output model of the task under a name, replacing the one with that name; the model must ' +
      'exist (models.create). For an output model without a task, the task becomes the model\'s creating task.',
    TasksAddOrUpdateModelRequestSchema,
    Counted('updated'),
  ),
  'tasks.set_requirements': endpoint('Sets the packages the task needs.', TasksSetRequirementsRequestSchema, UpdatedSchema),
  'tasks.set_progress': endpoint(
    'Sets progress (0–100, kept as runtime.progress) and/or the status message of a task.',
    TasksSetProgressRequestSchema,
    UpdatedSchema,
  ),
  'tasks.ping': endpoint('Tells the server the task is alive (keeps the watchdog away).', TaskIdRequestSchema, Empty),
  'tasks.started': endpoint(
    'Marks the task running.',
    TaskStatusChangeRequestSchema,
    UpdatedSchema.extend({ started: z.number().int() }),
  ),
  'tasks.stopped': endpoint('Marks the task aborted.', TaskStatusChangeRequestSchema, StatusChanged),
  'tasks.failed': endpoint('Marks the task failed.', TaskStatusChangeRequestSchema, StatusChanged),
  'tasks.completed': endpoint(
    'Marks the task completed, and publishes it if asked.',
    TasksCompletedRequestSchema,
    UpdatedSchema.extend({ published: z.number().int() }),
  ),
  'tasks.close': endpoint('Marks the task closed.', TaskStatusChangeRequestSchema, StatusChanged),
  'tasks.stop': endpoint(
    'Asks a task to abort: a queued or unattended task is aborted at once; one run by a live agent gets status_message "stopping" and its agent ends it.',
    TaskStatusChangeRequestSchema,
    StatusChanged,
  ),
  'tasks.reset': endpoint(
    'Makes the task a draft again, deleting its outputs: events, output artifacts, its output model list, and ' +
      '(delete_output_models) the unpublished models it created that no other task uses — deleted_models counts ' +
      'them; the models it keeps lose their task link.',
    TasksResetRequestSchema,
    UpdatedSchema.extend({ dequeued: z.number().int(), events: z.number().int(), deleted_models: z.number().int() }),
  ),
  'tasks.publish': endpoint(
    'Publishes a finished task, read-only from then on, and (publish_model) its output models that are not published yet.',
    TasksPublishRequestSchema,
    StatusChanged,
  ),
  'tasks.enqueue': endpoint(
    'Puts a draft in a queue for an agent.',
    TasksEnqueueRequestSchema,
    UpdatedSchema.extend({ queued: z.number().int(), queue: z.string() }),
  ),
  'tasks.dequeue': endpoint(
    'Takes a task out of its queue, back to its status before enqueue.',
    TasksDequeueRequestSchema,
    UpdatedSchema.extend({ dequeued: z.number().int() }),
  ),
  'tasks.clone': endpoint(
    'Makes a new draft with the configuration of a task and none of its outputs; parent points at the source.',
    TasksCloneRequestSchema,
    z.object({ id: z.string(), new_project: z.object({ id: z.string(), name: z.string() }).optional() }),
  ),
  'tasks.archive': endpoint('Archives tasks (system tag "archived"); queued ones are dequeued.', TasksArchiveRequestSchema, Counted('archived')),
  'tasks.archive_many': endpoint('Archives tasks, reporting each one.', TasksManyRequestSchema, BulkResult),
  'tasks.unarchive_many': endpoint('Restores archived tasks, reporting each one.', TasksManyRequestSchema, BulkResult),
  'tasks.enqueue_many': endpoint('Enqueues tasks as tasks.enqueue, reporting each one.', TasksEnqueueManyRequestSchema, BulkResult),
  'tasks.stop_many': endpoint('Aborts tasks as tasks.stop, reporting each one.', TasksStopManyRequestSchema, BulkResult),
  'tasks.reset_many': endpoint('Resets tasks as tasks.reset, reporting each one.', TasksResetManyRequestSchema, BulkResult),
  'tasks.delete_many': endpoint('Deletes tasks as tasks.delete, reporting each one.', TasksDeleteManyRequestSchema, BulkResult),
  'tasks.delete': endpoint(
    'Deletes a task with its outputs, including (delete_output_models) the unpublished models it created that no ' +
      'other task uses; the models it keeps lose their task link (updated_models). A running or published task only ' +
      'when forced.',
    TasksDeleteRequestSchema,
    z.object({
      deleted: z.number().int(),
      updated_children: z.number().int(),
      events: z.number().int(),
      deleted_models: z.number().int(),
      updated_models: z.number().int(),
    }),
  ),

  'models.create': endpoint(
    'Registers a model: where its weights are (uri), its name, and optionally design, labels, framework, project, ' +
      'parent model and creating task.',
    ModelsCreateRequestSchema,
    z.object({ id: z.string(), created: z.boolean() }),
  ),
  'models.get_by_id': endpoint('Returns one model.', ModelIdRequestSchema, z.object({ model: ModelSchema })),
  'models.get_all': endpoint(
    'Lists models with filters (name regex, project, task, uri, framework, tags, ready...), ordering, paging and ' +
      'field projection.',
    ModelsGetAllRequestSchema,
    z.object({ models: z.array(ModelSchema.partial()) }),
  ),
  'models.edit': endpoint(
    'Changes a model; fields given replace the stored ones (design and labels whole, metadata whole). A published ' +
      'model takes only name, comment, tags, project and metadata unless forced. iteration raises last_iteration of ' +
      'the model and of its task.',
    ModelsEditRequestSchema,
    UpdatedSchema,
  ),
  'models.update': endpoint(
    'Changes the name, comment, tags, project, task or ready flag of a model, with the rules of models.edit.',
    ModelsUpdateRequestSchema,
    UpdatedSchema,
  ),
  'models.set_ready': endpoint(
    'Publishes a model (ready), and with publish_task the task that created it; an already published model answers ' +
      'updated 0.',
    ModelsSetReadyRequestSchema,
    z.object({ updated: z.number().int(), published_task: ModelPublishedTaskSchema.nullable() }),
  ),
  'models.publish_many': endpoint(
    'Publishes models as models.set_ready, reporting each one.',
    ModelsPublishManyRequestSchema,
    z.object({
      succeeded: z.array(z.object({ id: z.string(), updated: z.number().int(), published_task: ModelPublishedTaskSchema.nullable() })),
      failed: BulkFailures,
    }),
  ),
  'models.archive_many': endpoint('Archives models (system tag "archived"), reporting each one.', ModelsManyRequestSchema, BulkResult),
  'models.unarchive_many': endpoint('Restores archived models, reporting each one.', ModelsManyRequestSchema, BulkResult),
  'models.delete': endpoint(
    'Deletes a model and removes it from the model lists of the tasks that use it; refused while a task other than ' +
      'a draft uses it, unless forced. url is where its weights were (the files are not deleted).',
    ModelsDeleteRequestSchema,
    z.object({ deleted: z.boolean(), url: z.string() }),
  ),
  'models.add_or_update_metadata': endpoint(
    'Adds metadata entries to a model or replaces those with the same key (any model, published ones included).',
    ModelsAddOrUpdateMetadataRequestSchema,
    Counted('updated'),
  ),
  'models.delete_metadata': endpoint('Deletes metadata entries of a model by key.', ModelsDeleteMetadataRequestSchema, Counted('updated')),
  'models.get_frameworks': endpoint(
    'Lists the frameworks the models use (sorted, without repeats), for filters.',
    ModelsGetFrameworksRequestSchema,
    z.object({ frameworks: z.array(z.string()) }),
  ),

  'events.add_batch': endpoint(
    'Stores a batch of events — JSON lines (Content-Type: application/json-lines) or a JSON array, one event each: ' +
      '{type, task, timestamp (epoch ms), iter, metric, variant} plus value (training_stats_scalar), values ' +
      '(training_stats_vector), key and url (training_debug_image), plot_str (plot), or level, msg and an optional ' +
      'client-made id (log). A non-log event with the same task, iter, metric, variant (and key) overwrites the ' +
      'stored one; a log line with the same id is stored once. All or nothing: one bad event refuses the batch, naming ' +
      'its line (the first five bad lines are named, the others counted). Keeps last_iteration, last_update and ' +
      `last_metrics of the tasks current. At most ${fmt(MAX_EVENTS_PER_BATCH)} events per request, of which at most ` +
      `${fmt(MAX_OTHER_EVENTS_PER_BATCH)} other than scalars, scalars of at most ${fmt(MAX_SERIES_PER_BATCH)} series, ` +
      `events of at most ${fmt(MAX_TASKS_PER_BATCH)} tasks: a batch over a cap is refused whole with REQUEST_TOO_LARGE ` +
      '(413), which names the cap; send it in several requests.',
    EventsAddBatchRequestSchema,
    EventsAddBatchResponseSchema,
  ),
  'events.add': endpoint(
    'Stores one event, sent as a flat JSON body, with the rules of events.add_batch.',
    EventsAddRequestSchema,
    EventsAddBatchResponseSchema,
  ),
  'events.add_scalars': endpoint(
    'Tasklane extension (the SDK sends scalars this way): stores the scalar points of one task column by column — ' +
      '{task, series: [{metric, variant, iter: [...], value: [...], timestamp?: [...], x_axis_label?}]}, the i-th ' +
      'entries of the lists making the i-th point. The same rules and effects as scalar events of ' +
      'events.add_batch: a point with the same iteration overwrites the stored one; all or nothing. At most ' +
      `${fmt(MAX_SCALAR_POINTS_PER_REQUEST)} points (all series together) and ${fmt(MAX_SERIES_PER_SCALARS_REQUEST)} ` +
      'series per request; past them REQUEST_TOO_LARGE (413).',
    EventsAddScalarsRequestSchema,
    EventsAddBatchResponseSchema,
  ),
  'events.get_task_log': endpoint(
    'Returns a page of console lines: the newest first by default (the tail), or from the oldest with ' +
      'navigate_earlier false (the head); pass the last timestamp of a page as from_timestamp for the next one. ' +
      'Lines sharing the last timestamp all come in the same page, so paging either way loses and repeats none. ' +
      'With search, only lines containing that text (ignoring case) count.',
    EventsGetTaskLogRequestSchema,
    EventsGetTaskLogResponseSchema,
  ),
  'events.download_task_log': endpoint(
    'Returns the whole console log of a task as text ({text}): one JSON object per line, or lines formatted with line_format.',
    EventsDownloadTaskLogRequestSchema,
    EventsDownloadTaskLogResponseSchema,
  ),
  'events.get_task_events': endpoint(
    'Returns events of a task of any type, by timestamp, filtered by type and metrics, a page at a time (scroll_id).',
    EventsGetTaskEventsRequestSchema,
    EventsGetTaskEventsResponseSchema,
  ),
  'events.get_scalar_metrics_and_variants': endpoint(
    'Returns the scalar metrics of a task with their variants.',
    TaskIdRequestSchema,
    EventsGetScalarMetricsAndVariantsResponseSchema,
  ),
  'events.scalar_metrics_iter_histogram': endpoint(
    'Returns the scalar series of a task for charts: data is {metric: {variant: {name, x, y}}}. A series longer ' +
      'than samples is cut into iteration buckets, about samples / 2 of them, keeping the min and max point of each, ' +
      'so spikes stay visible; precomputed summaries make this fast for series of millions of points. Single values ' +
      '(iteration -2^31) are left out.',
    EventsScalarHistogramRequestSchema,
    ScalarHistogramSchema,
  ),
  'events.multi_task_scalar_metrics_iter_histogram': endpoint(
    'Returns the scalar series of several tasks for a compare chart: data is {metrics: {metric: {variant: {task id: ' +
      '{name: task name, x, y}}}}}, each series downsampled as in scalar_metrics_iter_histogram.',
    EventsMultiTaskScalarHistogramRequestSchema,
    EventsMultiTaskScalarHistogramResponseSchema,
  ),
  'events.get_task_single_value_metrics': endpoint(
    'Returns the single values of tasks (scalars reported at iteration -2^31, e.g. a final score).',
    EventsSingleValueMetricsRequestSchema,
    EventsSingleValueMetricsResponseSchema,
  ),
  'events.get_task_metrics': endpoint(
    'Returns, for each task, the names of the metrics that reported events (of event_type, when given).',
    EventsGetTaskMetricsRequestSchema,
    EventsGetTaskMetricsResponseSchema,
  ),
  'events.get_task_plots': endpoint(
    'Returns the plot events of a task for the last iters iterations of each plot, by timestamp, 500 a page; ' +
      'plot_str holds the Plotly figure (large ones are stored compressed and come back whole).',
    EventsGetTaskPlotsRequestSchema,
    EventsGetTaskPlotsResponseSchema,
  ),
  'events.debug_images': endpoint(
    'Returns the debug samples of tasks, iters iterations per task and page, latest first; pass scroll_id to page ' +
      'to earlier (navigate_earlier) or later iterations. The server keeps the last debugSampleHistory iterations of ' +
      'each metric/variant.',
    EventsDebugImagesRequestSchema,
    EventsDebugImagesResponseSchema,
  ),
  'events.get_debug_image_sample': endpoint(
    'Returns the debug sample of a metric/variant at an iteration (or the latest before it; the latest when none is ' +
      'given), with the iteration range stored for it and a scroll_id for next_debug_image_sample.',
    EventsGetDebugImageSampleRequestSchema,
    DebugImageSampleSchema,
  ),
  'events.next_debug_image_sample': endpoint(
    'Steps from a debug sample to the previous (navigate_earlier) or next one: the neighbour variant in the same ' +
      'iteration, else the nearest iteration; event is null at either end.',
    EventsNextDebugImageSampleRequestSchema,
    DebugImageSampleSchema,
  ),
  'events.get_task_latest_scalar_values': endpoint(
    'Returns the last value of every scalar series of a task, and the mean of its last 10 values.',
    TaskIdRequestSchema,
    EventsLatestScalarValuesResponseSchema,
  ),
  'events.delete_for_task': endpoint(
    'Deletes all events of a task and clears its last_metrics and last_iteration; a published task only with allow_locked.',
    EventsDeleteForTaskRequestSchema,
    z.object({ deleted: z.number().int() }),
  ),

  'queues.create': endpoint('Creates a queue.', QueuesCreateRequestSchema, z.object({ id: z.string() })),
  'queues.get_by_id': endpoint('Returns one queue with its entries.', QueuesGetByIdRequestSchema, z.object({ queue: QueueSchema })),
  'queues.get_all': endpoint(
    'Lists queues.',
    QueuesGetAllRequestSchema,
    z.object({ queues: z.array(QueueSchema.partial()) }),
  ),
  'queues.get_default': endpoint(
    'Returns the default queue (system tag "default").',
    Empty,
    z.object({ id: z.string(), name: z.string() }),
  ),
  'queues.delete': endpoint('Deletes a queue; refused while tasks wait in it unless forced.', QueuesDeleteRequestSchema, Counted('deleted')),
  'queues.add_task': endpoint('Appends a task to a queue (no status change).', QueueTaskRequestSchema, Counted('added')),
  'queues.remove_task': endpoint('Removes a task from a queue (no status change).', QueueTaskRequestSchema, Counted('removed')),
  'queues.get_next_task': endpoint(
    'Atomically pops the task at the head of the queue: each queued task is handed to exactly one caller.',
    QueuesGetNextTaskRequestSchema,
    z.object({
      entry: QueueEntrySchema.optional(),
      task_info: z.object({ company: z.string(), user: z.string() }).optional(),
    }),
  ),
  'queues.peek_task': endpoint('Returns the task at the head of the queue without popping it.', QueueOnlyRequestSchema, z.object({ task: z.string().nullable() })),
  'queues.get_num_entries': endpoint('Returns how many tasks wait in the queue.', QueueOnlyRequestSchema, z.object({ num: z.number().int() })),
  'queues.move_task_forward': endpoint(
    'Moves a waiting task count places toward the head of its queue (atomic; stops at the head).',
    QueuesMoveTaskRequestSchema,
    QueuesMoveTaskResponseSchema,
  ),
  'queues.move_task_backward': endpoint(
    'Moves a waiting task count places toward the tail of its queue (atomic; stops at the tail).',
    QueuesMoveTaskRequestSchema,
    QueuesMoveTaskResponseSchema,
  ),
  'queues.move_task_to_front': endpoint('Moves a waiting task to the head of its queue.', QueueTaskRequestSchema, QueuesMoveTaskResponseSchema),
  'queues.move_task_to_back': endpoint('Moves a waiting task to the tail of its queue.', QueueTaskRequestSchema, QueuesMoveTaskResponseSchema),

  'workers.register': endpoint('Registers a worker (an agent) and the queues it serves.', WorkersRegisterRequestSchema, Empty),
  'workers.unregister': endpoint('Unregisters a worker.', WorkersUnregisterRequestSchema, Empty),
  'workers.status_report': endpoint(
    'Reports a worker alive, with what it runs and its machine statistics; registers unknown workers.',
    WorkersStatusReportRequestSchema,
    Empty,
  ),
  'workers.get_all': endpoint(
    'Lists the workers seen recently.',
    WorkersGetAllRequestSchema,
    z.object({ workers: z.array(WorkerSchema) }),
  ),
} as const satisfies Record<string, EndpointDefinition>;

export type Endpoints = typeof ENDPOINTS;
/** `service.action` of an endpoint. */
export type EndpointName = keyof Endpoints;
/** The body an endpoint accepts, as a caller writes it (defaults optional). */
export type RequestOf<TName extends EndpointName> = z.input<Endpoints[TName]['request']>;
/** The body an endpoint sees after validation (defaults filled). */
export type ParsedRequestOf<TName extends EndpointName> = z.output<Endpoints[TName]['request']>;
/** The `data` an endpoint answers with. */
export type ResponseOf<TName extends EndpointName> = z.output<Endpoints[TName]['response']>;

/** Tells whether a string names a known endpoint. */
export function isEndpointName(name: string): name is EndpointName {
  return Object.hasOwn(ENDPOINTS, name);
}

/** The API version this server implements (ClearML's max version). */
export const API_VERSION = '2.31';

/**
 * Endpoints that only read. They alone may be called with the query string and no JSON body (a link, the browser's
 * address bar, `curl 'host/tasks.get_all?status=queued'`). Every other endpoint changes state and must be sent with
 * `Content-Type: application/json` (or `application/json-lines` for event batches), whatever the HTTP method: a web
 * page of another origin cannot send that type without a CORS preflight, which the server refuses, so no page a user
 * opens can change anything. A new endpoint is a write until it is listed here.
 */
export const READ_ENDPOINTS: ReadonlySet<EndpointName> = new Set<EndpointName>([
  'auth.login',
  'auth.get_credentials',
  'users.get_current_user',
  'users.get_all',
  'projects.get_by_id',
  'projects.get_all',
  'projects.get_all_ex',
  'projects.get_hyper_parameters',
  'projects.get_unique_metric_variants',
  'projects.get_task_tags',
  'tasks.get_by_id',
  'tasks.get_all',
  'tasks.get_hyper_params',
  'tasks.get_configurations',
  'tasks.get_configuration_names',
  'models.get_by_id',
  'models.get_all',
  'models.get_frameworks',
  'events.get_task_log',
  'events.download_task_log',
  'events.get_task_events',
  'events.get_scalar_metrics_and_variants',
  'events.scalar_metrics_iter_histogram',
  'events.multi_task_scalar_metrics_iter_histogram',
  'events.get_task_single_value_metrics',
  'events.get_task_metrics',
  'events.get_task_plots',
  'events.debug_images',
  'events.get_debug_image_sample',
  'events.next_debug_image_sample',
  'events.get_task_latest_scalar_values',
  'queues.get_by_id',
  'queues.get_all',
  'queues.get_default',
  'queues.peek_task',
  'queues.get_num_entries',
  'workers.get_all',
]);

/** Tells whether an endpoint changes state (see {@link READ_ENDPOINTS}). */
export function isWriteEndpoint(name: EndpointName): boolean {
  return !READ_ENDPOINTS.has(name);
}
