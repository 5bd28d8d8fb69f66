export { buildApp, type AppDependencies, type TasklaneApp } from './app.js';
export { startServer, type RunningServer } from './main.js';
export { loadServerConfig, SERVER_ENV_VARS, ServerConfigSchema, type ServerConfig, type ServerConfigInput } from './config.js';
export { openSqliteStore } from './storage/sqlite.js';
export { openStore } from './storage/open-store.js';
export type { Store, Repositories } from './storage/store.js';
export { SERVER_VERSION } from './services/auth.js';
export { isLoopbackHost } from './app.js';
export {
  MIN_PASSWORD_LENGTH,
  addUser,
  createCredentials,
  listCredentials,
  listUsers,
  removeUser,
  revokeCredentials,
  setUserPassword,
  type NewUser,
} from './services/users.js';
export { copySqliteToPostgres, sqliteSourceFile, redactDatabaseUrl, MAX_LISTED_REPLACEMENTS, type CopyProgress, type CopyReport, type CopyToPostgresOptions, type ReplacedValue, type TableCount } from './storage/copy-to-postgres.js';
