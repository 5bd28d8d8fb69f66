import type { FileStore } from '../storage/file-store.js';
import type { Repositories, Store } from '../storage/store.js';
import type { Authenticator, Identity } from './authenticator.js';

/** What every service function gets: the repositories of the current transaction, the time, and settings. */
export interface ServiceContext {
  repos: Repositories;
  /** The current time as an ISO string (a seam for tests). */
  now(): string;
  settings: ServiceSettings;
  /**
   * Who is calling: the worker (header), the user tasks are recorded under, and, where auth is on, the identity the
   * request's credentials proved (then `user` is that identity's name).
   */
  caller?: { worker?: string; user?: string; identity?: Identity };
  /** Checks credentials and issues tokens; absent where authentication is off. */
  auth?: Authenticator;
  /** Sets or clears the web UI's session cookie on the reply (API requests only). */
  session?: { set(token: string, maxAgeSec: number): void; clear(): void };
  /** What the route worked out before the transaction for this endpoint (a slow hash; see api-route). */
  prepared?: unknown;
  /**
   * Schedules work for after the transaction commits (deleting stored files, which a rollback could not undo).
   * Absent outside a request; such work is then skipped.
   */
  afterCommit?: (work: () => Promise<void>) => void;
}

export interface ServiceSettings {
  workerTimeoutSec: number;
  /** Secret that signs login tokens. */
  tokenSecret: string;
  /** Debug samples kept per task/metric/variant: the last this many iterations. */
  debugSampleHistory: number;
  /** Where the built-in file server keeps its files (a folder or a bucket). */
  files: FileStore;
}

/** Runs a service function in one store transaction. */
export function runInTransaction<T>(
  store: Store,
  base: Omit<ServiceContext, 'repos'>,
  work: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  return store.transaction((repos) => work({ ...base, repos }));
}
