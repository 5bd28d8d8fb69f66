import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A small HTTP proxy in front of several `tasklane server` processes, standing in for the load balancer of a
 * deployment (issue 15): every request goes to the current backend, which a test switches (as a balancer does once
 * its health check marks a backend down). When the backend dies mid-request (refused, reset, closed before its whole
 * answer), the client's connection is dropped, as behind a real TCP balancer: the client sees the connection end with
 * no answer, never a made-up one.
 *
 * Hooks let a test pick the moment of a crash: {@link SwitchingProxy.holdAnswer} keeps a backend's answer from the
 * client (the backend did the work; the client does not know), {@link SwitchingProxy.whenForwarded} tells when a
 * request's whole body reached the backend (it is working on it now).
 */
export interface SwitchingProxy {
  /** e.g. `http://127.0.0.1:41234` */
  readonly url: string;
  /** The backend new requests go to. */
  readonly backend: string;
  /** Sends the requests that arrive from now on to `backendUrl` (requests on their way stay where they are). */
  switchTo(backendUrl: string): void;
  /** Every request so far, in order of arrival. */
  readonly requests: readonly ProxiedRequest[];
  /**
   * Holds the answer to the first request from now on that `match` accepts: resolves once its backend answered in
   * full; the client waits until the test releases or drops it.
   */
  holdAnswer(match: (request: ProxiedRequest) => boolean): Promise<HeldAnswer>;
  /** Resolves once the whole body of the first request from now on that `match` accepts was passed to its backend. */
  whenForwarded(match: (request: ProxiedRequest) => boolean): Promise<ProxiedRequest>;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** One request through the proxy. */
export interface ProxiedRequest {
  /** 1, 2, ... in order of arrival. */
  seq: number;
  /** When it arrived (`performance.now()` of the test process). */
  arrivedAt: number;
  method: string;
  /** Path and query, e.g. `/events.add_scalars`. */
  path: string;
  /** The backend it went to. */
  backend: string;
  /** The request's body as the client sent it (once it arrived in full). */
  body?: Buffer;
  /**
   * How it ended: `answered` with the backend's status; `dropped` (the backend refused, reset or closed the
   * connection first, or the test dropped a held answer: the client's connection was closed); `client-gone`.
   */
  outcome?: { kind: 'answered'; status: number } | { kind: 'dropped'; why: string } | { kind: 'client-gone' };
}

/** A backend's answer kept from the client. */
export interface HeldAnswer {
  request: ProxiedRequest;
  status: number;
  body: Buffer;
  /** Passes the answer on to the client. */
  release(): void;
  /** Closes the client's connection instead, as when the backend died before the answer left it. */
  drop(): void;
}

interface Hook<T> {
  match: (request: ProxiedRequest) => boolean;
  resolve: (value: T) => void;
}

/** Headers of one connection, not passed on by a proxy (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/** Starts the proxy on a free loopback port, sending requests to `firstBackend` until switched. */
export async function startSwitchingProxy(firstBackend: string): Promise<SwitchingProxy> {
  let backend = firstBackend;
  const requests: ProxiedRequest[] = [];
  const answerHooks: Hook<HeldAnswer>[] = [];
  const forwardHooks: Hook<ProxiedRequest>[] = [];
  // Kept-alive connections to the backends, as a balancer keeps them.
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const clientSockets = new Set<Socket>();

  const takeHook = <T>(hooks: Hook<T>[], request: ProxiedRequest): Hook<T> | undefined => {
    const index = hooks.findIndex((hook) => hook.match(request));
    return index < 0 ? undefined : hooks.splice(index, 1)[0];
  };

  const handle = (incoming: IncomingMessage, reply: ServerResponse) => {
    const target = new URL(backend);
    const proxied: ProxiedRequest = { seq: requests.length + 1, arrivedAt: performance.now(), method: incoming.method ?? 'GET', path: incoming.url ?? '/', backend };
    requests.push(proxied);
    let isSettled = false;
    const forwardHook = takeHook(forwardHooks, proxied);
    const answerHook = takeHook(answerHooks, proxied);
    let isForwarded = false;
    let isHeld = false;
    const drop = (why: string) => {
      if (isSettled) return;
      isSettled = true;
      proxied.outcome = { kind: 'dropped', why };
      // A hook whose moment did not come waits for the next matching request.
      if (forwardHook !== undefined && !isForwarded) forwardHooks.unshift(forwardHook);
      if (answerHook !== undefined && !isHeld) answerHooks.unshift(answerHook);
      // No answer was sent: the client sees its connection close (a reset if it is still sending).
      incoming.socket.destroy();
    };

    const upstream = httpRequest({
      host: target.hostname,
      port: target.port,
      method: proxied.method,
      path: proxied.path,
      headers: endToEnd(incoming.headers),
      agent,
    });
    upstream.on('error', (error) => drop(`backend: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    upstream.on('finish', () => {
      isForwarded = true;
      forwardHook?.resolve(proxied);
    });
    upstream.on('response', (answer) => {
      answer.on('error', (error) => drop(`backend answer: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      answer.on('aborted', () => drop('backend closed the connection mid-answer'));
      if (answerHook === undefined) {
        reply.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(reply);
        answer.on('end', () => {
          if (isSettled) return;
          isSettled = true;
          proxied.outcome = { kind: 'answered', status: answer.statusCode ?? 0 };
        });
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        isHeld = true;
        answerHook.resolve({
          request: proxied,
          status: answer.statusCode ?? 0,
          body,
          release: () => {
            if (isSettled) return;
            isSettled = true;
            proxied.outcome = { kind: 'answered', status: answer.statusCode ?? 0 };
            const headers = endToEnd(answer.headers);
            delete headers['transfer-encoding'];
            reply.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.length) });
            reply.end(body);
          },
          drop: () => drop('the test dropped the held answer'),
        });
      });
    });
    reply.on('close', () => {
      if (isSettled) return;
      isSettled = true;
      proxied.outcome = { kind: 'client-gone' };
      upstream.destroy();
    });
    const sent: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => sent.push(chunk));
    incoming.on('end', () => (proxied.body = Buffer.concat(sent)));
    incoming.pipe(upstream);
  };

  const server = createServer({ keepAlive: true }, handle);
  server.on('connection', (socket) => {
    clientSockets.add(socket);
    socket.on('close', () => clientSockets.delete(socket));
  });
  // A client that resets its connection mid-request must not crash the test run.
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the proxy has no address');

  return {
    url: `http://127.0.0.1:${address.port}`,
    get backend() {
      return backend;
    },
    switchTo: (backendUrl) => {
      backend = backendUrl;
    },
    requests,
    holdAnswer: (match) => new Promise((resolve) => answerHooks.push({ match, resolve })),
    whenForwarded: (match) => new Promise((resolve) => forwardHooks.push({ match, resolve })),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of clientSockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}
