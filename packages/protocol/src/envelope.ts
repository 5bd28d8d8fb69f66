import type { ErrorCode } from './errors.js';

/** The `meta` part of every reply, as ClearML's. */
export interface ResponseMeta {
  id: string;
  trx: string;
  endpoint: { name: string; requested_version: string; actual_version: string };
  result_code: number;
  result_subcode: number;
  result_msg: string;
  error_stack: string | null;
  error_data: Record<string, unknown> & { code?: ErrorCode };
}

/** Every reply: `{meta, data}`; the HTTP status equals `meta.result_code`. */
export interface ResponseEnvelope<TData = unknown> {
  meta: ResponseMeta;
  data: TData;
}
