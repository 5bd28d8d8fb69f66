// A task document nested deeper than SQLite's JSON limit, stored by a server from before the edge limited depth,
// made every query that reads documents fail for every client. Migration 7 rewrites such documents readably.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { MAX_JSON_DEPTH, findJsonHazard } from '@tasklane/protocol';
import { loadServerConfig, startServer } from '@tasklane/server';

describe('documents stored nested too deep', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-poison-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are rewritten at start with their deep part kept as text, and every query works again', async () => {
    const config = loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'silent' });
    let server = await startServer(config);
    let api = new ApiClient({ baseUrl: server.url });
    const { id: project } = await api.call('projects.create', { name: 'poisoned' });
    const { id } = await api.call('tasks.create', { name: 'victim', project, hyperparams: { Args: { lr: { value: '0.1' } } } });
    const { id: healthy } = await api.call('tasks.create', { name: 'healthy', project, hyperparams: { Args: { lr: { value: '0.2' } } } });
    await server.close();

    // What an older server stored as it came: a runtime 1,000 levels deep (the database as it was before migration 7).
    const db = new Database(config.dbFile);
    const data = JSON.parse(db.prepare('SELECT data FROM tasks WHERE id = ?').pluck().get(id) as string) as Record<string, unknown>;
    const deep = `${'{"a":'.repeat(1000)}"bottom"${'}'.repeat(1000)}`;
    const poisoned = JSON.stringify({ ...data, runtime: { marker: 'kept' } }).replace('"marker":"kept"', `"marker":"kept","deep":${deep}`);
    db.prepare('UPDATE tasks SET data = ? WHERE id = ?').run(poisoned, id);
    db.prepare('DELETE FROM schema_migrations WHERE version = 7').run();
    expect(() => db.prepare("SELECT json_extract(data, '$.comment') FROM tasks").all()).toThrow(/malformed JSON/);
    db.close();

    server = await startServer(config);
    api = new ApiClient({ baseUrl: server.url });
    try {
      expect((await api.call('tasks.get_all', { project: [project], search_text: 'vict' })).tasks.map((t) => t.id)).toEqual([id]);
      const sorted = await api.call('tasks.get_all', { project: [project], order_by: ['-hyperparams.Args.lr.value'], only_fields: ['id'] });
      expect(sorted.tasks.map((t) => t.id)).toEqual([healthy, id]);
      expect((await api.call('projects.get_hyper_parameters', { project })).parameters).toEqual([{ section: 'Args', name: 'lr' }]);

      const task = (await api.call('tasks.get_by_id', { task: id })).task;
      expect(task.runtime.marker).toBe('kept');
      expect(findJsonHazard(task)).toBeUndefined();
      // The deep part is all there, as the JSON text of what sat below level 64.
      let part: unknown = task.runtime.deep;
      let levels = 0;
      while (typeof part === 'object' && part !== null) {
        part = (part as { a: unknown }).a;
        levels += 1;
      }
      expect(typeof part).toBe('string');
      expect(`${'{"a":'.repeat(levels)}${part as string}${'}'.repeat(levels)}`).toBe(deep);
      expect(levels).toBeLessThan(MAX_JSON_DEPTH);
    } finally {
      await server.close();
    }
  });
});
