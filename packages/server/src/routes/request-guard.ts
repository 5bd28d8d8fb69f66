import { isIP } from 'node:net';
import { hostname as machineHostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TasklaneError } from '@tasklane/protocol';
import { isApiPath, sendError } from './api-reply.js';

/** What the guard accepts besides the defaults; from the server configuration. */
export interface RequestGuardOptions {
  /** The address the server listens on (`127.0.0.1`, `0.0.0.0`, a name). */
  bindHost: string;
  /** `--allowed-hosts`: names, `name:port`, `*.example.com` or `*`. */
  allowedHosts: readonly string[];
  /** `--cors-allowed-origins`: origins, `https://*.example.com` or `*`. */
  corsAllowedOrigins: readonly string[];
}

/** Request headers a page of an allowed origin may send (what the web UI and the SDK client send). */
const CORS_ALLOWED_HEADERS = 'Content-Type, Authorization, X-ClearML-Worker, X-ClearML-Client, X-ClearML-Trx, X-Tasklane-User, Range';
const CORS_ALLOWED_METHODS = 'GET, POST, PUT, DELETE, HEAD';

/**
 * The web UI's Content-Security-Policy: scripts, styles, fonts and API calls only from the server itself (Plotly
 * and the app insert style elements, hence 'unsafe-inline' for styles, never for scripts); images and media from
 * anywhere, since debug samples may live on S3 or another file server; no plugins, no framing, no foreign forms.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: http: https:",
  "media-src 'self' data: blob: http: https:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Everything that is not a page of the UI: nothing in it may run or be framed, whatever a browser makes of it. */
const NON_PAGE_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox";

/**
 * The server's first line of defence, before any route (the API, the file server and the web UI alike):
 * - the `Host` header must name this server (DNS rebinding: a hostile page re-points its own name at 127.0.0.1,
 *   and its requests then carry that name);
 * - a request whose `Origin` is another web page's is refused 403 (a browser sends `Origin` on every cross-origin
 *   request that could change something), unless that origin is allowed with `--cors-allowed-origins`, in which
 *   case it gets CORS headers and its preflights are answered;
 * - every reply carries headers that stop framing, MIME sniffing, cross-origin embedding and referrer leaks, and
 *   the UI's pages a Content-Security-Policy.
 * ClearML's SDK and agent, curl and scripts send no `Origin` and are not affected by the origin rule.
 */
export function registerRequestGuard(app: FastifyInstance, options: RequestGuardOptions): void {
  const isAllowedHost = hostMatcher(options);
  const isAllowedOrigin = originMatcher(options.corsAllowedOrigins);

  app.addHook('onRequest', async (request, reply) => {
    const host = parseHostHeader(request.headers.host);
    if (host === undefined || !isAllowedHost(host)) {
      return refuse(request, reply, hostRefusal(request.headers.host));
    }
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const crossOrigin = !isSameOrigin(origin, host);
    if (crossOrigin && !isAllowedOrigin(origin)) return refuse(request, reply, originRefusal(origin, request.headers.host!));
    if (crossOrigin) {
      reply.header('access-control-allow-origin', origin).header('access-control-allow-credentials', 'true').header('vary', 'Origin');
    }
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      return reply
        .code(204)
        .header('access-control-allow-methods', CORS_ALLOWED_METHODS)
        .header('access-control-allow-headers', CORS_ALLOWED_HEADERS)
        .header('access-control-max-age', '600')
        .send();
    }
  });

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (!reply.hasHeader('content-security-policy')) {
      const type = String(reply.getHeader('content-type') ?? '');
      reply.header('content-security-policy', type.startsWith('text/html') ? UI_CONTENT_SECURITY_POLICY : NON_PAGE_CONTENT_SECURITY_POLICY);
    }
    return payload;
  });
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: TasklaneError) {
  request.log.warn({ host: cut(request.headers.host), origin: cut(request.headers.origin), url: cut(request.url) }, error.message);
  if (isApiPath(request.url)) return sendError(reply, request, error);
  return reply.code(error.status).header('content-type', 'application/json; charset=utf-8').send({ error: { code: error.code, message: error.message } });
}

function hostRefusal(header: string | undefined): TasklaneError {
  return new TasklaneError(
    'FORBIDDEN',
    header === undefined
      ? 'Refused a request without a Host header; send one naming this server.'
      : `Refused a request for the host ${JSON.stringify(cut(header))}: this server answers for localhost, its IP addresses ` +
          'and the names given with --allowed-hosts (TASKLANE_ALLOWED_HOSTS). A server reached under another name (a ' +
          'reverse proxy, a DNS name of your network) needs that name there.',
    { host: cut(header) },
  );
}

function originRefusal(origin: string, host: string): TasklaneError {
  return new TasklaneError(
    'FORBIDDEN',
    `Refused a request from the web page at ${JSON.stringify(cut(origin))}: only this server's own web UI (http://${cut(host)}) ` +
      'may call it from a browser. To let another web app call the API, start the server with --cors-allowed-origins ' +
      '(TASKLANE_CORS_ALLOWED_ORIGINS).',
    { origin: cut(origin) },
  );
}

/** A header value cut for logs and messages: a hostile client chooses its length. */
function cut(value: string | undefined): string | undefined {
  return value === undefined || value.length <= 120 ? value : `${value.slice(0, 117)}...`;
}

/** A host and port as a `Host` header or an origin names them; the port is undefined when none was given. */
interface HostAndPort {
  hostname: string;
  port: string | undefined;
}

/** Reads a `Host` header (`name`, `name:port`, `1.2.3.4:80`, `[::1]:8008`), lower-cased, without a trailing dot. */
export function parseHostHeader(header: string | undefined): HostAndPort | undefined {
  if (header === undefined || header.length === 0 || header.length > 300) return undefined;
  const value = header.trim().toLowerCase();
  let hostname: string;
  let port: string | undefined;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    hostname = value.slice(1, end);
    const rest = value.slice(end + 1);
    if (rest !== '' && !rest.startsWith(':')) return undefined;
    port = rest === '' ? undefined : rest.slice(1);
    if (isIP(hostname) !== 6) return undefined;
  } else {
    const colon = value.indexOf(':');
    if (colon !== value.lastIndexOf(':')) return undefined;
    hostname = colon < 0 ? value : value.slice(0, colon);
    port = colon < 0 ? undefined : value.slice(colon + 1);
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return undefined;
  if (hostname.endsWith('.')) hostname = hostname.slice(0, -1);
  if (hostname === '' || !/^[a-z0-9._:-]+$/.test(hostname)) return undefined;
  return { hostname, port };
}

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '']);

/**
 * Which hosts the server answers for: IP addresses (a rebinding page's requests carry its own DNS name, never an
 * address), `localhost` and its subdomains (browsers resolve them to loopback themselves), the address or name it
 * listens on, this machine's host name when it listens on every address, and the configured names.
 */
function hostMatcher(options: RequestGuardOptions): (host: HostAndPort) => boolean {
  const bind = options.bindHost.toLowerCase().replace(/^\[|\]$/g, '');
  const names = new Set(['localhost', bind]);
  if (WILDCARD_ADDRESSES.has(bind)) names.add(machineHostname().toLowerCase());
  const patterns = options.allowedHosts.map((entry) => entry.toLowerCase());
  return ({ hostname, port }) => {
    if (isIP(hostname) !== 0 || names.has(hostname) || hostname.endsWith('.localhost')) return true;
    return patterns.some((pattern) => {
      if (pattern === '*') return true;
      const colon = pattern.lastIndexOf(':');
      const hasPort = colon > 0 && /^\d+$/.test(pattern.slice(colon + 1));
      if (hasPort) return port !== undefined && globMatch(pattern, `${hostname}:${port}`);
      return globMatch(pattern, hostname);
    });
  };
}

/** Whether an `Origin` names the same host and port the request was sent to. */
function isSameOrigin(origin: string, host: HostAndPort): boolean {
  const parsed = parseOrigin(origin);
  if (parsed === undefined) return false;
  const requestPort = host.port ?? (parsed.scheme === 'https' ? '443' : '80');
  return parsed.hostname === host.hostname && parsed.port === requestPort;
}

/** `scheme://host[:port]` with the port filled in from the scheme; undefined for `null` and anything unparsable. */
function parseOrigin(origin: string): { scheme: string; hostname: string; port: string; normalized: string } | undefined {
  if (origin.length > 300) return undefined;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (scheme === 'https' ? '443' : '80');
  return { scheme, hostname, port, normalized: `${scheme}://${url.host.toLowerCase()}` };
}

function originMatcher(allowed: readonly string[]): (origin: string) => boolean {
  const patterns = allowed.map((entry) => entry.toLowerCase().replace(/\/+$/, ''));
  if (patterns.length === 0) return () => false;
  return (origin) => {
    if (patterns.includes('*')) return true;
    const parsed = parseOrigin(origin);
    return parsed !== undefined && patterns.some((pattern) => globMatch(pattern, parsed.normalized));
  };
}

/**
 * Matches text against a pattern whose only special character is `*` (any run of characters). Greedy, in one pass
 * over the text per `*`: no backtracking, whatever the pattern.
 */
export function globMatch(pattern: string, text: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  const first = parts[0]!;
  const last = parts.at(-1)!;
  if (!text.startsWith(first) || text.length < first.length + last.length) return false;
  let position = first.length;
  for (const part of parts.slice(1, -1)) {
    const found = text.indexOf(part, position);
    if (found < 0) return false;
    position = found + part.length;
  }
  return text.length - last.length >= position && text.endsWith(last);
}
