import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TasklaneError, findJsonHazard } from '@tasklane/protocol';

/** Settings of the SDK, with their defaults. */
export const SdkConfigSchema = z.object({
  /** The API server. @default http://127.0.0.1:8008 */
  apiHost: z.string().url().default('http://127.0.0.1:8008'),
  /** The web UI, for links to tasks. @default the API host */
  webHost: z.string().url().optional(),
  /** The file server for artifacts and debug samples. @default the API host + `/files` */
  filesHost: z.string().url().optional(),
  /** Credentials (sent as HTTP Basic); the local server does not require them. */
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

/** Environment variables the SDK reads (besides TASKLANE_TASK_ID and TASKLANE_CONFIG_FILE). */
export const SDK_ENV_VARS = Object.keys(ENV_KEYS);

function defaultConfigDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'tasklane');
}

function parseBooleanText(value: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  return value;
}

/**
 * Loads the SDK settings: defaults < config file (`TASKLANE_CONFIG_FILE`, else `~/.config/tasklane/config.json`,
 * JSON with the camelCase keys above) < `TASKLANE_*` environment variables.
 */
export function loadSdkConfig(env: NodeJS.ProcessEnv = process.env): SdkConfig {
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
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value === undefined) continue;
    fromEnv[key] = key === 'offlineMode' || key === 'noReuse' || key === 's3ForcePathStyle' ? parseBooleanText(value) : value;
  }
  // The AWS SDK's own names for a custom S3 endpoint, below Tasklane's setting (file or TASKLANE_S3_ENDPOINT).
  const awsEndpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (awsEndpoint && fromEnv.s3Endpoint === undefined && fromFile.s3Endpoint === undefined) fromEnv.s3Endpoint = awsEndpoint;
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
  const config = parsed.data;
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
  };
}
