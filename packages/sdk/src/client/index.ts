export { ApiClient, type ApiClientOptions } from './api-client.js';
export { TokenManager, type KeyPair, type TokenManagerOptions } from './token-manager.js';
export { redactSecrets, REDACTED } from './redact-secrets.js';
export { TasklaneError, type ErrorCode } from '@tasklane/protocol';
