import { z } from 'zod';
import { StringListSchema, TimestampSchema } from './common.js';
import { MAX_NAME_LENGTH } from './limits.js';

/** A running agent, as last reported. */
export const WorkerSchema = z.object({
  id: z.string(),
  user: z.object({ id: z.string(), name: z.string() }).optional(),
  ip: z.string().nullable().optional(),
  register_time: TimestampSchema,
  last_activity_time: TimestampSchema,
  last_report_time: TimestampSchema.nullable().optional(),
  task: z
    .object({ id: z.string(), name: z.string(), running_time: z.number().optional(), last_iteration: z.number().optional() })
    .nullable()
    .optional(),
  project: z.object({ id: z.string(), name: z.string() }).nullable().optional(),
  queue: z.string().nullable().optional(),
  queues: z.array(z.string()),
  tags: z.array(z.string()),
  machine_stats: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type Worker = z.infer<typeof WorkerSchema>;

/** A worker's id (ClearML's agents make `host:gpuN`), as long as a name at most: it is the key of the workers table. */
export const WorkerIdSchema = z
  .string()
  .trim()
  .min(1, 'a worker id cannot be empty')
  .max(MAX_NAME_LENGTH, `a worker id has at most ${MAX_NAME_LENGTH} characters`);

// ClearML's agent sends null for what it has not got (`"tags": null`, `"machine_stats": null`), which ClearML's server
// takes as absent: so do these schemas.
export const WorkersRegisterRequestSchema = z.object({
  worker: WorkerIdSchema,
  timeout: z.number().int().min(1).optional().default(600).describe('seconds without a report before it expires'),
  queues: StringListSchema.nullable().optional(),
  tags: StringListSchema.nullable().optional(),
});
export const WorkersUnregisterRequestSchema = z.object({ worker: WorkerIdSchema });
export const WorkersStatusReportRequestSchema = z.object({
  worker: WorkerIdSchema,
  timestamp: z.number().describe('epoch milliseconds'),
  task: z.string().nullable().optional(),
  queue: z.string().nullable().optional(),
  queues: StringListSchema.nullable().optional(),
  machine_stats: z.record(z.string(), z.unknown()).nullable().optional(),
  tags: StringListSchema.nullable().optional(),
});
export const WorkersGetAllRequestSchema = z.object({
  last_seen: z.number().int().min(0).optional().default(3600).describe('only workers seen in the last N seconds'),
});
