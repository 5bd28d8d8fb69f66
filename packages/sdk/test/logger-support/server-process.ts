import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from 'tasklane/client';
import { newTestDatabase } from '../../../server/test/support/test-server.js';
import { CLI_BIN } from './build-packages.js';

/**
 * A Tasklane server run by the built CLI in a child process, on a fixed port, data dir and database (this run's
 * store), so it can be restarted.
 */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** A client of this server that also checks every reply against its response schema. */
  readonly api: ApiClient;
  /** Whether the server process runs now. */
  isUp(): boolean;
  /** Everything the server processes printed so far (for failure messages). */
  output(): string;
  /** Ends the server at once, with no chance to finish anything (kill -9); resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Stops the server cleanly (SIGTERM) and waits for the process to end. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data dir; resolves once it listens. */
  restart(): Promise<void>;
  /** Stops the server if it runs and deletes its data dir. */
  close(): Promise<void>;
}

/** A port that was free a moment ago (the kernel picked it), for a server that must keep its address across restarts. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('could not get a free port');
  return address.port;
}

/**
 * Starts `tasklane server --port <free port> --data-dir <temp dir> --db-url <a fresh database of this run's store>`;
 * resolves once it prints its listening line.
 */
export async function startServerProcess(options: { env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tasklane-logger-server-'));
  const database = await newTestDatabase(dataDir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const launch = async () => {
    const proc = spawn(process.execPath, [CLI_BIN, 'server', '--port', String(port), '--data-dir', dataDir, '--db-url', database.dbUrl, '--log-level', 'warn'], {
      // Only the settings given: a TASKLANE_* variable of the caller's environment would change the server under test.
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TASKLANE_'))), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => fail(new Error('the server did not print its listening line within 15 s')), 15_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`${error.message}\n--- server output ---\n${log}${out}`));
      };
      proc.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes(`listening on ${url}`)) {
          clearTimeout(timer);
          log += out;
          resolve();
        }
      });
      proc.once('exit', (code, signal) => fail(new Error(`the server exited before listening (code ${code}, signal ${signal})`)));
    });
    proc.removeAllListeners('exit');
  };

  const end = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill(signal);
    await exited;
    child = undefined;
  };

  try {
    await launch();
  } catch (error) {
    await database.drop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    dataDir,
    api: new ApiClient({ baseUrl: url, validateResponses: true }),
    isUp: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    output: () => log,
    kill9: () => end('SIGKILL'),
    stop: () => end('SIGTERM'),
    restart: launch,
    close: async () => {
      await end('SIGTERM');
      await database.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
