import { z } from 'zod';
import { EventsAddScalarsRequestSchema } from '@tasklane/protocol';

/**
 * The layout of an offline session folder (and of its zip, which holds the same files at its root):
 *
 * - `manifest.json`: {@link SessionManifest} — format and version, session id, whether the run ended.
 * - `task.json`: the whole task document (the shape `tasks.get_by_id` answers), rewritten atomically on each change.
 * - `models.json`: the models the task registered (the shape `models.get_by_id` answers), when there are any.
 * - `events.jsonl`: one JSON object per line: `{"kind":"scalars","body":<events.add_scalars body>}` or
 *   `{"kind":"event","event":<one events.add_batch event>}`, appended as the run reports.
 * - `files/`: artifacts, model weights and debug samples, as the folder storage driver writes them.
 */
export const SESSION_FORMAT = 'tasklane-offline-session';
/** Version of the layout; an importer refuses versions it does not know. */
export const SESSION_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const TASK_FILE = 'task.json';
export const MODELS_FILE = 'models.json';
export const EVENTS_FILE = 'events.jsonl';
export const FILES_DIR = 'files';
/** System tag of a task imported from a session: how a second import of the same session is recognised. */
export const OFFLINE_TAG_PREFIX = 'offline:';

export const SessionManifestSchema = z.object({
  format: z.literal(SESSION_FORMAT),
  version: z.number().int().positive(),
  sessionId: z.string().regex(/^[0-9a-f]{32}$/, 'expected 32 hex characters'),
  /** Id of the task while offline (the imported task gets a new one). */
  taskId: z.string().min(1),
  projectName: z.string(),
  createdAt: z.string(),
  /** False until the run ended (close, normal exit, error, signal): a session cut off by a crash stays false. */
  isClosed: z.boolean(),
  closedAt: z.string().optional(),
  /** Absolute path of `files/` when recorded: stored URIs start with it, and are rewritten on import. */
  filesDir: z.string().min(1),
  sdkVersion: z.string().optional(),
});
export type SessionManifest = z.infer<typeof SessionManifestSchema>;

/** One line of `events.jsonl`. */
export const SessionEventLineSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('scalars'), body: EventsAddScalarsRequestSchema }),
  z.object({
    kind: z.literal('event'),
    event: z
      .object({ type: z.string().min(1), timestamp: z.number().optional() })
      .loose(),
  }),
]);
export type SessionEventLine = z.infer<typeof SessionEventLineSchema>;
