import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TasklaneError, findJsonHazard } from '@tasklane/protocol';
import type { FilesLocation } from './storage/file-store.js';
import { redactDatabaseUrl } from './storage/postgres/pool.js';
import { normalizeStorageFolder } from './storage/safe-path.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A list setting: a JSON list (config file) or comma-separated text (environment, command line). */
const NameList = z.preprocess(
  (value) => (typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item.length > 0) : value),
  z.array(z.string().min(1).max(253)).max(100),
);

/** A yes/no setting: a JSON boolean (config file) or text (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`). */
const YesNo = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  return ['1', 'true', 'yes', 'on'].includes(text) ? true : ['0', 'false', 'no', 'off'].includes(text) ? false : value;
}, z.boolean());

/** Longest key prefix of a files bucket, in UTF-8 bytes: S3 keys take 1,024 bytes in all, the rest is for the keys. */
const MAX_FILES_PREFIX_BYTES = 512;

/**
 * Where `--files-url` puts the server's files: `s3://bucket/prefix` (the prefix may be empty), `file:///abs/path` or
 * a path (relative to the working folder); a string saying what is wrong otherwise.
 */
function parseFilesUrl(url: string): Omit<Extract<FilesLocation, { kind: 's3' }>, 'endpoint' | 'forcePathStyle'> | { kind: 'folder'; dir: string } | string {
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(bucket)) return `"${bucket}" is not a valid S3 bucket name (s3://bucket/prefix)`;
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    let normalized: string;
    try {
      normalized = normalizeStorageFolder(prefix, { maxKeyBytes: MAX_FILES_PREFIX_BYTES });
    } catch (error) {
      return `the prefix is not usable: ${(error as Error).message.replace(/^Invalid file path /, '')}`;
    }
    if (normalized !== prefix) return `write the prefix as "${normalized}" (no empty, "." or backslash-separated parts)`;
    return { kind: 's3', bucket, prefix };
  }
  if (/^file:/i.test(url)) {
    try {
      return { kind: 'folder', dir: fileURLToPath(url) };
    } catch (error) {
      return `not a file:// URL of a folder on this machine (${(error as Error).message})`;
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return 'expected s3://bucket/prefix, file:///abs/path or a folder path';
  return { kind: 'folder', dir: resolve(url) };
}

/** An address or network a trusted proxy has, as proxy-addr (Fastify's trustProxy) reads it. */
function isProxyAddress(value: string): boolean {
  if (value === 'loopback' || value === 'linklocal' || value === 'uniquelocal') return true;
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = value.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Every setting of the server, with its default. */
export const ServerConfigSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.coerce.number().int().min(0).max(65_535).default(8008),
  dataDir: z.string().min(1).default('.tasklane'),
  /**
   * `sqlite://<file>` (defaults to `<dataDir>/tasklane.sqlite`) or `postgres://user:password@host:5432/database`
   * (also `postgresql://`; libpq's `?sslmode=` and friends pass through to the driver).
   */
  dbUrl: z
    .string()
    .regex(
      /^(?:sqlite:\/\/.+|postgres(?:ql)?:\/\/[^\s]+)$/,
      'expected sqlite://<file> (sqlite:///abs/path.sqlite or sqlite://relative.sqlite) or postgres://user:password@host:5432/database',
    )
    .optional(),
  /** PostgreSQL only: connections this process's pool opens at most. */
  dbPoolSize: z.coerce.number().int().min(1).max(1000).default(10),
  /** A running task with no ping, progress or event for this long is aborted. ClearML's default: two hours. */
  watchdogTimeoutSec: z.coerce.number().positive().default(7200),
  /** How often the watchdog looks. */
  watchdogIntervalSec: z.coerce.number().positive().default(900),
  /** A worker that has not reported for its timeout is gone; this is the default timeout. */
  workerTimeoutSec: z.coerce.number().int().positive().default(600),
  /**
   * Host names (the `Host` header) the server answers for besides its own: `localhost`, IP addresses and, when it
   * listens on every address, this machine's host name are always accepted. `name`, `name:port`, `*.example.com`,
   * or `*` for any (not recommended: it reopens DNS rebinding). Other hosts get 403.
   */
  allowedHosts: NameList.default([]),
  /**
   * Web origins (`https://app.example.com`, `https://*.example.com`, `*` for any) whose pages may call the API
   * from a browser, besides the server's own web UI. Requests carrying any other `Origin` get 403.
   */
  corsAllowedOrigins: NameList.default([]),
  /**
   * Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` / `X-Forwarded-Host` the server believes: their
   * addresses or networks (`10.0.0.5`, `10.0.0.0/8`, `::1`, or `loopback`, `linklocal`, `uniquelocal`). Behind a
   * proxy, without this every client has the proxy's address (one sign-in rate limit for all) and plain http. None by
   * default: a client's own forwarding headers are ignored.
   */
  trustProxy: NameList.pipe(
    z.array(
      z.string().refine(isProxyAddress, 'expected IP addresses or networks (10.0.0.5, 10.0.0.0/8, ::1/128) or loopback, linklocal, uniquelocal'),
    ),
  ).default([]),
  /** Largest request body the API accepts (ClearML's SDK cuts its batches at 15 MiB). @default 16 MiB */
  maxRequestBytes: z.coerce.number().int().positive().default(16 * 1024 * 1024),
  /** A client must send its request headers within this time. */
  headersTimeoutSec: z.coerce.number().positive().default(20),
  /** A client must send an API request body (not a file upload) within this time. */
  bodyTimeoutSec: z.coerce.number().positive().default(60),
  /** A connection on which nothing arrives or leaves for this long is closed (uploads and downloads included). */
  idleTimeoutSec: z.coerce.number().positive().default(60),
  /**
   * Debug samples (images, media) kept per task, metric and variant: the last this many iterations; older ones are
   * deleted as new ones arrive. ClearML leaves this to the client (its SDK's history size); the server enforces it.
   */
  debugSampleHistory: z.coerce.number().int().min(1).default(100),
  /** Largest file the built-in file server accepts. @default 10 GiB */
  maxFileBytes: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  /**
   * Whether requests need credentials. `auto`: off only when the server listens on loopback alone and has no users,
   * on otherwise. A non-loopback address with auth off, or auth on with no user, refuses to start.
   */
  auth: z.enum(['on', 'off', 'auto']).default('auto'),
  /**
   * The secret that signs tokens (at least 32 characters). By default the database keeps one (made on first start),
   * which every server process on it shares; set this to sign with your own instead (the same on every process).
   */
  authSecret: z.string().min(32, 'use at least 32 characters (e.g. `openssl rand -hex 32`)').optional(),
  /** How long a token from auth.login lasts; clients log in again before it ends. @default one day */
  tokenLifetimeSec: z.coerce.number().int().min(60).default(24 * 3600),
  /** How long a web sign-in lasts without the UI open (the UI renews it while open). @default 12 hours */
  sessionLifetimeSec: z.coerce.number().int().min(60).default(12 * 3600),
  /**
   * Where the server's own files go (uploads to `/files`, debug samples): `s3://bucket/prefix` for a bucket of S3 or
   * an S3-compatible server (several server processes then serve the same files), `file:///abs/path` or a path for
   * a folder. @default `<dataDir>/files`
   */
  filesUrl: z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const parsed = parseFilesUrl(value);
      if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
    })
    .optional(),
  /** Endpoint of an S3-compatible server for an `s3://` files URL (MinIO, Ceph, ...); AWS S3 itself by default. */
  s3Endpoint: z
    .string()
    .regex(/^https?:\/\/[^/]/i, 'expected an http:// or https:// URL')
    .url('expected an http:// or https:// URL')
    .optional(),
  /** Path-style bucket addressing, as most S3-compatible servers need. @default true with an endpoint, else false */
  s3ForcePathStyle: YesNo.optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Folder of the built web UI (`index.html` and assets) served at `/`; without it `/` shows a short landing page. */
  webDir: z.string().min(1).optional(),
});
export type ServerConfigInput = z.input<typeof ServerConfigSchema>;

/** The resolved configuration: frozen, with the database file and where files go worked out. */
export type ServerConfig = Readonly<
  Omit<z.output<typeof ServerConfigSchema>, 'dbUrl' | 'filesUrl' | 's3ForcePathStyle'> & {
    dbUrl: string;
    /** The SQLite database file (`:memory:` for one in memory); undefined on PostgreSQL. */
    dbFile: string | undefined;
    /** The database as it may be shown in logs and messages: the file, or the URL with its password hidden. */
    dbDescription: string;
    /** Where the files go: `s3://bucket/prefix`, or the folder's absolute path. */
    filesUrl: string;
    files: FilesLocation;
  }
>;

const ENV_KEYS: Record<string, keyof ServerConfigInput> = {
  TASKLANE_HOST: 'host',
  TASKLANE_PORT: 'port',
  TASKLANE_DATA_DIR: 'dataDir',
  TASKLANE_DB_URL: 'dbUrl',
  TASKLANE_DB_POOL_SIZE: 'dbPoolSize',
  TASKLANE_WATCHDOG_TIMEOUT_SEC: 'watchdogTimeoutSec',
  TASKLANE_WATCHDOG_INTERVAL_SEC: 'watchdogIntervalSec',
  TASKLANE_WORKER_TIMEOUT_SEC: 'workerTimeoutSec',
  TASKLANE_ALLOWED_HOSTS: 'allowedHosts',
  TASKLANE_CORS_ALLOWED_ORIGINS: 'corsAllowedOrigins',
  TASKLANE_TRUST_PROXY: 'trustProxy',
  TASKLANE_MAX_REQUEST_BYTES: 'maxRequestBytes',
  TASKLANE_HEADERS_TIMEOUT_SEC: 'headersTimeoutSec',
  TASKLANE_BODY_TIMEOUT_SEC: 'bodyTimeoutSec',
  TASKLANE_IDLE_TIMEOUT_SEC: 'idleTimeoutSec',
  TASKLANE_DEBUG_SAMPLE_HISTORY: 'debugSampleHistory',
  TASKLANE_MAX_FILE_BYTES: 'maxFileBytes',
  TASKLANE_AUTH: 'auth',
  TASKLANE_AUTH_SECRET: 'authSecret',
  TASKLANE_TOKEN_LIFETIME_SEC: 'tokenLifetimeSec',
  TASKLANE_SESSION_LIFETIME_SEC: 'sessionLifetimeSec',
  TASKLANE_FILES_URL: 'filesUrl',
  TASKLANE_S3_ENDPOINT: 's3Endpoint',
  TASKLANE_S3_FORCE_PATH_STYLE: 's3ForcePathStyle',
  TASKLANE_LOG_LEVEL: 'logLevel',
  TASKLANE_WEB_DIR: 'webDir',
};

/** The AWS SDK's own names for an S3 endpoint, below TASKLANE_S3_ENDPOINT (as the SDK takes them). */
const AWS_ENDPOINT_VARS = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] as const;

/** Environment variables the server reads, for `--help`. */
export const SERVER_ENV_VARS = Object.keys(ENV_KEYS).concat('TASKLANE_CONFIG', ...AWS_ENDPOINT_VARS);

/**
 * Loads the server configuration: defaults < config file (JSON, `TASKLANE_CONFIG` or `configFile`) <
 * `TASKLANE_*` environment < overrides (CLI flags). Fails naming the source of a bad value.
 */
export function loadServerConfig(
  env: Record<string, string | undefined> = {},
  overrides: ServerConfigInput = {},
  configFile = env.TASKLANE_CONFIG,
): ServerConfig {
  const layers: [string, Record<string, unknown>][] = [];
  // The AWS SDK's endpoint variables sit lowest, below the config file and TASKLANE_S3_ENDPOINT, as in the SDK.
  const awsEndpointVar = AWS_ENDPOINT_VARS.find((name) => env[name] !== undefined && env[name] !== '');
  if (awsEndpointVar !== undefined) layers.push([awsEndpointVar, { s3Endpoint: env[awsEndpointVar] }]);
  if (configFile) layers.push([configFile, readConfigFile(configFile)]);
  const fromEnv: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  layers.push(['environment', fromEnv]);
  layers.push(['options', stripUndefined(overrides)]);

  const merged: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const sourceOf: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [source, layer] of layers) {
    for (const [key, value] of Object.entries(layer)) {
      merged[key] = value;
      sourceOf[key] = source === 'environment' ? envNameOf(key) : source;
    }
  }
  const parsed = ServerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      const source = sourceOf[key] ?? 'defaults';
      const got =
        key === 'authSecret'
          ? `${String(merged[key]).length} characters`
          : JSON.stringify(key === 'dbUrl' && typeof merged[key] === 'string' ? redactDatabaseUrl(merged[key]) : merged[key]);
      return `${source === 'options' ? `--${kebab(key)}` : `${source} (${key})`}: ${issue.message}, got ${got}`;
    });
    throw new TasklaneError('INVALID_INPUT', `Invalid server configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  const dataDir = resolve(config.dataDir);
  const dbUrl = config.dbUrl ?? `sqlite://${join(dataDir, 'tasklane.sqlite')}`;
  const dbPath = dbUrl.startsWith('sqlite://') ? dbUrl.slice('sqlite://'.length) : undefined;
  const dbFile = dbPath === undefined || dbPath === ':memory:' ? dbPath : resolve(dbPath);
  const { s3ForcePathStyle, filesUrl, ...rest } = config;
  const where = filesUrl === undefined ? { kind: 'folder' as const, dir: join(dataDir, 'files') } : parseFilesUrl(filesUrl);
  // Checked by the schema: a string is a refusal, which cannot reach here.
  if (typeof where === 'string') throw new TasklaneError('INTERNAL', `files URL: ${where}`);
  const files: FilesLocation =
    where.kind === 'folder'
      ? where
      : { ...where, ...(config.s3Endpoint !== undefined ? { endpoint: config.s3Endpoint } : {}), forcePathStyle: s3ForcePathStyle ?? config.s3Endpoint !== undefined };
  return Object.freeze({
    ...rest,
    dataDir,
    dbUrl,
    dbFile,
    dbDescription: dbFile ?? redactDatabaseUrl(dbUrl),
    filesUrl: files.kind === 'folder' ? files.dir : `s3://${files.bucket}/${files.prefix}`,
    files: Object.freeze(files),
  });
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new TasklaneError('INVALID_INPUT', `Cannot read the config file ${file}: ${(cause as Error).message}`, {}, { cause });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
    const hazard = findJsonHazard(value, 'config');
    if (hazard) throw new Error(`${hazard.path}: ${hazard.problem}`);
    return value as Record<string, unknown>;
  } catch (cause) {
    throw new TasklaneError('INVALID_INPUT', `Config file ${file} is not valid: ${(cause as Error).message}`, {}, { cause });
  }
}

function stripUndefined(input: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

function envNameOf(key: string): string {
  return Object.entries(ENV_KEYS).find(([, k]) => k === key)?.[0] ?? key;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
