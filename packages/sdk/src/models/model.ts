import { mkdtemp, rm, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { TasklaneError, type Model as ModelData } from '@tasklane/protocol';
import { uploadWithRetry } from '../artifacts/upload-with-retry.js';
import type { ApiClient } from '../client/api-client.js';
import { loadSdkConfig, type SdkConfig } from '../config.js';
import { makeClient } from '../session.js';
import { StorageManager } from '../storage/storage-manager.js';
import { joinUrl } from '../storage/storage-url.js';
import { zipFolder } from '../storage/zip.js';
import type { Task } from '../task.js';

/** Filters of {@link Model.query}. */
export interface ModelQuery {
  /** Models of this project (exact name, sub-projects included). */
  projectName?: string;
  /** A regular expression on the model name (case-insensitive). */
  name?: string;
  /** Models with any of these tags (`-tag` excludes). */
  tags?: string[];
  /** Models of this framework. */
  framework?: string;
  /** Only published models. @default false */
  onlyPublished?: boolean;
  /** Include archived models. @default false */
  includeArchived?: boolean;
  /** @default 500 */
  limit?: number;
}

/** Options of {@link OutputModel}. */
export interface OutputModelOptions {
  /** @default the task's name */
  name?: string;
  /** e.g. `'onnx'`, `'tensorflowjs'`, `'pytorch'`. */
  framework?: string;
  /** The model's configuration, kept as JSON text (its "design"). */
  config?: Record<string, unknown>;
  /** The model's configuration as text (instead of `config`). */
  configText?: string;
  /** Label name → class id. */
  labelEnumeration?: Record<string, number>;
  tags?: string[];
  comment?: string;
}

/** Options of {@link InputModel.import}. */
export interface ImportModelOptions {
  /** Where the weights are already stored (any storage URL: file server, `file://`, `s3://`). */
  url: string;
  /** @default the URL's file name */
  name?: string;
  projectName?: string;
  framework?: string;
  tags?: string[];
  comment?: string;
  config?: Record<string, unknown>;
  configText?: string;
  labelEnumeration?: Record<string, number>;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function designOf(options: { config?: Record<string, unknown>; configText?: string }): { design: string } | undefined {
  if (options.config !== undefined && options.configText !== undefined) {
    throw new TasklaneError('INVALID_INPUT', 'A model takes config (an object) or configText (text), not both.');
  }
  if (options.configText !== undefined) return { design: options.configText };
  if (options.config !== undefined) return { design: JSON.stringify(options.config, null, 2) };
  return undefined;
}

function defaultSession(): { api: ApiClient; config: SdkConfig } {
  const config = loadSdkConfig();
  return { api: makeClient(config), config };
}

/**
 * A registered model: weights somewhere in storage, with a name, framework, configuration ("design"), labels and
 * tags. Handles come from {@link Model.query}, {@link InputModel} and {@link OutputModel}.
 */
export class Model {
  /** @internal */
  protected data: ModelData | undefined;

  /** @internal */
  constructor(
    protected readonly api: ApiClient,
    protected readonly config: SdkConfig,
    data?: ModelData,
  ) {
    this.data = data;
  }

  /** @internal */
  protected loaded(): ModelData {
    if (!this.data) {
      throw new TasklaneError(
        'INVALID_INPUT',
        this instanceof OutputModel
          ? 'This output model is not registered yet: call await model.updateWeights(path) first.'
          : 'This model is not loaded yet: await model.load() first (or use await InputModel.get(id)).',
      );
    }
    return this.data;
  }

  /** The model id. */
  get id(): string {
    return this.loaded().id;
  }

  get name(): string {
    return this.loaded().name;
  }

  /** Where the weights are stored. */
  get url(): string {
    return this.loaded().uri;
  }

  get framework(): string | undefined {
    return this.loaded().framework ?? undefined;
  }

  get tags(): string[] {
    return [...this.loaded().tags];
  }

  get comment(): string {
    return this.loaded().comment;
  }

  /** Label name → class id. */
  get labelEnumeration(): Record<string, number> {
    return { ...this.loaded().labels };
  }

  /** The configuration text (ClearML's `design.design`), or undefined. */
  get configText(): string | undefined {
    const design = this.loaded().design;
    return typeof design.design === 'string' ? design.design : Object.keys(design).length > 0 ? JSON.stringify(design) : undefined;
  }

  /** The configuration as an object, when its text is JSON. */
  get configDict(): Record<string, unknown> | undefined {
    const text = this.configText;
    if (text === undefined) return undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Published: read-only. */
  get isPublished(): boolean {
    return this.loaded().ready;
  }

  /** The id of the task that created the model. */
  get taskId(): string | undefined {
    return this.loaded().task ?? undefined;
  }

  get projectId(): string | undefined {
    return this.loaded().project ?? undefined;
  }

  get iteration(): number {
    return this.loaded().last_iteration;
  }

  /** The model as last read from the server. */
  get info(): Readonly<ModelData> {
    return this.loaded();
  }

  /** Reads the model again from the server. */
  async reload(): Promise<this> {
    this.data = (await this.api.call('models.get_by_id', { model: this.loaded().id })).model;
    return this;
  }

  /**
   * A local path of the weights, from the download cache; a zipped folder (`.zip`) is extracted and its folder
   * answered (`extract: false` keeps the zip).
   */
  async getLocalCopy(options: { extract?: boolean } = {}): Promise<string> {
    const uri = this.url;
    const isZip = /\.zip$/i.test(uri);
    return StorageManager.getLocalCopy(uri, { config: this.config, extract: options.extract ?? isZip });
  }

  /** Publishes the model (read-only from then on); the task that made it stays as it is. */
  async publish(): Promise<void> {
    await this.api.call('models.set_ready', { model: this.id, publish_task: false });
    await this.reload();
  }

  /** Models matching the filters, most recently updated first. */
  static async query(query: ModelQuery = {}): Promise<Model[]> {
    const { api, config } = defaultSession();
    let project: string[] | undefined;
    if (query.projectName !== undefined) {
      const wanted = query.projectName.split('/').map((p) => p.trim()).filter(Boolean).join('/');
      const { projects } = await api.call('projects.get_all', { name: `^${escapeRegex(wanted)}$`, only_fields: ['id'] });
      const id = projects[0]?.id;
      if (!id) return [];
      project = [id];
    }
    const { models } = await api.call('models.get_all', {
      project,
      include_subprojects: project ? true : undefined,
      name: query.name,
      tags: query.tags,
      framework: query.framework === undefined ? undefined : [query.framework],
      ready: query.onlyPublished ? true : undefined,
      system_tags: query.includeArchived ? undefined : ['-archived'],
      order_by: ['-last_update'],
      page: 0,
      page_size: query.limit ?? 500,
    });
    return models.map((m) => new Model(api, config, m as ModelData));
  }

  /** A registered model by id. */
  static async get(id: string): Promise<Model> {
    const { api, config } = defaultSession();
    return new Model(api, config, (await api.call('models.get_by_id', { model: id })).model);
  }
}

/**
 * A model a task uses: an existing registered one (`new InputModel({ modelId })`, `InputModel.get(id)`) or weights
 * already stored somewhere (`InputModel.import`). `task.connect(model)` records it as the task's input model.
 *
 * @example
 * const base = await InputModel.import({ url: 's3://models/resnet.onnx', name: 'resnet', framework: 'onnx' });
 * task.connect(base);
 * const weights = await base.getLocalCopy();
 */
export class InputModel extends Model {
  private loading: Promise<void> | undefined;

  /** A handle of a registered model; it loads in the background (`await model.load()` before reading fields). */
  constructor(options: { modelId: string });
  /** @internal */
  constructor(options: { modelId: string }, session: { api: ApiClient; config: SdkConfig }, data?: ModelData);
  constructor(options: { modelId: string }, session = defaultSession(), data?: ModelData) {
    super(session.api, session.config, data);
    if (typeof options?.modelId !== 'string' || options.modelId === '') {
      throw new TasklaneError('INVALID_INPUT', `new InputModel({ modelId }): modelId must be a model id, got ${JSON.stringify(options?.modelId)}`);
    }
    if (!data) {
      this.loading = this.api.call('models.get_by_id', { model: options.modelId }).then(({ model }) => {
        this.data = model;
      });
      this.loading.catch(() => undefined); // surfaced by load()
    }
  }

  /** Waits until the model is read from the server (fails with MODEL_NOT_FOUND for an unknown id). */
  async load(): Promise<this> {
    await this.loading;
    return this;
  }

  override async getLocalCopy(options: { extract?: boolean } = {}): Promise<string> {
    await this.load();
    return super.getLocalCopy(options);
  }

  /** A registered model by id, loaded. */
  static override async get(id: string): Promise<InputModel> {
    return new InputModel({ modelId: id }).load();
  }

  /**
   * Registers weights already in storage as a model (nothing is uploaded). When a model with this URL is
   * registered already, that one is answered, as ClearML does.
   */
  static async import(options: ImportModelOptions): Promise<InputModel> {
    const session = defaultSession();
    const { api } = session;
    if (typeof options.url !== 'string' || options.url === '') {
      throw new TasklaneError('INVALID_INPUT', `InputModel.import: url must be a storage URL, got ${JSON.stringify(options.url)}`);
    }
    const { models } = await api.call('models.get_all', { uri: [options.url], order_by: ['-last_update'], page: 0, page_size: 1 });
    const existing = models[0]?.id;
    if (existing) return new InputModel({ modelId: existing }, session).load();
    const last = options.url.split('/').at(-1) ?? '';
    let name = options.name;
    try {
      name ??= decodeURIComponent(last);
    } catch {
      name ??= last;
    }
    const { id } = await api.call('models.create', {
      uri: options.url,
      name: name || 'model',
      project_name: options.projectName,
      framework: options.framework,
      tags: options.tags,
      comment: options.comment,
      design: designOf(options),
      labels: options.labelEnumeration,
    });
    return new InputModel({ modelId: id }, session).load();
  }
}

/**
 * A model a task produces: `updateWeights` uploads the weights (a file, or a folder as a zip) under the task's
 * storage path (`.../<task>/models/<file>`), registers the model and records it as the task's output model.
 *
 * @example
 * const model = new OutputModel(task, { name: 'classifier', framework: 'onnx', labelEnumeration: { cat: 0, dog: 1 } });
 * await model.updateWeights('./out/model.onnx', { iteration: 10 });
 * console.log(model.id, model.url);
 */
export class OutputModel extends Model {
  private readonly options: OutputModelOptions;

  constructor(
    private readonly task: Task,
    options: OutputModelOptions = {},
  ) {
    super(task.session.api, task.session.config);
    designOf(options); // refuses config and configText together, now rather than at upload
    this.options = { ...options };
  }

  /** Whether `updateWeights` has registered the model yet. */
  get isRegistered(): boolean {
    return this.data !== undefined;
  }

  /**
   * Uploads the weights and registers them: the model is created on the first call (ClearML's flow:
   * `models.create` with a placeholder URI, upload, `models.edit`, `tasks.add_or_update_model`), updated on later
   * ones. Runs in order with the task's artifact uploads, retried three times; rejects when it finally fails.
   */
  async updateWeights(pathOrFolder: string, options: { iteration?: number } = {}): Promise<this> {
    const source = resolve(pathOrFolder);
    const info = await stat(source).catch(() => undefined);
    if (!info || (!info.isFile() && !info.isDirectory())) {
      throw new TasklaneError('FILE_NOT_FOUND', `OutputModel.updateWeights: no file or folder at ${source}.`, { path: source });
    }
    const name = this.options.name ?? this.task.name;
    const what = `model "${name}"`;
    return this.task.runUpload(what, async () => {
      const base = await this.task.storageBase();
      const project = this.task.info.project ?? undefined;
      const design = designOf(this.options);
      if (!this.data) {
        const { id } = await this.api.call('models.create', {
          uri: joinUrl(base, 'models', 'uploading_file'),
          name,
          project,
          task: this.task.id,
          framework: this.options.framework,
          design,
          labels: this.options.labelEnumeration,
          tags: this.options.tags,
          comment: this.options.comment,
        });
        this.data = (await this.api.call('models.get_by_id', { model: id })).model;
      }
      let temp: string | undefined;
      try {
        let file = source;
        if (info.isDirectory()) {
          temp = await mkdtemp(join(tmpdir(), 'tasklane-model-'));
          file = join(temp, `${basename(source)}.zip`);
          await zipFolder(source, file);
        }
        const stored = await uploadWithRetry(file, joinUrl(base, 'models', basename(file)), {
          config: this.config,
          what,
          say: (message) => process.stderr.write(`tasklane: ${message}\n`),
        });
        await this.api.call('models.edit', {
          model: this.data.id,
          uri: stored.uri,
          name,
          framework: this.options.framework,
          design,
          labels: this.options.labelEnumeration,
          iteration: options.iteration,
        });
        await this.api.call('tasks.add_or_update_model', { task: this.task.id, name, model: this.data.id, type: 'output', iteration: options.iteration });
        this.task.noteOutputModel(name, this.data.id);
        this.data = (await this.api.call('models.get_by_id', { model: this.data.id })).model;
        return this;
      } finally {
        if (temp) await rm(temp, { recursive: true, force: true });
      }
    });
  }
}
