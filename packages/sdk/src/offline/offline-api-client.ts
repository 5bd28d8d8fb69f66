import type { EndpointName, RequestOf, ResponseOf } from '@tasklane/protocol';
import { ApiClient } from '../client/api-client.js';
import { offlineCallError } from './offline-mode.js';
import type { OfflineSession } from './offline-session.js';

/**
 * The API client of offline mode: the same interface as {@link ApiClient}, answered from an offline session folder
 * (the task's own calls) or refused with an "offline" error (anything that needs a server: other tasks, queues,
 * registered models). Without a session it refuses everything.
 *
 * @internal
 */
export class OfflineApiClient extends ApiClient {
  constructor(readonly session?: OfflineSession) {
    super({ baseUrl: 'http://offline.invalid' });
  }

  override async call<TName extends EndpointName>(endpoint: TName, body: RequestOf<TName>): Promise<ResponseOf<TName>> {
    return this.handle(endpoint, body) as ResponseOf<TName>;
  }

  override async callJsonLines(endpoint: string, items: readonly object[]): Promise<unknown> {
    return this.handle(endpoint, items);
  }

  override async sendBody(endpoint: string, body: string, contentType: string): Promise<unknown> {
    return this.applySync(endpoint, body, contentType);
  }

  /** Applies one encoded call at once (the SDK's last calls, made inside the process' 'exit' event). */
  applySync(endpoint: string, body: string, contentType: string): unknown {
    const parsed = contentType.includes('json-lines')
      ? body.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown)
      : (JSON.parse(body) as unknown);
    return this.handle(endpoint, parsed);
  }

  private handle(endpoint: string, body: unknown): unknown {
    if (!this.session) throw offlineCallError(endpoint);
    return this.session.handle(endpoint, body);
  }
}
