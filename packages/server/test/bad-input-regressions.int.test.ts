// What the bad-input sweep (bad-input-sweep.int.test.ts) found, one focused test each: a search text SQLite refuses
// (500), bulk requests of 100,000 ids that held the server for seconds, a 16 MB body of wrong list items that ran
// the server out of memory, error replies that quoted a megabyte of input, and a hostile query key let through
// next to a JSON-lines batch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IDS_PER_BULK, MAX_JSON_VALUES, MAX_SEARCH_TEXT_LENGTH, newId } from '@tasklane/protocol';
import { makeModel, makeTask } from './support/factories.js';
import { httpRequest } from './support/http-request.js';
import { startTestServer, type TestServer } from './support/test-server.js';

const JSON_TYPE = { 'content-type': 'application/json' };

describe('bad inputs the sweep found', () => {
  let server: TestServer;
  const post = (endpoint: string, body: unknown) =>
    httpRequest(server.url, `/${endpoint}`, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: JSON_TYPE, timeoutMs: 10_000 });

  beforeAll(async () => {
    server = await startTestServer();
    await makeTask(server.api, { name: 'a task to search', comment: 'so that the search runs on a row' });
    await makeModel(server.api, { name: 'a model to search' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('refuses a search_text longer than it takes with 400 (SQLite refused LIKE patterns over 50,000 bytes: 500)', async () => {
    for (const endpoint of ['tasks.get_all', 'models.get_all']) {
      const tooLong = await post(endpoint, { search_text: 'x'.repeat(100_000) });
      expect({ endpoint, status: tooLong.status, code: tooLong.json.meta.error_data.code }).toEqual({ endpoint, status: 400, code: 'INVALID_INPUT' });
      expect(tooLong.json.meta.result_msg).toMatch(
        new RegExp(`^Invalid request: body\\.search_text: a search text has at most ${MAX_SEARCH_TEXT_LENGTH} characters, got "x{10,80}\\.\\.\\.$`),
      );
      const longest = await post(endpoint, { search_text: 'x'.repeat(MAX_SEARCH_TEXT_LENGTH) });
      expect({ endpoint, status: longest.status }).toEqual({ endpoint, status: 200 });
    }
  });

  it(`takes at most ${MAX_IDS_PER_BULK} ids in a bulk request (100,000 held the server for seconds)`, async () => {
    const ids = (count: number) => Array.from({ length: count }, () => newId());
    for (const [endpoint, field] of [
      ['tasks.reset_many', 'ids'],
      ['tasks.enqueue_many', 'ids'],
      ['models.publish_many', 'ids'],
      ['tasks.archive', 'tasks'],
      ['tasks.get_hyper_params', 'tasks'],
      ['tasks.get_configurations', 'tasks'],
    ] as const) {
      const over = await post(endpoint, { [field]: ids(MAX_IDS_PER_BULK + 1) });
      expect({ endpoint, status: over.status }).toEqual({ endpoint, status: 400 });
      expect(over.json.meta.result_msg).toMatch(
        new RegExp(`^Invalid request: body\\.${field}: at most ${MAX_IDS_PER_BULK} ids per request; send a larger selection in several requests, got \\["`),
      );
      // As many ids as allowed pass validation (ids of nothing: each reported as failed, or TASK_NOT_FOUND).
      const most = await post(endpoint, { [field]: ids(MAX_IDS_PER_BULK) });
      expect({ endpoint, status: most.status }).toEqual({ endpoint, status: endpoint.endsWith('_many') ? 200 : 404 });
    }
  });

  it('refuses a body of millions of wrong list items at once with 413, serving others meanwhile (it ran out of memory)', async () => {
    for (const [items, message] of [
      // 16 MB: more than one JSON document may be, refused before it is parsed.
      [7_999_999, /^Request body is one JSON document of 16,000,0\d\d characters; a document may have at most 8,388,608/],
      // 8 MB: parsed, and refused for its four million values before anything validates them.
      [3_999_999, /^Request body holds more than 100,000 values \(list items and object fields, at every level together\); no request of this endpoint needs that many\. Send the data in several requests\.$/],
    ] as const) {
      const zeros = `[${'0,'.repeat(items)}0]`;
      const started = performance.now();
      const [reply, other] = await Promise.all([
        post('tasks.create', `{"name": "megabytes", "models": {"output": ${zeros}}}`),
        (async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          const sent = performance.now();
          const answer = await httpRequest(server.url, '/queues.get_default', { method: 'GET', timeoutMs: 5_000 });
          return { status: answer.status, ms: performance.now() - sent };
        })(),
      ]);
      expect({ status: reply.status, code: reply.json.meta.error_data.code }).toEqual({ status: 413, code: 'REQUEST_TOO_LARGE' });
      expect(reply.json.meta.result_msg).toMatch(message);
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(other.status).toBe(200);
      expect(other.ms).toBeLessThan(1_000);
    }
  });

  it(`takes ${MAX_JSON_VALUES.toLocaleString('en')} values in a body and no more`, async () => {
    // The body itself holds 1 value (`tags`); the list the rest.
    const tags = (count: number) => Array.from({ length: count }, () => 'x');
    expect((await post('tasks.get_all', { tags: tags(MAX_JSON_VALUES - 1) })).status).toBe(200);
    expect((await post('tasks.get_all', { tags: tags(MAX_JSON_VALUES) })).status).toBe(413);
  });

  it('keeps error replies short whatever they quote: the start and the end of the message, details cut', async () => {
    const huge = 'h'.repeat(1_000_000);
    const reply = await post('queues.get_by_id', { queue: huge });
    expect(reply.status).toBe(404);
    const message: string = reply.json.meta.result_msg;
    expect(message.length).toBeLessThanOrEqual(1_000);
    expect(message).toMatch(/^Queue "hhhh/);
    expect(message).toMatch(/…\(999,\d{3} characters cut\)…h+"? [^h]/);
    expect(reply.text.length).toBeLessThan(2_000);

    // A scroll id is quoted by the events service; the reply stays short too.
    const task = await makeTask(server.api, { status: 'in_progress' });
    const scroll = await post('events.get_task_events', { task, scroll_id: huge });
    expect(scroll.status).toBe(400);
    expect(scroll.text.length).toBeLessThan(2_000);
    expect(scroll.json.meta.result_msg).toMatch(/^Invalid request: body\.scroll_id: not a scroll id this server made, got "h+…\(/);
  });

  it('refuses a hostile query key next to a JSON-lines batch (it was ignored, and the batch stored)', async () => {
    const task = await makeTask(server.api, { status: 'in_progress' });
    const line = JSON.stringify({ type: 'log', task, msg: 'stored?', timestamp: Date.now() });
    const reply = await httpRequest(server.url, '/events.add_batch?__proto__.polluted=yes', {
      body: `${line}\n`,
      headers: { 'content-type': 'application/json-lines' },
    });
    expect(reply.status).toBe(400);
    expect(reply.json.meta.result_msg).toBe('Invalid request: query.__proto__.polluted: the key "__proto__" is not allowed (it would reach object prototypes).');
    expect((await server.api.call('events.get_task_log', { task })).events).toEqual([]);
  });
});
