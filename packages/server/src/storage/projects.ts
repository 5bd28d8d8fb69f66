import type { Kysely } from 'kysely';
import { TasklaneError } from '@tasklane/protocol';
import type { SqlDialect } from './sql/dialect.js';
import { isUniqueViolation } from './sql/errors.js';
import type { Database } from './sql/schema.js';
import type { ProjectRecord, ProjectRepository } from './store.js';

/**
 * Projects (table of migration 1), written once for both stores: the record is the `data` document; `name`,
 * `parent` and the times are columns beside it for lookups and order. Names are unique, compared exactly.
 */
export class SqlProjects implements ProjectRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: SqlDialect,
  ) {}

  async get(id: string) {
    const row = await this.db.selectFrom('projects').select('data').where('id', '=', id).executeTakeFirst();
    return row && (JSON.parse(row.data) as ProjectRecord);
  }
  async getByName(name: string) {
    const row = await this.db.selectFrom('projects').select('data').where('name', '=', name).executeTakeFirst();
    return row && (JSON.parse(row.data) as ProjectRecord);
  }
  async list() {
    const rows = await this.db.selectFrom('projects').select('data').orderBy('name').execute();
    return rows.map((row) => JSON.parse(row.data) as ProjectRecord);
  }
  async insert(project: ProjectRecord) {
    try {
      await this.db
        .insertInto('projects')
        .values({ id: project.id, ...projectColumns(project), created: project.created, data: JSON.stringify(project) })
        .execute();
    } catch (error) {
      // The services look the name up first; two server processes creating the same project at once still meet here.
      if (isUniqueViolation(error)) {
        throw new TasklaneError('ALREADY_EXISTS', `Project "${project.name}" already exists; pick another name or use the existing one.`, {
          name: project.name,
        });
      }
      throw error;
    }
  }
  async update(project: ProjectRecord) {
    await this.db
      .updateTable('projects')
      .set({ ...projectColumns(project), data: JSON.stringify(project) })
      .where('id', '=', project.id)
      .execute();
  }
  async delete(ids: string[]) {
    if (ids.length === 0) return 0;
    // The parent key would need children deleted first; clearing the parent pointers inside the set avoids ordering.
    await this.db.updateTable('projects').set({ parent: null }).where(this.dialect.inList('id', ids)).execute();
    const result = await this.db.deleteFrom('projects').where(this.dialect.inList('id', ids)).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** The columns a project is looked up and ordered by (`created` never changes after the insert). */
function projectColumns(project: ProjectRecord) {
  return { name: project.name, parent: project.parent, last_update: project.last_update };
}
