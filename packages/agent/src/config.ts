import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { TasklaneError } from '@tasklane/protocol';
import { loadKeyPair } from 'tasklane';
import type { KeyPair } from 'tasklane/client';
import { AGENT_LOG_LEVELS, type AgentLogLevel } from './agent-log.js';

/** The agent's settings, with units in the names. */
export interface AgentConfig {
  /** @default http://127.0.0.1:8008 */
  apiUrl: string;
  /** @default `<apiUrl>/files` */
  filesUrl: string;
  /** Queue names in priority order. @default ['default'] */
  queues: string[];
  /** @default ~/.tasklane/agent */
  workdir: string;
  /** @default `<hostname>:<pid>` */
  workerName?: string;
  /** @default 2000 */
  pollIntervalMs: number;
  /** @default 5000 */
  reportIntervalMs: number;
  /** @default false */
  createQueues: boolean;
  /** @default false */
  keepWorkingCopies: boolean;
  /** @default info */
  logLevel: AgentLogLevel;
  /**
   * The agent's key pair, read as the SDK reads it (TASKLANE_API_ACCESS_KEY / TASKLANE_API_SECRET_KEY, else ClearML's
   * names, else the SDK config file): the agent logs in with it, and hands it to the tasks it runs. @default none
   */
  keyPair?: KeyPair | undefined;
}

/** Settings given on the command line (text, as parsed), above the environment. */
export interface AgentConfigInput {
  apiUrl?: string;
  filesUrl?: string;
  queues?: string[];
  workdir?: string;
  workerName?: string;
  /** Seconds, as text or a number. */
  pollIntervalSec?: string | number;
  createQueues?: boolean;
  keepWorkingCopies?: boolean;
  logLevel?: string;
}

const ENV_KEYS = {
  TASKLANE_API_URL: 'apiUrl',
  TASKLANE_API_HOST: 'apiUrl',
  TASKLANE_FILES_HOST: 'filesUrl',
  TASKLANE_AGENT_QUEUES: 'queues',
  TASKLANE_AGENT_WORKDIR: 'workdir',
  TASKLANE_AGENT_NAME: 'workerName',
  TASKLANE_AGENT_POLL_INTERVAL_SEC: 'pollIntervalSec',
  TASKLANE_AGENT_LOG_LEVEL: 'logLevel',
} as const satisfies Record<string, keyof AgentConfigInput>;

/** Environment variables of the agent's key pair (as the SDK reads them; ClearML's names below Tasklane's). */
export const AGENT_CREDENTIAL_ENV_VARS = ['TASKLANE_API_ACCESS_KEY', 'TASKLANE_API_SECRET_KEY', 'CLEARML_API_ACCESS_KEY', 'CLEARML_API_SECRET_KEY'];

/** Environment variables the agent reads. */
export const AGENT_ENV_VARS = [...Object.keys(ENV_KEYS), ...AGENT_CREDENTIAL_ENV_VARS];

function fail(source: string, message: string): never {
  throw new TasklaneError('INVALID_INPUT', `${source}: ${message}`);
}

function parseUrl(source: string, text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    return text.replace(/\/+$/, '');
  } catch {
    return fail(source, `expected an http:// or https:// URL, got "${text}"`);
  }
}

/**
 * Loads the agent's settings: defaults < `TASKLANE_*` environment < command-line flags. Fails naming the source of
 * a bad value (`--poll-interval: expected a number of seconds > 0, got "soon"`).
 */
export function loadAgentConfig(env: NodeJS.ProcessEnv, overrides: AgentConfigInput = {}, flagNames: Partial<Record<keyof AgentConfigInput, string>> = {}): AgentConfig {
  const merged: AgentConfigInput = {};
  const sources: Partial<Record<keyof AgentConfigInput, string>> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    (merged as Record<string, unknown>)[key] = key === 'queues' ? value.split(',').map((q) => q.trim()).filter(Boolean) : value;
    sources[key] = name;
  }
  for (const [key, value] of Object.entries(overrides) as [keyof AgentConfigInput, unknown][]) {
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    (merged as Record<string, unknown>)[key] = value;
    sources[key] = flagNames[key] ?? key;
  }
  const source = (key: keyof AgentConfigInput) => sources[key] ?? key;

  const apiUrl = parseUrl(source('apiUrl'), merged.apiUrl ?? 'http://127.0.0.1:8008');
  const filesUrl = merged.filesUrl ? parseUrl(source('filesUrl'), merged.filesUrl) : `${apiUrl}/files`;
  const pollText = merged.pollIntervalSec ?? 2;
  const pollSec = Number(pollText);
  if (String(pollText).trim() === '' || !Number.isFinite(pollSec) || pollSec <= 0) {
    fail(source('pollIntervalSec'), `expected a number of seconds > 0, got "${String(pollText)}"`);
  }
  const logLevel = (merged.logLevel ?? 'info').toLowerCase();
  if (!(AGENT_LOG_LEVELS as readonly string[]).includes(logLevel)) {
    fail(source('logLevel'), `expected one of ${AGENT_LOG_LEVELS.join(', ')}, got "${merged.logLevel}"`);
  }
  const queues = merged.queues ?? ['default'];
  const emptyQueue = queues.find((q) => q.trim() === '');
  if (emptyQueue !== undefined) fail(source('queues'), 'a queue name cannot be empty');
  const workerName = merged.workerName?.trim();
  if (merged.workerName !== undefined && !workerName) fail(source('workerName'), 'a worker name cannot be empty');
  return Object.freeze({
    apiUrl,
    filesUrl,
    queues: [...new Set(queues.map((q) => q.trim()))],
    workdir: resolve(merged.workdir ?? join(homedir(), '.tasklane', 'agent')),
    workerName,
    pollIntervalMs: Math.round(pollSec * 1000),
    reportIntervalMs: 5000,
    createQueues: merged.createQueues ?? false,
    keepWorkingCopies: merged.keepWorkingCopies ?? false,
    logLevel: logLevel as AgentLogLevel,
    keyPair: loadKeyPair(env),
  });
}
