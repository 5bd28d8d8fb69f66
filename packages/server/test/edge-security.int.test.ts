// The request edge against hostile input, each finding of issue 13 as a regression test: prototype pollution through
// the query string and bodies, cross-site writes (text/plain bodies, query-only GETs, foreign Origins), DNS
// rebinding (foreign Host), values nested deep enough to break later queries, security headers, slow clients.
import { connect } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_HYPERPARAMS_PER_TASK, MAX_NAME_LENGTH, MAX_TAGS, MAX_TAG_LENGTH } from '@tasklane/protocol';
import { loadServerConfig } from '@tasklane/server';
import { expectError, getTask, makeProject, makeTask, uniqueName } from './support/factories.js';
import { httpRequest } from './support/http-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const JSON_TYPE = { 'content-type': 'application/json' };

/** Nothing of this process's objects may have gained a property from a request. */
function expectPrototypeClean(): void {
  const probe: Record<string, unknown> = {};
  expect({ comment: probe.comment, diff: probe.diff, system_tags: probe.system_tags, polluted: probe.polluted }).toEqual({});
  expect(Object.keys(Object.prototype)).toEqual([]);
}

describe('the request edge', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  describe('prototype pollution', () => {
    it('refuses __proto__ in the query string, and a second client’s new task carries nothing injected', async () => {
      const attack = await httpRequest(
        server.url,
        `/queues.get_default?__proto__.comment=INJECTED&__proto__.diff=${encodeURIComponent('#!/bin/sh\ntouch /tmp/pwned')}&__proto__.system_tags[]=evil`,
        { method: 'GET' },
      );
      expect(attack.status).toBe(400);
      expect(attack.json.meta.result_msg).toBe(
        'Invalid request: query.__proto__.comment: the key "__proto__" is not allowed (it would reach object prototypes).',
      );
      expectPrototypeClean();

      const id = await makeTask(server.api, { name: uniqueName('victim') });
      const task = await getTask(server.api, id);
      expect({ comment: task.comment, diff: task.script.diff, system_tags: task.system_tags }).toEqual({
        comment: '',
        diff: undefined,
        system_tags: [],
      });
      // The other client's listing is not filtered by injected fields either.
      expect((await server.api.call('tasks.get_all', { id: [id] })).tasks.map((t) => t.id)).toEqual([id]);
    });

    it.each([
      ['constructor.prototype.polluted=1', 'constructor'],
      ['a.__proto__.polluted=1', '__proto__'],
      ['task.prototype=1', 'prototype'],
      ['__proto__[]=1', '__proto__'],
    ])('refuses the query %s', async (query, key) => {
      const reply = await httpRequest(server.url, `/tasks.get_all?${query}`, { method: 'GET' });
      expect(reply.status).toBe(400);
      expect(reply.json.meta.result_msg).toContain(`the key "${key}" is not allowed`);
      expectPrototypeClean();
    });

    it('refuses those keys anywhere in a JSON body, escaped or not, and nothing is written', async () => {
      const id = await makeTask(server.api);
      const before = await getTask(server.api, id);
      const bodies = [
        `{"task": "${id}", "hyperparams": {"__proto__": {"polluted": {"value": "1"}}}}`,
        `{"task": "${id}", "runtime": {"a": {"constructor": {"prototype": {"polluted": 1}}}}}`,
        `{"task": "${id}", "configuration": {"\\u005f_proto__": {"value": "x"}}}`,
        `{"task": "${id}", "__proto__": {"comment": "INJECTED"}}`,
      ];
      for (const body of bodies) {
        const reply = await httpRequest(server.url, '/tasks.edit', { body, headers: JSON_TYPE });
        expect({ status: reply.status, code: reply.json.meta.error_data.code }).toEqual({ status: 400, code: 'INVALID_INPUT' });
        expect(reply.json.meta.result_msg).toMatch(/^Invalid request: body\.[\w.]+: the key "(__proto__|constructor)" is not allowed/);
      }
      expect(await getTask(server.api, id)).toEqual(before);
      expectPrototypeClean();
    });

    it('refuses them in a JSON-lines batch, naming the line, and stores none of the batch', async () => {
      const id = await makeTask(server.api, { status: 'in_progress' });
      const good = JSON.stringify({ type: 'log', task: id, msg: 'fine', timestamp: Date.now() });
      const body = `${good}\n{"type": "log", "task": "${id}", "msg": "x", "__proto__": {"polluted": 1}}\n`;
      const reply = await httpRequest(server.url, '/events.add_batch', { body, headers: { 'content-type': 'application/json-lines' } });
      expect(reply.status).toBe(400);
      expect(reply.json.meta.result_msg).toContain('line 2.__proto__: the key "__proto__" is not allowed');
      expect((await server.api.call('events.get_task_log', { task: id })).events).toEqual([]);
      expectPrototypeClean();
    });

    it('refuses them as multipart field names of an upload, storing nothing', async () => {
      // Field names are storage paths, never object keys of ours; the multipart parser refuses the names of
      // Object.prototype's own properties before anything sees them.
      for (const field of ['__proto__', 'constructor', 'hasOwnProperty']) {
        const form = new FormData();
        form.append(field, new Blob(['{"polluted": true}']), 'x.json');
        const reply = await fetch(`${server.url}/files`, { method: 'POST', body: form });
        expect({ field, status: reply.status }).toEqual({ field, status: 400 });
      }
      expect(await (await fetch(`${server.url}/files/?list`)).json()).toEqual([]);
      expectPrototypeClean();
    });

    it('refuses them in a config file, naming the file', async () => {
      const file = join(server.dir, 'hostile-config.json');
      await writeFile(file, '{"port": 0, "__proto__": {"host": "0.0.0.0"}}');
      expect(() => loadServerConfig({}, {}, file)).toThrow(/config\.__proto__: the key "__proto__" is not allowed/);
      expectPrototypeClean();
    });
  });

  describe('cross-site requests', () => {
    it('refuses a text/plain body (what a cross-site page can send without asking) with 415, creating nothing', async () => {
      const name = uniqueName('cross-site');
      for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const reply = await httpRequest(server.url, '/tasks.create', {
          body: JSON.stringify({ name, script: { diff: '#!/bin/sh\ntouch /tmp/pwned' } }),
          headers: { 'content-type': type },
        });
        expect({ type, status: reply.status, code: reply.json.meta.error_data.code }).toEqual({ type, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
      }
      expect((await server.api.call('tasks.get_all', { name: `^${name}$` })).tasks).toEqual([]);
    });

    it('never changes state from the query string alone: GET /tasks.delete?task=…&force=true is refused, the task stays', async () => {
      const id = await makeTask(server.api, { status: 'completed' });
      for (const method of ['GET', 'POST']) {
        const reply = await httpRequest(server.url, `/tasks.delete?task=${id}&force=true`, { method });
        expect(reply.status).toBe(415);
        expect(reply.json.meta.result_msg).toBe(
          'tasks.delete changes data, so it takes a JSON body sent with Content-Type: application/json (got no Content-Type); only endpoints that read accept the query string alone.',
        );
      }
      const enqueue = await httpRequest(server.url, `/tasks.enqueue?task=${await makeTask(server.api)}`, { method: 'GET' });
      expect(enqueue.status).toBe(415);
      expect((await getTask(server.api, id)).status).toBe('completed');
    });

    it('still serves reads from the query string, and writes sent as GET with a JSON body (ClearML’s SDK does)', async () => {
      const id = await makeTask(server.api);
      const read = await httpRequest(server.url, `/tasks.get_by_id?task=${id}`, { method: 'GET' });
      expect(read.status).toBe(200);
      const write = await httpRequest(server.url, '/v2.23/tasks.edit', {
        method: 'GET',
        body: JSON.stringify({ task: id, comment: 'set by GET' }),
        headers: JSON_TYPE,
      });
      expect(write.status).toBe(200);
      expect((await getTask(server.api, id)).comment).toBe('set by GET');
    });

    it('refuses any request whose Origin is another page’s with 403 — another localhost port, null, anything — reads too', async () => {
      const port = new URL(server.url).port;
      const id = await makeTask(server.api);
      for (const origin of [`http://127.0.0.1:${Number(port) + 1}`, 'http://localhost:3000', 'null', 'https://evil.example', 'not a url']) {
        const write = await httpRequest(server.url, '/tasks.delete', { body: JSON.stringify({ task: id, force: true }), headers: { ...JSON_TYPE, origin } });
        expect({ origin, status: write.status, code: write.json?.meta.error_data.code }).toEqual({ origin, status: 403, code: 'FORBIDDEN' });
        const read = await httpRequest(server.url, '/tasks.get_all', { body: '{}', headers: { ...JSON_TYPE, origin } });
        expect(read.status).toBe(403);
        const preflight = await httpRequest(server.url, '/tasks.create', {
          method: 'OPTIONS',
          headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        });
        expect(preflight.status).toBe(403);
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        const file = await httpRequest(server.url, '/files/some/file.txt', { method: 'GET', headers: { origin } });
        expect(file.status).toBe(403);
      }
      expect((await getTask(server.api, id)).id).toBe(id);
      const own = await httpRequest(server.url, '/tasks.get_all', { body: '{}', headers: { ...JSON_TYPE, origin: server.url } });
      expect(own.status).toBe(200);
      expect(own.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('names what to do when it refuses an Origin', async () => {
      const reply = await httpRequest(server.url, '/tasks.get_all', { body: '{}', headers: { ...JSON_TYPE, origin: 'http://localhost:3000' } });
      expect(reply.json.meta.result_msg).toBe(
        `Refused a request from the web page at "http://localhost:3000": only this server's own web UI (http://${new URL(server.url).host}) may call it from a browser. To let another web app call the API, start the server with --cors-allowed-origins (TASKLANE_CORS_ALLOWED_ORIGINS).`,
      );
    });
  });

  describe('DNS rebinding', () => {
    it('refuses a Host the server does not answer for (API, files and UI), and accepts its own names', async () => {
      const { port } = new URL(server.url);
      for (const host of [`evil.example:${port}`, 'attacker.test', `127.0.0.1.evil.example:${port}`, 'a_b!']) {
        for (const path of ['/tasks.get_all', '/files/x.txt', '/', '/index.html']) {
          const reply = await httpRequest(server.url, path, { method: 'GET', headers: { host } });
          expect({ host, path, status: reply.status }).toEqual({ host, path, status: 403 });
        }
      }
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `app.localhost:${port}`, '10.1.2.3']) {
        const reply = await httpRequest(server.url, '/queues.get_default', { method: 'GET', headers: { host } });
        expect({ host, status: reply.status }).toEqual({ host, status: 200 });
      }
    });
  });

  describe('poison values', () => {
    it('refuses a runtime nested 1,000 levels deep, and search, sort and get_hyper_parameters keep working', async () => {
      const { id: project } = await makeProject(server.api);
      const id = await makeTask(server.api, { project, hyperparams: { Args: { lr: { value: '0.1' } } } });
      let deep = '1';
      for (let i = 0; i < 1000; i += 1) deep = `{"a": ${deep}}`;
      const reply = await httpRequest(server.url, '/tasks.edit', { body: `{"task": "${id}", "runtime": ${deep}}`, headers: JSON_TYPE });
      expect(reply.status).toBe(400);
      expect(reply.json.meta.result_msg).toBe('Invalid request: body.runtime.a.a.a.…(59 more levels)….a: nested deeper than 64 levels.');

      // The deepest value allowed is stored, and no query breaks on it.
      let allowed: unknown = 1;
      for (let i = 0; i < 62; i += 1) allowed = { a: allowed };
      await server.api.call('tasks.edit', { task: id, runtime: { deep: allowed } as Record<string, unknown> });
      expect((await server.api.call('tasks.get_all', { project: [project], search_text: 'nothing like it' })).tasks).toEqual([]);
      expect((await server.api.call('tasks.get_all', { project: [project], order_by: ['hyperparams.Args.lr.value'] })).tasks).toHaveLength(1);
      expect((await server.api.call('projects.get_hyper_parameters', { project })).parameters).toEqual([{ section: 'Args', name: 'lr' }]);
    });

    it('answers a body nested 10,000 (and 1,000,000) deep with 400, not a server error', async () => {
      for (const depth of [10_000, 1_000_000]) {
        const reply = await httpRequest(server.url, '/tasks.create', { body: `${'['.repeat(depth)}${']'.repeat(depth)}`, headers: JSON_TYPE });
        expect({ depth, status: reply.status }).toEqual({ depth, status: 400 });
        expect(reply.json.meta.result_msg).toContain('nested deeper than 64 levels');
      }
    });

    it('refuses names, tags and hyperparameter counts past their limits, saying the limit, and stores nothing', async () => {
      const { id: project } = await makeProject(server.api);
      await expectError(server.api.call('tasks.create', { name: 'x'.repeat(MAX_NAME_LENGTH + 1), project }), 'INVALID_INPUT');
      // A project named by a task or a model is created with it: the same limit as projects.create's (a 1 MB name
      // was stored on SQLite, and failed PostgreSQL's index on project names with a 500).
      const longProject = 'p'.repeat(MAX_NAME_LENGTH + 1);
      const byTask = await expectError(server.api.call('tasks.create', { name: 'in a long project', project_name: longProject }), 'INVALID_INPUT');
      expect(byTask.message).toMatch(new RegExp(`^Invalid request: body\\.project_name: names have at most ${MAX_NAME_LENGTH} characters`));
      await expectError(server.api.call('models.create', { name: 'in a long project', uri: 'file:///m.bin', project_name: longProject }), 'INVALID_INPUT');
      const source = await makeTask(server.api);
      await expectError(server.api.call('tasks.clone', { task: source, new_project_name: longProject }), 'INVALID_INPUT');
      expect((await server.api.call('projects.get_all', { name: `^${longProject.slice(0, 100)}` })).projects).toEqual([]);
      // A worker's id is the key of the workers table: as long as a name at most (PostgreSQL's index refused 1 MB).
      const longWorker = 'w'.repeat(MAX_NAME_LENGTH + 1);
      const worker = await expectError(server.api.call('workers.register', { worker: longWorker }), 'INVALID_INPUT');
      expect(worker.message).toMatch(new RegExp(`^Invalid request: body\\.worker: a worker id has at most ${MAX_NAME_LENGTH} characters`));
      await expectError(server.api.call('workers.status_report', { worker: longWorker, timestamp: Date.now() }), 'INVALID_INPUT');
      expect((await server.api.call('workers.get_all', {})).workers.map((w) => w.id)).not.toContain(longWorker);
      const tooMany = await expectError(
        server.api.call('tasks.create', { name: 'tags', project, tags: Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`) }),
        'INVALID_INPUT',
      );
      expect(tooMany.message).toMatch(new RegExp(`^Invalid request: body\\.tags: at most ${MAX_TAGS} tags, got \\[`));
      await expectError(server.api.call('tasks.create', { name: 'long tag', project, tags: ['x'.repeat(MAX_TAG_LENGTH + 1)] }), 'INVALID_INPUT');
      const params = (count: number, prefix = 'p') =>
        Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, { value: String(i) }]));
      await expectError(server.api.call('tasks.create', { name: 'params', project, hyperparams: { Args: params(MAX_HYPERPARAMS_PER_TASK + 1) } }), 'INVALID_INPUT');
      expect((await server.api.call('tasks.get_all', { project: [project] })).tasks).toEqual([]);

      // The limit holds for the sum after a merge too.
      const id = await makeTask(server.api, { project, hyperparams: { Args: params(MAX_HYPERPARAMS_PER_TASK - 1) } });
      const items = [{ section: 'General', name: 'a', value: '1' }, { section: 'General', name: 'b', value: '2' }];
      const merged = await expectError(server.api.call('tasks.edit_hyper_params', { task: id, hyperparams: items }), 'INVALID_INPUT');
      expect(merged.message).toContain(`a task holds at most ${MAX_HYPERPARAMS_PER_TASK} hyperparameters`);
      expect(Object.keys((await getTask(server.api, id)).hyperparams)).toEqual(['Args']);
    });
  });

  describe('security headers', () => {
    it('sends the UI a Content-Security-Policy that forbids framing, foreign scripts and plugins', async () => {
      const reply = await httpRequest(server.url, '/', { method: 'GET' });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toContain('text/html');
      const csp = String(reply.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).not.toContain("'unsafe-eval'");
      expect(reply.headers).toMatchObject({ 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' });
    });

    it('sends API replies with nosniff, no framing and same-origin resource policy', async () => {
      const reply = await httpRequest(server.url, '/queues.get_default', { method: 'GET' });
      expect(reply.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'cross-origin-resource-policy': 'same-origin',
        'content-security-policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
      });
    });

    it('leaves /index.html, /favicon.ico and other file-like paths to the web UI, not the API', async () => {
      const index = await httpRequest(server.url, '/index.html', { method: 'GET' });
      expect(index.status).toBe(200);
      expect(index.headers['content-type']).toContain('text/html');
      const icon = await httpRequest(server.url, '/favicon.ico', { method: 'GET' });
      expect(icon.status).toBe(404);
      expect(icon.json?.meta).toBeUndefined();
      // A known service still gets the API's helpful 404.
      const unknown = await httpRequest(server.url, '/tasks.nope', { body: '{}', headers: JSON_TYPE });
      expect(unknown.json.meta.error_data.code).toBe('ENDPOINT_NOT_FOUND');
    });
  });
});

describe('configured hosts and origins', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      allowedHosts: ['tasklane.internal', '*.corp.example', 'proxy.example:443'],
      corsAllowedOrigins: ['https://notebook.internal', 'https://*.apps.example'],
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers the hosts given with allowedHosts (names, wildcards, name:port) and no others', async () => {
    const ok = ['tasklane.internal', 'tasklane.internal:8008', 'ml.corp.example', 'proxy.example:443'];
    const refused = ['corp.example', 'proxy.example:80', 'tasklane.internal.evil.example'];
    for (const host of [...ok, ...refused]) {
      const reply = await httpRequest(server.url, '/queues.get_default', { method: 'GET', headers: { host } });
      expect({ host, status: reply.status }).toEqual({ host, status: ok.includes(host) ? 200 : 403 });
    }
  });

  it('answers the preflights of allowed origins and adds CORS headers to their replies; others stay refused', async () => {
    for (const origin of ['https://notebook.internal', 'https://team.apps.example']) {
      const preflight = await httpRequest(server.url, '/tasks.create', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' });
      expect(String(preflight.headers['access-control-allow-headers'])).toContain('Content-Type');
      const call = await httpRequest(server.url, '/tasks.create', { body: JSON.stringify({ name: uniqueName() }), headers: { ...JSON_TYPE, origin } });
      expect(call.status).toBe(200);
      expect(call.headers['access-control-allow-origin']).toBe(origin);
    }
    for (const origin of ['http://notebook.internal', 'https://apps.example', 'https://notebook.internal.evil.example']) {
      const reply = await httpRequest(server.url, '/tasks.get_all', { body: '{}', headers: { ...JSON_TYPE, origin } });
      expect({ origin, status: reply.status }).toEqual({ origin, status: 403 });
    }
  });

  it('reads both lists from the environment, comma-separated', () => {
    const config = loadServerConfig({ TASKLANE_ALLOWED_HOSTS: 'a.example, b.example', TASKLANE_CORS_ALLOWED_ORIGINS: 'https://c.example' });
    expect({ hosts: config.allowedHosts, origins: config.corsAllowedOrigins }).toEqual({
      hosts: ['a.example', 'b.example'],
      origins: ['https://c.example'],
    });
  });
});

describe('slow clients', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ headersTimeoutSec: 1, bodyTimeoutSec: 1, idleTimeoutSec: 30 });
  });
  afterAll(async () => {
    await server.close();
  });

  /** Opens a raw connection, writes `data`, and answers how long the server took to close it (or times out). */
  function closedAfterMs(data: string, waitMs: number): Promise<number | 'still open'> {
    const { port } = new URL(server.url);
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(data));
      socket.on('data', () => undefined);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve('still open');
      }, waitMs);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
      socket.on('error', () => undefined);
    });
  }

  it('closes a connection whose headers do not arrive in time (slowloris)', async () => {
    const elapsed = await closedAfterMs('POST /tasks.create HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', 8000);
    expect(elapsed).not.toBe('still open');
    expect(elapsed as number).toBeGreaterThanOrEqual(900);
  });

  it('closes a connection whose API body does not arrive in time, and keeps serving others', async () => {
    const head = 'POST /tasks.create HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":';
    const elapsed = await closedAfterMs(head, 8000);
    expect(elapsed).not.toBe('still open');
    expect(elapsed as number).toBeGreaterThanOrEqual(900);
    expect((await httpRequest(server.url, '/queues.get_default', { method: 'GET' })).status).toBe(200);
  });
});

describe('the log', () => {
  it('never copies a long query string in full, even at debug level', async () => {
    const lines: string[] = [];
    const server = await startTestServer({ logLevel: 'debug' }, undefined, { logStream: { write: (line: string) => lines.push(line) } });
    try {
      const pattern = `^(${'a'.repeat(3000)})+$`;
      const reply = await httpRequest(server.url, `/tasks.get_all?name=${encodeURIComponent(pattern)}`, { method: 'GET' });
      expect(reply.status).toBe(400);
      expect(lines.some((line) => line.includes('tasks.get_all'))).toBe(true);
      expect(lines.filter((line) => line.includes('a'.repeat(300)))).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
