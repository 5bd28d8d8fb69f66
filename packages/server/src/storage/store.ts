import type { EventType, MetricVariants, Model, Project, Queue, QueueEntry, Task, TaskStatus, Worker } from '@tasklane/protocol';

/** A list filter as ClearML's: values are ORed; a leading "-" in the request excludes a value instead. */
export interface ListFilter {
  include: string[];
  exclude: string[];
}

export const TASK_ORDER_FIELDS = [
  'id',
  'name',
  'created',
  'last_update',
  'started',
  'completed',
  'status',
  'type',
  'last_iteration',
  'project',
  'parent',
  'user',
] as const;
export type TaskOrderField = (typeof TASK_ORDER_FIELDS)[number];

/**
 * One key of a task listing's order: a column, or a value inside the task document by its path (a hyperparameter
 * `['hyperparams', section, name, 'value']`, a metric `['last_metrics', metricHash, variantHash, 'value']`); with
 * several paths, the first the task has a value at (a dotted key can split into section and name more than one way).
 * Text that reads as a number sorts as that number; tasks without the value come last.
 */
export type TaskOrder = { field: TaskOrderField; descending: boolean } | { paths: string[][]; descending: boolean };

/** Task counts of one project and status (see TaskRepository.projectStats). */
export interface ProjectTaskStats {
  project: string | null;
  status: TaskStatus;
  count: number;
  /** The latest last_update among those tasks. */
  last_update: string;
}

/** What a task listing asks the store for. The service has resolved names and sub-projects already. */
export interface TaskQuery {
  ids?: string[];
  /** A regular expression (JavaScript syntax) matched case-insensitively against the name. */
  namePattern?: string;
  /** Project ids; `null` in the list means "no project". */
  projects?: (string | null)[];
  statuses?: ListFilter;
  types?: ListFilter;
  tags?: ListFilter;
  systemTags?: ListFilter;
  parent?: string;
  users?: string[];
  searchText?: string;
  includeHidden?: boolean;
  lastUpdateBefore?: string;
  orderBy?: TaskOrder[];
  limit?: number;
  offset?: number;
}

export const MODEL_ORDER_FIELDS = [
  'id',
  'name',
  'created',
  'last_update',
  'framework',
  'uri',
  'ready',
  'last_iteration',
  'project',
  'task',
] as const;
export type ModelOrderField = (typeof MODEL_ORDER_FIELDS)[number];

/** What a model listing asks the store for. The service has resolved sub-projects already. */
export interface ModelQuery {
  ids?: string[];
  /** A regular expression (JavaScript syntax) matched case-insensitively against the name. */
  namePattern?: string;
  projects?: string[];
  /** Ids of the creating tasks. */
  tasks?: string[];
  uris?: string[];
  frameworks?: ListFilter;
  tags?: ListFilter;
  systemTags?: ListFilter;
  ready?: boolean;
  users?: string[];
  searchText?: string;
  includeHidden?: boolean;
  orderBy?: { field: ModelOrderField; descending: boolean }[];
  limit?: number;
  offset?: number;
}

/** A task that lists a model among its input or output models. */
export interface TaskModelUse {
  task: string;
  status: TaskStatus;
  type: 'input' | 'output';
  model: string;
}

/** A project row: the wire shape minus `path`, which the service derives. */
export type ProjectRecord = Omit<Project, 'path'>;
export type QueueRecord = Omit<Queue, 'entries'>;
export type WorkerRecord = Omit<Worker, 'task' | 'project'> & { task_id: string | null; timeout_sec: number };

export interface ProjectRepository {
  get(id: string): Promise<ProjectRecord | undefined>;
  getByName(name: string): Promise<ProjectRecord | undefined>;
  list(): Promise<ProjectRecord[]>;
  insert(project: ProjectRecord): Promise<void>;
  update(project: ProjectRecord): Promise<void>;
  delete(ids: string[]): Promise<number>;
}

/** What an event batch changes in a task (see TaskRepository.updateLastMetrics). */
export type TaskMetricsUpdate = Pick<Task, 'last_metrics' | 'last_iteration' | 'last_update'>;

export interface TaskRepository {
  get(id: string): Promise<Task | undefined>;
  list(query: TaskQuery): Promise<Task[]>;
  countInProjects(projectIds: string[]): Promise<number>;
  /** Counts of tasks by project and status, archived ones only or all but them; hidden tasks left out. */
  projectStats(archived: boolean): Promise<ProjectTaskStats[]>;
  /** Distinct hyperparameters (section, name) of the tasks of these projects (all tasks when undefined). */
  hyperParameterNames(projectIds: string[] | undefined): Promise<{ section: string; name: string }[]>;
  /** Distinct metric/variant pairs in `last_metrics` of the tasks of these projects, with their keys there. */
  metricVariants(
    projectIds: string[] | undefined,
  ): Promise<{ metric: string; variant: string; metric_hash: string; variant_hash: string }[]>;
  /** Distinct tags and system tags of the tasks of these projects. */
  taskTags(projectIds: string[] | undefined): Promise<{ tags: string[]; system_tags: string[] }>;
  insert(task: Task): Promise<void>;
  /**
   * Writes the whole task. With `expectedStatus`, an atomic compare-and-set: written only if the stored status is
   * still that one; answers false (nothing written) otherwise.
   */
  replace(task: Task, expectedStatus?: TaskStatus): Promise<boolean>;
  /**
   * Writes what an event batch changes in a task — last_metrics, last_iteration and last_update — if its stored status
   * is still `expectedStatus`; answers false (nothing written) otherwise. The rest of the task, and its model links,
   * are left as stored: a batch does not rewrite the whole task.
   */
  updateLastMetrics(id: string, update: TaskMetricsUpdate, expectedStatus: TaskStatus): Promise<boolean>;
  delete(ids: string[]): Promise<number>;
  idsInProjects(projectIds: string[]): Promise<string[]>;
  /** Sets `project` to null for the tasks of these projects; answers how many. */
  detachFromProjects(projectIds: string[]): Promise<number>;
  /** Clears `parent` on the children of a task; answers how many. */
  detachChildren(parentId: string): Promise<number>;
  /** The tasks that list any of these models in `models.input` or `models.output`, one entry per task, type and model. */
  modelUses(modelIds: readonly string[]): Promise<TaskModelUse[]>;
}

export interface ModelRepository {
  get(id: string): Promise<Model | undefined>;
  list(query: ModelQuery): Promise<Model[]>;
  insert(model: Model): Promise<void>;
  /** Writes the whole model. */
  replace(model: Model): Promise<void>;
  delete(ids: readonly string[]): Promise<number>;
}

export interface QueueRepository {
  get(id: string): Promise<QueueRecord | undefined>;
  getByName(name: string): Promise<QueueRecord | undefined>;
  list(): Promise<QueueRecord[]>;
  insert(queue: QueueRecord): Promise<void>;
  delete(id: string): Promise<number>;
  entries(queueId: string): Promise<QueueEntry[]>;
  /** Appends a task at the tail. */
  push(queueId: string, taskId: string, added: string, priority?: number): Promise<void>;
  /** Removes a task from one queue, or from every queue when `queueId` is undefined; answers how many entries. */
  remove(taskId: string, queueId?: string): Promise<number>;
  /** Atomically removes and answers the head entry (only if it is `onlyTask`, when given). */
  popHead(queueId: string, onlyTask?: string): Promise<QueueEntry | undefined>;
  /** Rewrites the waiting order of a queue: `entries` (the same tasks as now) from head to tail. */
  reorder(queueId: string, entries: readonly QueueEntry[]): Promise<void>;
  queuesOf(taskId: string): Promise<string[]>;
}

export interface WorkerRepository {
  get(id: string): Promise<WorkerRecord | undefined>;
  list(): Promise<WorkerRecord[]>;
  upsert(worker: WorkerRecord): Promise<void>;
  delete(id: string): Promise<number>;
}

/** A user as stored: the password only as a salted slow hash (see services/secrets.ts), `null` when none is set. */
export interface UserRecord {
  id: string;
  name: string;
  display_name: string;
  role: 'admin' | 'user';
  password_hash: string | null;
  created: string;
}

/** A key pair as stored: the secret only as a salted slow hash. A revoked pair stays, so a login can say why it fails. */
export interface CredentialRecord {
  access_key: string;
  user_id: string;
  secret_hash: string;
  label: string | null;
  created: string;
  last_used: string | null;
  /** When it was revoked (or its user removed); `null` while it works. */
  revoked: string | null;
}

/** A web sign-in session: its tokens are good while it has not ended (and they have not expired). */
export interface SessionRecord {
  id: string;
  user_id: string;
  created: string;
  expires: string;
  ended: string | null;
}

export interface UserRepository {
  count(): Promise<number>;
  /** Fails with ALREADY_EXISTS when the name is taken (names are compared ignoring case). */
  create(user: UserRecord): Promise<void>;
  byId(id: string): Promise<UserRecord | undefined>;
  byName(name: string): Promise<UserRecord | undefined>;
  /** Every user, by name. */
  list(): Promise<UserRecord[]>;
  setPassword(id: string, passwordHash: string | null): Promise<void>;
  /** Removes the user and revokes every key pair of theirs; answers whether there was one. */
  remove(id: string, when: string): Promise<boolean>;
  addCredential(credential: CredentialRecord): Promise<void>;
  credential(accessKey: string): Promise<CredentialRecord | undefined>;
  /** The key pairs that work, oldest first: one user's, or everyone's. */
  activeCredentials(userId?: string): Promise<CredentialRecord[]>;
  /** Answers whether a working key pair was revoked. */
  revokeCredential(accessKey: string, when: string): Promise<boolean>;
  touchCredential(accessKey: string, when: string): Promise<void>;
  /** Starts a session, and deletes the sessions that expired before `session.created`. */
  createSession(session: SessionRecord): Promise<void>;
  session(id: string): Promise<SessionRecord | undefined>;
  extendSession(id: string, expires: string): Promise<void>;
  endSession(id: string, when: string): Promise<void>;
  /** Ends every session of a user (a new password, a removal). */
  endUserSessions(userId: string, when: string): Promise<void>;
  /**
   * The server secret stored under `name` (the token-signing key): on first use `value` is stored and answered;
   * afterwards, and to every other process on the database, the stored one.
   */
  serverSecret(name: string, value: string, when: string): Promise<string>;
}

/** One point of a scalar series. Times are epoch milliseconds. */
export interface ScalarPoint {
  iter: number;
  value: number;
  timestamp: number;
}

/**
 * Points of one scalar series column by column (no object per point: ingest writes millions), the first `length`
 * entries of each array, sorted by iteration with one point per iteration.
 */
export interface ScalarColumns {
  iter: number[];
  value: number[];
  timestamp: number[];
  length: number;
}

/**
 * Points `from` to `to` (exclusive) of one scalar series of a task, as an event batch brings them, in the arrays they
 * arrived in (no copy per slice): sorted by iteration, one point per iteration.
 */
export interface ScalarSlice {
  metric: string;
  variant: string;
  points: ScalarColumns;
  from: number;
  to: number;
  /**
   * The series' stats before this write as the task's last_metrics has them, when it has them all (it lacks the
   * iteration of the last point, which nothing here needs). The store trusts them when the points all come after the
   * stored ones, and then reads nothing of the series to answer its new stats.
   */
  known?: KnownSeriesStats;
}

/** What a task's last_metrics knows of a series (see ScalarSlice.known). */
export type KnownSeriesStats = Omit<SeriesStats, 'last'>;

/** Charts of the scalar series of a task (see EventRepository.charts). */
export interface ChartQuery {
  task: string;
  /** At most about this many points per series (0: all of them). */
  samples: number;
  /** Whether to answer each point's timestamp too. */
  withTimestamps: boolean;
  /** Only these metrics (and variants); all when undefined. */
  metrics?: MetricVariants[];
}

/** The chart of one scalar series: its points column by column, by iteration. */
export interface SeriesChart {
  metric: string;
  variant: string;
  iter: number[];
  value: number[];
  /** Epoch milliseconds of each point; only when asked for. */
  timestamp?: number[];
}

/** A scalar series of a task: metric/variant, known by a small integer id. */
export interface SeriesRecord {
  id: number;
  metric: string;
  variant: string;
}

/** Summary of a whole scalar series. */
export interface SeriesStats {
  count: number;
  sum: number;
  first: { iter: number; value: number };
  last: { iter: number; value: number };
  min: { iter: number; value: number };
  max: { iter: number; value: number };
}

/** A single value (a scalar at iteration -2^31) of a task. */
export interface SingleValueRecord {
  task: string;
  metric: string;
  variant: string;
  value: number;
  timestamp: number;
}

export interface LogEventRecord {
  type: 'log';
  task: string;
  id: string;
  timestamp: number;
  level: string;
  worker: string | null;
  msg: string;
}

export interface ScalarEventRecord {
  type: 'training_stats_scalar';
  task: string;
  iter: number;
  metric: string;
  variant: string;
  value: number;
  timestamp: number;
}

/**
 * Vectors, debug samples and plots: their own fields are kept as JSON in `data`. The store may keep a large
 * `data.plot_str` compressed; it always answers it whole.
 */
export interface OtherEventRecord {
  type: Exclude<EventType, 'log' | 'training_stats_scalar'>;
  task: string;
  id: string;
  iter: number | null;
  metric: string;
  variant: string;
  timestamp: number;
  data: Record<string, unknown>;
}

export type EventRecord = LogEventRecord | ScalarEventRecord | OtherEventRecord;

/** A page of console lines, from `fromTimestamp` (exclusive) in one direction. */
export interface LogPageQuery {
  task: string;
  limit: number;
  /** Newest first (and `fromTimestamp` means "before"), or oldest first ("after"). */
  descending: boolean;
  fromTimestamp?: number;
  /** Only lines whose msg contains this text, ignoring case. */
  search?: string;
}

/** Events of any type of one task, by timestamp. */
export interface EventListQuery {
  task: string;
  /** Only these types; all when undefined. */
  types?: EventType[];
  /** Only these metrics (and variants); console lines have no metric, so they are left out. */
  metrics?: MetricVariants[];
  descending: boolean;
  limit: number;
  offset: number;
}

/** Plot events of a task: those of the last `iters` iterations of each metric/variant, by timestamp. */
export interface PlotQuery {
  task: string;
  iters: number;
  metrics?: MetricVariants[];
  limit: number;
  offset: number;
}

/** Debug samples of a task, restricted to some metrics (and variants) when `metrics` is given. */
export interface DebugImageScope {
  task: string;
  metrics?: MetricVariants[];
}

/** Where a debug sample sits in the order samples are browsed: iteration, then metric, then variant. */
export interface DebugImagePosition {
  iter: number;
  metric: string;
  variant: string;
}

export interface EventRepository {
  /**
   * Appends scalar points of a task, of any number of series (each at most once), created when new: a point at an
   * iteration a series has replaces it, and the chart summaries are brought up to date in the same go. Answers each
   * series' stats after the write (single value included), in the order of `slices`. Points that all come after the
   * stored ones (a training loop) are merged into the summaries and, with `known`, into the stats; others (re-sent,
   * out of order) make the store summarize the blocks they touch, and the series, again from what it holds.
   */
  appendScalars(task: string, slices: readonly ScalarSlice[]): Promise<SeriesStats[]>;
  /** The scalar series of a task, by metric and variant. */
  listSeries(task: string): Promise<SeriesRecord[]>;
  /**
   * Charts of the scalar series of a task, by metric and variant, series of a single value only left out: every
   * point of a series of at most `samples` points (single values left out), otherwise the lowest and highest point
   * of each of about samples / 2 iteration buckets (see scalar-summaries.ts), timestamps included when asked for.
   */
  charts(query: ChartQuery): Promise<SeriesChart[]>;
  /** The last `count` points of a series, newest iteration first. */
  latestPoints(series: number, count: number): Promise<ScalarPoint[]>;
  /** Single values of tasks, by task, metric and variant. */
  singleValues(tasks: readonly string[], metrics?: MetricVariants[]): Promise<SingleValueRecord[]>;
  /**
   * Sorted names of the metrics of a task that have events of `type` (of any type but console lines when
   * undefined); scalar series holding only a single value do not count.
   */
  taskMetrics(task: string, type?: EventType): Promise<string[]>;
  /** Stores console lines; one whose task and id are stored already is skipped. Answers how many were new. */
  insertLogs(events: readonly LogEventRecord[]): Promise<number>;
  /** Stores vectors, samples and plots; one whose task and id are stored already is replaced. */
  upsertOthers(events: readonly OtherEventRecord[]): Promise<void>;
  /**
   * Deletes the debug samples of task/metric/variant older than its last `keep` iterations (samples without an
   * iteration are kept); answers how many.
   */
  capDebugImages(task: string, metric: string, variant: string, keep: number): Promise<number>;
  /**
   * A page of console lines. Lines that share the timestamp of the last one are all included (the page may be
   * longer than `limit`), so that paging on timestamps loses none.
   */
  logPage(query: LogPageQuery): Promise<LogEventRecord[]>;
  /** Console lines of a task (containing `search`, ignoring case, when given). */
  countLogs(task: string, search?: string): Promise<number>;
  /** Every console line of a task, oldest first, a chunk at a time. */
  forEachLog(task: string, chunk: (events: LogEventRecord[]) => void | Promise<void>): Promise<void>;
  listEvents(query: EventListQuery): Promise<EventRecord[]>;
  countEvents(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>): Promise<number>;
  /** A page of plot events and how many there are in all. */
  plotPage(query: PlotQuery): Promise<{ events: OtherEventRecord[]; total: number }>;
  /**
   * Distinct iterations that have debug samples in scope, `limit` of them, going down from below `before` (latest
   * first) or up from above `after`; from the latest when neither is given.
   */
  debugImageIterations(
    scope: DebugImageScope,
    range: { before?: number; after?: number },
    limit: number,
  ): Promise<number[]>;
  /** The debug samples in scope at these iterations, by iteration (latest first), metric and variant. */
  debugImagesAt(scope: DebugImageScope, iters: readonly number[]): Promise<OtherEventRecord[]>;
  /** First and last iteration of the debug samples of task/metric/variant; undefined without samples. */
  debugImageRange(task: string, metric: string, variant: string): Promise<{ min: number; max: number } | undefined>;
  /** The debug sample of task/metric/variant at the highest iteration ≤ `iteration` (the latest when undefined). */
  debugImageAtOrBefore(task: string, metric: string, variant: string, iteration?: number): Promise<OtherEventRecord | undefined>;
  /**
   * The debug sample next to `from` in scope, in the order iteration, metric, variant: the nearest earlier one or
   * the nearest later one; with `sameIteration`, only within the iteration of `from`, and with `otherIteration`,
   * only in other iterations (then the last sample of the previous iteration, or the first of the next).
   */
  debugImageNeighbour(
    scope: DebugImageScope,
    from: DebugImagePosition,
    earlier: boolean,
    where: 'sameIteration' | 'otherIteration',
  ): Promise<OtherEventRecord | undefined>;
  /** Deletes every event of a task; answers how many. */
  deleteForTask(task: string): Promise<number>;
}

/** Everything a unit of work can touch. */
export interface Repositories {
  projects: ProjectRepository;
  tasks: TaskRepository;
  models: ModelRepository;
  queues: QueueRepository;
  workers: WorkerRepository;
  events: EventRepository;
  users: UserRepository;
}

export interface TransactionOptions {
  /**
   * The work only reads: the store need not take the write lock up front, so a read does not wait for a writer in
   * another process (SQLite in WAL mode reads a consistent snapshot meanwhile).
   * @default false
   */
  readOnly?: boolean;
  /**
   * Every write of the work is guarded by row locks it takes itself (`FOR UPDATE SKIP LOCKED`: a queue's pop), so it
   * needs no serializable isolation: PostgreSQL runs it READ COMMITTED, where two such units taking different rows do
   * not abort each other. Under SERIALIZABLE, a pop whose snapshot still showed an entry another process had just
   * taken failed to serialize (40001), and agents polling one queue from two processes re-ran their polls until some
   * gave up. SQLite runs one writer at a time either way.
   * @default false
   */
  guardedByRowLocks?: boolean;
}

/**
 * The storage behind the server. Every request runs as one transaction: all of its writes land, or none do.
 * Implementations: SQLite (embedded default); PostgreSQL later, behind the same interface.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `work` in one transaction. Work must only await the store, and the short yields to the event loop that
   * keep a large batch from holding it (LoopPacer): no network, no timers, so that the transaction stays short.
   * Transactions run one at a time, so nothing of another request interleaves with a yield.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Runs `work` in one write transaction, as `transaction` does, unless a unit of work claiming the same `name` runs
   * meanwhile, in this process or another on the same database: then `work` is not run and the answer is undefined.
   * For rounds of periodic work that every server process schedules (the watchdog), so that one process does a round
   * while the others skip it instead of colliding with it. The claim ends with the transaction.
   */
  transactionIfIdle<T>(name: string, work: (repos: Repositories) => Promise<T>): Promise<{ value: T } | undefined>;
  /** The latest applied schema version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
