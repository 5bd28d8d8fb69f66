import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModel, makeProject } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('models.get_frameworks', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('lists the distinct frameworks, sorted, optionally of some projects only', async () => {
    const api = server.api;
    expect(await api.call('models.get_frameworks', {})).toEqual({ frameworks: [] });
    const vision = await makeProject(api);
    const text = await makeProject(api);
    await makeModel(api, { framework: 'PyTorch', project: vision.id });
    await makeModel(api, { framework: 'PyTorch', project: text.id });
    await makeModel(api, { framework: 'ONNX', project: text.id });
    await makeModel(api, { project: vision.id });
    expect(await api.call('models.get_frameworks', {})).toEqual({ frameworks: ['ONNX', 'PyTorch'] });
    expect(await api.call('models.get_frameworks', { projects: [vision.id] })).toEqual({ frameworks: ['PyTorch'] });
  });
});
