import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('server smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('creates a task and reads it back through the SDK client', async () => {
    const { id } = await server.api.call('tasks.create', { name: 'smoke task', project_name: 'smoke/nested' });
    const { task } = await server.api.call('tasks.get_by_id', { task: id });
    expect(task).toMatchObject({ id, name: 'smoke task', status: 'created', type: 'training' });
  });
});
