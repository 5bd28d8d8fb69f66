import type { Project, Queue, QueueEntry, Task, TaskStatus, Worker } from '@tasklane/protocol';

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

/** Everything a unit of work can touch. */
export interface Repositories {
  projects: ProjectRepository;
  tasks: TaskRepository;
  queues: QueueRepository;
  workers: WorkerRepository;
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
