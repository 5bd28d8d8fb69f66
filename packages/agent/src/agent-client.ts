import { ApiClient, TokenManager, type KeyPair } from 'tasklane/client';

/** Time the agent waits for one API answer. */
const AGENT_REQUEST_TIMEOUT_MS = 15_000;

/**
 * The agent's API client: named as its worker, logging in with its key pair (when it has one) and sending the token,
 * renewed before it expires. The daemon makes one and shares it with every task it runs.
 */
export function agentApiClient(apiUrl: string, worker: string, keyPair: KeyPair | undefined): ApiClient {
  const headers = { 'X-ClearML-Worker': worker };
  const auth = new TokenManager({ baseUrl: apiUrl, keyPair, headers, timeoutMs: AGENT_REQUEST_TIMEOUT_MS });
  return new ApiClient({ baseUrl: apiUrl, headers, timeoutMs: AGENT_REQUEST_TIMEOUT_MS, auth });
}
