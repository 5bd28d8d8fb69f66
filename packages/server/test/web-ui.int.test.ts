import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, loadServerConfig, type TasklaneApp } from '@tasklane/server';
import { newTestDatabase, type TestDatabase } from './support/test-server.js';

describe('web UI serving', () => {
  let dir: string;
  let withUi: TasklaneApp;
  let withoutUi: TasklaneApp;
  let databases: TestDatabase[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-web-'));
    const webDir = join(dir, 'web');
    await mkdir(join(webDir, 'assets'), { recursive: true });
    await writeFile(join(webDir, 'index.html'), '<!doctype html><div id="root"></div>');
    await writeFile(join(webDir, 'assets', 'index-AbCd1234.js'), 'console.log(1)');
    await writeFile(join(webDir, 'assets', 'logo.svg'), '<svg/>');
    await writeFile(join(dir, 'secret.txt'), 'top secret');
    const base = { port: 0, logLevel: 'silent' } as const;
    databases = await Promise.all([newTestDatabase(join(dir, 'a')), newTestDatabase(join(dir, 'b'))]);
    withUi = await buildApp(loadServerConfig({}, { ...base, dataDir: join(dir, 'a'), dbUrl: databases[0]!.dbUrl, webDir }));
    withoutUi = await buildApp(
      loadServerConfig({ TASKLANE_WEB_DIR: join(dir, 'none') }, { ...base, dataDir: join(dir, 'b'), dbUrl: databases[1]!.dbUrl }),
    );
  });
  afterAll(async () => {
    await withUi?.app.close();
    await withoutUi?.app.close();
    for (const database of databases) await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (app: TasklaneApp, url: string) => app.app.inject({ method: 'GET', url });

  it('serves files with their type, hashed assets cached for good, the rest revalidated', async () => {
    const asset = await get(withUi, '/assets/index-AbCd1234.js');
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    // Files at the top level named like `a.b` are API paths; Vite puts everything but index.html under assets/.
    const svg = await get(withUi, '/assets/logo.svg');
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
    const index = await get(withUi, '/');
    expect(index.body).toContain('id="root"');
    expect(index.headers['cache-control']).toBe('no-cache');
  });

  it('answers index.html for app routes, 404 for missing files and for paths that leave the folder', async () => {
    const route = await get(withUi, '/projects/abc/tasks?status=completed');
    expect(route.statusCode).toBe(200);
    expect(route.body).toContain('id="root"');
    expect((await get(withUi, '/assets/missing-12345678.js')).statusCode).toBe(404);
    for (const url of ['/../secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const res = await get(withUi, url);
      expect(res.body, url).not.toContain('top secret');
      expect(res.statusCode, url).toBe(404);
    }
  });

  it('keeps the API and falls back to the landing page without a build', async () => {
    const api = await withUi.app.inject({ method: 'POST', url: '/queues.get_all', payload: {} });
    expect(api.statusCode).toBe(200);
    const landing = await get(withoutUi, '/');
    expect(landing.body).toContain('Tasklane server is running');
    expect((await get(withoutUi, '/projects')).statusCode).toBe(404);
  });
});
