import { createHmac, randomBytes } from 'node:crypto';
import { API_VERSION, type ParsedRequestOf, type ResponseOf } from '@tasklane/protocol';
import type { ServiceContext } from './context.js';

/** A month, ClearML's default token lifetime. */
const DEFAULT_TOKEN_SECONDS = 30 * 24 * 3600;

/** The server's version, reported in tokens. */
export const SERVER_VERSION = '0.1.0';

/** A new random secret for signing tokens. */
export function newTokenSecret(): string {
  return randomBytes(32).toString('hex');
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * Answers a signed (HS256) token whose claims ClearML's SDK reads without verifying: api_version, server_version,
 * feature_set, exp. The server does not require credentials yet, so any caller gets one.
 */
export async function login(ctx: ServiceContext, body: ParsedRequestOf<'auth.login'>): Promise<ResponseOf<'auth.login'>> {
  const iat = Math.floor(Date.parse(ctx.now()) / 1000);
  const payload = {
    identity: { user: '__tasklane__', company: 'tasklane', role: 'user', user_name: 'tasklane', company_name: 'tasklane' },
    iat,
    exp: iat + (body.expiration_sec ?? DEFAULT_TOKEN_SECONDS),
    env: 'tasklane',
    api_version: API_VERSION,
    server_version: SERVER_VERSION,
    server_build: '',
    feature_set: 'basic',
  };
  const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', ctx.settings.tokenSecret).update(unsigned).digest('base64url');
  return { token: `${unsigned}.${signature}` };
}
