import { z } from 'zod';
import { MAX_NAME_LENGTH } from './limits.js';
import { IdSchema, IdListSchema, ListOptionsShape, StringListSchema, TimestampSchema, TagListSchema } from './common.js';

export const QueueEntrySchema = z.object({
  task: z.string(),
  added: TimestampSchema,
  priority: z.number().int().optional().describe('higher leaves the queue first; equal priorities keep arrival order'),
});
export type QueueEntry = z.infer<typeof QueueEntrySchema>;

/** A queue of tasks waiting for an agent, oldest first. */
export const QueueSchema = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string().nullable().optional(),
  created: TimestampSchema,
  last_update: TimestampSchema.optional(),
  tags: z.array(z.string()),
  system_tags: z.array(z.string()),
  entries: z.array(QueueEntrySchema),
  metadata: z.record(z.string(), z.unknown()),
});
export type Queue = z.infer<typeof QueueSchema>;

export const QueueNameSchema = z
  .string()
  .trim()
  .min(1, 'a queue name cannot be empty')
  .max(MAX_NAME_LENGTH, `names have at most ${MAX_NAME_LENGTH} characters`);

export const QueuesCreateRequestSchema = z.object({
  name: QueueNameSchema,
  display_name: z.string().optional(),
  tags: TagListSchema.optional(),
  system_tags: TagListSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export const QueuesGetByIdRequestSchema = z.object({
  queue: z.string().min(1),
  max_task_entries: z.number().int().min(0).optional(),
});
export const QueuesGetAllRequestSchema = z.object({
  id: IdListSchema.optional(),
  name: z.string().optional().describe('regular expression (case-insensitive)'),
  tags: StringListSchema.optional(),
  system_tags: StringListSchema.optional(),
  search_hidden: z.boolean().optional(),
  max_task_entries: z.number().int().min(0).optional(),
  ...ListOptionsShape,
});
export const QueuesDeleteRequestSchema = z.object({
  queue: IdSchema,
  force: z.boolean().optional().default(false).describe('delete even if tasks wait in it; they go back to draft'),
});
export const QueueTaskRequestSchema = z.object({ queue: IdSchema, task: IdSchema });
export const QueuesGetNextTaskRequestSchema = z.object({
  queue: IdSchema,
  get_task_info: z.boolean().optional().default(false),
  task: IdSchema.optional().describe('pop only if this task is at the head'),
});
export const QueueOnlyRequestSchema = z.object({ queue: IdSchema });
/** `queues.move_task_forward` / `move_task_backward`: moves a waiting task `count` places toward the head / tail. */
export const QueuesMoveTaskRequestSchema = z.object({
  queue: IdSchema,
  task: IdSchema,
  count: z.number().int().min(1).optional().default(1).describe('how many places to move'),
});
/** The answer of the `queues.move_task_*` calls: where the task now waits (0 is the head). */
export const QueuesMoveTaskResponseSchema = z.object({
  position: z.number().int().describe('the new place of the task in the queue, 0 being the head'),
});
