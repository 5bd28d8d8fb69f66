/** Whether a database error is a unique-key violation (SQLite's constraint code, PostgreSQL's SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Why the database could not serve a request, in words for a log line and a message, and as a code for error_data. */
export interface DatabaseOutage {
  /** `connection_refused`, `connection_lost`, `shutting_down`, `starting_up`, `too_many_connections`, `no_answer`. */
  reason: string;
  /** What happened, e.g. `the connection broke (Connection terminated unexpectedly)`. */
  text: string;
}

/** Network failures of the driver's socket (Node's codes). */
const NETWORK_CODES: Readonly<Record<string, DatabaseOutage>> = {
  ECONNREFUSED: { reason: 'connection_refused', text: 'connection refused' },
  ECONNRESET: { reason: 'connection_lost', text: 'the connection to the database was reset' },
  EPIPE: { reason: 'connection_lost', text: 'the connection to the database broke' },
  ECONNABORTED: { reason: 'connection_lost', text: 'the connection to the database broke' },
  ETIMEDOUT: { reason: 'no_answer', text: 'the database did not answer in time' },
  EHOSTUNREACH: { reason: 'no_answer', text: 'the database host cannot be reached' },
  ENETUNREACH: { reason: 'no_answer', text: 'the database host cannot be reached' },
  EHOSTDOWN: { reason: 'no_answer', text: 'the database host cannot be reached' },
  ENOTFOUND: { reason: 'no_answer', text: 'the database host name does not resolve' },
  EAI_AGAIN: { reason: 'no_answer', text: 'the database host name does not resolve' },
};

/** SQLSTATEs of a server that is away or going away, rather than of a wrong statement. */
const SQLSTATES: Readonly<Record<string, { reason: DatabaseOutage['reason']; name: string }>> = {
  '57P01': { reason: 'shutting_down', name: 'admin_shutdown' },
  '57P02': { reason: 'shutting_down', name: 'crash_shutdown' },
  '57P03': { reason: 'starting_up', name: 'cannot_connect_now' },
  '57P05': { reason: 'connection_lost', name: 'idle_session_timeout' },
  '53300': { reason: 'too_many_connections', name: 'too_many_connections' },
};

/**
 * What `pg` and its pool say, without a code, when a connection is gone or none could be had. Matched on the start of
 * the message: these are the driver's own texts (pg 8, pg-pool 3), not the server's.
 */
const DRIVER_MESSAGES: readonly { start: string; reason: DatabaseOutage['reason'] }[] = [
  // A new connection that did not come up within the pool's wait (the pool ends it so).
  { start: 'Connection terminated due to connection timeout', reason: 'no_answer' },
  { start: 'Connection terminated', reason: 'connection_lost' }, // "... unexpectedly"
  { start: 'Client has encountered a connection error and is not queryable', reason: 'connection_lost' },
  { start: 'timeout exceeded when trying to connect', reason: 'no_answer' }, // the pool's acquire timeout
  { start: 'Connection refused', reason: 'connection_refused' },
];

/**
 * Whether an error says the database is away (PostgreSQL stopped, restarting, unreachable, out of connections, or the
 * pool found no connection in time) rather than that a statement was wrong: the cause of a 503, not a 500. Looks
 * through the error's `cause` chain (a service may have wrapped it). Answers undefined for any other error, SQLite's
 * included (an embedded file has no connection to lose).
 */
export function databaseOutageOf(error: unknown): DatabaseOutage | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string') {
      const network = NETWORK_CODES[code];
      if (network !== undefined) return { reason: network.reason, text: `${network.text} (${code})` };
      const state = SQLSTATES[code];
      if (state !== undefined) return { reason: state.reason, text: `${describe(state.reason)} (${code} ${state.name})` };
      // Class 08: connection exceptions (connection_failure, sqlclient_unable_to_establish_sqlconnection, ...).
      if (/^08[0-9A-Z]{3}$/.test(code)) return { reason: 'connection_lost', text: `${describe('connection_lost')} (${code} connection exception)` };
    }
    const driver = DRIVER_MESSAGES.find((known) => text.startsWith(known.start));
    if (driver !== undefined) return { reason: driver.reason, text: `${describe(driver.reason)} (${text})` };
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describe(reason: DatabaseOutage['reason']): string {
  switch (reason) {
    case 'connection_refused':
      return 'connection refused';
    case 'connection_lost':
      return 'the connection to the database broke';
    case 'shutting_down':
      return 'the database is shutting down';
    case 'starting_up':
      return 'the database is starting up or shutting down';
    case 'too_many_connections':
      return 'the database has no connection slot left';
    default:
      return 'the database did not answer in time';
  }
}

/**
 * Whether PostgreSQL refused a text it cannot store: the NUL character in a text column (22021
 * character_not_in_repertoire / invalid byte sequence) or `\u0000` in a jsonb one (22P05 untranslatable_character).
 * The API refuses NUL before any store sees it; this catches what reaches the store another way (a header).
 */
export function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '22021' || code === '22P05';
}
