import {
  TasklaneError,
  UserNameSchema,
  newId,
  type Credential,
  type NewCredential,
  type ParsedRequestOf,
  type ResponseOf,
  type User,
  type UserRole,
} from '@tasklane/protocol';
import type { CredentialRecord, Store, UserRecord } from '../storage/store.js';
import type { Identity } from './authenticator.js';
import type { ServiceContext } from './context.js';
import { hashSecret, newAccessKey, newSecretKey } from './secrets.js';
import { COMPANY } from './tokens.js';

/** A user as the API shows it: never the password hash. */
export function publicUser(user: UserRecord): User {
  return { id: user.id, name: user.name, display_name: user.display_name, role: user.role, created: user.created, company: { ...COMPANY } };
}

function publicCredential(credential: CredentialRecord, users: Map<string, UserRecord>): Credential {
  return {
    access_key: credential.access_key,
    user: credential.user_id,
    user_name: users.get(credential.user_id)?.name ?? '(removed)',
    label: credential.label,
    created: credential.created,
    last_used: credential.last_used,
  };
}

/** The shortest password a user may get. */
export const MIN_PASSWORD_LENGTH = 8;

export interface NewUser {
  name: string;
  displayName?: string;
  role: UserRole;
  /** Omitted: the user signs in with key pairs only (no web UI sign-in until a password is set). */
  password?: string;
}

/** Adds a user (the slow hash runs before the transaction). Used by `tasklane users add`. */
export async function addUser(store: Store, input: NewUser, now = new Date()): Promise<User> {
  const name = UserNameSchema.safeParse(input.name);
  if (!name.success) throw new TasklaneError('INVALID_INPUT', `Invalid user name ${JSON.stringify(input.name.slice(0, 80))}: ${name.error.issues[0]?.message}.`);
  if (input.password !== undefined) checkPassword(input.password);
  const record: UserRecord = {
    id: newId(),
    name: name.data,
    display_name: input.displayName?.trim() || name.data,
    role: input.role,
    password_hash: input.password === undefined ? null : await hashSecret(input.password),
    created: now.toISOString(),
  };
  await store.transaction((repos) => repos.users.create(record));
  return publicUser(record);
}

/** Sets (or, with `undefined`, clears) a user's web UI password. Used by `tasklane users set-password`. */
export async function setUserPassword(store: Store, name: string, password: string | undefined): Promise<User> {
  if (password !== undefined) checkPassword(password);
  const hash = password === undefined ? null : await hashSecret(password);
  return store.transaction(async (repos) => {
    const user = await repos.users.byName(name);
    if (user === undefined) throw noSuchUser(name);
    await repos.users.setPassword(user.id, hash);
    // A new password ends the web sessions started with the old one.
    await repos.users.endUserSessions(user.id, new Date().toISOString());
    return publicUser(user);
  });
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new TasklaneError('INVALID_INPUT', `The password is too short: use at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (password.length > 1024) throw new TasklaneError('INVALID_INPUT', 'The password is too long: use at most 1,024 characters.');
}

export async function listUsers(store: Store): Promise<User[]> {
  return (await store.transaction((repos) => repos.users.list(), { readOnly: true })).map(publicUser);
}

/** Removes a user by name; their key pairs stop working at once. Their tasks stay (under their name). */
export async function removeUser(store: Store, name: string, now = new Date()): Promise<User> {
  return store.transaction(async (repos) => {
    const user = await repos.users.byName(name);
    if (user === undefined) throw noSuchUser(name);
    await repos.users.remove(user.id, now.toISOString());
    return publicUser(user);
  });
}

/** Makes a key pair for a user (by id or name); the answer is the only time the secret is seen. */
export async function createCredentials(store: Store, user: { id?: string; name?: string }, label?: string, now = new Date()): Promise<NewCredential & { user: User }> {
  const fresh = await prepareKeyPair();
  const owner = await store.transaction(async (repos) => {
    const found = user.id !== undefined ? await repos.users.byId(user.id) : await repos.users.byName(user.name ?? '');
    if (found === undefined) throw noSuchUser(user.name ?? user.id ?? '');
    await repos.users.addCredential(newCredentialRecord(fresh, found.id, label, now.toISOString()));
    return found;
  });
  return { access_key: fresh.accessKey, secret_key: fresh.secretKey, label: label?.trim() || null, user: publicUser(owner) };
}

function newCredentialRecord(fresh: PreparedKeyPair, userId: string, label: string | undefined, created: string): CredentialRecord {
  return { access_key: fresh.accessKey, user_id: userId, secret_hash: fresh.secretHash, label: label?.trim() || null, created, last_used: null, revoked: null };
}

/** Working key pairs: one user's (by name) or everyone's. */
export async function listCredentials(store: Store, userName?: string): Promise<Credential[]> {
  return store.transaction(
    async (repos) => {
      const users = new Map((await repos.users.list()).map((user) => [user.id, user]));
      let userId: string | undefined;
      if (userName !== undefined) {
        const user = await repos.users.byName(userName);
        if (user === undefined) throw noSuchUser(userName);
        userId = user.id;
      }
      return (await repos.users.activeCredentials(userId)).map((credential) => publicCredential(credential, users));
    },
    { readOnly: true },
  );
}

/** Revokes a key pair; it fails from the next request on. `owner` limits it to that user's keys. */
export async function revokeCredentials(store: Store, accessKey: string, owner?: string, now = new Date()): Promise<void> {
  await store.transaction(async (repos) => {
    const credential = await repos.users.credential(accessKey);
    if (credential === undefined || credential.revoked !== null || (owner !== undefined && credential.user_id !== owner)) {
      throw new TasklaneError('INVALID_INPUT', `No working key pair with access key ${JSON.stringify(accessKey.slice(0, 64))}${owner !== undefined ? ' is yours' : ''}.`, {
        access_key: accessKey.slice(0, 64),
      });
    }
    await repos.users.revokeCredential(accessKey, now.toISOString());
  });
}

function noSuchUser(name: string): TasklaneError {
  return new TasklaneError('INVALID_INPUT', `No user named ${JSON.stringify(name.slice(0, 80))}; \`tasklane users list\` shows who there is.`, { name: name.slice(0, 80) });
}

/** The signed-in identity of a request, or an error saying that the endpoint needs auth to be on. */
function signedIn(ctx: ServiceContext, endpoint: string): Identity {
  const identity = ctx.caller?.identity;
  if (identity === undefined) {
    throw new TasklaneError(
      'INVALID_INPUT',
      `${endpoint} needs a signed-in user, and authentication is off on this server (it listens on loopback only and has ` +
        'no users). Start it with --auth on after `tasklane users add NAME --admin`.',
    );
  }
  return identity;
}

function requireAdmin(identity: Identity, endpoint: string): void {
  if (identity.user.role !== 'admin') {
    throw new TasklaneError('FORBIDDEN', `${endpoint} is for admins, and ${identity.user.name} is not one.`, { reason: 'role_not_allowed' });
  }
}

/** auth.create_credentials: the caller's new key pair. The hash was made before the transaction (see api-route). */
export async function createOwnCredentials(ctx: ServiceContext, body: ParsedRequestOf<'auth.create_credentials'>): Promise<ResponseOf<'auth.create_credentials'>> {
  const identity = signedIn(ctx, 'auth.create_credentials');
  const fresh = ctx.prepared as PreparedKeyPair | undefined;
  if (fresh === undefined) throw new Error('auth.create_credentials runs with a prepared key pair');
  const record = newCredentialRecord(fresh, identity.user.id, body.label, ctx.now());
  await ctx.repos.users.addCredential(record);
  const auth = ctx.auth;
  ctx.afterCommit?.(async () => auth?.forget());
  return { credentials: { access_key: record.access_key, secret_key: fresh.secretKey, label: record.label } };
}

/** A key pair made and hashed outside the transaction. */
export interface PreparedKeyPair {
  accessKey: string;
  secretKey: string;
  secretHash: string;
}

export async function prepareKeyPair(): Promise<PreparedKeyPair> {
  const secretKey = newSecretKey();
  return { accessKey: newAccessKey(), secretKey, secretHash: await hashSecret(secretKey) };
}

export async function getOwnCredentials(ctx: ServiceContext): Promise<ResponseOf<'auth.get_credentials'>> {
  const identity = signedIn(ctx, 'auth.get_credentials');
  const credentials = await ctx.repos.users.activeCredentials(identity.user.id);
  return { credentials: credentials.map((credential) => publicCredential(credential, new Map([[identity.user.id, identity.user]]))) };
}

export async function revokeOwnCredentials(ctx: ServiceContext, body: ParsedRequestOf<'auth.revoke_credentials'>): Promise<ResponseOf<'auth.revoke_credentials'>> {
  const identity = signedIn(ctx, 'auth.revoke_credentials');
  const credential = await ctx.repos.users.credential(body.access_key);
  const mayRevoke = credential !== undefined && (credential.user_id === identity.user.id || identity.user.role === 'admin');
  if (credential === undefined || credential.revoked !== null || !mayRevoke) {
    throw new TasklaneError('INVALID_INPUT', `You have no working key pair with access key ${JSON.stringify(body.access_key.slice(0, 64))}.`, {
      access_key: body.access_key.slice(0, 64),
    });
  }
  await ctx.repos.users.revokeCredential(body.access_key, ctx.now());
  const auth = ctx.auth;
  ctx.afterCommit?.(async () => auth?.forget());
  return { revoked: 1 };
}

/** Where auth is off there are no accounts: the caller is the user their header names, with every right. */
function anonymousUser(ctx: ServiceContext): User {
  const name = ctx.caller?.user ?? 'tasklane';
  return { id: '__tasklane__', name, display_name: name, role: 'admin', created: '1970-01-01T00:00:00.000Z', company: { ...COMPANY } };
}

export async function getCurrentUser(ctx: ServiceContext): Promise<ResponseOf<'users.get_current_user'>> {
  const identity = ctx.caller?.identity;
  return identity === undefined ? { user: anonymousUser(ctx), auth: false } : { user: publicUser(identity.user), auth: true };
}

export async function getAllUsers(ctx: ServiceContext): Promise<ResponseOf<'users.get_all'>> {
  const identity = ctx.caller?.identity;
  if (identity !== undefined) requireAdmin(identity, 'users.get_all');
  return { users: (await ctx.repos.users.list()).map(publicUser) };
}
