import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Project } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { expectError, getTask, makeProject, makeTask, uniqueName } from './support/factories.js';
import { startTestServer, type TestServer } from './support/test-server.js';

describe('projects over HTTP', () => {
  let server: TestServer;
  let api: ApiClient;
  beforeAll(async () => {
    server = await startTestServer();
    api = server.api;
  });
  afterAll(async () => {
    await server.close();
  });

  /** Every project under (and including) a top-level name, ordered by name. */
  async function projectsUnder(root: string): Promise<Project[]> {
    const { projects } = await api.call('projects.get_all', { name: `^${root}(/|$)` });
    // Without only_fields, get_all answers whole projects.
    return projects as Project[];
  }

  describe('create', () => {
    it('creates the missing parents of a nested name, with basenames and ancestor paths', async () => {
      const root = uniqueName('root');
      const { id } = await api.call('projects.create', { name: `${root}/b/c`, description: 'the leaf', tags: ['t1'] });

      const projects = await projectsUnder(root);
      expect(projects.map((p) => p.name)).toEqual([root, `${root}/b`, `${root}/b/c`]);
      const [a, b, c] = projects as [Project, Project, Project];
      expect(a).toMatchObject({ basename: root, parent: null, path: [], description: '' });
      expect(b).toMatchObject({ basename: 'b', parent: a.id, path: [a.id], description: '' });
      expect(c).toMatchObject({ id, basename: 'c', parent: b.id, path: [a.id, b.id], description: 'the leaf', tags: ['t1'] });

      const { project } = await api.call('projects.get_by_id', { project: id });
      expect(project).toEqual(c);
      expect(project.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$/);
    });

    it('reuses existing parents when creating a sibling', async () => {
      const root = uniqueName('root');
      await api.call('projects.create', { name: `${root}/one` });
      await api.call('projects.create', { name: `${root}/two` });
      const projects = await projectsUnder(root);
      expect(projects.map((p) => p.name)).toEqual([root, `${root}/one`, `${root}/two`]);
      expect(projects[1]!.parent).toBe(projects[0]!.id);
      expect(projects[2]!.parent).toBe(projects[0]!.id);
    });

    it('refuses a name shorter than 3 characters, naming body.name', async () => {
      const err = await expectError(api.call('projects.create', { name: 'ab' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
      expect(err.message).toContain('"ab"');
      expect(err.details?.fields).toEqual(['body.name']);
      await expectError(api.call('projects.create', { name: ' / a /' }), 'INVALID_INPUT');
    });

    it('refuses a name that exists already', async () => {
      const { name } = await makeProject(api);
      const err = await expectError(api.call('projects.create', { name }), 'ALREADY_EXISTS');
      expect(err.message).toContain(name);
      expect(err.status).toBe(409);
    });

    it('answers PROJECT_NOT_FOUND for an unknown id', async () => {
      await expectError(api.call('projects.get_by_id', { project: 'f'.repeat(32) }), 'PROJECT_NOT_FOUND');
    });
  });

  describe('get_all', () => {
    it('filters by parent, shallow_search and name pattern', async () => {
      const root = uniqueName('root');
      const { id: leafId } = await api.call('projects.create', { name: `${root}/kid-x/deep` });
      await api.call('projects.create', { name: `${root}/kid-y` });
      const all = await projectsUnder(root);
      const rootId = all.find((p) => p.name === root)!.id;

      const children = await api.call('projects.get_all', { parent: [rootId] });
      expect(children.projects.map((p) => p.name)).toEqual([`${root}/kid-x`, `${root}/kid-y`]);

      const shallowChildren = await api.call('projects.get_all', { parent: [rootId], shallow_search: true });
      expect(shallowChildren.projects.map((p) => p.name)).toEqual([`${root}/kid-x`, `${root}/kid-y`]);

      const topLevel = await api.call('projects.get_all', { shallow_search: true });
      expect(topLevel.projects.map((p) => p.name)).toContain(root);
      expect(topLevel.projects.every((p) => p.parent === null)).toBe(true);
      expect(topLevel.projects.map((p) => p.id)).not.toContain(leafId);

      const byPattern = await api.call('projects.get_all', { name: `^${root}/kid-.$` });
      expect(byPattern.projects.map((p) => p.basename)).toEqual(['kid-x', 'kid-y']);

      const caseInsensitive = await api.call('projects.get_all', { name: `^${root.toUpperCase()}/KID-X/DEEP$` });
      expect(caseInsensitive.projects.map((p) => p.id)).toEqual([leafId]);

      const byId = await api.call('projects.get_all', { id: [leafId], only_fields: ['name'] });
      expect(byId.projects).toEqual([{ id: leafId, name: `${root}/kid-x/deep` }]);
    });

    it('orders and pages', async () => {
      const root = uniqueName('root');
      for (const name of ['ccc', 'aaa', 'bbb']) await api.call('projects.create', { name: `${root}/${name}` });
      const rootId = (await projectsUnder(root))[0]!.id;
      const desc = await api.call('projects.get_all', { parent: [rootId], order_by: ['-name'] });
      expect(desc.projects.map((p) => p.basename)).toEqual(['ccc', 'bbb', 'aaa']);
      const page1 = await api.call('projects.get_all', { parent: [rootId], page: 1, page_size: 2 });
      expect(page1.projects.map((p) => p.basename)).toEqual(['ccc']);
    });

    it('refuses an invalid name pattern', async () => {
      const err = await expectError(api.call('projects.get_all', { name: '(' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.name');
    });
  });

  describe('update and move', () => {
    it('renames a project and every sub-project with it, keeping ids and tasks', async () => {
      const root = uniqueName('root');
      const { id: deepId } = await api.call('projects.create', { name: `${root}/old-name/child/grandchild` });
      const before = await projectsUnder(root);
      const oldId = before.find((p) => p.name === `${root}/old-name`)!.id;
      const childId = before.find((p) => p.name === `${root}/old-name/child`)!.id;
      const taskId = await makeTask(api, { project: deepId });

      const reply = await api.call('projects.update', { project: oldId, name: `${root}/new-name`, description: 'renamed' });
      expect(reply.updated).toBe(1);

      const after = await projectsUnder(root);
      expect(after.map((p) => [p.name, p.id])).toEqual([
        [root, before[0]!.id],
        [`${root}/new-name`, oldId],
        [`${root}/new-name/child`, childId],
        [`${root}/new-name/child/grandchild`, deepId],
      ]);
      expect(after[1]).toMatchObject({ basename: 'new-name', description: 'renamed', parent: before[0]!.id });
      expect(after[3]).toMatchObject({ basename: 'grandchild', parent: childId, path: [before[0]!.id, oldId, childId] });
      expect((await getTask(api, taskId)).project).toBe(deepId);
    });

    it('moves a project to a new parent by renaming it, creating the parent', async () => {
      const root = uniqueName('root');
      const { id } = await api.call('projects.create', { name: `${root}/mover` });
      await api.call('projects.update', { project: id, name: `${root}/made/for/it/mover` });
      const { project } = await api.call('projects.get_by_id', { project: id });
      expect(project.name).toBe(`${root}/made/for/it/mover`);
      expect(project.path).toHaveLength(4);
    });

    it('refuses to rename onto an existing name, or into its own sub-project', async () => {
      const root = uniqueName('root');
      const { id } = await api.call('projects.create', { name: `${root}/first` });
      await api.call('projects.create', { name: `${root}/second` });
      await expectError(api.call('projects.update', { project: id, name: `${root}/second` }), 'ALREADY_EXISTS');
      await expectError(api.call('projects.update', { project: id, name: `${root}/first/inner` }), 'INVALID_INPUT');
    });

    it('changes description and tags without renaming', async () => {
      const { id, name } = await makeProject(api);
      await api.call('projects.update', { project: id, description: 'now described', tags: ['x', 'y'] });
      const { project } = await api.call('projects.get_by_id', { project: id });
      expect(project).toMatchObject({ name, description: 'now described', tags: ['x', 'y'] });
    });

    it('moves a project with its sub-projects under another one, and back to the top level', async () => {
      const root = uniqueName('root');
      const mover = uniqueName('mover');
      const { id: kidId } = await api.call('projects.create', { name: `${root}/src/${mover}/kid` });
      const { id: destId } = await api.call('projects.create', { name: `${root}/dest` });
      const moverId = (await projectsUnder(root)).find((p) => p.basename === mover)!.id;

      expect(await api.call('projects.move', { project: moverId, new_location: `${root}/dest` })).toEqual({ moved: 1 });
      let { project } = await api.call('projects.get_by_id', { project: moverId });
      expect(project).toMatchObject({ name: `${root}/dest/${mover}`, parent: destId });
      ({ project } = await api.call('projects.get_by_id', { project: kidId }));
      expect(project).toMatchObject({ name: `${root}/dest/${mover}/kid`, parent: moverId });
      expect(project.path.at(-2)).toBe(destId);

      await api.call('projects.move', { project: moverId, new_location: '' });
      ({ project } = await api.call('projects.get_by_id', { project: moverId }));
      expect(project).toMatchObject({ name: mover, parent: null, path: [] });
      ({ project } = await api.call('projects.get_by_id', { project: kidId }));
      expect(project.name).toBe(`${mover}/kid`);
    });
  });

  describe('delete', () => {
    it('deletes an empty project with its sub-projects', async () => {
      const root = uniqueName('root');
      await api.call('projects.create', { name: `${root}/sub/subsub` });
      const rootId = (await projectsUnder(root))[0]!.id;
      const reply = await api.call('projects.delete', { project: rootId });
      expect(reply).toEqual({ deleted: 3, disassociated_tasks: 0, deleted_tasks: 0 });
      expect(await projectsUnder(root)).toEqual([]);
    });

    it('refuses while the project or a sub-project holds tasks', async () => {
      const root = uniqueName('root');
      const { id: subId } = await api.call('projects.create', { name: `${root}/sub` });
      const rootId = (await projectsUnder(root))[0]!.id;
      await makeTask(api, { project: subId });
      const err = await expectError(api.call('projects.delete', { project: rootId }), 'PROJECT_NOT_EMPTY');
      expect(err.message).toContain(root);
      expect(err.message).toContain('1 task');
      expect(await projectsUnder(root)).toHaveLength(2);
    });

    it('with force keeps the tasks, without a project', async () => {
      const root = uniqueName('root');
      const { id: subId } = await api.call('projects.create', { name: `${root}/sub` });
      const rootId = (await projectsUnder(root))[0]!.id;
      const taskId = await makeTask(api, { project: subId });
      const reply = await api.call('projects.delete', { project: rootId, force: true });
      expect(reply).toEqual({ deleted: 2, disassociated_tasks: 1, deleted_tasks: 0 });
      expect((await getTask(api, taskId)).project).toBeNull();
    });

    it('with force and delete_contents deletes the tasks too', async () => {
      const root = uniqueName('root');
      const { id: subId } = await api.call('projects.create', { name: `${root}/sub` });
      const rootId = (await projectsUnder(root))[0]!.id;
      const inRoot = await makeTask(api, { project: rootId });
      const inSub = await makeTask(api, { project: subId, status: 'queued' });
      const reply = await api.call('projects.delete', { project: rootId, force: true, delete_contents: true });
      expect(reply).toEqual({ deleted: 2, disassociated_tasks: 0, deleted_tasks: 2 });
      await expectError(api.call('tasks.get_by_id', { task: inRoot }), 'TASK_NOT_FOUND');
      await expectError(api.call('tasks.get_by_id', { task: inSub }), 'TASK_NOT_FOUND');
      const { id: defaultQueue } = await api.call('queues.get_default', {});
      const { queue } = await api.call('queues.get_by_id', { queue: defaultQueue });
      expect(queue.entries.map((e) => e.task)).not.toContain(inSub);
    });
  });

  describe('tasks in projects', () => {
    it('tasks.create with project_name creates the whole project chain', async () => {
      const root = uniqueName('root');
      const taskId = await makeTask(api, { project_name: `${root}/x-level/y-level` });
      const projects = await projectsUnder(root);
      expect(projects.map((p) => p.name)).toEqual([root, `${root}/x-level`, `${root}/x-level/y-level`]);
      expect((await getTask(api, taskId)).project).toBe(projects[2]!.id);

      // A second task in the same chain reuses the projects.
      const again = await makeTask(api, { project_name: `${root}/x-level/y-level` });
      expect((await getTask(api, again)).project).toBe(projects[2]!.id);
      expect(await projectsUnder(root)).toHaveLength(3);
    });

    it('tasks.create with a short project_name is refused, naming the field', async () => {
      const err = await expectError(api.call('tasks.create', { name: 'fine name', project_name: 'ab' }), 'INVALID_INPUT');
      expect(err.message).toContain('body.project_name');
    });

    it('a refused tasks.create writes nothing: its project chain is not created', async () => {
      const root = uniqueName('root');
      await expectError(
        api.call('tasks.create', { name: 'has a bad parent', project_name: `${root}/sub`, parent: 'a'.repeat(32) }),
        'TASK_NOT_FOUND',
      );
      expect(await projectsUnder(root)).toEqual([]);
    });

    it('tasks.create with an unknown project id is refused', async () => {
      await expectError(api.call('tasks.create', { name: 'fine name', project: 'e'.repeat(32) }), 'PROJECT_NOT_FOUND');
    });

    it('tasks.get_all by project, optionally including sub-projects', async () => {
      const root = uniqueName('root');
      const inRoot = await makeTask(api, { project_name: root });
      const inSub = await makeTask(api, { project_name: `${root}/sub` });
      const inDeep = await makeTask(api, { project_name: `${root}/sub/deep` });
      const projects = await projectsUnder(root);
      const [rootId, subId] = [projects[0]!.id, projects[1]!.id];

      const direct = await api.call('tasks.get_all', { project: [rootId] });
      expect(direct.tasks.map((t) => t.id)).toEqual([inRoot]);
      const withSubs = await api.call('tasks.get_all', { project: [rootId], include_subprojects: true });
      expect(withSubs.tasks.map((t) => t.id).sort()).toEqual([inRoot, inSub, inDeep].sort());
      const fromSub = await api.call('tasks.get_all', { project: [subId], include_subprojects: true });
      expect(fromSub.tasks.map((t) => t.id).sort()).toEqual([inSub, inDeep].sort());
    });
  });
});
