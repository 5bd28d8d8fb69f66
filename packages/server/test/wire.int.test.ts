import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, ENDPOINTS } from '@tasklane/protocol';
import { makeTask } from './support/factories.js';
import { httpRequest } from './support/http-request.js';
import { rawCall, startTestServer, type TestServer } from './support/test-server.js';

/** ClearML's `meta` fields, present on every reply. */
function expectEnvelope(json: any, name: string, code: number) {
  expect(Object.keys(json).sort()).toEqual(['data', 'meta']);
  expect(json.meta).toMatchObject({
    id: expect.stringMatching(/^[0-9a-f]{32}$/),
    trx: expect.any(String),
    endpoint: { name, requested_version: expect.any(String), actual_version: expect.any(String) },
    result_code: code,
    result_subcode: expect.any(Number),
    result_msg: expect.any(String),
    error_stack: null,
    error_data: expect.any(Object),
  });
}

describe('the wire (ClearML conventions)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  describe('envelope', () => {
    it('answers {meta, data} with a 32-hex call id, the endpoint, "OK" and HTTP status = result_code', async () => {
      const { status, json, headers } = await rawCall(server.url, '/queues.get_default', { body: '{}' });
      expect(status).toBe(200);
      expect(headers.get('content-type')).toMatch(/^application\/json/);
      expectEnvelope(json, 'queues.get_default', 200);
      expect(json.meta).toMatchObject({
        result_subcode: 0,
        result_msg: 'OK',
        error_data: {},
        endpoint: { requested_version: API_VERSION, actual_version: API_VERSION },
      });
      // Without an X-ClearML-Trx header, trx is the call id.
      expect(json.meta.trx).toBe(json.meta.id);
      expect(json.data).toMatchObject({ name: 'default' });

      const again = await rawCall(server.url, '/queues.get_default', { body: '{}' });
      expect(again.json.meta.id).not.toBe(json.meta.id);
    });

    it('echoes the X-ClearML-Trx header (and the legacy X-Trains-Trx) as meta.trx', async () => {
      const clearml = await rawCall(server.url, '/queues.get_default', { body: '{}', headers: { 'X-ClearML-Trx': 'trx-123' } });
      expect(clearml.json.meta.trx).toBe('trx-123');
      const trains = await rawCall(server.url, '/queues.get_default', { body: '{}', headers: { 'X-Trains-Trx': 'trx-456' } });
      expect(trains.json.meta.trx).toBe('trx-456');
    });

    it('takes the requested version from a /vX.Y/ prefix', async () => {
      const { status, json } = await rawCall(server.url, '/v2.23/queues.get_default', { body: '{}' });
      expect(status).toBe(200);
      expect(json.meta.endpoint).toEqual({ name: 'queues.get_default', requested_version: '2.23', actual_version: '2.23' });
      const newer = await rawCall(server.url, '/v2.99/queues.get_default', { body: '{}' });
      expect(newer.json.meta.endpoint).toMatchObject({ requested_version: '2.99', actual_version: API_VERSION });
    });

    it('puts the error in meta: code, subcode, message and error_data, with data {}', async () => {
      const missing = 'a'.repeat(32);
      const { status, json } = await rawCall(server.url, '/tasks.get_by_id', { body: JSON.stringify({ task: missing }) });
      expect(status).toBe(404);
      expectEnvelope(json, 'tasks.get_by_id', 404);
      expect(json.meta).toMatchObject({ result_subcode: 101, error_data: { code: 'TASK_NOT_FOUND', task: missing } });
      expect(json.meta.result_msg).toContain(missing);
      expect(json.data).toEqual({});
    });
  });

  describe('paths and methods', () => {
    it('accepts a trailing slash', async () => {
      const { status, json } = await rawCall(server.url, '/queues.get_default/', { body: '{}' });
      expect(status).toBe(200);
      expect(json.meta.endpoint.name).toBe('queues.get_default');
      const versioned = await rawCall(server.url, '/v2.23/queues.get_default/', { body: '{}' });
      expect(versioned.status).toBe(200);
    });

    it('accepts GET with a JSON body, as ClearML’s SDK sends', async () => {
      const id = await makeTask(server.api, { name: 'sent by GET' });
      const reply = await httpRequest(server.url, '/v2.23/tasks.get_by_id', {
        method: 'GET',
        body: JSON.stringify({ task: id }),
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(200);
      expect(reply.json.data.task).toMatchObject({ id, name: 'sent by GET' });
    });

    it('accepts GET with a JSON body, as ClearML’s SDK sends; a body not declared JSON is refused 415', async () => {
      const id = await makeTask(server.api);
      const reply = await httpRequest(server.url, '/tasks.get_by_id', {
        method: 'GET',
        body: JSON.stringify({ task: id }),
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(200);
      expect(reply.json.data.task.id).toBe(id);
      for (const headers of [{}, { 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }]) {
        const refused = await httpRequest(server.url, '/tasks.get_by_id', { method: 'POST', body: JSON.stringify({ task: id }), headers });
        expect(refused.status).toBe(415);
        expect(refused.json.meta.error_data.code).toBe('UNSUPPORTED_MEDIA_TYPE');
        expect(refused.json.meta.result_msg).toContain('send Content-Type: application/json');
      }
    });

    it('accepts PUT', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.create', {
        method: 'PUT',
        body: JSON.stringify({ name: 'created by PUT' }),
      });
      expect(status).toBe(200);
      expect(json.data.id).toMatch(/^[0-9a-f]{32}$/);
    });

    it('merges query-string fields into the body, with "a[]" lists and number coercion', async () => {
      await makeTask(server.api);
      await makeTask(server.api);
      const { status, json } = await rawCall(server.url, '/tasks.get_all?status[]=created&page_size=1&only_fields[]=status', {
        method: 'GET',
      });
      expect(status).toBe(200);
      expect(json.data.tasks).toHaveLength(1);
      expect(Object.keys(json.data.tasks[0]).sort()).toEqual(['id', 'status']);
      expect(json.data.tasks[0].status).toBe('created');

      const none = await rawCall(server.url, '/tasks.get_all?status[]=published', { method: 'GET' });
      expect(none.json.data.tasks).toEqual([]);

      // "true"/"false" become booleans, dotted keys nest.
      const id = await makeTask(server.api, { status: 'in_progress' });
      const forced = await rawCall(server.url, `/tasks.reset?task=${id}&force=true`, { body: '' });
      expect(forced.status).toBe(200);
      const { task } = await server.api.call('tasks.get_by_id', { task: id });
      expect(task.status).toBe('created');
    });

    it('treats an empty body as {}', async () => {
      const post = await rawCall(server.url, '/queues.get_default', { body: '' });
      expect(post.status).toBe(200);
      const get = await httpRequest(server.url, '/tasks.get_all', { method: 'GET' });
      expect(get.status).toBe(200);
      expect(Array.isArray(get.json.data.tasks)).toBe(true);
      const whitespace = await rawCall(server.url, '/queues.get_all', { body: '  \n' });
      expect(whitespace.status).toBe(200);
    });

    it('ignores the "method" and "_allow_extra_fields_" keys that ClearML clients add', async () => {
      const id = await makeTask(server.api);
      const { status, json } = await rawCall(server.url, '/tasks.get_by_id', {
        body: JSON.stringify({ task: id, method: 'get', _allow_extra_fields_: true }),
      });
      expect(status).toBe(200);
      expect(json.data.task.id).toBe(id);
    });

    it('answers OPTIONS without an Origin (no preflight) with 204 and the methods', async () => {
      const reply = await httpRequest(server.url, '/tasks.get_all', { method: 'OPTIONS' });
      expect(reply.status).toBe(204);
      expect(reply.headers.allow).toBe('GET, POST, PUT, DELETE, HEAD');
    });
  });

  describe('bad requests', () => {
    it('invalid JSON → 400 INVALID_INPUT', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.create', { body: '{"name": "broken' });
      expect(status).toBe(400);
      expectEnvelope(json, 'tasks.create', 400);
      expect(json.meta).toMatchObject({ result_subcode: 12, error_data: { code: 'INVALID_INPUT' } });
      expect(json.meta.result_msg).toContain('not valid JSON');
    });

    it('a field of the wrong type → 400 whose message names the field', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.create', { body: JSON.stringify({ name: 12345 }) });
      expect(status).toBe(400);
      expect(json.meta.result_code).toBe(400);
      expect(json.meta.error_data.code).toBe('INVALID_INPUT');
      expect(json.meta.result_msg).toContain('body.name');
      expect(json.meta.error_data.fields).toEqual(['body.name']);

      const nested = await rawCall(server.url, '/tasks.create', {
        body: JSON.stringify({ name: 'fine name', script: { branch: 7 } }),
      });
      expect(nested.status).toBe(400);
      expect(nested.json.meta.result_msg).toContain('body.script.branch');
    });

    it('a missing required field → 400 naming it', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.get_by_id', { body: '{}' });
      expect(status).toBe(400);
      expect(json.meta.result_msg).toContain('body.task');
    });

    it('a body that is not an object → 400', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.get_all', { body: '[1, 2]' });
      expect(status).toBe(400);
      expect(json.meta.error_data.code).toBe('INVALID_INPUT');
    });

    it('unknown endpoint → 404 ENDPOINT_NOT_FOUND in the envelope, listing the service’s endpoints', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.fly_away', { body: '{}' });
      expect(status).toBe(404);
      expectEnvelope(json, 'tasks.fly_away', 404);
      expect(json.meta.error_data.code).toBe('ENDPOINT_NOT_FOUND');
      expect(json.meta.result_msg).toContain('tasks.fly_away');
      expect(json.meta.result_msg).toContain('get_all');

      const service = await rawCall(server.url, '/nothing.here', { body: '{}' });
      expect(service.status).toBe(404);
      expect(service.json.meta.error_data.code).toBe('ENDPOINT_NOT_FOUND');

      const notAnEndpoint = await rawCall(server.url, '/no/such/path', { body: '{}' });
      expect(notAnEndpoint.status).toBe(404);
      expect(notAnEndpoint.json.meta.error_data.code).toBe('ENDPOINT_NOT_FOUND');
    });

    it('a Content-Encoding header → 415', async () => {
      const { status, json } = await rawCall(server.url, '/tasks.get_all', {
        body: '{}',
        headers: { 'Content-Encoding': 'gzip' },
      });
      expect(status).toBe(415);
      expect(json.meta).toMatchObject({ result_code: 415, error_data: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
      expect(json.meta.result_msg).toContain('gzip');
    });
  });

  describe('auth.login', () => {
    it('answers a JWT whose payload carries the claims ClearML’s SDK reads', async () => {
      const before = Math.floor(Date.now() / 1000);
      const { status, json } = await rawCall(server.url, '/auth.login', { body: '' });
      expect(status).toBe(200);
      const token: string = json.data.token;
      const parts = token.split('.');
      expect(parts).toHaveLength(3);
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      expect(header).toMatchObject({ alg: 'HS256', typ: 'JWT' });
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
      expect(payload).toMatchObject({ api_version: '2.31', feature_set: 'basic', server_version: expect.any(String) });
      expect(payload.exp).toBeGreaterThan(before + 24 * 3600);
      expect(payload.iat).toBeGreaterThanOrEqual(before);
    });

    it('honours expiration_sec', async () => {
      const { token } = await server.api.call('auth.login', { expiration_sec: 60 });
      const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
      expect(payload.exp - payload.iat).toBe(60);
    });
  });

  describe('body size limit', () => {
    let small: TestServer;
    beforeAll(async () => {
      small = await startTestServer({ maxRequestBytes: 1024 });
    });
    afterAll(async () => {
      await small.close();
    });

    it('refuses a body over maxRequestBytes with a clear 413, for POST and for GET', async () => {
      const body = JSON.stringify({ name: 'big task', comment: 'x'.repeat(2000) });
      const post = await rawCall(small.url, '/tasks.create', { body });
      expect(post.status).toBe(413);
      expect(post.json.meta).toMatchObject({ result_code: 413, error_data: { code: 'REQUEST_TOO_LARGE', limit_bytes: 1024 } });
      expect(post.json.meta.endpoint.name).toBe('tasks.create');
      expect(post.json.meta.result_msg).toContain('1024 bytes');

      const get = await httpRequest(small.url, '/tasks.create', { method: 'GET', body, headers: { 'content-type': 'application/json' } });
      expect(get.status).toBe(413);
      expect(get.json.meta.result_msg).toContain('1024 bytes');
      expect((await small.api.call('tasks.get_all', {})).tasks).toEqual([]);
    });
  });

  it('knows every endpoint the protocol lists (none answers ENDPOINT_NOT_FOUND)', async () => {
    for (const name of Object.keys(ENDPOINTS)) {
      const { status, json } = await rawCall(server.url, `/${name}`, { body: '{"__probe": ' });
      // Invalid JSON on purpose: every known endpoint must refuse it as bad input, without running anything.
      expect({ name, status, code: json.meta.error_data.code }).toEqual({ name, status: 400, code: 'INVALID_INPUT' });
    }
  });
});
