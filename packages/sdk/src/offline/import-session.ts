import { relative, sep } from 'node:path';
import { TasklaneError, shortId, type Artifact as ArtifactRecord, type RequestOf, type Task as TaskData } from '@tasklane/protocol';
import { uploadWithRetry } from '../artifacts/upload-with-retry.js';
import type { ApiClient } from '../client/api-client.js';
import type { SdkConfig } from '../config.js';
import type { ReportEvent } from '../event-reporter.js';
import { capBodies, jsonLinesBodies } from '../scalar-columns.js';
import { StorageManager } from '../storage/storage-manager.js';
import { destinationFor, joinUrl } from '../storage/storage-url.js';
import { checkSession, readEventLines, type CheckedSession } from './read-session.js';
import { FILES_DIR, OFFLINE_TAG_PREFIX } from './session-format.js';

/** Options of `Task.importOfflineSession`. */
export interface ImportOfflineOptions {
  /** Import into this project instead of the recorded one (`a/b` nests; created when missing). */
  projectName?: string;
  /** The server. @default the SDK settings (`TASKLANE_API_HOST`, config file) */
  apiHost?: string;
  /** Progress lines (checking, uploading files, replaying events...). @default none */
  onProgress?: (message: string) => void;
}

/** What `Task.importOfflineSession` imported. */
export interface ImportOfflineResult {
  /** The new task's id on the server. */
  taskId: string;
  sessionId: string;
  projectName: string;
  status: 'completed' | 'failed' | 'stopped';
  /** Events replayed (each scalar point counts). */
  events: number;
  /** Files uploaded (artifacts, weights, debug samples). */
  files: number;
  models: number;
  /** What was left out or changed, in words (a cut-off session, a model whose weights never arrived...). */
  notes: string[];
}

/** Scalar points gathered before they are sent (in requests within the server's caps), other events per request. */
const SCALAR_POINTS_PER_REQUEST = 50_000;
const EVENTS_PER_REQUEST = 5_000;
const MAX_EVENTS_BODY_BYTES = 8 * 1024 * 1024;
/** The status reason of a task while its session is being imported (an import that died leaves it so). */
const IMPORTING_REASON = 'importing offline session';
/** Task names are cut in storage paths as the SDK cuts them (see Task.storageBase). */
const STORAGE_NAME_MAX = 128 - 33;

type AddScalarsBody = RequestOf<'events.add_scalars'>;
type Series = AddScalarsBody['series'][number];

/** Prints "<what> n/total" at the start, about every 2 seconds, and at the end. */
function progressReporter(say: (message: string) => void, what: string, total: number): (done: number) => void {
  let lastAt = 0;
  return (done) => {
    const now = Date.now();
    if (done === 0 || done >= total || now - lastAt >= 2000) {
      lastAt = now;
      say(`${what} ${done}/${total}`);
    }
  };
}

/**
 * Replays a checked session into the server (see `Task.importOfflineSession`). Nothing is sent before the session is
 * checked whole; when a step fails, the task made so far is deleted. @internal
 */
export async function importOfflineSession(
  path: string,
  options: ImportOfflineOptions,
  connection: { api: ApiClient; config: SdkConfig },
): Promise<ImportOfflineResult> {
  const say = options.onProgress ?? (() => undefined);
  const { api } = connection;
  say(`checking ${path}`);
  const session = await checkSession(path);
  try {
    const { manifest } = session;
    const tag = `${OFFLINE_TAG_PREFIX}${manifest.sessionId}`;
    say(`session ${manifest.sessionId}: task "${session.task.name}", ${session.eventCount} events, ${session.files.size} files, ${session.models.length} models${manifest.isClosed ? '' : ' (cut off: the run never closed)'}`);
    const { tasks } = await api.call('tasks.get_all', { system_tags: [tag], search_hidden: true, only_fields: ['id', 'name', 'status', 'status_reason'] });
    const existing = tasks[0];
    if (existing?.id && existing.status === 'in_progress' && existing.status_reason?.startsWith(IMPORTING_REASON)) {
      // Left by an import that died with its server (or its process) before it could delete it: not an import at all.
      throw new TasklaneError(
        'ALREADY_EXISTS',
        `Offline session ${manifest.sessionId} has a partly imported task ${existing.id} ("${existing.name}"), left by an import that did not finish ` +
          `(or is running now); the session is not imported. Delete that task, then import again: tasklane task delete ${shortId(existing.id)} --force`,
        { task: existing.id, session: manifest.sessionId },
      );
    }
    if (existing?.id) {
      throw new TasklaneError(
        'ALREADY_EXISTS',
        `Offline session ${manifest.sessionId} was imported already, as task ${existing.id} ("${existing.name}"); a session is imported only once. ` +
          `See it with: tasklane task show ${existing.id}`,
        { task: existing.id, session: manifest.sessionId },
      );
    }
    return await replay(session, tag, options, connection, say);
  } finally {
    await session.cleanup();
  }
}

async function replay(
  session: CheckedSession,
  tag: string,
  options: ImportOfflineOptions,
  { api, config }: { api: ApiClient; config: SdkConfig },
  say: (message: string) => void,
): Promise<ImportOfflineResult> {
  const { manifest, task: recorded } = session;
  const projectName = options.projectName?.split('/').map((p) => p.trim()).filter(Boolean).join('/') || manifest.projectName;
  const notes = [...session.notes];
  const { id } = await api.call('tasks.create', {
    name: recorded.name,
    project_name: projectName,
    type: recorded.type,
    comment: recorded.comment,
    tags: recorded.tags,
    system_tags: [...recorded.system_tags.filter((t) => !t.startsWith(OFFLINE_TAG_PREFIX)), tag],
    script: recorded.script,
    hyperparams: recorded.hyperparams,
    configuration: recorded.configuration,
    container: recorded.container,
    runtime: recorded.runtime,
  });
  const createdModels: string[] = [];
  const uploaded: string[] = [];
  let step = 'starting the task';
  try {
    // Two imports of one session at the same moment both pass the check above: the first task created keeps it.
    const { tasks: twins } = await api.call('tasks.get_all', { system_tags: [tag], search_hidden: true, order_by: ['created', 'id'], only_fields: ['id', 'name'] });
    const first = twins[0];
    if (first?.id && first.id !== id) {
      step = 'checking for another import of the same session';
      throw new TasklaneError('ALREADY_EXISTS', `offline session ${manifest.sessionId} is being imported at the same time, as task ${first.id}`, { task: first.id });
    }
    await api.call('tasks.started', { task: id, force: true, status_reason: `${IMPORTING_REASON} ${manifest.sessionId}` });

    step = 'uploading files';
    const base = joinUrl(destinationFor(undefined, config), ...projectName.split('/'), `${recorded.name.slice(0, STORAGE_NAME_MAX)}.${id}`);
    const newUris = new Map<string, string>();
    const showFiles = progressReporter(say, 'uploading files', session.files.size);
    showFiles(0);
    for (const [uri, file] of session.files) {
      const url = joinUrl(base, ...storageParts(session, recorded.id, file));
      const stored = await uploadWithRetry(file, url, { config, what: `file ${relative(session.dir, file)}`, say });
      uploaded.push(stored.uri);
      newUris.set(uri, stored.uri);
      showFiles(uploaded.length);
    }
    const rewrite = (uri: string | undefined) => (uri === undefined ? undefined : (newUris.get(uri) ?? uri));

    step = 'recording artifacts';
    const artifacts: ArtifactRecord[] = (recorded.execution.artifacts ?? []).map((a) => ({ ...a, uri: rewrite(a.uri) }));
    if (artifacts.length > 0) await api.call('tasks.add_or_update_artifacts', { task: id, artifacts, force: true });

    step = 'registering models';
    const publish: string[] = [];
    for (const model of session.models) {
      const { id: modelId } = await api.call('models.create', {
        uri: rewrite(model.uri) ?? model.uri,
        name: model.name,
        project_name: projectName,
        task: id,
        framework: model.framework,
        design: model.design,
        labels: model.labels,
        tags: model.tags,
        comment: model.comment,
      });
      createdModels.push(modelId);
      if (model.last_iteration > 0) await api.call('models.edit', { model: modelId, iteration: model.last_iteration });
      for (const entry of recorded.models.output.filter((m) => m.model === model.id)) {
        await api.call('tasks.add_or_update_model', { task: id, name: entry.name, model: modelId, type: 'output', force: true });
      }
      if (model.ready) publish.push(modelId);
    }
    if (recorded.models.input.length > 0) notes.push(`${recorded.models.input.length} input model link(s) are left out (offline runs cannot use registered models)`);

    step = 'replaying events';
    const replayed = await replayEvents(session, id, rewrite, api, config.filesHost, say);

    step = 'setting the final status';
    for (const modelId of publish) await api.call('models.set_ready', { model: modelId, publish_task: false });
    const outcome = finalStatus(recorded, manifest.isClosed);
    if (!manifest.isClosed) notes.push(`the run never closed (crash or kill): imported as aborted ("${outcome.reason}")`);
    await api.call(`tasks.${outcome.status}`, { task: id, force: true, status_reason: outcome.reason, status_message: outcome.message });
    say(`imported as task ${id} (${outcome.status})`);
    return { taskId: id, sessionId: manifest.sessionId, projectName, status: outcome.status, events: replayed, files: uploaded.length, models: createdModels.length, notes };
  } catch (error) {
    const cleaned = await rollBack(api, config, id, createdModels, uploaded);
    const cause = error as Error;
    throw new TasklaneError(
      error instanceof TasklaneError ? error.code : 'INTERNAL',
      `Import of offline session ${manifest.sessionId} failed while ${step}: ${cause.message.replace(/\.$/, '')}. ` +
        (cleaned
          ? `The partly imported task ${id} was deleted, so nothing half-imported is left; fix the cause and import again.`
          : `The partly imported task ${id} could not be deleted: delete it (tasklane task delete ${shortId(id)} --force) before importing again.`),
      { task: id, session: manifest.sessionId, step },
      { cause: error },
    );
  }
}

/** Where a session file goes under the new task's storage folder: its path after the old `<name>.<task id>` folder. */
function storageParts(session: CheckedSession, oldTaskId: string, file: string): string[] {
  const parts = relative(`${session.dir}${sep}${FILES_DIR}`, file).split(sep);
  const taskFolder = parts.findLastIndex((part) => part.endsWith(`.${oldTaskId}`));
  return taskFolder >= 0 && taskFolder < parts.length - 1 ? parts.slice(taskFolder + 1) : ['offline-files', ...parts];
}

function finalStatus(recorded: TaskData, isClosed: boolean): { status: 'completed' | 'failed' | 'stopped'; reason: string; message: string } {
  const message = recorded.status_message ?? '';
  if (!isClosed) {
    return { status: 'stopped', reason: 'offline session cut off: the run ended without closing the task (crash or kill)', message };
  }
  if (recorded.status === 'completed' || recorded.status === 'failed' || recorded.status === 'stopped') {
    return { status: recorded.status, reason: recorded.status_reason || recorded.status, message };
  }
  return { status: 'stopped', reason: `offline session closed while the task was "${recorded.status}"`, message };
}

/** Sends every event of the session, scalars column by column and the rest as JSON lines, in large batches. */
async function replayEvents(
  session: CheckedSession,
  taskId: string,
  rewrite: (uri: string | undefined) => string | undefined,
  api: ApiClient,
  filesHost: string,
  say: (message: string) => void,
): Promise<number> {
  const show = progressReporter(say, 'replaying events', session.eventCount);
  show(0);
  let sent = 0;
  let series = new Map<string, Series & { iter: number[]; value: number[]; timestamp: number[] }>();
  let points = 0;
  let others: ReportEvent[] = [];
  const sendScalars = async () => {
    if (points === 0) return;
    // Within the server's caps on series and points per request, whatever the session holds.
    for (const part of capBodies([...series.values()])) await api.call('events.add_scalars', { task: taskId, series: part });
    sent += points;
    series = new Map();
    points = 0;
    show(sent);
  };
  const sendOthers = async () => {
    if (others.length === 0) return;
    for (const body of jsonLinesBodies(others, MAX_EVENTS_BODY_BYTES)) await api.sendBody('events.add_batch', body, 'application/json-lines');
    sent += others.length;
    others = [];
    show(sent);
  };
  await readEventLines(
    session.dir,
    session.dir,
    session.manifest.isClosed,
    async (line) => {
      if (line.kind === 'scalars') {
        for (const s of line.body.series) {
          const key = `${s.metric}\u0000${s.variant}`;
          let target = series.get(key);
          if (!target) series.set(key, (target = { metric: s.metric, variant: s.variant, iter: [], value: [], timestamp: [] }));
          if (s.x_axis_label !== undefined) target.x_axis_label = s.x_axis_label;
          // A point recorded without a time gets the time of its neighbours' batch rather than the time of import.
          const fallback = s.timestamp?.[0] ?? Date.parse(session.task.created);
          for (let i = 0; i < s.iter.length; i += 1) {
            target.iter.push(s.iter[i]!);
            target.value.push(s.value[i]!);
            target.timestamp.push(s.timestamp?.[i] ?? fallback);
          }
          points += s.iter.length;
        }
        if (points >= SCALAR_POINTS_PER_REQUEST) await sendScalars();
        return;
      }
      const event = { ...line.event, task: taskId } as ReportEvent;
      const url = typeof event.url === 'string' ? rewrite(event.url) : undefined;
      if (url !== undefined && url !== event.url) {
        event.url = url;
        // A sample's key (part of its identity on the server) is its storage key: the new one, as the SDK makes it online.
        const filesPrefix = `${filesHost}/`;
        if (typeof event.key === 'string' && url.startsWith(filesPrefix)) {
          event.key = url.slice(filesPrefix.length).split('/').map(decodeURIComponent).join('/');
        }
      }
      others.push(event);
      if (others.length >= EVENTS_PER_REQUEST) await sendOthers();
    },
    session.eventLines,
  );
  await sendScalars();
  await sendOthers();
  return sent;
}

/** Deletes what a failed import made; answers whether the task is gone. */
async function rollBack(api: ApiClient, config: SdkConfig, taskId: string, models: string[], uploaded: string[]): Promise<boolean> {
  let isDeleted = false;
  try {
    await api.call('tasks.delete', { task: taskId, force: true, delete_output_models: true });
    isDeleted = true;
  } catch (error) {
    isDeleted = error instanceof TasklaneError && error.code === 'TASK_NOT_FOUND';
  }
  for (const model of models) await api.call('models.delete', { model, force: true }).catch(() => undefined);
  for (const url of uploaded) await StorageManager.delete(url, { config }).catch(() => undefined);
  return isDeleted;
}
