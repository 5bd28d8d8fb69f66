import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TasklaneError, findJsonHazard } from '@tasklane/protocol';
import type { KeyPair } from './client/token-manager.js';

/** Settings of the SDK, with their defaults. */
export const SdkConfigSchema = z.object({
  /** The API server. @default http://127.0.0.1:8008 */
  apiHost: z.string().url().default('http://127.0.0.1:8008'),
  /** The web UI, for links to tasks. @default the API host */
  webHost: z.string().url().optional(),
  /** The file server for artifacts and debug samples. @default the API host + `/files` */
  filesHost: z.string().url().optional(),
  /**
   * The key pair (from `tasklane credentials create`): the SDK logs in with it once and sends the token it gets. A
   * server with auth off needs none. @default `CLEARML_API_ACCESS_KEY` / `CLEARML_API_SECRET_KEY` when set
   */
  accessKey: z.string().optional(),
  secretKey: z.string().optional(),
  /**
   * Record to an offline session folder instead of a server (import it later with `tasklane import-offline`).
   * `Task.setOffline()` overrides it. @default false
   */
  offlineMode: z.coerce.boolean().default(false),
  /** Where offline sessions are written, one folder (and zip) per run. @default `<stateDir>/offline` */
  offlineDir: z.string().min(1).optional(),
  /** Reuse the last task of the same project and name when it is younger than this. @default 72 */
  taskReuseWindowHours: z.coerce.number().nonnegative().default(72),
  /** Never reuse tasks. */
  noReuse: z.coerce.boolean().default(false),
  /** How often a running task pings the server. @default 30000 */
  pingIntervalMs: z.coerce.number().int().positive().default(30_000),
  /** How often resources (CPU, memory, GPU) are sampled. @default 30000 */
  monitorIntervalMs: z.coerce.number().int().positive().default(30_000),
  /** How often reported events are sent. @default 2000 */
  flushIntervalMs: z.coerce.number().int().positive().default(2_000),
  /** Debug-sample files kept per title/series; older ones are overwritten (ClearML's history size). @default 100 */
  debugSampleHistory: z.coerce.number().int().positive().default(100),
  /** Where the SDK keeps its state (last tasks for reuse) and its download cache (`<stateDir>/cache`). @default ~/.config/tasklane */
  stateDir: z.string().min(1).optional(),
  /**
   * Size bound of the download cache (`StorageManager.getLocalCopy`); the least recently used copies are removed past
   * it. @default 10 GiB
   */
  cacheMaxBytes: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  /**
   * Endpoint of an S3-compatible server for `s3://` URLs (MinIO, Ceph, ...). @default `AWS_ENDPOINT_URL_S3`, else
   * `AWS_ENDPOINT_URL`, else AWS itself
   */
  s3Endpoint: z.string().url().optional(),
  /** Address buckets as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint>`. @default true with a custom endpoint, else false */
  s3ForcePathStyle: z.coerce.boolean().optional(),
});
export type SdkConfig = z.output<typeof SdkConfigSchema> & {
  webHost: string;
  filesHost: string;
  stateDir: string;
  offlineDir: string;
  s3ForcePathStyle: boolean;
  configFile: string;
  /** Where `accessKey` and `secretKey` were set (an environment variable, or the key in the config file), for errors. */
  accessKeySource?: string | undefined;
  secretKeySource?: string | undefined;
};

const ENV_KEYS: Record<string, keyof z.input<typeof SdkConfigSchema>> = {
  TASKLANE_API_HOST: 'apiHost',
  TASKLANE_WEB_HOST: 'webHost',
  TASKLANE_FILES_HOST: 'filesHost',
  TASKLANE_API_ACCESS_KEY: 'accessKey',
  TASKLANE_API_SECRET_KEY: 'secretKey',
  TASKLANE_OFFLINE_MODE: 'offlineMode',
  TASKLANE_OFFLINE_DIR: 'offlineDir',
  TASKLANE_TASK_REUSE_HOURS: 'taskReuseWindowHours',
  TASKLANE_TASK_NO_REUSE: 'noReuse',
  TASKLANE_PING_INTERVAL_MS: 'pingIntervalMs',
  TASKLANE_MONITOR_INTERVAL_MS: 'monitorIntervalMs',
  TASKLANE_FLUSH_INTERVAL_MS: 'flushIntervalMs',
  TASKLANE_STATE_DIR: 'stateDir',
  TASKLANE_DEBUG_SAMPLE_HISTORY: 'debugSampleHistory',
  TASKLANE_CACHE_MAX_BYTES: 'cacheMaxBytes',
  TASKLANE_S3_ENDPOINT: 's3Endpoint',
  TASKLANE_S3_FORCE_PATH_STYLE: 's3ForcePathStyle',
};

/** ClearML's names of the key pair, read when Tasklane's are not set (the same keys work with both). */
const CLEARML_CREDENTIAL_KEYS = { accessKey: 'CLEARML_API_ACCESS_KEY', secretKey: 'CLEARML_API_SECRET_KEY' } as const;
const TASKLANE_CREDENTIAL_KEYS = { accessKey: 'TASKLANE_API_ACCESS_KEY', secretKey: 'TASKLANE_API_SECRET_KEY' } as const;

/** Environment variables the SDK reads (besides TASKLANE_TASK_ID and TASKLANE_CONFIG_FILE). */
export const SDK_ENV_VARS = [...Object.keys(ENV_KEYS), ...Object.values(CLEARML_CREDENTIAL_KEYS)];

function defaultConfigDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tasklane');
}

function parseBooleanText(value: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  return value;
}

/** The config file's path and content (empty when the default file does not exist). */
function readConfigFile(env: NodeJS.ProcessEnv): { configFile: string; fromFile: Record<string, unknown> } {
  const configFile = env.TASKLANE_CONFIG_FILE || join(defaultConfigDir(env), 'config.json');
  let fromFile: Record<string, unknown> = {};
  try {
    fromFile = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const hazard = findJsonHazard(fromFile, 'config');
    if (hazard) throw new Error(`${hazard.path}: ${hazard.problem}`);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || env.TASKLANE_CONFIG_FILE) {
      throw new TasklaneError('INVALID_INPUT', `Cannot read the Tasklane config file ${configFile}: ${(error as Error).message}`);
    }
  }
  return { configFile, fromFile };
}

type Credentials = Partial<Pick<KeyPair, 'accessKey' | 'secretKey' | 'accessKeySource' | 'secretKeySource'>>;

/**
 * The key pair and where each half came from: `TASKLANE_API_*_KEY`, else `CLEARML_API_*_KEY`, else the config file
 * (empty values count as unset). Half a pair is refused, naming what is set and what is missing.
 */
function resolveCredentials(env: NodeJS.ProcessEnv, fromFile: Record<string, unknown>, configFile: string): Credentials {
  const found: Credentials = {};
  for (const key of ['accessKey', 'secretKey'] as const) {
    const names = [TASKLANE_CREDENTIAL_KEYS[key], CLEARML_CREDENTIAL_KEYS[key]];
    const name = names.find((n) => (env[n] ?? '') !== '');
    const fileValue = fromFile[key];
    if (name !== undefined) {
      found[key] = env[name]!;
      found[`${key}Source` as const] = name;
    } else if (typeof fileValue === 'string' && fileValue !== '') {
      found[key] = fileValue;
      found[`${key}Source` as const] = `${key} in ${configFile}`;
    } else if (fileValue !== undefined && typeof fileValue !== 'string') {
      throw new TasklaneError('INVALID_INPUT', `Invalid Tasklane SDK settings: ${configFile} (${key}): expected a string`);
    }
  }
  const missing = found.accessKey === undefined ? 'accessKey' : found.secretKey === undefined ? 'secretKey' : undefined;
  if (missing !== undefined && (found.accessKey ?? found.secretKey) !== undefined) {
    const present = missing === 'accessKey' ? found.secretKeySource : found.accessKeySource;
    throw new TasklaneError(
      'INVALID_INPUT',
      `Half a key pair: ${present} is set, but no ${missing === 'accessKey' ? 'access' : 'secret'} key is. Set ` +
        `${TASKLANE_CREDENTIAL_KEYS[missing]} too (or ${missing} in ${configFile}); \`tasklane credentials create --user NAME\` makes a pair.`,
    );
  }
  return found;
}

/**
 * The key pair the SDK would use, from the same places as {@link loadSdkConfig} (`TASKLANE_API_ACCESS_KEY` /
 * `TASKLANE_API_SECRET_KEY`, else ClearML's `CLEARML_API_*`, else the config file), without reading the other
 * settings; undefined when none is configured. The agent and the CLI use it for their own requests.
 */
export function loadKeyPair(env: NodeJS.ProcessEnv = process.env): KeyPair | undefined {
  const { configFile, fromFile } = readConfigFile(env);
  return keyPairOf(resolveCredentials(env, fromFile, configFile));
}

/** The key pair of resolved settings, or undefined when they hold none. @internal */
export function keyPairOf(config: Credentials): KeyPair | undefined {
  if (!config.accessKey || !config.secretKey) return undefined;
  return { accessKey: config.accessKey, secretKey: config.secretKey, accessKeySource: config.accessKeySource, secretKeySource: config.secretKeySource };
}

/**
 * Loads the SDK settings: defaults < config file (`TASKLANE_CONFIG_FILE`, else `~/.config/tasklane/config.json`,
 * JSON with the camelCase keys above) < `TASKLANE_*` environment variables. The key pair may also come from ClearML's
 * `CLEARML_API_ACCESS_KEY` / `CLEARML_API_SECRET_KEY` (below Tasklane's variables, above the file).
 */
export function loadSdkConfig(env: NodeJS.ProcessEnv = process.env): SdkConfig {
  const { configFile, fromFile } = readConfigFile(env);
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined) continue;
    fromEnv[key] = key === 'offlineMode' || key === 'noReuse' || key === 's3ForcePathStyle' ? parseBooleanText(value) : value;
  }
  // The AWS SDK's own names for a custom S3 endpoint, below Tasklane's setting (file or TASKLANE_S3_ENDPOINT).
  const awsEndpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (awsEndpoint && fromEnv.s3Endpoint === undefined && fromFile.s3Endpoint === undefined) fromEnv.s3Endpoint = awsEndpoint;
  // The key pair is read apart (ClearML's names too, empty values as unset); the schema only checks its type.
  delete fromEnv.accessKey;
  delete fromEnv.secretKey;
  const parsed = SdkConfigSchema.safeParse({ ...fromFile, ...fromEnv });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      const source =
        key === 's3Endpoint' && fromEnv.s3Endpoint !== undefined && env.TASKLANE_S3_ENDPOINT === undefined
          ? (env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL')
          : key in fromEnv
            ? Object.keys(ENV_KEYS).find((n) => ENV_KEYS[n] === key)
            : `${configFile} (${key})`;
      return `${source}: ${issue.message}`;
    });
    throw new TasklaneError('INVALID_INPUT', `Invalid Tasklane SDK settings: ${problems.join('; ')}`);
  }
  const credentials = resolveCredentials(env, fromFile, configFile);
  const config = { ...parsed.data, accessKey: credentials.accessKey, secretKey: credentials.secretKey };
  const apiHost = config.apiHost.replace(/\/+$/, '');
  const stateDir = config.stateDir ?? defaultConfigDir(env);
  return {
    ...config,
    apiHost,
    webHost: (config.webHost ?? apiHost).replace(/\/+$/, ''),
    filesHost: (config.filesHost ?? `${apiHost}/files`).replace(/\/+$/, ''),
    stateDir,
    offlineDir: resolve(config.offlineDir ?? join(stateDir, 'offline')),
    s3ForcePathStyle: config.s3ForcePathStyle ?? config.s3Endpoint !== undefined,
    configFile,
    accessKeySource: credentials.accessKeySource,
    secretKeySource: credentials.secretKeySource,
  };
}
