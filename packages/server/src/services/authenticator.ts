import { TasklaneError } from '@tasklane/protocol';
import type { CredentialRecord, Store, UserRecord, UserRepository } from '../storage/store.js';
import { FailureLimiter } from './failure-limiter.js';
import { secretDigest, verifySecret } from './secrets.js';
import { signToken, verifyToken, type TokenClaims, type TokenProblem } from './tokens.js';

/** Who a request is, once its credentials are checked. */
export interface Identity {
  user: UserRecord;
  /** The access key the request (or its token) stands for; `null` for a web sign-in session. */
  accessKey: string | null;
  /** How the request proved it: a key pair, a token in the header, or the web UI's session cookie. */
  via: 'basic' | 'bearer' | 'cookie';
  /** The web sign-in session the token belongs to (a password sign-in starts one); `null` otherwise. */
  sessionId: string | null;
}

export interface AuthenticatorOptions {
  store: Store;
  /** HMAC secret that signs tokens (the data dir's `auth-secret` or TASKLANE_AUTH_SECRET). */
  secret: string;
  /** Lifetime of a token from auth.login. */
  tokenLifetimeSec: number;
  /** Lifetime of a web sign-in session (renewed while the UI is open). */
  sessionLifetimeSec: number;
  now: () => Date;
  log: { info(details: object, message: string): void; warn(details: object, message: string): void };
}

/** Why a request is refused 401; the message says what to do. */
export type AuthFailure =
  | 'no_credentials'
  | 'bad_auth_type'
  | 'unknown_key'
  | 'wrong_secret'
  | 'revoked_key'
  | 'removed_user'
  | 'wrong_password'
  | 'invalid_token'
  | 'expired_token'
  | 'ended_session';

/** A 401 with the reason in `error_data.reason` (ClearML's subcode 20 is shared; the reason says which). */
export function unauthorized(reason: AuthFailure, message: string): TasklaneError {
  return new TasklaneError('UNAUTHORIZED', message, { reason });
}

const CREATE_KEY_HINT = 'create a key pair with `tasklane credentials create --user NAME` or on the web UI\'s profile page';

/** How long a verified key pair is remembered, so a client that sends it with every call is not hashed every time. */
const VERIFIED_FOR_MS = 10 * 60 * 1000;
/**
 * How long a key's or a user's state, read from the store, is trusted before it is read again. Revoking a key or
 * removing a user in another process (the CLI, another server process) therefore holds within this time; through this
 * process's own API at once. Without it each request paid a store transaction (half the throughput of a cheap
 * endpoint, bench/auth-overhead.mjs).
 */
export const AUTH_STATE_TTL_MS = 500;
/** last_used is written at most this often per key. */
const TOUCH_EVERY_MS = 60 * 1000;

/**
 * Checks credentials: key pairs (HTTP Basic), tokens (Bearer or the session cookie), passwords (web sign-in).
 * Every check reads the key and the user from the store (the same key's or user's state at most every
 * AUTH_STATE_TTL_MS), so a revocation or a removal holds within half a second in every process that shares the store,
 * and at once through this process's API. The slow hash runs outside any store transaction (on the thread pool);
 * a key pair verified once is remembered by a digest of its secret for a few minutes.
 */
export class Authenticator {
  private readonly verified = new Map<string, { digest: Buffer; until: number }>();
  private readonly touched = new Map<string, number>();
  private readonly tokens = new Map<string, TokenClaims>();
  private readonly recent = new Map<string, { until: number; value: Promise<unknown> }>();
  /** 10 failures per key or 50 per address in 15 minutes block it for the rest of the window. */
  readonly limiter = new FailureLimiter(15 * 60 * 1000, 10, 50, () => this.options.now().getTime());

  constructor(private readonly options: AuthenticatorOptions) {}

  private nowSec(): number {
    return Math.floor(this.options.now().getTime() / 1000);
  }

  /** Reads an `Authorization` header (or the session cookie's token when there is none). */
  async authenticate(authorization: string | undefined, cookieToken: string | undefined, address: string): Promise<Identity> {
    if (authorization === undefined || authorization.trim() === '') {
      if (cookieToken !== undefined) return this.checkToken(cookieToken, 'cookie');
      throw unauthorized('no_credentials', `This server requires credentials: send Authorization: Bearer <token> (from auth.login) or the key pair as HTTP Basic; ${CREATE_KEY_HINT}.`);
    }
    const space = authorization.indexOf(' ');
    const scheme = (space < 0 ? authorization : authorization.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : authorization.slice(space + 1).trim();
    if (scheme === 'bearer') return this.checkToken(value, 'bearer');
    if (scheme === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw unauthorized('bad_auth_type', 'HTTP Basic credentials must be ACCESS_KEY:SECRET_KEY, base64-encoded.');
      return this.checkKeyPair(decoded.slice(0, colon), decoded.slice(colon + 1), address);
    }
    throw unauthorized('bad_auth_type', `Authorization must be "Bearer <token>" or "Basic <base64 of access_key:secret_key>", got the "${scheme.slice(0, 20)}" scheme.`);
  }

  /** Checks a key pair; failures count towards the rate limit of the key and of the address. */
  async checkKeyPair(accessKey: string, secret: string, address: string): Promise<Identity> {
    const shownKey = accessKey.slice(0, 64);
    this.refuseIfBlocked(`key:${shownKey}`, address, `access key ${shownKey}`);
    const { credential, user } = await this.cached(`key:${accessKey}`, async (users) => {
      const found = await users.credential(accessKey);
      return { credential: found, user: found ? await users.byId(found.user_id) : undefined };
    });
    if (credential === undefined) {
      this.failed(`key:${shownKey}`, address, { access_key: shownKey, reason: 'unknown_key' });
      throw unauthorized('unknown_key', `Unknown access key ${JSON.stringify(shownKey)}: check the access key you configured, or ${CREATE_KEY_HINT}.`);
    }
    if (!(await this.secretMatches(credential, secret))) {
      this.failed(`key:${shownKey}`, address, { access_key: shownKey, user: user?.name, reason: 'wrong_secret' });
      throw unauthorized('wrong_secret', `The secret key does not match access key ${shownKey}: check the secret key you configured (it was shown once, when the key pair was made; make a new pair if it is lost).`);
    }
    this.limiter.succeed(`key:${shownKey}`);
    if (user === undefined) throw unauthorized('removed_user', `Access key ${shownKey} belonged to a user who was removed; ${CREATE_KEY_HINT}.`);
    if (credential.revoked !== null) throw unauthorized('revoked_key', `Access key ${shownKey} was revoked (${credential.revoked}); ${CREATE_KEY_HINT}.`);
    this.touch(accessKey);
    return { user, accessKey, via: 'basic', sessionId: null };
  }

  /** Checks a web sign-in; a wrong name and a wrong password get the same answer. */
  async checkPassword(name: string, password: string, address: string): Promise<Identity> {
    const key = `user:${name.toLowerCase().slice(0, 64)}`;
    this.refuseIfBlocked(key, address, `user ${JSON.stringify(name.slice(0, 64))}`);
    const user = await this.read((users) => users.byName(name));
    // An unknown name costs a hash too, so the answer's timing does not tell which names exist.
    const matches = await verifySecret(password, user?.password_hash ?? DUMMY_HASH);
    if (user === undefined || user.password_hash === null || !matches) {
      this.failed(key, address, { user: name.slice(0, 64), reason: 'wrong_password' });
      throw unauthorized('wrong_password', 'Wrong user name or password. An admin can set a new password with: tasklane users set-password NAME');
    }
    this.limiter.succeed(key);
    this.options.log.info({ user: user.name, address }, 'signed in to the web UI');
    return { user, accessKey: null, via: 'cookie', sessionId: null };
  }

  /** Checks a token's signature and expiry, and that its user and key still stand. */
  async checkToken(token: string, via: 'bearer' | 'cookie'): Promise<Identity> {
    const claims = this.verifiedClaims(token);
    const accessKey = typeof claims.tasklane_key === 'string' ? claims.tasklane_key : null;
    const sessionId = typeof claims.session_id === 'string' ? claims.session_id : null;
    const { user, credential, session } = await this.cached(`token:${claims.identity.user}:${accessKey ?? ''}:${sessionId ?? ''}`, async (users) => ({
      user: await users.byId(claims.identity.user),
      credential: accessKey === null ? undefined : await users.credential(accessKey),
      session: sessionId === null ? undefined : await users.session(sessionId),
    }));
    if (user === undefined) throw unauthorized('removed_user', `The token's user (${claims.identity.user_name}) was removed; ${CREATE_KEY_HINT}.`);
    if (accessKey !== null && (credential === undefined || credential.revoked !== null)) {
      throw unauthorized('revoked_key', `The token was issued for access key ${accessKey}, which was revoked; ${CREATE_KEY_HINT}.`);
    }
    if (sessionId !== null && (session === undefined || session.ended !== null)) {
      throw unauthorized('ended_session', 'This sign-in session has ended (signed out, or the password was changed): sign in again.');
    }
    if (accessKey === null && sessionId === null) throw tokenRefusal('malformed');
    return { user, accessKey, via, sessionId };
  }

  /** A token's claims once its signature and expiry pass; a token seen before is not hashed again (only its expiry). */
  private verifiedClaims(token: string): TokenClaims {
    const now = this.nowSec();
    const known = this.tokens.get(token);
    if (known !== undefined) {
      if (known.exp > now) return known;
      this.tokens.delete(token);
    }
    const checked = verifyToken(this.options.secret, token, now);
    if ('problem' in checked) throw tokenRefusal(checked.problem);
    if (this.tokens.size >= 10_000) this.tokens.clear();
    this.tokens.set(token, checked.claims);
    return checked.claims;
  }

  /** A token from auth.login, for the key pair (or key token) the request proved. */
  issueToken(identity: Identity, lifetimeSec = this.options.tokenLifetimeSec): { token: string; expires: Date } {
    const now = this.nowSec();
    const lifetime = Math.min(lifetimeSec, this.options.tokenLifetimeSec);
    const token = signToken(this.options.secret, identity.user, { accessKey: identity.accessKey, sessionId: identity.sessionId }, now, lifetime);
    return { token, expires: new Date((now + lifetime) * 1000) };
  }

  /** A web session's token (a new one on each renewal; all of them end with the session). */
  issueSession(user: UserRecord, sessionId: string): { token: string; expires: Date; maxAgeSec: number } {
    const now = this.nowSec();
    const lifetime = this.options.sessionLifetimeSec;
    const token = signToken(this.options.secret, user, { accessKey: null, sessionId }, now, lifetime);
    return { token, expires: new Date((now + lifetime) * 1000), maxAgeSec: lifetime };
  }

  private async secretMatches(credential: CredentialRecord, secret: string): Promise<boolean> {
    const digest = secretDigest(secret);
    const known = this.verified.get(credential.access_key);
    if (known !== undefined && known.until > Date.now() && known.digest.equals(digest)) return true;
    if (!(await verifySecret(secret, credential.secret_hash))) return false;
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(credential.access_key, { digest, until: Date.now() + VERIFIED_FOR_MS });
    return true;
  }

  private refuseIfBlocked(key: string, address: string, what: string): void {
    const wait = this.limiter.retryAfterSec(key, address);
    if (wait > 0) {
      throw new TasklaneError('TOO_MANY_REQUESTS', `Too many failed sign-ins for ${what} or from ${address}: try again in ${wait} s.`, {
        retry_after_sec: wait,
      });
    }
  }

  private failed(key: string, address: string, details: Record<string, unknown>): void {
    this.limiter.fail(key, address);
    this.options.log.warn({ ...details, address }, 'sign-in failed');
  }

  private touch(accessKey: string): void {
    const now = Date.now();
    if ((this.touched.get(accessKey) ?? 0) + TOUCH_EVERY_MS > now) return;
    if (this.touched.size >= 10_000) this.touched.clear();
    this.touched.set(accessKey, now);
    const when = this.options.now().toISOString();
    this.options.store.transaction((repos) => repos.users.touchCredential(accessKey, when)).catch(() => {
      // last_used is a hint; a busy store must not fail the request
    });
  }

  /** Forgets every key and user state read so far: this process changed one (a revocation through the API). */
  forget(): void {
    this.recent.clear();
  }

  /** A read of the store, shared by the requests of the next {@link AUTH_STATE_TTL_MS}. */
  private cached<T>(key: string, work: (users: UserRepository) => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.recent.get(key);
    if (hit !== undefined && hit.until > now) return hit.value as Promise<T>;
    if (this.recent.size >= 10_000) this.recent.clear();
    const value = this.read(work);
    this.recent.set(key, { until: now + AUTH_STATE_TTL_MS, value });
    value.catch(() => this.recent.delete(key));
    return value;
  }

  private read<T>(work: (users: UserRepository) => Promise<T>): Promise<T> {
    return this.options.store.transaction((repos) => work(repos.users), { readOnly: true });
  }
}

/** A hash of nothing anyone knows, checked against when a sign-in names no user. */
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function tokenRefusal(problem: TokenProblem | 'malformed'): TasklaneError {
  if (problem === 'expired') return unauthorized('expired_token', 'The token has expired: log in again (auth.login with the key pair); the SDK does this by itself.');
  return unauthorized('invalid_token', 'The token is not valid (not one this server signed, or altered): log in again with auth.login.');
}
