// The NUL character (U+0000) behaves alike on both stores (issue 15): PostgreSQL stores it in no text or JSON column,
// SQLite would. Console text (a log event's msg) may be any process's output: stored with U+FFFD. Anywhere else in a
// request it is refused with 400 INVALID_INPUT naming the field, and nothing is stored. This file runs on SQLite
// (integration) and again on PostgreSQL (integration-postgres).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall, startTestServer, TEST_STORE, type TestServer } from './support/test-server.js';

const NUL = '\u0000';

describe(`the NUL character in requests (${TEST_STORE})`, () => {
  let server: TestServer;
  let taskId: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ id: taskId } = await server.api.call('tasks.create', { name: 'nul target', project_name: 'nul' }));
    await server.api.call('tasks.started', { task: taskId });
  });
  afterAll(async () => {
    await server?.close();
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) => rawCall(server.url, path, { body: JSON.stringify(body), headers });
  const taskNames = async () => (await server.api.call('tasks.get_all', { project: undefined, only_fields: ['name'], order_by: ['name'] } as never)).tasks.map((t: { name?: string }) => t.name);

  it.each([
    ['a task name', '/tasks.create', { name: `bad${NUL}name`, project_name: 'nul' }, 'body.name'],
    ['a tag', '/tasks.create', { name: 'tagged', project_name: 'nul', tags: ['fine', `bad${NUL}`] }, 'body.tags.1'],
    ['a key', '/tasks.create', { name: 'keyed', project_name: 'nul', hyperparams: { [`Args${NUL}`]: { lr: { section: 'Args', name: 'lr', value: '1' } } } }, 'body.hyperparams.Args\\u0000'],
    ['a project name', '/projects.create', { name: `nul${NUL}project` }, 'body.name'],
  ])('refuses %s with 400 INVALID_INPUT naming the field, storing nothing', async (_what, path, body, field) => {
    const before = await taskNames();
    const reply = await post(path, body);
    expect(reply.status).toBe(400);
    expect(reply.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: [field] });
    expect(reply.json.meta.result_msg).toBe(
      `Invalid request: ${field} contains the NUL character (U+0000), which cannot be stored. Remove it (or replace it, e.g. with U+FFFD) and send the request again.`,
    );
    expect(await taskNames()).toEqual(before);
  });

  it('refuses a hyperparameter value with NUL, and the task keeps its values', async () => {
    const { id } = await server.api.call('tasks.create', { name: 'nul params', project_name: 'nul' });
    await server.api.call('tasks.edit_hyper_params', { task: id, hyperparams: [{ section: 'Args', name: 'lr', value: '0.1' }] });
    const reply = await post('/tasks.edit_hyper_params', { task: id, hyperparams: [{ section: 'Args', name: 'lr', value: `0.2${NUL}` }] });
    expect(reply.status).toBe(400);
    expect(reply.json.meta.result_msg).toMatchInlineSnapshot(
      `"Invalid request: body.hyperparams.0.value contains the NUL character (U+0000), which cannot be stored. Remove it (or replace it, e.g. with U+FFFD) and send the request again."`,
    );
    const { params } = await server.api.call('tasks.get_hyper_params', { tasks: [id] });
    expect(params[0]?.hyperparams).toMatchObject([{ section: 'Args', name: 'lr', value: '0.1' }]);
  });

  it('refuses NUL in a query-string value (%00) alike', async () => {
    const reply = await rawCall(server.url, '/tasks.get_all?name=a%00b', { method: 'GET', headers: {} });
    expect(reply.status).toBe(400);
    expect(reply.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: ['body.name'] });
  });

  it('stores console text with NUL as U+FFFD (events.add_batch and events.add), and refuses NUL in its other fields', async () => {
    const line = (n: number, fields: Record<string, unknown>) => ({ type: 'log', task: taskId, id: `nul-${n}`, timestamp: 1_700_000_000_000 + n, msg: `line ${n}`, ...fields });
    const batch = [line(1, { msg: `before${NUL}after` }), line(2, { msg: `${NUL}${NUL}` }), line(3, {})];
    const added = await rawCall(server.url, '/events.add_batch', {
      body: batch.map((event) => JSON.stringify(event)).join('\n'),
      headers: { 'content-type': 'application/json-lines' },
    });
    expect(added.status).toBe(200);
    expect((await post('/events.add', line(4, { msg: `single${NUL}` }))).status).toBe(200);

    const refused = await rawCall(server.url, '/events.add_batch', {
      body: [line(5, {}), line(6, { worker: `w${NUL}` })].map((event) => JSON.stringify(event)).join('\n'),
      headers: { 'content-type': 'application/json-lines' },
    });
    expect(refused.status).toBe(400);
    expect(refused.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: ['body.1.worker'] });
    const scalar = await post('/events.add', { type: 'training_stats_scalar', task: taskId, metric: `loss${NUL}`, variant: 'v', iter: 1, value: 1 });
    expect(scalar.status).toBe(400);
    expect(scalar.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: ['body.metric'] });

    const log = await server.api.call('events.get_task_log', { task: taskId, batch_size: 100, navigate_earlier: false });
    expect(log.events.map((e) => e.msg)).toEqual(['before\uFFFDafter', '\uFFFD\uFFFD', 'line 3', 'single\uFFFD']);
  });

  it('ignores an X-Tasklane-User header holding NUL, as one too long', async () => {
    const plain = await post('/tasks.create', { name: 'nul user plain', project_name: 'nul' });
    const withNul = await post('/tasks.create', { name: 'nul user', project_name: 'nul' }, { 'x-tasklane-user': 'al%00ice' });
    expect(withNul.status).toBe(200);
    const { tasks } = await server.api.call('tasks.get_all', { id: [plain.json.data.id, withNul.json.data.id], only_fields: ['id', 'user'] } as never);
    const userOf = (id: string) => tasks.find((t: { id: string }) => t.id === id)?.user;
    expect(userOf(withNul.json.data.id)).toBe(userOf(plain.json.data.id));
  });

  // A lone UTF-16 surrogate ("\ud800" is valid JSON, but not Unicode text): PostgreSQL's jsonb refuses it, SQLite
  // would store it; refused alike, except in console text, stored with U+FFFD. JSON.stringify writes it as the escape.
  it.each([
    ['a task name', '/tasks.create', { name: 'bad\ud800name', project_name: 'nul' }, 'body.name'],
    ['a comment', '/tasks.create', { name: 'commented', project_name: 'nul', comment: 'x\udc00' }, 'body.comment'],
    ['a key', '/tasks.create', { name: 'keyed', project_name: 'nul', hyperparams: { 'Args\udfff': {} } }, 'body.hyperparams.Args\\udfff'],
  ])('refuses a lone surrogate in %s with 400 INVALID_INPUT naming the field, storing nothing', async (_what, path, body, field) => {
    const before = await taskNames();
    const reply = await post(path, body);
    expect(reply.status).toBe(400);
    expect(reply.json.meta.error_data).toEqual({ code: 'INVALID_INPUT', fields: [field] });
    expect(reply.json.meta.result_msg).toBe(
      `Invalid request: ${field} contains a lone UTF-16 surrogate (not Unicode text), which cannot be stored. Remove it (or replace it, e.g. with U+FFFD) and send the request again.`,
    );
    expect(await taskNames()).toEqual(before);
  });

  it('takes a surrogate pair (an emoji, as Python writes it: \\ud83d\\ude80) as it is, and console text with a lone one as U+FFFD', async () => {
    const created = await rawCall(server.url, '/tasks.create', { body: '{"name":"rocket \\ud83d\\ude80","project_name":"nul"}', headers: {} });
    expect(created.status).toBe(200);
    const { tasks } = await server.api.call('tasks.get_all', { id: [created.json.data.id], only_fields: ['name'] } as never);
    expect(tasks[0]?.name).toBe('rocket \u{1F680}');
    const line = { type: 'log', task: taskId, id: 'lone-1', timestamp: 1_700_000_001_000, msg: 'half \ud83d of a rocket' };
    expect((await post('/events.add', line)).status).toBe(200);
    const log = await server.api.call('events.get_task_log', { task: taskId, batch_size: 100, navigate_earlier: false });
    expect(log.events.map((e) => e.msg)).toContain('half \uFFFD of a rocket');
  });
});
