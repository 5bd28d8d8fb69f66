import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { TasklaneError } from '@tasklane/protocol';
import type { Database } from '../sql/schema.js';

export interface PostgresPoolOptions {
  /**
   * Connections the pool opens at most (each server process has its own pool).
   * @default 10
   */
  maxConnections?: number;
  /**
   * How the connections name themselves (`pg_stat_activity.application_name`) unless the URL sets `application_name`.
   * @default 'tasklane-server'
   */
  applicationName?: string;
  /**
   * How long `connectPostgres` keeps trying to reach the database at start (a database starting beside the server
   * refuses connections for a while).
   * @default 15_000
   */
  connectTimeoutMs?: number;
  /**
   * How long a request waits for a connection (or to open one) while running before it fails: a database lost while
   * the server runs fails requests rather than holding them.
   * @default 5_000
   */
  acquireTimeoutMs?: number;
  /** An idle connection broke (the database restarted, a proxy cut it): the pool drops it and opens new ones later. */
  onIdleError?: (error: Error) => void;
}

/** The default pool size. */
export const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const DEFAULT_ACQUIRE_TIMEOUT_MS = 5_000;

const { builtins } = pg.types;
const asText = (value: string) => value;
const asNumber = (value: string) => Number(value);

/**
 * How column values come back. Documents (`json`, `jsonb`) stay JSON text, as SQLite answers them, so the repositories
 * parse them the same way on both stores (sql/schema.ts). `bigint` (int8) and `numeric` become numbers, as SQLite's
 * integers and aggregates are: our bigints (iterations, epoch milliseconds, counts, row ids) are all safe integers
 * (they came from JavaScript numbers), and `numeric` appears only as what SUM and AVG of integers answer.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format === undefined || format === 'text') {
      if (oid === builtins.JSON || oid === builtins.JSONB) return asText;
      if (oid === builtins.INT8 || oid === builtins.NUMERIC) return asNumber;
    }
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * Connection settings of a `postgres://` URL. The URL is passed to `pg` whole, so libpq's options in its query string
 * reach it: `sslmode` (see pg's notes on how its `require` differs from libpq's, and `uselibpqcompat=true`),
 * `sslrootcert`, `sslcert`, `sslkey`, `application_name`, `options`.
 */
function clientConfig(url: string, options: PostgresPoolOptions): pg.ClientConfig {
  return {
    connectionString: url,
    fallback_application_name: options.applicationName ?? 'tasklane-server',
    types: TYPES,
    keepAlive: true,
  };
}

/** The URL as it may be shown: the password (in the user part or a `password=` parameter) as `***`. */
export function redactDatabaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url.replace(/\/\/([^:/?#@]*):[^@/?#]*@/, '//$1:***@').replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
  }
  if (parsed.password !== '') parsed.password = '***';
  for (const key of [...parsed.searchParams.keys()]) {
    if (/^(ssl)?password$/i.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.toString().replaceAll('%2A%2A%2A', '***');
}

/** A pool over the database of a `postgres://` URL (connections open on first use). */
export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    ...clientConfig(url, options),
    max: options.maxConnections ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
  });
  // Without a listener, an idle connection's error would end the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  // The pool listens to a connection only while it is idle. A connection lent to a unit of work that breaks between
  // two of its queries (the database restarted while the service computed) emits 'error' too, and an 'error' nobody
  // listens to ends the process. Its next query fails with the cause anyway, and the pool drops it when it comes back.
  pool.on('connect', (client) => client.on('error', ignoreLentConnectionError));
  return pool;
}

function ignoreLentConnectionError(): void {
  // reported by the connection's next query (see createPostgresPool)
}

/** A pool and the Kysely over it; `db.destroy()` ends the pool. */
export interface PostgresConnection {
  pool: pg.Pool;
  db: Kysely<Database>;
}

/**
 * Reaches the database of `url` (trying again while it refuses or is starting up, up to `connectTimeoutMs`), then
 * answers a pool and the Kysely over it. Fails with a message that names the URL, password hidden, and the cause:
 * SERVER_UNREACHABLE when the database did not answer in time, INVALID_INPUT when the URL cannot work as it is (a
 * wrong password, a missing database, a TLS problem).
 */
export async function connectPostgres(url: string, options: PostgresPoolOptions = {}): Promise<PostgresConnection> {
  const shown = redactDatabaseUrl(url);
  let target: { host: string; port: string; user: string; database: string };
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') throw new Error(`the scheme is ${parsed.protocol}`);
    target = {
      host: parsed.hostname || 'localhost',
      port: parsed.port || '5432',
      user: decodeURIComponent(parsed.username),
      database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username),
    };
  } catch (cause) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `Not a PostgreSQL URL: ${shown} (${(cause as Error).message}); expected postgres://user:password@host:5432/database.`,
      { url: shown },
      { cause },
    );
  }
  // The driver's and the network's messages do not carry the password; this makes sure of it.
  const password = safeDecode(new URL(url).password);
  const hide = (text: string) => (password.length >= 3 ? text.replaceAll(password, '***') : text);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let earlier: ConnectFailure | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const remainingMs = Math.max(deadline - Date.now(), 1);
    const client = new pg.Client({ ...clientConfig(url, options), connectionTimeoutMillis: remainingMs, query_timeout: remainingMs });
    client.on('error', () => {}); // reported through connect() or query()
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      let cause = describeConnectError(error, target, timeoutMs);
      // The last attempt has only what is left of the time: its timeout says less than what failed before it.
      if (cause.isTimeout && earlier !== undefined) cause = earlier;
      earlier = cause;
      if (!cause.isTransient || Date.now() >= deadline) {
        const gaveUp = cause.isTransient ? `; gave up after ${seconds(timeoutMs)}` : '';
        throw new TasklaneError(
          cause.isTransient ? 'SERVER_UNREACHABLE' : 'INVALID_INPUT',
          hide(`Cannot connect to PostgreSQL at ${shown}: ${cause.text}${gaveUp}. ${cause.hint}`),
          { url: shown, cause: cause.code },
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(100 * attempt, 1_000, deadline - Date.now())));
    }
  }
  const pool = createPostgresPool(url, options);
  return { pool, db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }) };
}

/** `15 s`, `1.5 s`. */
function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

interface ConnectFailure {
  /** What went wrong, in words. */
  text: string;
  /** What to do about it. */
  hint: string;
  /** The driver's or the server's code. */
  code: string;
  /** Whether trying again may help (the database is starting, or busy). */
  isTransient: boolean;
  /** Whether the attempt ran out of time (rather than being told no). */
  isTimeout?: boolean;
}

/** Why a connection failed, from the error `pg` or the network gave. */
function describeConnectError(
  error: unknown,
  target: { host: string; port: string; user: string; database: string },
  timeoutMs: number,
): ConnectFailure {
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  const message = error instanceof Error ? error.message : String(error);
  const at = `${target.host}:${target.port}`;
  switch (code) {
    case 'ECONNREFUSED':
      return { code, isTransient: true, text: `connection refused (nothing listens at ${at})`, hint: 'Start the database, or fix the host and port in the URL.' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code, isTransient: true, text: `the host "${target.host}" is not known (${code})`, hint: 'Fix the host in the URL.' };
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ECONNRESET':
      return { code, isTransient: true, text: `${at} does not answer (${code})`, hint: 'Check that the database runs and that this machine can reach it (address, firewall).' };
    case '57P03': // cannot_connect_now: starting up or shutting down
    case '53300': // too_many_connections
      return { code, isTransient: true, text: message, hint: 'Wait for the database, or raise its max_connections.' };
    case '28P01': // invalid_password
      return { code, isTransient: false, text: `password authentication failed for user "${target.user}"`, hint: 'Fix the user or password in the URL.' };
    case '28000': // invalid_authorization_specification: no pg_hba.conf line, no such role
      return { code, isTransient: false, text: message, hint: "Fix the user in the URL, or let it in (the server's pg_hba.conf)." };
    case '3D000': // invalid_catalog_name
      return {
        code,
        isTransient: false,
        text: `the database "${target.database}" does not exist`,
        hint: `Create it (createdb -O ${target.user || 'USER'} ${target.database}) or fix the database name in the URL.`,
      };
    default:
      break;
  }
  if (/timeout|timed out/i.test(message)) {
    return { code: code || 'TIMEOUT', isTransient: true, isTimeout: true, text: `${at} does not answer within ${seconds(timeoutMs)}`, hint: 'Check that the database runs and that this machine can reach it (address, firewall).' };
  }
  if (/ssl|tls|certificate/i.test(message) || /^(ERR_TLS|ERR_SSL|CERT_|SELF_SIGNED|DEPTH_ZERO|UNABLE_TO)/.test(code)) {
    return { code: code || 'TLS', isTransient: false, text: `TLS failed: ${message}`, hint: 'Check sslmode and the certificate options (sslrootcert, sslcert, sslkey) in the URL.' };
  }
  return { code: code || 'UNKNOWN', isTransient: false, text: message, hint: 'Check the URL and the database server.' };
}
