import { closeSync, fstatSync, ftruncateSync, mkdirSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  TasklaneError,
  newId,
  type Artifact as ArtifactRecord,
  type Model as ModelData,
  type Task as TaskData,
  type TaskModelRef,
} from '@tasklane/protocol';
import { temporaryName } from '../storage/temporary-name.js';
import { offlineCallError, offlineError } from './offline-mode.js';
import {
  EVENTS_FILE,
  FILES_DIR,
  MANIFEST_FILE,
  MODELS_FILE,
  SESSION_FORMAT,
  SESSION_FORMAT_VERSION,
  TASK_FILE,
  type SessionManifest,
} from './session-format.js';

/** The id the offline task's project has in the session (projects live on servers; the name is what is kept). */
export const OFFLINE_PROJECT_ID = 'offline-project';


function writeAtomically(path: string, text: string | Buffer): void {
  const temp = join(dirname(path), temporaryName(basename(path)));
  writeFileSync(temp, text);
  renameSync(temp, path);
}

/**
 * Appends `text` whole or not at all: a full disk (or a file size limit) can take part of a write, and half a line
 * followed by whole ones would make the session unreadable; the failed write is cut off again and the error thrown.
 */
function appendWhole(path: string, text: string): void {
  const fd = openSync(path, 'a');
  try {
    const { size } = fstatSync(fd);
    try {
      writeFileSync(fd, text);
    } catch (error) {
      ftruncateSync(fd, size);
      throw error;
    }
  } finally {
    closeSync(fd);
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * One offline run's session folder: the task document, its models and events, kept current on disk as the SDK
 * "calls the server". Every write is synchronous so that the last ones can be made inside the process' 'exit' event.
 *
 * @internal
 */
export class OfflineSession {
  private task: TaskData | undefined;
  private readonly models = new Map<string, ModelData>();

  private constructor(
    /** The session folder. */
    readonly dir: string,
    private manifest: SessionManifest,
  ) {}

  /** Makes a new session folder `<offlineDir>/<session id>/` with its manifest. */
  static create(offlineDir: string, projectName: string): OfflineSession {
    const sessionId = newId();
    const dir = join(offlineDir, sessionId);
    try {
      mkdirSync(join(dir, FILES_DIR), { recursive: true });
    } catch (cause) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Offline mode: cannot create the session folder ${dir} (${(cause as Error).message}). Point TASKLANE_OFFLINE_DIR at a writable folder.`,
        { path: dir },
        { cause },
      );
    }
    const session = new OfflineSession(dir, {
      format: SESSION_FORMAT,
      version: SESSION_FORMAT_VERSION,
      sessionId,
      taskId: sessionId,
      projectName,
      createdAt: new Date().toISOString(),
      isClosed: false,
      filesDir: join(dir, FILES_DIR),
      sdkVersion: '0.1.0',
    });
    session.saveManifest();
    return session;
  }

  get id(): string {
    return this.manifest.sessionId;
  }

  get filesDir(): string {
    return this.manifest.filesDir;
  }

  get isClosed(): boolean {
    return this.manifest.isClosed;
  }

  /** Records that the run ended (the importer then keeps the recorded status instead of "cut off"). */
  markClosed(): void {
    if (this.manifest.isClosed) return;
    this.manifest = { ...this.manifest, isClosed: true, closedAt: new Date().toISOString() };
    this.saveManifest();
  }

  /** Stores a debug sample under `files/<key>`; answers the URL its event carries (the file's path). */
  writeSample(key: string, data: Buffer): string {
    const path = join(this.filesDir, ...key.split('/').filter((part) => part !== '' && part !== '.' && part !== '..'));
    mkdirSync(dirname(path), { recursive: true });
    writeAtomically(path, data);
    return path;
  }

  /** Answers one API call from the session, as the server would. */
  handle(endpoint: string, body: unknown): unknown {
    const input = asRecord(body);
    if (endpoint === 'tasks.create') return this.createTask(input);
    if (endpoint.startsWith('events.')) return this.addEvents(endpoint, body);
    if (endpoint.startsWith('models.')) return this.handleModel(endpoint, input);
    if (endpoint === 'projects.get_by_id' && input.project === OFFLINE_PROJECT_ID) {
      const now = this.manifest.createdAt;
      const name = this.manifest.projectName;
      return {
        project: { id: OFFLINE_PROJECT_ID, name, basename: name.split('/').at(-1) ?? name, parent: null, path: [], description: '', tags: [], system_tags: [], created: now, last_update: now },
      };
    }
    if (endpoint.startsWith('tasks.')) return this.handleTask(endpoint, input);
    throw offlineCallError(endpoint);
  }

  private ownTask(input: Record<string, unknown>, endpoint: string): TaskData {
    const ids = input.id;
    const id = endpoint === 'tasks.get_all' ? (Array.isArray(ids) && ids.length === 1 ? ids[0] : undefined) : input.task;
    if (!this.task || id !== this.task.id) throw offlineCallError(endpoint);
    return this.task;
  }

  private createTask(input: Record<string, unknown>): { id: string } {
    if (this.task) throw new TasklaneError('INVALID_INPUT', `An offline session holds one task; session ${this.id} has task ${this.task.id} already.`);
    const now = new Date().toISOString();
    const outputDest = typeof input.output_dest === 'string' ? input.output_dest : null;
    this.task = {
      id: this.manifest.taskId,
      name: String(input.name),
      project: OFFLINE_PROJECT_ID,
      parent: null,
      type: (input.type as TaskData['type'] | undefined) ?? 'training',
      status: 'created',
      status_reason: '',
      status_message: '',
      status_changed: now,
      comment: typeof input.comment === 'string' ? input.comment : '',
      tags: Array.isArray(input.tags) ? (input.tags as string[]) : [],
      system_tags: Array.isArray(input.system_tags) ? (input.system_tags as string[]) : [],
      created: now,
      started: null,
      completed: null,
      published: null,
      last_update: now,
      last_change: now,
      script: asRecord(input.script),
      execution: asRecord(input.execution),
      hyperparams: asRecord(input.hyperparams) as TaskData['hyperparams'],
      configuration: asRecord(input.configuration) as TaskData['configuration'],
      runtime: asRecord(input.runtime),
      models: { input: [], output: [] },
      container: asRecord(input.container) as TaskData['container'],
      output: { destination: outputDest },
      last_iteration: 0,
      last_metrics: {},
      last_worker: hostname(),
    };
    this.saveTask();
    return { id: this.task.id };
  }

  private handleTask(endpoint: string, input: Record<string, unknown>): unknown {
    const task = this.ownTask(input, endpoint);
    const now = new Date().toISOString();
    switch (endpoint) {
      case 'tasks.get_by_id':
        return { task: structuredClone(task) };
      case 'tasks.get_all':
        // Only the session's own task can be asked for (the SDK reads its status this way).
        return { tasks: [structuredClone(task)] };
      case 'tasks.ping':
        return {};
      case 'tasks.started':
      case 'tasks.completed':
      case 'tasks.failed':
      case 'tasks.stopped': {
        const status = endpoint === 'tasks.started' ? 'in_progress' : (endpoint.slice('tasks.'.length) as TaskData['status']);
        task.status = status;
        task.status_changed = now;
        task.status_reason = typeof input.status_reason === 'string' ? input.status_reason : '';
        task.status_message = typeof input.status_message === 'string' ? input.status_message : '';
        if (status === 'in_progress') task.started ??= now;
        else task.completed = now;
        break;
      }
      case 'tasks.edit': {
        if (typeof input.name === 'string') task.name = input.name;
        if (typeof input.type === 'string') task.type = input.type as TaskData['type'];
        if (typeof input.comment === 'string') task.comment = input.comment;
        if (Array.isArray(input.tags)) task.tags = input.tags as string[];
        if (Array.isArray(input.system_tags)) task.system_tags = input.system_tags as string[];
        if ('script' in input) task.script = { ...task.script, ...asRecord(input.script) };
        if ('execution' in input) task.execution = { ...task.execution, ...asRecord(input.execution) };
        if ('hyperparams' in input) task.hyperparams = asRecord(input.hyperparams) as TaskData['hyperparams'];
        if ('configuration' in input) task.configuration = asRecord(input.configuration) as TaskData['configuration'];
        if ('runtime' in input) task.runtime = asRecord(input.runtime);
        if ('container' in input) task.container = asRecord(input.container) as TaskData['container'];
        if ('output_dest' in input) task.output = { ...task.output, destination: typeof input.output_dest === 'string' ? input.output_dest : null };
        if ('models' in input) task.models = { ...task.models, ...asRecord(input.models) } as TaskData['models'];
        break;
      }
      case 'tasks.update':
        if (typeof input.name === 'string') task.name = input.name;
        if (typeof input.comment === 'string') task.comment = input.comment;
        if (Array.isArray(input.tags)) task.tags = input.tags as string[];
        if (Array.isArray(input.system_tags)) task.system_tags = input.system_tags as string[];
        if (input.project !== undefined && input.project !== task.project) throw offlineError('Moving the task to another project');
        break;
      case 'tasks.set_progress':
        if (typeof input.progress === 'number') task.runtime = { ...task.runtime, progress: String(Math.round(input.progress)) };
        if (typeof input.status_message === 'string') task.status_message = input.status_message;
        break;
      case 'tasks.add_or_update_artifacts': {
        const added = (input.artifacts ?? []) as ArtifactRecord[];
        const isReplaced = (a: ArtifactRecord) => added.some((b) => b.key === a.key && (b.mode ?? 'output') === (a.mode ?? 'output'));
        const artifacts = [...(task.execution.artifacts ?? []).filter((a) => !isReplaced(a)), ...added];
        task.execution = { ...task.execution, artifacts: artifacts.sort((a, b) => a.key.localeCompare(b.key)) };
        break;
      }
      case 'tasks.delete_artifacts': {
        const removed = (input.artifacts ?? []) as { key: string; mode?: string }[];
        const isRemoved = (a: ArtifactRecord) => removed.some((b) => b.key === a.key && (b.mode ?? 'output') === (a.mode ?? 'output'));
        task.execution = { ...task.execution, artifacts: (task.execution.artifacts ?? []).filter((a) => !isRemoved(a)) };
        break;
      }
      case 'tasks.add_or_update_model': {
        const type = input.type === 'input' ? 'input' : 'output';
        const entry: TaskModelRef = { name: String(input.name), model: String(input.model), updated: now };
        task.models = { ...task.models, [type]: [...task.models[type].filter((m) => m.name !== entry.name), entry] };
        if (typeof input.iteration === 'number') task.last_iteration = Math.max(task.last_iteration, input.iteration);
        break;
      }
      default:
        throw offlineCallError(endpoint);
    }
    task.last_update = now;
    this.saveTask();
    return endpoint === 'tasks.edit' || endpoint === 'tasks.update' ? { updated: 1, fields: {} } : { updated: 1 };
  }

  private handleModel(endpoint: string, input: Record<string, unknown>): unknown {
    const now = new Date().toISOString();
    if (endpoint === 'models.create') {
      const id = newId();
      this.models.set(id, {
        id,
        name: String(input.name),
        created: now,
        last_update: now,
        task: typeof input.task === 'string' ? input.task : null,
        parent: null,
        project: OFFLINE_PROJECT_ID,
        comment: typeof input.comment === 'string' ? input.comment : '',
        tags: Array.isArray(input.tags) ? (input.tags as string[]) : [],
        system_tags: Array.isArray(input.system_tags) ? (input.system_tags as string[]) : [],
        framework: typeof input.framework === 'string' ? input.framework : null,
        design: asRecord(input.design),
        labels: asRecord(input.labels) as ModelData['labels'],
        uri: String(input.uri),
        ready: input.ready === true,
        metadata: {},
        last_iteration: 0,
      });
      this.saveModels();
      return { id, created: true };
    }
    const model = typeof input.model === 'string' ? this.models.get(input.model) : undefined;
    if (!model) throw offlineCallError(endpoint);
    switch (endpoint) {
      case 'models.get_by_id':
        return { model: structuredClone(model) };
      case 'models.edit':
      case 'models.update':
        for (const key of ['uri', 'name', 'comment', 'tags', 'framework', 'design', 'labels'] as const) {
          if (input[key] !== undefined) (model as Record<string, unknown>)[key] = input[key];
        }
        if (typeof input.iteration === 'number') model.last_iteration = Math.max(model.last_iteration, input.iteration);
        break;
      case 'models.set_ready':
        model.ready = true;
        break;
      default:
        throw offlineCallError(endpoint);
    }
    model.last_update = now;
    this.saveModels();
    return { updated: 1 };
  }

  /** Appends events (an `events.add_scalars` body, or a list of `events.add_batch` events) to `events.jsonl`. */
  private addEvents(endpoint: string, body: unknown): unknown {
    const lines: string[] = [];
    let maxIteration = -1;
    const noteIteration = (iter: unknown, metric: unknown) => {
      // Resource samples count seconds, not iterations (the server leaves them out of last_iteration too).
      if (typeof iter === 'number' && iter >= 0 && !(typeof metric === 'string' && metric.startsWith(':monitor:'))) maxIteration = Math.max(maxIteration, iter);
    };
    if (endpoint === 'events.add_scalars') {
      const scalars = asRecord(body);
      for (const series of (scalars.series ?? []) as { metric: string; iter: number[] }[]) for (const iter of series.iter) noteIteration(iter, series.metric);
      lines.push(JSON.stringify({ kind: 'scalars', body: scalars }));
    } else if (endpoint === 'events.add_batch' || endpoint === 'events.add') {
      const events = Array.isArray(body) ? body : [body];
      for (const event of events) {
        noteIteration(asRecord(event).iter, asRecord(event).metric);
        lines.push(JSON.stringify({ kind: 'event', event }));
      }
    } else {
      throw offlineError(`Reading events (${endpoint})`);
    }
    if (lines.length > 0) appendWhole(join(this.dir, EVENTS_FILE), `${lines.join('\n')}\n`);
    if (this.task && maxIteration > this.task.last_iteration) {
      this.task.last_iteration = maxIteration;
      this.saveTask();
    }
    return endpoint === 'events.add_scalars' ? { added: lines.length } : { added: lines.length, errors: 0 };
  }

  private saveTask(): void {
    if (this.task) writeAtomically(join(this.dir, TASK_FILE), `${JSON.stringify(this.task, null, 2)}\n`);
  }

  private saveModels(): void {
    writeAtomically(join(this.dir, MODELS_FILE), `${JSON.stringify([...this.models.values()], null, 2)}\n`);
  }

  private saveManifest(): void {
    writeAtomically(join(this.dir, MANIFEST_FILE), `${JSON.stringify(this.manifest, null, 2)}\n`);
  }
}
