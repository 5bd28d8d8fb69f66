// Behind a reverse proxy (--trust-proxy): the sign-in rate limit counts each client by the address the proxy
// forwards, so one client's failures do not lock out everyone behind the same proxy; without the setting a client's
// own X-Forwarded-For is ignored, so it cannot pose as other addresses to dodge the limit.
import { afterEach, describe, expect, it } from 'vitest';
import { addUser, createCredentials, loadServerConfig } from '@tasklane/server';
import { httpRequest } from './support/http-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';

/** The per-address limit of services/authenticator.ts: 50 failed sign-ins in 15 minutes. */
const FAILURES_PER_ADDRESS = 50;

const basic = (accessKey: string, secretKey: string) => `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;

describe('--trust-proxy', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(trustProxy: string[]): Promise<{ accessKey: string; secretKey: string }> {
    let keys = { accessKey: '', secretKey: '' };
    server = await startTestServer({ auth: 'on', trustProxy }, async (store) => {
      const user = await addUser(store, { name: 'carol', role: 'user' });
      const made = await createCredentials(store, { id: user.id });
      keys = { accessKey: made.access_key, secretKey: made.secret_key };
    });
    return keys;
  }

  /** Fails sign-in with made-up keys (so no key's own limit is reached) as `forwardedFor`. */
  let madeUp = 0;
  async function failFrom(forwardedFor: string, times: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let n = 0; n < times; n += 1) {
      const i = (madeUp += 1);
      const reply = await httpRequest(server!.url, '/tasks.get_all', {
        body: '{}',
        headers: { 'content-type': 'application/json', authorization: basic(`NOKEY${i}${'X'.repeat(10)}`, 'wrong'), 'x-forwarded-for': forwardedFor },
      });
      statuses.push(reply.status);
    }
    return statuses;
  }

  const signIn = (keys: { accessKey: string; secretKey: string }, forwardedFor: string) =>
    httpRequest(server!.url, '/tasks.get_all', {
      body: '{}',
      headers: { 'content-type': 'application/json', authorization: basic(keys.accessKey, keys.secretKey), 'x-forwarded-for': forwardedFor },
    });

  it('counts failures per forwarded client address when the proxy is trusted', async () => {
    const keys = await start(['127.0.0.1', '::1']);
    const statuses = await failFrom('203.0.113.7', FAILURES_PER_ADDRESS + 1);
    expect(statuses.slice(0, FAILURES_PER_ADDRESS).every((status) => status === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // The blocked client is blocked even with the right key; another client behind the same proxy is not.
    expect((await signIn(keys, '203.0.113.7')).status).toBe(429);
    expect((await signIn(keys, '198.51.100.20')).status).toBe(200);
  });

  it('ignores X-Forwarded-For from a client when no proxy is trusted', async () => {
    const keys = await start([]);
    // Each failure claims another address: all of them count for the one real address.
    for (let i = 0; i < FAILURES_PER_ADDRESS; i += 1) await failFrom(`192.0.2.${i + 1}`, 1);
    expect((await signIn(keys, '198.51.100.20')).status).toBe(429);
  });

  it('refuses what is not an address or a network', () => {
    expect(() => loadServerConfig({ TASKLANE_TRUST_PROXY: '10.0.0.0/8, proxy.internal' })).toThrow(
      /TASKLANE_TRUST_PROXY \(trustProxy\): expected IP addresses or networks/,
    );
    expect(() => loadServerConfig({}, { trustProxy: '10.0.0.0/33' as never })).toThrow(/--trust-proxy: expected IP addresses/);
    expect(loadServerConfig({ TASKLANE_TRUST_PROXY: '10.0.0.0/8,loopback,::1' }).trustProxy).toEqual(['10.0.0.0/8', 'loopback', '::1']);
  });
});
