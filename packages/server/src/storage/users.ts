import type { Kysely } from 'kysely';
import { TasklaneError } from '@tasklane/protocol';
import type { SqlDialect } from './sql/dialect.js';
import { isUniqueViolation } from './sql/errors.js';
import type { Database } from './sql/schema.js';
import type { CredentialRecord, SessionRecord, UserRecord, UserRepository } from './store.js';

/**
 * Users, key pairs and web sessions (tables of migrations 8 and 9), written once for both stores. User names are
 * unique ignoring case: SQLite's index is `COLLATE NOCASE`, PostgreSQL's is on `lower(name)`; lookups compare the same
 * way.
 */
export class SqlUsers implements UserRepository {
  constructor(
    private readonly db: Kysely<Database>,
    // Every repository takes the store's dialect; users need no dialect-specific SQL.
    readonly dialect: SqlDialect,
  ) {}

  private sameName(name: string) {
    // Both databases' lower() folds ASCII letters only (SQLite's always; PostgreSQL's on the name column, which
    // compares as "C"), as SQLite's NOCASE index does; so must the name looked up, or "Ärger" would not find "Ärger".
    const folded = name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
    return this.db.selectFrom('users').selectAll().where((eb) => eb(eb.fn('lower', ['name']), '=', folded));
  }

  async count() {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }
  async create(user: UserRecord) {
    try {
      await this.db.insertInto('users').values(user).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new TasklaneError('ALREADY_EXISTS', `A user named "${user.name}" already exists.`, { name: user.name });
      throw error;
    }
  }
  async byId(id: string) {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async byName(name: string) {
    return this.sameName(name).executeTakeFirst();
  }
  async list() {
    return this.db.selectFrom('users').selectAll().orderBy((eb) => eb.fn('lower', ['name'])).orderBy('name').execute();
  }
  async setPassword(id: string, passwordHash: string | null) {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
  }
  async remove(id: string, when: string) {
    await this.db.updateTable('credentials').set({ revoked: when }).where('user_id', '=', id).where('revoked', 'is', null).execute();
    await this.endUserSessions(id, when);
    const result = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
  async addCredential(credential: CredentialRecord) {
    await this.db.insertInto('credentials').values(credential).execute();
  }
  async credential(accessKey: string) {
    return this.db.selectFrom('credentials').selectAll().where('access_key', '=', accessKey).executeTakeFirst();
  }
  async activeCredentials(userId?: string) {
    let query = this.db.selectFrom('credentials').selectAll().where('revoked', 'is', null);
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    return query.orderBy('created').orderBy('access_key').execute();
  }
  async revokeCredential(accessKey: string, when: string) {
    const result = await this.db
      .updateTable('credentials')
      .set({ revoked: when })
      .where('access_key', '=', accessKey)
      .where('revoked', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
  async touchCredential(accessKey: string, when: string) {
    await this.db.updateTable('credentials').set({ last_used: when }).where('access_key', '=', accessKey).execute();
  }
  async createSession(session: SessionRecord) {
    await this.db.deleteFrom('sessions').where('expires', '<', session.created).execute();
    await this.db.insertInto('sessions').values(session).execute();
  }
  async session(id: string) {
    return this.db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  }
  async extendSession(id: string, expires: string) {
    await this.db.updateTable('sessions').set({ expires }).where('id', '=', id).where('ended', 'is', null).execute();
  }
  async endSession(id: string, when: string) {
    await this.db.updateTable('sessions').set({ ended: when }).where('id', '=', id).where('ended', 'is', null).execute();
  }
  async endUserSessions(userId: string, when: string) {
    await this.db.updateTable('sessions').set({ ended: when }).where('user_id', '=', userId).where('ended', 'is', null).execute();
  }
  async serverSecret(name: string, value: string, when: string) {
    // Two processes starting together: the first insert wins, the other's does nothing, and both read the winner's.
    await this.db
      .insertInto('server_secrets')
      .values({ name, value, created: when })
      .onConflict((conflict) => conflict.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('server_secrets').select('value').where('name', '=', name).executeTakeFirstOrThrow();
    return row.value;
  }
}
