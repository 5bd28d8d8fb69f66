/** One request a server answered, read from its debug log. */
export interface LoggedRequest {
  method: string;
  /** `service.action` for API calls (version prefix and query left out), `/files` for the file server. */
  endpoint: string;
  status: number;
}

interface LogLine {
  msg?: unknown;
  reqId?: unknown;
  req?: { method?: unknown; url?: unknown };
  res?: { statusCode?: unknown };
}

/** `/v2.23/tasks.get_by_id?x=1` → `tasks.get_by_id`; any path under `/files` → `/files`. */
function endpointOf(url: string): string {
  const path = url.split('?')[0] ?? '';
  if (path === '/files' || path.startsWith('/files/')) return '/files';
  return path.replace(/^\/v\d+(\.\d+)?\//, '').replace(/^\//, '');
}

/**
 * The requests a server started with `--log-level debug` logged, in the order it answered them: Fastify logs
 * "incoming request" and "request completed" lines sharing a `reqId`. Lines that are not JSON (the startup banner,
 * a line still being written) are skipped.
 */
export function parseRequestLog(log: string): LoggedRequest[] {
  const incoming = new Map<string, { method: string; url: string }>();
  const answered: LoggedRequest[] = [];
  for (const text of log.split('\n')) {
    if (!text.startsWith('{')) continue;
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      continue;
    }
    const reqId = String(line.reqId);
    if (line.msg === 'incoming request' && line.req) {
      incoming.set(reqId, { method: String(line.req.method), url: String(line.req.url) });
    } else if (line.msg === 'request completed' && line.res) {
      const request = incoming.get(reqId);
      if (!request) continue;
      incoming.delete(reqId);
      answered.push({ method: request.method, endpoint: endpointOf(request.url), status: Number(line.res.statusCode) });
    }
  }
  return answered;
}
