import type Database from 'better-sqlite3';
import { TasklaneError } from '@tasklane/protocol';
import type { CredentialRecord, SessionRecord, UserRecord, UserRepository } from './store.js';

/** Users and key pairs in SQLite (tables of migration 8). */
export class SqliteUsers implements UserRepository {
  constructor(private readonly db: Database.Database) {}

  async count() {
    return this.db.prepare('SELECT COUNT(*) FROM users').pluck().get() as number;
  }
  async create(user: UserRecord) {
    try {
      this.db
        .prepare(
          `INSERT INTO users (id, name, display_name, role, password_hash, created)
           VALUES (@id, @name, @display_name, @role, @password_hash, @created)`,
        )
        .run(user);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new TasklaneError('ALREADY_EXISTS', `A user named "${user.name}" already exists.`, { name: user.name });
      }
      throw error;
    }
  }
  async byId(id: string) {
    return this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserRecord | undefined;
  }
  async byName(name: string) {
    return this.db.prepare('SELECT * FROM users WHERE name = ? COLLATE NOCASE').get(name) as UserRecord | undefined;
  }
  async list() {
    return this.db.prepare('SELECT * FROM users ORDER BY name COLLATE NOCASE').all() as UserRecord[];
  }
  async setPassword(id: string, passwordHash: string | null) {
    this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(passwordHash, id);
  }
  async remove(id: string, when: string) {
    this.db.prepare('UPDATE credentials SET revoked = ? WHERE user_id = ? AND revoked IS NULL').run(when, id);
    await this.endUserSessions(id, when);
    return this.db.prepare('DELETE FROM users WHERE id = ?').run(id).changes > 0;
  }
  async addCredential(credential: CredentialRecord) {
    this.db
      .prepare(
        `INSERT INTO credentials (access_key, user_id, secret_hash, label, created, last_used, revoked)
         VALUES (@access_key, @user_id, @secret_hash, @label, @created, @last_used, @revoked)`,
      )
      .run(credential);
  }
  async credential(accessKey: string) {
    return this.db.prepare('SELECT * FROM credentials WHERE access_key = ?').get(accessKey) as CredentialRecord | undefined;
  }
  async activeCredentials(userId?: string) {
    const where = userId === undefined ? '' : 'AND user_id = @userId';
    return this.db
      .prepare(`SELECT * FROM credentials WHERE revoked IS NULL ${where} ORDER BY created, access_key`)
      .all(userId === undefined ? {} : { userId }) as CredentialRecord[];
  }
  async revokeCredential(accessKey: string, when: string) {
    return this.db.prepare('UPDATE credentials SET revoked = ? WHERE access_key = ? AND revoked IS NULL').run(when, accessKey).changes > 0;
  }
  async touchCredential(accessKey: string, when: string) {
    this.db.prepare('UPDATE credentials SET last_used = ? WHERE access_key = ?').run(when, accessKey);
  }
  async createSession(session: SessionRecord) {
    this.db.prepare('DELETE FROM sessions WHERE expires < ?').run(session.created);
    this.db.prepare('INSERT INTO sessions (id, user_id, created, expires, ended) VALUES (@id, @user_id, @created, @expires, @ended)').run(session);
  }
  async session(id: string) {
    return this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRecord | undefined;
  }
  async extendSession(id: string, expires: string) {
    this.db.prepare('UPDATE sessions SET expires = ? WHERE id = ? AND ended IS NULL').run(expires, id);
  }
  async endSession(id: string, when: string) {
    this.db.prepare('UPDATE sessions SET ended = ? WHERE id = ? AND ended IS NULL').run(when, id);
  }
  async endUserSessions(userId: string, when: string) {
    this.db.prepare('UPDATE sessions SET ended = ? WHERE user_id = ? AND ended IS NULL').run(when, userId);
  }
}
