import { createHmac, randomBytes } from 'node:crypto';
import { API_VERSION, TasklaneError, newId, type ParsedRequestOf, type ResponseOf } from '@tasklane/protocol';
import type { ServiceContext } from './context.js';
import { SERVER_VERSION } from './tokens.js';
import { publicUser } from './users.js';

export { SERVER_VERSION };

/** A month, ClearML's default token lifetime; where auth is off the token proves nothing anyway. */
const OPEN_TOKEN_SECONDS = 30 * 24 * 3600;

/** A new random secret for signing tokens. */
export function newTokenSecret(): string {
  return randomBytes(32).toString('hex');
}

/**
 * auth.login. With auth on, the request guard has checked the key pair (or token) already, and the answer is a token
 * for that user and key. With auth off, any caller gets a token with the claims ClearML's SDK reads.
 */
export async function login(ctx: ServiceContext, body: ParsedRequestOf<'auth.login'>): Promise<ResponseOf<'auth.login'>> {
  const identity = ctx.caller?.identity;
  if (ctx.auth !== undefined && identity !== undefined) {
    const { token } = ctx.auth.issueToken(identity, body.expiration_sec);
    return { token };
  }
  const iat = Math.floor(Date.parse(ctx.now()) / 1000);
  const payload = {
    identity: { user: '__tasklane__', company: 'tasklane', role: 'user', user_name: 'tasklane', company_name: 'tasklane' },
    iat,
    exp: iat + (body.expiration_sec ?? OPEN_TOKEN_SECONDS),
    env: 'tasklane',
    api_version: API_VERSION,
    server_version: SERVER_VERSION,
    server_build: '',
    feature_set: 'basic',
  };
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return { token: `${unsigned}.${createHmac('sha256', ctx.settings.tokenSecret).update(unsigned).digest('base64url')}` };
}

function webSession(ctx: ServiceContext, endpoint: string) {
  if (ctx.auth === undefined || ctx.session === undefined) {
    throw new TasklaneError('INVALID_INPUT', `${endpoint}: authentication is off on this server, so the web UI needs no sign-in.`, { reason: 'auth_off' });
  }
  return { auth: ctx.auth, session: ctx.session };
}

/** auth.sign_in: the password was checked before the transaction (see api-route); this starts a session and sets its cookie. */
export async function signIn(ctx: ServiceContext, _body: ParsedRequestOf<'auth.sign_in'>): Promise<ResponseOf<'auth.sign_in'>> {
  const { auth, session } = webSession(ctx, 'auth.sign_in');
  const identity = ctx.caller?.identity;
  if (identity === undefined) throw new Error('auth.sign_in runs after the password check');
  const sessionId = newId();
  const issued = auth.issueSession(identity.user, sessionId);
  await ctx.repos.users.createSession({ id: sessionId, user_id: identity.user.id, created: ctx.now(), expires: issued.expires.toISOString(), ended: null });
  session.set(issued.token, issued.maxAgeSec);
  return { user: publicUser(identity.user), expires: issued.expires.toISOString() };
}

/** auth.refresh_session: a new token of the same session for a signed-in web UI, before the old one expires. */
export async function refreshSession(ctx: ServiceContext): Promise<ResponseOf<'auth.refresh_session'>> {
  const { auth, session } = webSession(ctx, 'auth.refresh_session');
  const identity = ctx.caller?.identity;
  if (identity === undefined || identity.via !== 'cookie' || identity.sessionId === null) {
    throw new TasklaneError('INVALID_INPUT', 'auth.refresh_session renews a web UI session; key pairs and tokens call auth.login instead.');
  }
  const issued = auth.issueSession(identity.user, identity.sessionId);
  await ctx.repos.users.extendSession(identity.sessionId, issued.expires.toISOString());
  session.set(issued.token, issued.maxAgeSec);
  return { user: publicUser(identity.user), expires: issued.expires.toISOString() };
}

/** auth.sign_out: ends the web session (every token of it stops working, copies too) and clears the cookie. */
export async function signOut(ctx: ServiceContext): Promise<ResponseOf<'auth.sign_out'>> {
  const sessionId = ctx.caller?.identity?.sessionId ?? null;
  if (sessionId !== null) {
    await ctx.repos.users.endSession(sessionId, ctx.now());
    const auth = ctx.auth;
    ctx.afterCommit?.(async () => auth?.forget());
  }
  ctx.session?.clear();
  return { signed_out: true };
}
