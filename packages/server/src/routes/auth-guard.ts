import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TasklaneError } from '@tasklane/protocol';
import type { Authenticator, Identity } from '../services/authenticator.js';
import { parseApiPath, sendError } from './api-reply.js';
import { FILES_PREFIX } from './files-route.js';

/** The web UI's session cookie: a token, HttpOnly (no script reads it) and SameSite=Strict. */
export const SESSION_COOKIE = 'tasklane_session';

/** API endpoints anyone may call where auth is on: signing in, and out (which ends the session it proves, if any). */
const PUBLIC_ENDPOINTS: ReadonlySet<string> = new Set(['auth.sign_in', 'auth.sign_out']);

const identities = new WeakMap<FastifyRequest, Identity>();

/** The identity a request's credentials proved (undefined where auth is off, or on a public path). */
export function identityOf(request: FastifyRequest): Identity | undefined {
  return identities.get(request);
}

/**
 * Where auth is on, every API endpoint (but signing in and out) and every file of the file server needs credentials:
 * `Authorization: Bearer <token>`, the key pair as HTTP Basic, or the web UI's session cookie. The UI's own files
 * (`/`, scripts, styles) stay public; they hold no data. The cookie counts only on requests the browser marks as the
 * UI's own (`Sec-Fetch-Site: same-origin`, or a browser that sends no such header): a page of another port of the same
 * host is "same-site", so SameSite=Strict alone would let it through. `auth.login` takes no cookie: it is for keys.
 */
export function registerAuthGuard(app: FastifyInstance, auth: Authenticator): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    const api = parseApiPath(request.url);
    const isFile = path === FILES_PREFIX || path.startsWith(`${FILES_PREFIX}/`);
    if ((api === undefined && !isFile) || request.method === 'OPTIONS') return;
    const cookie = api?.name === 'auth.login' || !sameOriginFetch(request) ? undefined : readCookie(request.headers.cookie, SESSION_COOKIE);
    if (api !== undefined && PUBLIC_ENDPOINTS.has(api.name)) {
      if (api.name === 'auth.sign_out' && cookie !== undefined) {
        const identity = await auth.checkToken(cookie, 'cookie').catch(() => undefined);
        if (identity !== undefined) identities.set(request, identity);
      }
      return;
    }
    try {
      identities.set(request, await auth.authenticate(request.headers.authorization, cookie, request.ip));
    } catch (error) {
      return refuse(request, reply, error, isFile);
    }
  });
}

function sameOriginFetch(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown, isFile: boolean) {
  if (error instanceof TasklaneError && error.code === 'TOO_MANY_REQUESTS') {
    reply.header('retry-after', String(error.details?.retry_after_sec ?? 60));
  }
  if (error instanceof TasklaneError && error.status === 401) reply.header('www-authenticate', 'Bearer realm="tasklane"'); // not Basic: browsers would pop up a password box
  if (!isFile || !(error instanceof TasklaneError)) return sendError(reply, request, error);
  return reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send({ error: { code: error.code, message: error.message, ...error.details } });
}

/** One cookie's value from a Cookie header (`a=1; b=2`), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The Set-Cookie value of the session cookie (`maxAgeSec` 0 clears it); `Secure` when the request came over HTTPS. */
export function sessionCookie(token: string, maxAgeSec: number, secure: boolean): string {
  return [`${SESSION_COOKIE}=${token}`, 'Path=/', `Max-Age=${maxAgeSec}`, 'HttpOnly', 'SameSite=Strict', ...(secure ? ['Secure'] : [])].join('; ');
}
