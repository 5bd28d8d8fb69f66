import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModel, makeTask } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('tasks.get_all by input model', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('lists the tasks that use a model as input, not the one that made it', async () => {
    const api = server.api;
    const maker = await makeTask(api);
    const model = await makeModel(api, { task: maker });
    await api.call('tasks.add_or_update_model', { task: maker, name: 'out', model, type: 'output' });
    const userA = await makeTask(api);
    const userB = await makeTask(api);
    await makeTask(api);
    for (const task of [userA, userB]) await api.call('tasks.add_or_update_model', { task, name: 'in', model, type: 'input' });

    const { tasks } = await api.call('tasks.get_all', { 'models.input.model': [model], only_fields: ['id'] });
    expect(tasks.map((t) => t.id).sort()).toEqual([userA, userB].sort());
    // Combined with other filters: both must hold.
    const narrowed = await api.call('tasks.get_all', { 'models.input.model': [model], id: [userA, maker], only_fields: ['id'] });
    expect(narrowed.tasks.map((t) => t.id)).toEqual([userA]);
    const none = await api.call('tasks.get_all', { 'models.input.model': ['f'.repeat(32)] });
    expect(none.tasks).toEqual([]);
  });
});
