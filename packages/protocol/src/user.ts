import { z } from 'zod';

/** What a user may do: an `admin` also manages users and everyone's key pairs; a `user` works with the data. */
export const USER_ROLES = ['admin', 'user'] as const;
export const UserRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRoleSchema>;

/** A user name: what one signs in with and what tasks record as their owner. */
export const UserNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'a user name is letters, digits and . _ @ - (starting with a letter or digit)');

/** A user as the API shows it (never with a password or a secret). */
export const UserSchema = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string(),
  role: UserRoleSchema,
  created: z.string(),
  company: z.object({ id: z.string(), name: z.string() }),
});
export type User = z.infer<typeof UserSchema>;

/** A key pair as listed: the access key and when it was made and last used; the secret is shown only once. */
export const CredentialSchema = z.object({
  access_key: z.string(),
  user: z.string(),
  user_name: z.string(),
  label: z.string().nullable(),
  created: z.string(),
  last_used: z.string().nullable(),
});
export type Credential = z.infer<typeof CredentialSchema>;

/** A key pair just made: the one answer that carries the secret. */
export const NewCredentialSchema = z.object({
  access_key: z.string(),
  secret_key: z.string(),
  label: z.string().nullable(),
});
export type NewCredential = z.infer<typeof NewCredentialSchema>;

export const AuthCreateCredentialsRequestSchema = z.object({
  label: z.string().max(256).optional(),
});
export const AuthGetCredentialsRequestSchema = z.object({});
export const AuthRevokeCredentialsRequestSchema = z.object({ access_key: z.string().min(1).max(128) });
export const AuthSignInRequestSchema = z.object({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
