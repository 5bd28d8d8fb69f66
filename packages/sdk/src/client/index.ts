export { ApiClient, type ApiClientOptions } from './api-client.js';
export { TasklaneError, type ErrorCode } from '@tasklane/protocol';
