import type { EventType, MetricVariants, Project, Queue, QueueEntry, Task, TaskStatus, Worker } from '@tasklane/protocol';

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
] as const;
export type TaskOrderField = (typeof TASK_ORDER_FIELDS)[number];

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
  orderBy?: { field: TaskOrderField; descending: boolean }[];
  limit?: number;
  offset?: number;
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

export interface TaskRepository {
  get(id: string): Promise<Task | undefined>;
  list(query: TaskQuery): Promise<Task[]>;
  countInProjects(projectIds: string[]): Promise<number>;
  insert(task: Task): Promise<void>;
  /**
   * Writes the whole task. With `expectedStatus`, an atomic compare-and-set: written only if the stored status is
   * still that one; answers false (nothing written) otherwise.
   */
  replace(task: Task, expectedStatus?: TaskStatus): Promise<boolean>;
  delete(ids: string[]): Promise<number>;
  idsInProjects(projectIds: string[]): Promise<string[]>;
  /** Sets `project` to null for the tasks of these projects; answers how many. */
  detachFromProjects(projectIds: string[]): Promise<number>;
  /** Clears `parent` on the children of a task; answers how many. */
  detachChildren(parentId: string): Promise<number>;
}

export interface QueueRepository {
  get(id: string): Promise<QueueRecord | undefined>;
  getByName(name: string): Promise<QueueRecord | undefined>;
  list(): Promise<QueueRecord[]>;
  insert(queue: QueueRecord): Promise<void>;
  delete(id: string): Promise<number>;
  entries(queueId: string): Promise<QueueEntry[]>;
  /** Appends a task at the tail. */
  push(queueId: string, taskId: string, added: string): Promise<void>;
  /** Removes a task from one queue, or from every queue when `queueId` is undefined; answers how many entries. */
  remove(taskId: string, queueId?: string): Promise<number>;
  /** Atomically removes and answers the head entry (only if it is `onlyTask`, when given). */
  popHead(queueId: string, onlyTask?: string): Promise<QueueEntry | undefined>;
  queuesOf(taskId: string): Promise<string[]>;
}

export interface WorkerRepository {
  get(id: string): Promise<WorkerRecord | undefined>;
  list(): Promise<WorkerRecord[]>;
  upsert(worker: WorkerRecord): Promise<void>;
  delete(id: string): Promise<number>;
}

/** One point of a scalar series. Times are epoch milliseconds. */
export interface ScalarPoint {
  iter: number;
  value: number;
  timestamp: number;
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

/** The lowest and highest point of one iteration bucket of a series. */
export interface BucketExtremes {
  min: ScalarPoint;
  max: ScalarPoint;
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

/** Vectors, debug samples and plots: their own fields are kept as JSON in `data`. */
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

export interface EventRepository {
  /** The id of the scalar series task/metric/variant, created when missing. */
  ensureSeries(task: string, metric: string, variant: string): Promise<number>;
  /** The scalar series of a task, by metric and variant. */
  listSeries(task: string): Promise<SeriesRecord[]>;
  /** The highest iteration stored in a series; undefined when it is empty. */
  lastIteration(series: number): Promise<number | undefined>;
  /** Writes points; a point at an iteration the series has replaces it. */
  upsertScalars(series: number, points: readonly ScalarPoint[]): Promise<void>;
  /** Summarizes a whole series (reads all of it); undefined when it is empty. */
  seriesStats(series: number): Promise<SeriesStats | undefined>;
  /** Number of points and the iteration range of a series; undefined when it is empty. */
  seriesRange(series: number): Promise<{ count: number; minIter: number; maxIter: number } | undefined>;
  /** All points of a series, by iteration. */
  seriesPoints(series: number): Promise<ScalarPoint[]>;
  /** The last `count` points of a series, newest iteration first. */
  latestPoints(series: number, count: number): Promise<ScalarPoint[]>;
  /**
   * Cuts a series into buckets of `width` iterations from `origin` and answers the lowest and highest point of each
   * non-empty bucket, by bucket.
   */
  bucketExtremes(series: number, origin: number, width: number): Promise<BucketExtremes[]>;
  /** Stores console lines; one whose task and id are stored already is skipped. Answers how many were new. */
  insertLogs(events: readonly LogEventRecord[]): Promise<number>;
  /** Stores vectors, samples and plots; one whose task and id are stored already is replaced. */
  upsertOthers(events: readonly OtherEventRecord[]): Promise<void>;
  /**
   * A page of console lines. Lines that share the timestamp of the last one are all included (the page may be
   * longer than `limit`), so that paging on timestamps loses none.
   */
  logPage(query: LogPageQuery): Promise<LogEventRecord[]>;
  countLogs(task: string): Promise<number>;
  listEvents(query: EventListQuery): Promise<EventRecord[]>;
  countEvents(query: Omit<EventListQuery, 'descending' | 'limit' | 'offset'>): Promise<number>;
  /** Deletes every event of a task; answers how many. */
  deleteForTask(task: string): Promise<number>;
}

/** Everything a unit of work can touch. */
export interface Repositories {
  projects: ProjectRepository;
  tasks: TaskRepository;
  queues: QueueRepository;
  workers: WorkerRepository;
  events: EventRepository;
}

/**
 * The storage behind the server. Every request runs as one transaction: all of its writes land, or none do.
 * Implementations: SQLite (embedded default); PostgreSQL later, behind the same interface.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `work` in one transaction. Work must only await the store (no network, no timers), so that the
   * transaction stays short.
   */
  transaction<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  /** The latest applied schema version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
