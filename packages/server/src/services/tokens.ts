import { createHmac, timingSafeEqual } from 'node:crypto';
import { API_VERSION } from '@tasklane/protocol';
import type { UserRecord } from '../storage/store.js';

/** The server's version, reported in tokens. */
export const SERVER_VERSION = '0.1.0';

/** The one company of a Tasklane server (ClearML's SDK reads a company from every token). */
export const COMPANY = { id: 'tasklane', name: 'tasklane' } as const;

/** What a verified token says. */
export interface TokenClaims {
  identity: { user: string; user_name: string; role: string; company: string; company_name: string };
  iat: number;
  exp: number;
  /** The access key it was issued for, or `null` for a web sign-in session. */
  tasklane_key: string | null;
  /** The web sign-in session it belongs to (ClearML's tokens carry a session_id too), or `null` for a key's token. */
  session_id?: string | null;
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const HEADER = encode({ alg: 'HS256', typ: 'JWT' });

/**
 * A signed (HS256) token for a user, with the claims ClearML's SDK reads (api_version, server_version, feature_set,
 * exp, identity) and the access key it stands for, so revoking that key ends the token too.
 */
export function signToken(
  secret: string,
  user: UserRecord,
  subject: { accessKey: string | null; sessionId: string | null },
  nowSec: number,
  lifetimeSec: number,
): string {
  const payload = {
    identity: { user: user.id, user_name: user.name, role: user.role, company: COMPANY.id, company_name: COMPANY.name },
    iat: nowSec,
    exp: nowSec + lifetimeSec,
    env: 'tasklane',
    api_version: API_VERSION,
    server_version: SERVER_VERSION,
    server_build: '',
    feature_set: 'basic',
    tasklane_key: subject.accessKey,
    session_id: subject.sessionId,
  };
  const unsigned = `${HEADER}.${encode(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

/** Why a token is refused. */
export type TokenProblem = 'malformed' | 'bad_signature' | 'expired';

/**
 * Checks a token's form, signature (constant time) and expiry. Only HS256 tokens signed with `secret` pass: the
 * header is compared whole, so `alg: none` or another algorithm never does.
 */
export function verifyToken(secret: string, token: string, nowSec: number): { claims: TokenClaims } | { problem: TokenProblem } {
  if (token.length > 8192) return { problem: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return { problem: 'malformed' };
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { problem: 'bad_signature' };
  let claims: TokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as TokenClaims;
  } catch {
    return { problem: 'malformed' };
  }
  if (typeof claims?.identity?.user !== 'string' || typeof claims.exp !== 'number') return { problem: 'malformed' };
  if (claims.exp <= nowSec) return { problem: 'expired' };
  return { claims };
}
