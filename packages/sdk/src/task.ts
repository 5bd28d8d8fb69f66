import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, hostname, tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  TASK_TYPES,
  TasklaneError,
  newId,
  shortId,
  type Artifact as ArtifactRecord,
  type HyperParams,
  type Task as TaskData,
  type TaskStatus,
  type TaskType,
} from '@tasklane/protocol';
import {
  captureCode,
  captureEnvironment,
  hookArgParsers,
  parseArgv,
  type ArgParam,
  type CodeInfo,
  type EnvironmentInfo,
} from './capture/index.js';
import { Artifact } from './artifacts/artifact.js';
import { prepareArtifact } from './artifacts/artifact-payload.js';
import { uploadWithRetry } from './artifacts/upload-with-retry.js';
import type { ApiClient } from './client/api-client.js';
import { loadSdkConfig, type SdkConfig } from './config.js';
import { captureConsole } from './console-capture.js';
import { EventReporter, type ReportEvent } from './event-reporter.js';
import { deliverFinalStatus } from './final-status.js';
import { Logger } from './logger.js';
import { flattenObject, fromParamText, setAtPath, toParamText } from './params.js';
import { readLastTask, writeLastTask } from './reuse-cache.js';
import { startResourceMonitor } from './resource-monitor.js';
import { jsonLinesBodies, splitScalars } from './scalar-columns.js';
import { makeClient, makeServerClient } from './session.js';
import { secretsOf } from './credentials.js';
import { redactSecrets } from './client/redact-secrets.js';
import { OfflineApiClient } from './offline/offline-api-client.js';
import { isOfflineMode, offlineError, setOfflineMode } from './offline/offline-mode.js';
import { OfflineSession } from './offline/offline-session.js';
import { importOfflineSession, type ImportOfflineOptions, type ImportOfflineResult } from './offline/import-session.js';
import { packSession } from './offline/pack-session.js';
import { InputModel } from './models/model.js';
import { destinationFor, joinUrl } from './storage/storage-url.js';

/** Options of {@link Task.init}. */
export interface TaskInitOptions {
  /** Project of the task; `a/b/c` nests, and missing projects are created. At least 3 characters. */
  projectName: string;
  /** Name of the task. At least 3 characters. */
  taskName: string;
  /** @default 'training' */
  taskType?: TaskType;
  tags?: string[];
  /**
   * Reuse the last task of this project and name run from this machine, when it is recent (72 h by default), never
   * enqueued, and has no artifacts or models: it is reset and reused. `false` always creates a new task; a task id
   * reuses that task. @default true
   */
  reuseLastTaskId?: boolean | string;
  /** Continue the last task, keeping its outputs; iterations continue after its last one (or from the number given). */
  continueLastTask?: boolean | number;
  /** Where artifacts and models go; `true` uses the file server. */
  outputUri?: string | boolean;
  /** Record the arguments parsed by commander or yargs (else `process.argv`) as the `Args` section. @default true */
  autoConnectArgParser?: boolean;
  /** Send stdout and stderr lines as the task's console. @default true */
  autoConnectStreams?: boolean;
  /** Report CPU, memory and GPU use as `:monitor:` scalars. @default true */
  autoResourceMonitoring?: boolean;
  /**
   * Record the running script's code (git repository, commit, diff, entry point) and environment. `false` leaves
   * that to {@link Task.setScript} (as `tasklane run` does for the program it wraps). @default true
   */
  autoCaptureCode?: boolean;
}

/** How to run a task's code again (ClearML's `script` section, camelCase); see {@link Task.setScript}. */
export interface TaskScript {
  /** The program: an interpreter (`node`, `python3`) or an executable. */
  binary?: string;
  /** Repository URL (or local path); '' when the code is not in git. */
  repository?: string;
  branch?: string;
  /** The commit. */
  commit?: string;
  /** Uncommitted changes as a diff, or the script itself when there is no repository. */
  diff?: string;
  /** The script, relative to the repository root. */
  entryPoint?: string;
  /** Relative to the repository root. @default '.' */
  workingDir?: string;
  /** Requirements by kind, e.g. `{ npm: 'lodash@4.17.21' }` or `{ python: 'Python 3.12.1' }`. */
  requirements?: Record<string, string>;
}

/** Filters of {@link Task.getTasks}. */
export interface TaskQuery {
  projectName?: string;
  /** A regular expression on the name. */
  taskName?: string;
  tags?: string[];
  status?: TaskStatus[];
  taskType?: TaskType[];
  includeArchived?: boolean;
  /** @default 500 */
  limit?: number;
}

/** Options of {@link Task.create}: a draft, ready to be enqueued, built without running anything. */
export interface TaskCreateOptions {
  projectName: string;
  taskName: string;
  taskType?: TaskType;
  repo?: string;
  branch?: string;
  commit?: string;
  /** Entry point, relative to the repository root (or the script's path when there is no repository). */
  script?: string;
  workingDir?: string;
  /** The script's arguments, recorded as the `Args` section. */
  args?: Record<string, unknown> | string[];
  /** npm packages, e.g. `['lodash@4.17.21']`, or requirements as text. */
  requirements?: string[] | string;
  /** Uncommitted changes (a diff), or the script itself when there is no repository. */
  diff?: string;
  binary?: string;
  tags?: string[];
  comment?: string;
  container?: { image?: string; arguments?: string; setupShellScript?: string };
}

/** Options of {@link Task.uploadArtifact}. */
export interface UploadArtifactOptions {
  /** Free-form facts about the artifact, shown with it (kept as text: ClearML's `display_data`). */
  metadata?: Record<string, unknown>;
  /** The preview shown in the UI. @default a view of the content (JSON text, the first rows of a table, ...) */
  preview?: string;
  /** Resolve only once the file is stored and recorded (and reject if that fails). @default false */
  waitOnUpload?: boolean;
  /** Delete the local file (when a file path was given) once it is uploaded. @default false */
  deleteAfterUpload?: boolean;
}

/** Task names are cut so that `<name>.<id>` fits in 128 characters in storage paths, as ClearML does. */
const STORAGE_NAME_MAX = 128 - 33;

type Outcome = { status: 'completed' | 'failed' | 'stopped'; reason: string };

const EXIT_FLUSHER = fileURLToPath(new URL('./exit-flusher.js', import.meta.url));
const GENERAL_SECTION = 'General';
/** Most events per request (scalars go column by column: 20,000 points are about 1 MB). */
const EVENT_BATCH = 20_000;
/** Most bytes of one events.add_batch body (plots can be large); the server takes 16 MiB by default. */
const MAX_EVENTS_BODY_BYTES = 8 * 1024 * 1024;
const ARGS_SECTION = 'Args';

let current: Task | undefined;

function requireName(value: unknown, what: string, method = 'Task.init'): string {
  if (typeof value !== 'string' || value.trim().length < 3) {
    throw new TasklaneError('INVALID_INPUT', `${method}: ${what} needs at least 3 characters, got ${JSON.stringify(value)}`);
  }
  return value.trim();
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function normalizeProject(name: string): string {
  return name
    .split('/')
    .map((p) => p.trim())
    .filter(Boolean)
    .join('/');
}

function unreachable(error: unknown, config: SdkConfig): unknown {
  if (!(error instanceof TasklaneError) || error.code !== 'SERVER_UNREACHABLE') return error;
  return new TasklaneError(
    'SERVER_UNREACHABLE',
    `Task.init: cannot reach the Tasklane server at ${config.apiHost}. Start one with \`npx tasklane server\`, ` +
      `or point TASKLANE_API_HOST (or ${config.configFile}) at yours.`,
    error.details,
    { cause: error },
  );
}

/**
 * A task: one run of code, with its configuration and outputs, on a Tasklane (or ClearML) server.
 *
 * @example
 * import { Task } from 'tasklane';
 * const task = await Task.init({ projectName: 'examples/mnist', taskName: 'baseline' });
 * const params = task.connect({ lr: 0.01, epochs: 10 });
 * // ... train; the run is completed when the script ends, failed if it throws.
 */
export class Task {
  /** The task id (32 hex characters). */
  readonly id: string;
  /** True when this process runs a task for an agent (`TASKLANE_TASK_ID` set): stored values win. */
  readonly isRemote: boolean;
  /** Added to reported iterations when continuing a task. */
  iterationOffset = 0;

  private data: TaskData;
  private writes: Promise<void> = Promise.resolve();
  private pendingWrites = 0;
  private warnedWrite = false;
  private reporter: EventReporter | undefined;
  private logger: Logger | undefined;
  private uploads: Promise<void> = Promise.resolve();
  /** Artifact and model uploads, in the order asked for. */
  private artifactUploads: Promise<void> = Promise.resolve();
  private pendingArtifactUploads = 0;
  /** The last upload that finally failed, kept as the status message (a status change would clear it otherwise). */
  private uploadFailure: string | undefined;
  private projectName: string | undefined;
  /** @internal undo functions, run in reverse when the run ends. */
  readonly cleanups: (() => void)[] = [];
  private closing: Promise<void> | undefined;
  private isClosed = false;
  private isRunning = false;
  private fatal: { error: unknown; origin: string } | undefined;
  private signal: NodeJS.Signals | undefined;
  private readonly worker = hostname();
  /** Never sent in console text (a script that prints its environment would show the secret key). */
  private readonly secrets: string[];

  private constructor(
    private readonly api: ApiClient,
    private readonly config: SdkConfig,
    data: TaskData,
    isRemote = false,
  ) {
    this.id = data.id;
    this.data = data;
    this.isRemote = isRemote;
    this.secrets = secretsOf(config);
  }

  /**
   * Starts recording this run: creates (or reuses) a task and marks it running; records the code (git repository,
   * commit, uncommitted diff, entry point), environment, arguments, console and resource use; marks it completed
   * when the process ends normally, failed on an uncaught error or non-zero exit code, aborted on SIGINT/SIGTERM.
   * Under an agent (`TASKLANE_TASK_ID` set) it attaches to that task instead.
   */
  static async init(options: TaskInitOptions): Promise<Task> {
    if (current && !current.isClosed) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Task.init: task ${shortId(current.id)} ("${current.name}") is still open in this process; await task.close() before starting another.`,
      );
    }
    const projectName = normalizeProject(requireName(options.projectName, 'projectName'));
    const taskName = requireName(options.taskName, 'taskName');
    const taskType = options.taskType ?? 'training';
    if (!(TASK_TYPES as readonly string[]).includes(taskType)) {
      throw new TasklaneError('INVALID_INPUT', `Task.init: taskType must be one of ${TASK_TYPES.join(', ')}, got ${JSON.stringify(taskType)}`);
    }
    const config = loadSdkConfig();
    const remoteId = process.env.TASKLANE_TASK_ID;
    const isOffline = isOfflineMode(config);
    if (isOffline && remoteId) {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Task.init: offline mode is on, but TASKLANE_TASK_ID="${remoteId}" asks to run a task of a server (under an agent). ` +
          'Turn offline mode off (unset TASKLANE_OFFLINE_MODE, Task.setOffline(false)) or unset TASKLANE_TASK_ID.',
      );
    }
    // Offline, the task's "server" is a session folder: every call the Task makes is answered from and written there.
    const api = isOffline ? new OfflineApiClient(OfflineSession.create(config.offlineDir, projectName)) : makeClient(config);
    const entryFile = process.argv[1] ? resolve(process.argv[1]) : undefined;
    // The argument-parser hook loads commander/yargs (tens of ms): do it while the server calls are on the wire,
    // and be done before Task.init returns, so the script's own parse() is seen.
    let started: Task | undefined;
    const hook =
      options.autoConnectArgParser !== false && entryFile
        ? hookArgParsers({
            entryFile,
            onParsed: (params) => started?.onArgsParsed(params),
            overrides: () => started?.argOverrides(),
            onError: (error, parser) => warn(`could not record the ${parser} arguments: ${(error as Error).message}`),
          }).catch((error: unknown) => {
            warn(`could not watch the argument parsers: ${(error as Error).message}`);
            return undefined;
          })
        : undefined;
    // Code and environment capture (git, package.json) also runs while the server calls are on the wire.
    const capture =
      options.autoCaptureCode !== false && !remoteId && entryFile
        ? Promise.all([captureCode({ entryFile, cwd: process.cwd() }), captureEnvironment(entryFile)]).catch((error: unknown) => {
            warn(`could not record the code and environment: ${(error as Error).message}`);
            return undefined;
          })
        : undefined;
    let task: Task;
    try {
      task = remoteId
        ? await Task.attach(api, config, remoteId)
        : await Task.createOrReuse(api, config, { ...options, projectName, taskName, taskType });
    } catch (error) {
      (await hook)?.unhook();
      throw unreachable(error, config);
    }
    current = task;
    started = task;
    task.projectName = remoteId ? await task.lookUpProjectName() : projectName;
    const captured = await capture;
    if (captured) task.recordCode(...captured);
    task.startRun(options);
    const hooked = await hook;
    if (hooked) task.cleanups.push(() => hooked.unhook());
    return task;
  }

  private static async attach(api: ApiClient, config: SdkConfig, id: string): Promise<Task> {
    try {
      await api.call('tasks.started', { task: id, status_message: 'running under an agent', force: false });
    } catch (error) {
      if (error instanceof TasklaneError && (error.code === 'TASK_NOT_FOUND' || error.code === 'INVALID_INPUT')) {
        throw new TasklaneError(
          error.code,
          `Task.init: TASKLANE_TASK_ID is set to "${id}", but the server at ${config.apiHost} has no such task. ` +
            'Unset TASKLANE_TASK_ID to record a new run, or point TASKLANE_API_HOST at the server that queued it.',
          error.details,
          { cause: error },
        );
      }
      throw error;
    }
    const { task } = await api.call('tasks.get_by_id', { task: id });
    const attached = new Task(api, config, task, true);
    attached.iterationOffset = task.last_iteration > 0 ? task.last_iteration + 1 : 0;
    return attached;
  }

  private static async createOrReuse(
    api: ApiClient,
    config: SdkConfig,
    options: TaskInitOptions & { taskType: TaskType },
  ): Promise<Task> {
    // An offline run is always a new task: the tasks it could reuse are on a server.
    if (api instanceof OfflineApiClient) return Task.createNew(api, config, options);
    const key = { apiHost: config.apiHost, projectName: options.projectName, taskName: options.taskName, taskType: options.taskType };
    const wantsReuse = options.reuseLastTaskId !== false && !config.noReuse;
    let reused: Task | undefined;
    if (wantsReuse || options.continueLastTask) {
      const explicitId = typeof options.reuseLastTaskId === 'string' ? options.reuseLastTaskId : undefined;
      const candidate = explicitId ?? (await readLastTask(config.stateDir, key))?.id;
      if (candidate) reused = await Task.tryReuse(api, config, candidate, options, explicitId !== undefined);
    }
    const task = reused ?? (await Task.createNew(api, config, options));
    await writeLastTask(config.stateDir, { ...key, id: task.id, savedAt: new Date().toISOString() }).catch(() => undefined);
    return task;
  }

  private static async tryReuse(
    api: ApiClient,
    config: SdkConfig,
    id: string,
    options: TaskInitOptions & { taskType: TaskType },
    isExplicit: boolean,
  ): Promise<Task | undefined> {
    const { tasks } = await api.call('tasks.get_all', { id: [id], search_hidden: true });
    const found = tasks[0] as TaskData | undefined;
    if (!found) return undefined;
    const projectName = found.project ? (await api.call('projects.get_by_id', { project: found.project }).catch(() => undefined))?.project.name : undefined;
    const matches = isExplicit || (found.name === options.taskName && found.type === options.taskType && projectName === options.projectName);
    if (!matches) return undefined;
    if (options.continueLastTask) {
      if (found.status === 'published') return undefined;
      await api.call('tasks.started', { task: id, force: true, status_reason: 'continued' });
      const task = new Task(api, config, (await api.call('tasks.get_by_id', { task: id })).task);
      task.iterationOffset =
        typeof options.continueLastTask === 'number' ? options.continueLastTask : found.last_iteration > 0 ? found.last_iteration + 1 : 0;
      process.stdout.write(`Tasklane: continuing task ${id} (${task.getOutputLogWebPage()})\n`);
      return task;
    }
    const windowMs = config.taskReuseWindowHours * 3600 * 1000;
    const isRecent = isExplicit || Date.now() - Date.parse(found.created) < windowMs;
    const isReusable =
      isRecent &&
      !['published', 'closed', 'queued', 'in_progress'].includes(found.status) &&
      found.system_tags.includes('development') &&
      !found.system_tags.includes('archived') &&
      (found.execution.artifacts ?? []).length === 0 &&
      found.models.output.length === 0;
    if (!isReusable) return undefined;
    await api.call('tasks.reset', { task: id, force: false, status_reason: 'reused by Task.init' });
    await api.call('tasks.edit', {
      task: id,
      force: true,
      tags: options.tags ?? found.tags,
      comment: '',
      script: {},
      hyperparams: {},
      configuration: {},
      runtime: {},
      container: {},
      models: { input: [], output: [] },
      output_dest: typeof options.outputUri === 'string' ? options.outputUri : options.outputUri ? config.filesHost : '',
    });
    await api.call('tasks.started', { task: id, status_reason: 'started by Task.init' });
    const task = new Task(api, config, (await api.call('tasks.get_by_id', { task: id })).task);
    process.stdout.write(`Tasklane: reusing task ${id} (its previous run had no outputs to keep): ${task.getOutputLogWebPage()}\n`);
    return task;
  }

  private static async createNew(api: ApiClient, config: SdkConfig, options: TaskInitOptions & { taskType: TaskType }): Promise<Task> {
    const { id } = await api.call('tasks.create', {
      name: options.taskName,
      project_name: options.projectName,
      type: options.taskType,
      tags: options.tags,
      system_tags: ['development'],
      output_dest: typeof options.outputUri === 'string' ? options.outputUri : options.outputUri ? config.filesHost : undefined,
    });
    await api.call('tasks.started', { task: id, status_reason: 'started by Task.init' });
    const task = new Task(api, config, (await api.call('tasks.get_by_id', { task: id })).task);
    if (api instanceof OfflineApiClient) {
      process.stdout.write(`Tasklane: task ${id} recording offline (project "${options.projectName}") in ${task.getOutputLogWebPage()}\n`);
    } else {
      process.stdout.write(`Tasklane: task ${id} created in project "${options.projectName}": ${task.getOutputLogWebPage()}\n`);
    }
    return task;
  }

  /** Wires the running process to the task: console, arguments, code capture, liveness, resources, exit. */
  private startRun(options: TaskInitOptions): void {
    this.isRunning = true;
    const reporter = this.ensureReporter();

    if (options.autoConnectStreams !== false && !this.isRemote) {
      const restore = captureConsole(({ stream, text }) => {
        reporter.push(this.logEvent(text, stream === 'stderr' ? 'error' : 'info'));
      });
      this.cleanups.push(restore);
    }

    if (options.autoConnectArgParser !== false && !this.isRemote) this.replaceArgs(parseArgv(process.argv.slice(2)));

    if (!this.offlineSession) {
      const ping = setInterval(() => void this.pingAndWatch(), this.config.pingIntervalMs);
      ping.unref();
      this.cleanups.push(() => clearInterval(ping));
    }

    if (options.autoResourceMonitoring !== false) {
      this.cleanups.push(
        startResourceMonitor(this.config.monitorIntervalMs, (sample, elapsedSec) => {
          for (const [metric, variants] of Object.entries(sample)) {
            for (const [variant, value] of Object.entries(variants)) {
              if (!Number.isFinite(value)) continue;
              reporter.push({ type: 'training_stats_scalar', task: this.id, timestamp: Date.now(), iter: elapsedSec, metric, variant, value });
            }
          }
        }),
      );
    }
    this.installExitHooks();
  }

  /** Parsed arguments from commander/yargs replace the raw argv in the `Args` section (not under an agent). */
  private onArgsParsed(params: ArgParam[]): void {
    if (!this.isRemote && !this.isClosed) this.replaceArgs(params);
  }

  /** Under an agent: the `Args` values stored on the server, which the script's parser is given. */
  private argOverrides(): Record<string, string> | undefined {
    if (!this.isRemote) return undefined;
    const stored = this.data.hyperparams[ARGS_SECTION] ?? {};
    return Object.fromEntries(Object.entries(stored).map(([name, item]) => [name, item.value ?? '']));
  }

  private replaceArgs(params: ArgParam[]): void {
    const section: HyperParams[string] = {};
    for (const p of params) {
      // The Args section has no field for a default: keep it readable in the description.
      const fallback = p.default !== undefined && p.default !== '' ? `default: ${p.default}` : '';
      const description = [p.description, fallback].filter(Boolean).join(' — ') || undefined;
      section[p.name] = { section: ARGS_SECTION, name: p.name, value: p.value, type: p.type, description };
    }
    this.data.hyperparams = { ...this.data.hyperparams, [ARGS_SECTION]: section };
    this.saveHyperParams();
  }

  private recordCode(code: CodeInfo, environment: EnvironmentInfo): void {
    for (const note of code.notes) if (/cut|not shown|too large|skipped/i.test(note)) warn(note);
    this.data.runtime = { ...this.data.runtime, ...environment.runtime };
    this.data.script = {
      repository: code.repository,
      branch: code.branch,
      version_num: code.version_num,
      diff: code.diff,
      entry_point: code.entry_point,
      working_dir: code.working_dir,
      binary: code.binary,
      requirements: environment.requirements,
    };
    const { script, runtime } = this.data;
    this.queueWrite('code and environment', () => this.api.call('tasks.edit', { task: this.id, force: true, script, runtime }));
  }

  private async pingAndWatch(): Promise<void> {
    try {
      await this.api.call('tasks.ping', { task: this.id });
      if (this.isRemote) return;
      const { tasks } = await this.api.call('tasks.get_all', { id: [this.id], only_fields: ['status', 'status_message'] });
      const now = tasks[0];
      if (now && (now.status === 'stopped' || now.status_message === 'stopping') && !this.closing) {
        warn(`task ${shortId(this.id)} was aborted on the server; stopping this process`);
        process.kill(process.pid, 'SIGTERM');
      }
    } catch {
      // The reporter warns about an unreachable server; pings just try again next time.
    }
  }

  /** The event queue and its background sender, made on first use (a task handle reports only when asked). */
  private ensureReporter(): EventReporter {
    if (this.reporter) return this.reporter;
    const reporter = new EventReporter({
      send: async (events) => {
        const { scalars, others } = splitScalars(events);
        for (const body of scalars) await this.api.call('events.add_scalars', body);
        for (const body of jsonLinesBodies(others, MAX_EVENTS_BODY_BYTES)) await this.api.sendBody('events.add_batch', body, 'application/json-lines');
      },
      flushIntervalMs: this.config.flushIntervalMs,
      // Large batches: a request's fixed costs (the task's row, the commit, HTTP) are paid once per 20,000 points.
      maxBatch: EVENT_BATCH,
      onError: (error) => warn(`could not send reports yet (will retry): ${(error as Error).message}`),
      isPermanent: (error) => error instanceof TasklaneError && error.status >= 400 && error.status < 500,
      onDropped: (events, error) => warn(`the server refused ${events.length} reports: ${(error as Error).message}`),
      onSpillError: (message) => warn(message),
      spillDir: join(this.config.stateDir, 'spill', this.id),
    });
    this.reporter = reporter;
    reporter.start();
    this.cleanups.push(() => reporter.stop());
    return reporter;
  }

  /**
   * The task's logger: scalars, single values, text, plots, tables and debug samples.
   *
   * @example
   * task.getLogger().reportScalar('loss', 'train', 0.25, iteration);
   */
  getLogger(): Logger {
    this.logger ??= new Logger({
      taskId: this.id,
      iterationOffset: () => this.iterationOffset,
      push: (event) => this.ensureReporter().push(event.type === 'log' && typeof event.msg === 'string' ? { ...event, msg: redactSecrets(event.msg, this.secrets) } : event),
      uploadSample: (key, data, fileName, makeEvent) => this.uploadSample(key, data, fileName, makeEvent),
      filePrefix: () => `${this.projectName ?? 'tasks'}/${this.data.name}.${this.id}`,
      warn,
      flush: () => this.flush(),
    }, this.config.debugSampleHistory);
    return this.logger;
  }

  private uploadSample(key: string, loading: Promise<Buffer>, fileName: string, makeEvent: (url: string) => ReportEvent): void {
    const offline = this.offlineSession;
    if (offline) {
      // Offline, the session's files/ folder is the file server: the sample is written there, in the same order.
      loading.catch(() => undefined);
      this.uploads = this.uploads.then(async () => {
        try {
          this.ensureReporter().push(makeEvent(offline.writeSample(key, await loading)));
        } catch (error) {
          warn((error as Error).message);
        }
      });
      return;
    }
    const url = `${this.config.filesHost}/${key.split('/').map(encodeURIComponent).join('/')}`;
    loading.catch(() => undefined); // handled in the queue below; avoids an unhandled-rejection crash meanwhile
    this.uploads = this.uploads.then(async () => {
      let data: Buffer;
      try {
        data = await loading;
      } catch (error) {
        warn((error as Error).message);
        return;
      }
      try {
        const form = new FormData();
        form.append(key, new Blob([data]), fileName);
        // The file server takes the API client's token; a refused one is renewed and the sample sent once more.
        const post = (authorization: string | undefined) =>
          fetch(this.config.filesHost, {
            method: 'POST',
            body: form,
            headers: { ...this.api.requestHeaders, ...(authorization !== undefined ? { authorization } : {}) },
            signal: AbortSignal.timeout(120_000),
          });
        const auth = this.api.auth;
        const response = auth !== undefined ? await auth.send(post, (refused) => void refused.body?.cancel().catch(() => undefined)) : await post(undefined);
        if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`);
        this.ensureReporter().push(makeEvent(url));
      } catch (error) {
        warn(`could not upload ${key} to ${this.config.filesHost}: ${(error as Error).message}`);
      }
    });
  }

  private installExitHooks(): void {
    const onFatal = (error: unknown, origin: string) => {
      this.fatal ??= { error, origin };
    };
    const onBeforeExit = () => {
      if (this.closing) return;
      const code = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
      void this.finish(code === 0 ? { status: 'completed', reason: 'completed' } : { status: 'failed', reason: `exit code ${code}` }).catch(
        (error: unknown) => warn(`could not close task ${shortId(this.id)}: ${(error as Error).message}`),
      );
    };
    const onExit = (code: number) => this.finishAtExit(code);
    const onSignal = (signal: NodeJS.Signals) => {
      this.signal ??= signal;
      // When the script handles the signal itself, it decides whether the process ends; 'exit' records the outcome.
      if (process.listenerCount(signal) > 1 || this.closing) return;
      // Past 5 s of closing (a slow server, a long queue of reports) the rest is delivered synchronously, as at
      // 'exit' — the process then ends by the signal, which runs no 'exit' handlers.
      const deadline = setTimeout(() => {
        this.finishAtExit(128 + (osConstants.signals[signal] ?? 0));
        resignal();
      }, 5000);
      const resignal = () => {
        clearTimeout(deadline);
        process.removeListener(signal, onSignal);
        process.kill(process.pid, signal);
      };
      void this.finish({ status: 'stopped', reason: `aborted by ${signal}` }).finally(resignal);
    };
    process.on('uncaughtExceptionMonitor', onFatal);
    process.on('beforeExit', onBeforeExit);
    process.on('exit', onExit);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    this.cleanups.push(() => {
      process.removeListener('uncaughtExceptionMonitor', onFatal);
      process.removeListener('beforeExit', onBeforeExit);
      process.removeListener('exit', onExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    });
  }

  /** The outcome of a process that is exiting now. */
  private outcomeAtExit(code: number): Outcome {
    if (this.fatal && code !== 0) {
      const error = this.fatal.error;
      // A top-level throw in an ES module reaches Node as a rejected promise, so the origin says little: give the error.
      const what = error instanceof Error ? `${error.name}: ${error.message}` : `uncaught value: ${String(error)}`;
      return { status: 'failed', reason: what.slice(0, 1000) };
    }
    if (this.signal) return { status: 'stopped', reason: `aborted by ${this.signal}` };
    if (code !== 0) return { status: 'failed', reason: `exit code ${code}` };
    return { status: 'completed', reason: 'completed' };
  }

  /**
   * Last chance, inside the 'exit' event where no async work can run: stops capturing and sends the undelivered
   * reports and the final status synchronously, through a short-lived helper process.
   */
  private finishAtExit(code: number): void {
    if (this.isClosed) return;
    const outcome = this.outcomeAtExit(code);
    this.stopCapturing();
    if (this.pendingArtifactUploads > 0) {
      // The process ends (process.exit) before the uploads could finish: say so, loudly and on the task.
      const message = `${this.pendingArtifactUploads} artifact/model upload(s) were not finished when the process exited; they are lost`;
      process.stderr.write(`tasklane: ${message}\n`);
      this.uploadFailure ??= message;
    }
    const events = this.reporter?.drain() ?? [];
    if (this.fatal) {
      const error = this.fatal.error;
      events.push(this.logEvent(error instanceof Error ? (error.stack ?? String(error)) : String(error), 'error'));
    }
    const calls: { endpoint: string; body: string; contentType: string }[] = [];
    if (this.pendingWrites > 0) {
      // Saves still on their way would be lost with the process: send the whole local state in one edit instead.
      const { script, hyperparams, configuration, runtime } = this.data;
      const body = { task: this.id, force: true, ...(this.isRemote ? { hyperparams, configuration } : { script, hyperparams, configuration, runtime }) };
      calls.push({ endpoint: 'tasks.edit', body: JSON.stringify(body), contentType: 'application/json' });
    }
    for (let start = 0; start < events.length; start += EVENT_BATCH) {
      const { scalars, others } = splitScalars(events.slice(start, start + EVENT_BATCH));
      for (const body of scalars) calls.push({ endpoint: 'events.add_scalars', body: JSON.stringify(body), contentType: 'application/json' });
      for (const body of jsonLinesBodies(others, MAX_EVENTS_BODY_BYTES)) {
        calls.push({ endpoint: 'events.add_batch', body, contentType: 'application/json-lines' });
      }
    }
    calls.push({ endpoint: `tasks.${outcome.status}`, body: JSON.stringify(this.statusBody(outcome)), contentType: 'application/json' });
    if (this.api instanceof OfflineApiClient) {
      // Offline there is nobody to send to: the session files are appended to here and now (synchronous writes).
      for (const call of calls) {
        try {
          this.api.applySync(call.endpoint, call.body, call.contentType);
        } catch (error) {
          process.stderr.write(`tasklane: could not write ${call.endpoint} to the offline session at exit: ${(error as Error).message}\n`);
        }
      }
      this.api.session?.markClosed();
      process.stdout.write(`Tasklane: offline session ${this.api.session?.dir} ended (${outcome.status}); import it with: tasklane import-offline ${this.api.session?.dir}\n`);
      this.markClosed();
      return;
    }
    spawnSync(process.execPath, [EXIT_FLUSHER], {
      input: JSON.stringify({ baseUrl: this.config.apiHost, headers: this.api.requestHeaders, calls }),
      stdio: ['pipe', 'ignore', 'inherit'],
      timeout: 15_000,
    });
    this.markClosed();
  }

  private statusBody(outcome: Outcome) {
    const message = this.uploadFailure === undefined ? {} : { status_message: this.uploadFailure };
    // Never forced: under an agent a reset or abort decided on the server must not be overwritten by the dying script.
    return { task: this.id, status_reason: outcome.reason, force: false, ...message };
  }

  private logEvent(msg: string, level: string): ReportEvent {
    // The id lets the server recognise a line it already has when a batch is sent again.
    return { type: 'log', task: this.id, id: newId(), timestamp: Date.now(), level, worker: this.worker, msg: redactSecrets(msg, this.secrets) };
  }

  private stopCapturing(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch {
        // Cleaning up must not hide the run's own outcome.
      }
    }
  }

  private markClosed(): void {
    this.isClosed = true;
    this.isRunning = false;
    if (current === this) current = undefined;
  }

  /** Sends everything reported and saved so far. */
  async flush(): Promise<void> {
    await this.writes;
    await this.artifactUploads;
    await this.uploads;
    await this.reporter?.flush();
  }

  /**
   * Ends the run: delivers every pending report and marks the task completed (the SDK does this by itself when the
   * process ends). Afterwards the task can still be read and changed, but no longer reports.
   */
  async close(): Promise<void> {
    if (!this.isRunning) return;
    await this.finish({ status: 'completed', reason: 'completed' });
  }

  private finish(outcome: Outcome): Promise<void> {
    this.closing ??= (async () => {
      this.stopCapturing();
      await this.writes;
      if (this.pendingArtifactUploads > 0) warn(`waiting for ${this.pendingArtifactUploads} artifact/model upload(s) to finish`);
      await this.artifactUploads;
      await this.writes;
      await this.uploads;
      // One deadline for the reports and the status: a server away for long holds the end of the run 15 s, as before.
      const deadline = Date.now() + 15_000;
      try {
        await this.reporter?.flush(deadline);
      } catch (error) {
        warn(`${this.reporter?.pendingCount() ?? 0} reports could not be delivered: ${(error as Error).message}`);
      }
      try {
        await deliverFinalStatus({
          status: outcome.status,
          send: () => this.api.call(`tasks.${outcome.status}`, this.statusBody(outcome)),
          readStatus: async () => (await this.api.call('tasks.get_all', { id: [this.id], only_fields: ['status'] })).tasks[0]?.status,
          deadline,
        });
      } catch (error) {
        warn(`could not mark task ${shortId(this.id)} ${outcome.status}: ${(error as Error).message}`);
      }
      const offline = this.offlineSession;
      if (offline) {
        offline.markClosed();
        try {
          const zipPath = await packSession(offline);
          process.stdout.write(`Tasklane: offline session packed into ${zipPath}; import it with: tasklane import-offline ${zipPath}\n`);
        } catch (error) {
          warn(`could not pack the offline session ${offline.dir} into a zip (${(error as Error).message}); import the folder instead: tasklane import-offline ${offline.dir}`);
        }
      }
      this.markClosed();
    })();
    return this.closing;
  }

  /** Runs server writes one after another, in the order they were asked for; a failure is reported once, not thrown. */
  private queueWrite(what: string, write: () => Promise<unknown>): void {
    this.pendingWrites += 1;
    this.writes = this.writes.then(write).then(
      () => {
        this.pendingWrites -= 1;
      },
      (error: unknown) => {
        this.pendingWrites -= 1;
        if (!this.warnedWrite) warn(`could not save the ${what} of task ${shortId(this.id)}: ${(error as Error).message}`);
        this.warnedWrite = true;
      },
    );
  }

  private saveHyperParams(): void {
    this.queueWrite('hyperparameters', () =>
      this.api.call('tasks.edit', { task: this.id, force: true, hyperparams: this.data.hyperparams }),
    );
  }

  private async lookUpProjectName(): Promise<string | undefined> {
    if (!this.data.project) return undefined;
    try {
      return (await this.api.call('projects.get_by_id', { project: this.data.project })).project.name;
    } catch {
      return undefined;
    }
  }

  // ---- reading -------------------------------------------------------------------------------------------------

  /** The task's name. */
  get name(): string {
    return this.data.name;
  }

  /** The task as last read from (or written to) the server. */
  get info(): Readonly<TaskData> {
    return this.data;
  }

  /** Reads the task again from the server. */
  async reload(): Promise<Readonly<TaskData>> {
    await this.writes;
    this.data = (await this.api.call('tasks.get_by_id', { task: this.id })).task;
    return this.data;
  }

  /** The task's status on the server now. */
  async getStatus(): Promise<TaskStatus> {
    return (await this.reload()).status;
  }

  /** A link to the task's page in the web UI. */
  getOutputLogWebPage(): string {
    const offline = this.offlineSession;
    if (offline) return offline.dir;
    return `${this.config.webHost}/tasks/${this.id}`;
  }

  // ---- configuration -------------------------------------------------------------------------------------------

  /**
   * Records a plain object's fields (nested objects flattened as `a/b`) as the hyperparameter section `name` and
   * answers the same object. Under an agent, the object is first given the values stored on the server (typed like
   * the local values), so edits made to a cloned task take effect.
   */
  connect<T extends object>(obj: T, name = GENERAL_SECTION): T {
    if (obj instanceof InputModel) {
      this.connectInputModel(obj, name === GENERAL_SECTION ? undefined : name);
      return obj;
    }
    const section = { ...(this.data.hyperparams[name] ?? {}) };
    const target = obj as Record<string, unknown>;
    const local = flattenObject(target);
    if (this.isRemote) {
      for (const [key, item] of Object.entries(section)) {
        const localValue = local.get(key);
        const type = item.type || (localValue === undefined ? undefined : toParamText(localValue).type);
        if (!setAtPath(target, key, fromParamText(item.value ?? '', type))) {
          warn(`ignored the hyperparameter ${name}/${key} from the server: its name reaches into object prototypes`);
        }
      }
    }
    for (const [key, value] of flattenObject(target)) {
      if (this.isRemote && section[key]) continue;
      section[key] = { section: name, name: key, ...toParamText(value) };
    }
    this.data.hyperparams = { ...this.data.hyperparams, [name]: section };
    this.saveHyperParams();
    return obj;
  }

  /**
   * Records an input model of the task (what `connect(inputModel)` does): saved in the background, under the
   * model's name unless `name` is given.
   */
  private connectInputModel(model: InputModel, name: string | undefined): void {
    this.queueWrite('input model', async () => {
      await model.load();
      const entry = name ?? model.name;
      // force: the running task records its own inputs, as it does its configuration (drafts only, otherwise).
      await this.api.call('tasks.add_or_update_model', { task: this.id, name: entry, model: model.id, type: 'input', force: true });
      const input = this.data.models.input.filter((m) => m.name !== entry);
      this.data.models = { ...this.data.models, input: [...input, { name: entry, model: model.id }] };
    });
  }

  /**
   * Records a configuration object: a plain object (kept as JSON) or a file (JSON, YAML, text...). Answers the
   * object, or the file's path. Under an agent the stored value wins: the object is given its contents, or the
   * answered path is a local copy of the stored text.
   */
  async connectConfiguration<T extends object | string>(objOrPath: T, name = GENERAL_SECTION, description?: string): Promise<T> {
    const stored = this.data.configuration[name];
    if (typeof objOrPath === 'string') {
      const path = resolve(objOrPath);
      if (!existsSync(path)) {
        throw new TasklaneError('INVALID_INPUT', `connectConfiguration: file ${path} does not exist; pass an object or an existing file.`);
      }
      const type = extname(path).slice(1).toLowerCase() || 'text';
      if (this.isRemote && stored) {
        const copy = join(tmpdir(), `tasklane-${this.id}-${name.replace(/[^\w.-]/g, '_')}${extname(path)}`);
        await writeFile(copy, stored.value ?? '');
        return copy as T;
      }
      this.setConfiguration(name, await readFile(path, 'utf8'), type, description);
      return objOrPath;
    }
    if (this.isRemote && stored) {
      try {
        const parsed = JSON.parse(stored.value ?? '') as Record<string, unknown>;
        const target = objOrPath as Record<string, unknown>;
        for (const key of Object.keys(target)) delete target[key];
        Object.assign(target, parsed);
        return objOrPath;
      } catch {
        warn(`configuration "${name}" stored on the server is not JSON; using the local object`);
      }
    }
    this.setConfiguration(name, JSON.stringify(objOrPath, null, 2), 'dictionary', description);
    return objOrPath;
  }

  private setConfiguration(name: string, value: string, type: string, description?: string): void {
    this.data.configuration = { ...this.data.configuration, [name]: { name, value, type, description } };
    const configuration = this.data.configuration;
    this.queueWrite('configuration', () => this.api.call('tasks.edit', { task: this.id, force: true, configuration }));
  }

  /** Sets hyperparameters by `Section/name` (a name without a section goes to `General`), keeping their types. */
  setParameters(params: Record<string, unknown>): void {
    const hyperparams = structuredClone(this.data.hyperparams);
    for (const [path, value] of Object.entries(params)) {
      const slash = path.indexOf('/');
      const section = slash > 0 ? path.slice(0, slash) : GENERAL_SECTION;
      const name = slash > 0 ? path.slice(slash + 1) : path;
      (hyperparams[section] ??= {})[name] = { section, name, ...toParamText(value) };
    }
    this.data.hyperparams = hyperparams;
    this.saveHyperParams();
  }

  /** Every hyperparameter as `Section/name` → typed value. */
  getParameters(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [section, items] of Object.entries(this.data.hyperparams)) {
      for (const [name, item] of Object.entries(items)) out[`${section}/${name}`] = fromParamText(item.value ?? '', item.type);
    }
    return out;
  }

  /** One hyperparameter by `Section/name` (or a `General` name), typed; `fallback` when it is not set. */
  getParameter<T = unknown>(path: string, fallback?: T): T | undefined {
    const params = this.getParameters();
    const key = path.includes('/') ? path : `${GENERAL_SECTION}/${path}`;
    return key in params ? (params[key] as T) : fallback;
  }

  // ---- artifacts -----------------------------------------------------------------------------------------------

  /**
   * Stores an object as an artifact of the task: plain data → JSON (`dict`), a string → text (`string`), a Buffer or
   * Uint8Array → `.bin` bytes (`custom`), a file path → that file (`custom`), a folder path → a zip (`archive`),
   * records (an array of flat objects) or `{columns, rows}` → CSV (`table`), a typed array or `{data, shape}` →
   * NumPy `.npy` (`numpy`). The object is serialised now; the upload runs in the background, in order, retried
   * three times; `close()` waits for it. A final failure is printed and set as the task's status message.
   *
   * @example
   * await task.uploadArtifact('stats', { accuracy: 0.93 }, { metadata: { split: 'val' } });
   * await task.uploadArtifact('weights', './out/model.bin', { waitOnUpload: true });
   */
  async uploadArtifact(name: string, obj: unknown, options: UploadArtifactOptions = {}): Promise<void> {
    if (typeof name !== 'string' || name.trim() === '') {
      throw new TasklaneError('INVALID_INPUT', `uploadArtifact: the name must be non-empty text, got ${JSON.stringify(name)}`);
    }
    const payload = await prepareArtifact(name, obj);
    const metadata = Object.entries(options.metadata ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)]);
    const what = `artifact "${name}"`;
    const done = this.runUpload(what, async () => {
      try {
        const url = joinUrl(await this.storageBase(), 'artifacts', name, payload.fileName);
        const stored = await uploadWithRetry(payload.path, url, { config: this.config, what, say });
        const record: ArtifactRecord = {
          key: name,
          type: payload.type,
          mode: 'output',
          uri: stored.uri,
          hash: stored.sha256,
          content_size: stored.size,
          timestamp: Math.floor(Date.now() / 1000),
          type_data: {
            preview: options.preview ?? payload.preview,
            content_type: payload.contentType,
            // The hash of the object itself: for bytes, the stored file's (how get() knows to answer a Buffer).
            ...(payload.isBytes ? { data_hash: stored.sha256 } : {}),
          },
          display_data: metadata,
        };
        await this.api.call('tasks.add_or_update_artifacts', { task: this.id, artifacts: [record], force: true });
        const others = (this.data.execution.artifacts ?? []).filter((a) => !(a.key === name && (a.mode ?? 'output') === 'output'));
        this.data.execution = { ...this.data.execution, artifacts: [...others, record].sort((a, b) => a.key.localeCompare(b.key)) };
        if (options.deleteAfterUpload && !payload.isTemporary) await rm(payload.path, { force: true });
      } finally {
        await payload.cleanup();
      }
    });
    if (options.waitOnUpload) await done;
    else done.catch(() => undefined); // reported by runUpload
  }

  /** The task's artifacts by name, as last read from (or written by) this process; see {@link Artifact}. */
  get artifacts(): Record<string, Artifact> {
    const out: Record<string, Artifact> = {};
    for (const record of this.data.execution.artifacts ?? []) {
      if ((record.mode ?? 'output') === 'output' || !(record.key in out)) out[record.key] = new Artifact(record, this.config);
    }
    return out;
  }

  /** Deletes output artifacts by name (the records; the stored files stay). */
  async deleteArtifacts(names: string[]): Promise<void> {
    await this.flush();
    await this.api.call('tasks.delete_artifacts', { task: this.id, artifacts: names.map((key) => ({ key, mode: 'output' as const })), force: true });
    await this.reload();
  }

  /**
   * Runs an upload after the ones asked for before; a final failure is printed, kept as the task's status message
   * and rethrown to the caller's promise.
   *
   * @internal for OutputModel
   */
  runUpload<T>(what: string, upload: () => Promise<T>): Promise<T> {
    this.pendingArtifactUploads += 1;
    const result = this.artifactUploads.then(upload);
    this.artifactUploads = result.then(
      () => {
        this.pendingArtifactUploads -= 1;
      },
      async (error: unknown) => {
        this.pendingArtifactUploads -= 1;
        const message = `upload of ${what} failed: ${(error as Error).message}`.slice(0, 1000);
        process.stderr.write(`tasklane: ${message}\n`);
        this.uploadFailure = message;
        await this.api.call('tasks.set_progress', { task: this.id, status_message: message }).catch((cause: unknown) => {
          warn(`could not record the failed upload on task ${shortId(this.id)}: ${(cause as Error).message}`);
        });
      },
    );
    return result;
  }

  /**
   * Where this task's files go: `<destination>/<project path>/<task name>.<id>`, the destination being the task's
   * output URI or the file server.
   *
   * @internal for OutputModel
   */
  async storageBase(): Promise<string> {
    this.projectName ??= await this.lookUpProjectName();
    const project = (this.projectName ?? '').split('/').filter(Boolean);
    const taskPart = `${this.data.name.slice(0, STORAGE_NAME_MAX)}.${this.id}`;
    // Offline, files go into the session (whatever the output URI), so that the session zip holds them for the import.
    const destination = this.offlineSession?.filesDir ?? destinationFor(this.data.output?.destination ?? undefined, this.config);
    return joinUrl(destination, ...project, taskPart);
  }

  /** The offline session this task records to, when offline. */
  private get offlineSession(): OfflineSession | undefined {
    return this.api instanceof OfflineApiClient ? this.api.session : undefined;
  }

  /** The folder of the offline session this task records to (offline mode), else undefined. */
  get offlineSessionDir(): string | undefined {
    return this.offlineSession?.dir;
  }

  /** @internal the API client and settings, for models made from this task. */
  get session(): { api: ApiClient; config: SdkConfig } {
    return { api: this.api, config: this.config };
  }

  /** @internal records an output model in the local copy of the task (after tasks.add_or_update_model). */
  noteOutputModel(name: string, model: string): void {
    const output = this.data.models.output.filter((m) => m.name !== name);
    this.data.models = { ...this.data.models, output: [...output, { name, model }] };
  }

  // ---- changes -------------------------------------------------------------------------------------------------

  /** Sets progress, 0–100. */
  setProgress(percent: number): void {
    if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
      throw new TasklaneError('INVALID_INPUT', `setProgress: expected a number from 0 to 100, got ${JSON.stringify(percent)}`);
    }
    const progress = Math.round(percent);
    this.data.runtime = { ...this.data.runtime, progress: String(progress) };
    this.queueWrite('progress', () => this.api.call('tasks.set_progress', { task: this.id, progress }));
  }

  /** Progress, 0–100 (0 when never set). */
  getProgress(): number {
    const value = Number(this.data.runtime.progress ?? 0);
    return Number.isFinite(value) ? value : 0;
  }

  private async update(fields: { name?: string; comment?: string; tags?: string[] }): Promise<void> {
    await this.writes;
    await this.api.call('tasks.update', { task: this.id, ...fields });
    Object.assign(this.data, fields);
  }

  async setName(name: string): Promise<void> {
    await this.update({ name: requireName(name, 'name', 'setName') });
  }

  async setComment(comment: string): Promise<void> {
    await this.update({ comment });
  }

  async addTags(tags: string[]): Promise<void> {
    await this.update({ tags: [...new Set([...this.data.tags, ...tags])].sort() });
  }

  async setTaskType(type: TaskType): Promise<void> {
    await this.writes;
    await this.api.call('tasks.edit', { task: this.id, type, force: true });
    this.data.type = type;
  }

  /**
   * Sets how the task's code is run again (ClearML's `set_script`): the given fields replace the recorded ones, the
   * others stay. Saved in the background, in order with the task's other changes.
   *
   * @example task.setScript({ binary: 'python3', entryPoint: 'train.py', workingDir: '.' });
   */
  setScript(script: TaskScript): void {
    const fields: TaskData['script'] = {
      binary: script.binary,
      repository: script.repository,
      branch: script.branch,
      version_num: script.commit,
      diff: script.diff,
      entry_point: script.entryPoint,
      working_dir: script.workingDir,
      requirements: script.requirements,
    };
    const given = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    this.data.script = { ...this.data.script, ...given };
    const updated = this.data.script;
    this.queueWrite('code', () => this.api.call('tasks.edit', { task: this.id, force: true, script: updated }));
  }

  /**
   * Records command-line arguments as the `Args` section, replacing it: raw arguments (read as {@link parseArgv}
   * does) or parameters already read.
   */
  setArgs(args: readonly string[] | readonly ArgParam[]): void {
    const params = args.every((arg) => typeof arg === 'string') ? parseArgv(args as readonly string[]) : (args as readonly ArgParam[]);
    this.replaceArgs([...params]);
  }

  /** Adds properties to the task's runtime section (shown with the execution details, e.g. an interpreter version). */
  setRuntimeProperties(properties: Record<string, string>): void {
    this.data.runtime = { ...this.data.runtime, ...properties };
    const runtime = this.data.runtime;
    this.queueWrite('runtime properties', () => this.api.call('tasks.edit', { task: this.id, force: true, runtime }));
  }

  /** The task's system tags (set by Tasklane: `development`, `archived`, ...). */
  getSystemTags(): string[] {
    return [...this.data.system_tags];
  }

  /** Replaces the task's system tags (ClearML's `set_system_tags`); saved in the background. */
  setSystemTags(tags: string[]): void {
    this.data.system_tags = [...new Set(tags)].sort();
    const systemTags = this.data.system_tags;
    this.queueWrite('system tags', () => this.api.call('tasks.edit', { task: this.id, force: true, system_tags: systemTags }));
  }

  /** Marks the task completed (and stops recording, when this process runs it). */
  async markCompleted(reason = 'completed'): Promise<void> {
    await this.endWith({ status: 'completed', reason });
  }

  async markFailed(reason = 'marked failed'): Promise<void> {
    await this.endWith({ status: 'failed', reason });
  }

  async markStopped(reason = 'marked aborted'): Promise<void> {
    await this.endWith({ status: 'stopped', reason });
  }

  private async endWith(outcome: Outcome): Promise<void> {
    if (this.isRunning) return this.finish(outcome);
    await this.api.call(`tasks.${outcome.status}`, { task: this.id, status_reason: outcome.reason, force: true });
    await this.reload();
  }

  /** Makes the task a draft again, deleting its outputs. */
  async reset(force = false): Promise<void> {
    await this.api.call('tasks.reset', { task: this.id, force });
    await this.reload();
  }

  /** Publishes the (finished) task: read-only from then on. */
  async publish(): Promise<void> {
    await this.api.call('tasks.publish', { task: this.id });
    await this.reload();
  }

  async archive(): Promise<void> {
    await this.api.call('tasks.archive', { tasks: [this.id] });
    await this.reload();
  }

  /** Deletes the task and its outputs. */
  async delete(force = false): Promise<void> {
    if (this.offlineSession) throw offlineError('task.delete()');
    if (this.isRunning) await this.close();
    await this.api.call('tasks.delete', { task: this.id, force });
  }

  // ---- static helpers ------------------------------------------------------------------------------------------

  /** The task this process is running (from Task.init), if any. */
  static currentTask(): Task | undefined {
    return current && !current.isClosed ? current : undefined;
  }

  private static connectTo(what: string): { api: ApiClient; config: SdkConfig } {
    const config = loadSdkConfig();
    if (isOfflineMode(config)) throw offlineError(what);
    return { api: makeClient(config), config };
  }

  /**
   * Turns offline mode on or off for this process (over `TASKLANE_OFFLINE_MODE`); call it before {@link Task.init}.
   * Offline, the task, its configuration, every report, artifact and model are written to a session folder under
   * `offlineDir` (`<stateDir>/offline/<session id>/`), packed into `<session id>.zip` when the run ends; import it into a
   * server with `tasklane import-offline <zip>` or {@link Task.importOfflineSession}. What needs a server (other tasks,
   * queues, registered models) fails with an error saying it is offline.
   *
   * @example
   * Task.setOffline(true);
   * const task = await Task.init({ projectName: 'field/robot', taskName: 'calibration' });
   */
  static setOffline(isOn: boolean): void {
    if (current && !current.isClosed) {
      throw new TasklaneError('INVALID_INPUT', `Task.setOffline: task ${shortId(current.id)} is running; switch offline mode before Task.init.`);
    }
    setOfflineMode(isOn);
  }

  /** Whether offline mode is on (`Task.setOffline`, else `TASKLANE_OFFLINE_MODE` / the config file). */
  static isOffline(): boolean {
    return isOfflineMode(loadSdkConfig());
  }

  /**
   * Replays an offline session (its zip or folder) into the server: a new task with the recorded configuration,
   * every event with its original time and iteration, artifacts and models uploaded to the server's storage, and the
   * final status. The whole session is checked first (a corrupt or truncated one is refused before any change);
   * a session imported already is refused (ALREADY_EXISTS, naming the task); a failure midway deletes what was made.
   *
   * @example
   * const { task } = await Task.importOfflineSession('~/.config/tasklane/offline/3f2c....zip');
   */
  static async importOfflineSession(path: string, options: ImportOfflineOptions = {}): Promise<ImportOfflineResult & { task: Task }> {
    const config = loadSdkConfig(options.apiHost ? { ...process.env, TASKLANE_API_HOST: options.apiHost } : process.env);
    const api = makeServerClient(config);
    const result = await importOfflineSession(path, options, { api, config });
    return { ...result, task: new Task(api, config, (await api.call('tasks.get_by_id', { task: result.taskId })).task) };
  }

  private static async projectId(api: ApiClient, projectName: string): Promise<string | undefined> {
    const { projects } = await api.call('projects.get_all', { name: `^${escapeRegex(normalizeProject(projectName))}$`, only_fields: ['id'] });
    return projects[0]?.id;
  }

  /** A task by id, or the most recently updated one with this name in this project. */
  static async getTask(query: { id: string } | { projectName: string; taskName: string }): Promise<Task> {
    const { api, config } = Task.connectTo('Task.getTask');
    if ('id' in query) return new Task(api, config, (await api.call('tasks.get_by_id', { task: query.id })).task);
    const project = await Task.projectId(api, query.projectName);
    const { tasks } = project
      ? await api.call('tasks.get_all', { project: [project], name: `^${escapeRegex(query.taskName)}$`, order_by: ['-last_update'], page: 0, page_size: 1 })
      : { tasks: [] };
    const found = tasks[0];
    if (!found?.id) {
      throw new TasklaneError('TASK_NOT_FOUND', `No task named "${query.taskName}" in project "${query.projectName}".`);
    }
    return new Task(api, config, (await api.call('tasks.get_by_id', { task: found.id })).task);
  }

  /** Tasks matching the filters, most recently updated first. */
  static async getTasks(query: TaskQuery = {}): Promise<Task[]> {
    const { api, config } = Task.connectTo('Task.getTasks');
    let project: string[] | undefined;
    if (query.projectName) {
      const id = await Task.projectId(api, query.projectName);
      if (!id) return [];
      project = [id];
    }
    const { tasks } = await api.call('tasks.get_all', {
      project,
      include_subprojects: true,
      name: query.taskName,
      tags: query.tags,
      status: query.status,
      type: query.taskType,
      system_tags: query.includeArchived ? undefined : ['-archived'],
      order_by: ['-last_update'],
      page: 0,
      page_size: query.limit ?? 500,
    });
    return tasks.map((t) => new Task(api, config, t as TaskData));
  }

  /** Creates a draft from a description of the code, without running anything. */
  static async create(options: TaskCreateOptions): Promise<Task> {
    const { api, config } = Task.connectTo('Task.create');
    const args = options.args === undefined ? [] : Array.isArray(options.args) ? parseArgv(options.args) : Object.entries(options.args).map(([name, value]) => ({ name, ...toParamText(value) }));
    const requirements =
      options.requirements === undefined ? undefined : { npm: Array.isArray(options.requirements) ? options.requirements.join('\n') : options.requirements };
    const { id } = await api.call('tasks.create', {
      name: requireName(options.taskName, 'taskName', 'Task.create'),
      project_name: normalizeProject(requireName(options.projectName, 'projectName', 'Task.create')),
      type: options.taskType ?? 'training',
      tags: options.tags,
      comment: options.comment,
      script: {
        repository: options.repo ?? '',
        branch: options.branch ?? '',
        version_num: options.commit ?? '',
        entry_point: options.script ?? '',
        working_dir: options.workingDir ?? '.',
        binary: options.binary ?? 'node',
        diff: options.diff ?? '',
        requirements,
      },
      hyperparams: args.length > 0 ? { [ARGS_SECTION]: Object.fromEntries(args.map((a) => [a.name, { ...a, section: ARGS_SECTION }])) } : undefined,
      container: options.container
        ? { image: options.container.image ?? '', arguments: options.container.arguments ?? '', setup_shell_script: options.container.setupShellScript ?? '' }
        : undefined,
    });
    return new Task(api, config, (await api.call('tasks.get_by_id', { task: id })).task);
  }

  /** A new draft with the source's configuration and none of its outputs. */
  static async clone(source: Task | string, options: { name?: string; project?: string; parent?: string } = {}): Promise<Task> {
    const { api, config } = Task.connectTo('Task.clone');
    const { id } = await api.call('tasks.clone', {
      task: typeof source === 'string' ? source : source.id,
      new_task_name: options.name,
      new_project_name: options.project,
      new_task_parent: options.parent,
    });
    return new Task(api, config, (await api.call('tasks.get_by_id', { task: id })).task);
  }

  /** Puts a draft in a queue (by name, created if missing; or by id; default: the default queue). */
  static async enqueue(task: Task | string, options: { queueName?: string; queueId?: string; priority?: number } = {}): Promise<void> {
    const { api } = Task.connectTo('Task.enqueue');
    await api.call('tasks.enqueue', {
      task: typeof task === 'string' ? task : task.id,
      queue: options.queueId,
      queue_name: options.queueName,
      priority: options.priority,
    });
  }

  /** Takes a queued task out of its queue. */
  static async dequeue(task: Task | string): Promise<void> {
    const { api } = Task.connectTo('Task.dequeue');
    await api.call('tasks.dequeue', { task: typeof task === 'string' ? task : task.id });
  }
}

const warned = new Set<string>();

/** A Tasklane diagnostic on stderr, every time (progress, retries). */
function say(message: string): void {
  process.stderr.write(`tasklane: ${message}\n`);
}

/** A Tasklane diagnostic on stderr (so it also lands in the task's console), once per message. */
function warn(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`tasklane: ${message}\n`);
}

