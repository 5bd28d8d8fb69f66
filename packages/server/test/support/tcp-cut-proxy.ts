import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between a server and its database that a test cuts and restores, standing in for the database going
 * away and coming back (a restart, a network cut) without stopping a real cluster: the run's shared PostgreSQL keeps
 * serving every other test file, and the database comes back on the same address at once, its data untouched.
 * - `cut('refuse')`: every connection through it is cut (the server sees its connections end), and new ones are
 *   refused (ECONNREFUSED), as while the database is down.
 * - `cut('silent')`: every connection is cut, and new ones are taken but never answered, as behind a dead host or a
 *   firewall that drops packets.
 * - `cutAfter(match)`: passes on the first client chunk `match` accepts, then cuts as `refuse` before any answer can
 *   come back (the database got the request; the server never learns what came of it).
 */
export interface TcpCutProxy {
  /** The loopback port to connect to instead of the database's. */
  readonly port: number;
  cut(mode: 'refuse' | 'silent'): Promise<void>;
  cutAfter(match: (chunk: Buffer) => boolean): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpCutProxy(target: { host: string; port: number }): Promise<TcpCutProxy> {
  const sockets = new Set<Socket>();
  let mode: 'forward' | 'silent' = 'forward';
  let pendingCut: { match: (chunk: Buffer) => boolean; done: () => void } | undefined;
  let server: Server | undefined;
  let port = 0;

  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  // Stops taking connections and cuts those it has (a server's close waits for its connections to end).
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const closing = server;
      server = undefined;
      if (closing === undefined) return resolve();
      closing.close(() => resolve());
      cutAll();
    });

  const onConnection = (client: Socket) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (mode === 'silent') return; // taken, never answered
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('data', (chunk: Buffer) => {
      const cut = pendingCut;
      if (cut !== undefined && cut.match(chunk)) {
        pendingCut = undefined;
        // The database gets the chunk whole (end flushes it); the client's side is cut before any answer.
        sockets.delete(upstream);
        upstream.end(chunk);
        client.destroy();
        void stopListening().then(() => cut.done());
        return;
      }
      upstream.write(chunk);
    });
  };

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const next = createServer(onConnection);
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        port = (next.address() as { port: number }).port;
        server = next;
        resolve();
      });
    });
  await listen();

  return {
    get port() {
      return port;
    },
    cut: async (how) => {
      if (how === 'refuse') await stopListening();
      else mode = 'silent';
      cutAll();
    },
    cutAfter: (match) => new Promise<void>((resolve) => (pendingCut = { match, done: resolve })),
    restore: async () => {
      mode = 'forward';
      cutAll(); // connections taken while silent were never answered
      if (server === undefined) await listen();
    },
    close: async () => {
      await stopListening();
      cutAll();
    },
  };
}
