import type { Repositories, Store } from '../storage/store.js';

/** What every service function gets: the repositories of the current transaction, the time, and settings. */
export interface ServiceContext {
  repos: Repositories;
  /** The current time as an ISO string (a seam for tests). */
  now(): string;
  settings: ServiceSettings;
  /** Who is calling (worker header), when known. */
  caller?: { worker?: string };
}

export interface ServiceSettings {
  workerTimeoutSec: number;
  /** Secret that signs login tokens. */
  tokenSecret: string;
  /** Debug samples kept per task/metric/variant: the last this many iterations. */
  debugSampleHistory: number;
}

/** Runs a service function in one store transaction. */
export function runInTransaction<T>(
  store: Store,
  base: Omit<ServiceContext, 'repos'>,
  work: (ctx: ServiceContext) => Promise<T>,
): Promise<T> {
  return store.transaction((repos) => work({ ...base, repos }));
}
