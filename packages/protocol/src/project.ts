import { z } from 'zod';
import { MAX_NAME_LENGTH } from './limits.js';
import { IdSchema, IdListSchema, ListOptionsShape, StringListSchema, TimestampSchema, TagListSchema } from './common.js';

/** Projects nest by name: `main/sub/subsub`. ClearML's limit on depth. */
export const MAX_PROJECT_DEPTH = 10;

/** A project as the API returns it. `name` is the full path; `basename` its last part. */
export const ProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  basename: z.string(),
  parent: z.string().nullable(),
  path: z.array(z.string()).describe('ids of the ancestors, outermost first'),
  description: z.string(),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
  default_output_destination: z.string().nullable().optional(),
  created: TimestampSchema,
  last_update: TimestampSchema,
});
export type Project = z.infer<typeof ProjectSchema>;

export const ProjectsCreateRequestSchema = z.object({
  name: z
    .string()
    .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`)
    .describe('full path, parts separated by "/"; missing parents are created'),
  description: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  default_output_destination: z.string().optional(),
});

export const ProjectsGetByIdRequestSchema = z.object({ project: IdSchema });

export const ProjectsGetAllRequestSchema = z.object({
  id: IdListSchema.optional(),
  name: z.string().optional().describe('regular expression on the full name (case-insensitive)'),
  basename: z.string().optional().describe('regular expression on the last part of the name'),
  parent: IdListSchema.optional().describe('only direct children of these projects'),
  shallow_search: z.boolean().optional().describe('only top-level projects (or direct children of `parent`)'),
  tags: StringListSchema.optional(),
  system_tags: StringListSchema.optional(),
  search_hidden: z.boolean().optional(),
  ...ListOptionsShape,
});

export const ProjectsUpdateRequestSchema = z.object({
  project: IdSchema,
  name: z
    .string()
    .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`)
    .optional()
    .describe('new full path: renames and/or moves the project with its sub-projects'),
  description: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  default_output_destination: z.string().nullable().optional(),
});

export const ProjectsMoveRequestSchema = z.object({
  project: IdSchema,
  new_location: z.string().describe('full name of the new parent project; "" moves it to the top level'),
});

export const ProjectsDeleteRequestSchema = z.object({
  project: IdSchema,
  force: z.boolean().optional().default(false).describe('delete even if the project or its sub-projects hold tasks'),
  delete_contents: z
    .boolean()
    .optional()
    .default(false)
    .describe('with force: delete the tasks too; otherwise they are kept without a project'),
});

/** `projects.get_all_ex`: `projects.get_all` plus, on request, task counts computed on the server. */
export const ProjectsGetAllExRequestSchema = ProjectsGetAllRequestSchema.extend({
  include_stats: z.boolean().optional().default(false).describe('add `stats` to each project'),
  stats_with_children: z
    .boolean()
    .optional()
    .default(true)
    .describe('count the tasks of sub-projects too'),
  stats_for_state: z
    .enum(['active', 'archived'])
    .optional()
    .default('active')
    .describe('count the tasks that are not archived (active) or only the archived ones'),
});

/** Task counts of a project (hidden tasks are not counted). */
export const ProjectTaskStatsSchema = z.object({
  total_tasks: z.number().int(),
  status_count: z.record(z.string(), z.number().int()).describe('tasks by status'),
  last_update: TimestampSchema.nullable().describe('Tasklane extension: the latest last_update among those tasks'),
});
export type ProjectTaskStats = z.infer<typeof ProjectTaskStatsSchema>;

export const ProjectWithStatsSchema = ProjectSchema.partial().extend({
  stats: z
    .object({ active: ProjectTaskStatsSchema.optional(), archived: ProjectTaskStatsSchema.optional() })
    .optional(),
});

/** Scope of the project-wide task summaries (hyperparameters, metrics): one project, or every task. */
const ProjectScopeShape = {
  project: IdSchema.optional().describe('the project; every task when not given'),
  include_subprojects: z.boolean().optional().default(true).describe('include the tasks of its sub-projects'),
};

export const ProjectsGetHyperParametersRequestSchema = z.object({
  ...ProjectScopeShape,
  page: z.number().int().min(0).optional().default(0),
  page_size: z.number().int().min(1).max(10_000).optional().default(500),
});

export const ProjectsGetUniqueMetricVariantsRequestSchema = z.object(ProjectScopeShape);

export const ProjectsGetTaskTagsRequestSchema = z.object({
  projects: IdListSchema.optional().describe('only tasks of these projects; every task when not given'),
  include_subprojects: z.boolean().optional().default(false).describe('Tasklane extension: with projects, their sub-projects too'),
  include_system: z.boolean().optional().default(false).describe('also answer the system tags'),
});
