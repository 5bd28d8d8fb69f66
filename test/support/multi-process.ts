// Several `tasklane server` processes side by side on one PostgreSQL database and one S3 bucket (issue 15): what a
// team runs behind a reverse proxy, started through the built CLI as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_BIN } from './cli.js';
import { testPostgres, type TestPostgres } from './postgres.js';
import { S3_ENV, startS3Server, type TestS3Server } from './s3-server.js';

/** The bucket every cluster's servers keep their files in; each cluster has a prefix of its own. */
export const CLUSTER_BUCKET = 'tasklane-cluster';

/** One `tasklane server` child process of a cluster. */
export interface ClusterServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote so far, standard output and standard error (pino JSON lines at the cluster's log level). */
  output(): string;
  /** Its log lines at level error or above (pino level ≥ 50), parsed. */
  errors(): Record<string, unknown>[];
  /** Sends `signal` (SIGTERM: a clean stop; SIGKILL: a crash) and answers the exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartClusterServerOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** Options after `tasklane server --port P --data-dir D --db-url U --files-url F --log-level L`. */
  extraArgs?: string[];
  /** Added to the environment (which already has the S3 endpoint and credentials). */
  env?: Record<string, string>;
}

/** N server processes on one database and one bucket prefix. */
export interface ServerCluster {
  /** The database they share (a fresh one of the run's PostgreSQL). */
  dbUrl: string;
  /** The s3rver holding their files, and where: `s3://${CLUSTER_BUCKET}/${prefix}`. */
  s3: TestS3Server;
  filesUrl: string;
  prefix: string;
  /** The servers started so far, in order of start (stopped ones stay listed). */
  servers: ClusterServer[];
  /** Starts one more server on the same database and bucket (e.g. on the port of one that was stopped). */
  startServer(options?: StartClusterServerOptions): Promise<ClusterServer>;
  /** Stops every server still running (SIGTERM), drops the database, and stops the s3rver if the cluster started it. */
  stop(): Promise<void>;
}

export interface StartClusterOptions extends Omit<StartClusterServerOptions, 'port'> {
  /** How many servers to start, all at the same moment (they migrate an empty database together). @default 2 */
  count?: number;
  /** An s3rver to use (with {@link CLUSTER_BUCKET} made or not); by default the cluster starts one of its own. */
  s3?: TestS3Server;
  /** The PostgreSQL to make the database on. @default testPostgres() */
  postgres?: TestPostgres;
  /** @default 'warn' */
  logLevel?: string;
}

/**
 * Starts `count` `tasklane server` processes at once on a fresh PostgreSQL database and one S3 bucket prefix; each has
 * a data folder of its own (what a second machine would have), so nothing but the database and the bucket is shared.
 * Fails where the run has no PostgreSQL: check `testPostgres()` first (and skip) where that can happen.
 */
export async function startServerCluster(options: StartClusterOptions = {}): Promise<ServerCluster> {
  const postgres = options.postgres ?? testPostgres();
  if (postgres === undefined) throw new Error('startServerCluster needs PostgreSQL: no TASKLANE_TEST_PG_URL in this run (see test/support/postgres.ts).');
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-cluster-'));
  const ownS3 = options.s3 === undefined;
  const s3 = options.s3 ?? (await startS3Server());
  await s3.createBucket(CLUSTER_BUCKET).catch((error: unknown) => {
    // A shared s3rver may have the bucket already.
    if ((error as { name?: string }).name !== 'BucketAlreadyOwnedByYou' && (error as { name?: string }).name !== 'BucketAlreadyExists') throw error;
  });
  const dbUrl = await postgres.newDatabase();
  const prefix = `cluster-${randomBytes(4).toString('hex')}`;
  const filesUrl = `s3://${CLUSTER_BUCKET}/${prefix}`;
  const logLevel = options.logLevel ?? 'warn';
  const servers: ClusterServer[] = [];

  const startServer = async (serverOptions: StartClusterServerOptions = {}): Promise<ClusterServer> => {
    const dataDir = join(dir, `server-${servers.length + 1}-${randomBytes(2).toString('hex')}`);
    const args = [
      CLI_BIN,
      'server',
      '--port',
      String(serverOptions.port ?? 0),
      '--data-dir',
      dataDir,
      '--db-url',
      dbUrl,
      '--files-url',
      filesUrl,
      '--log-level',
      logLevel,
      ...(options.extraArgs ?? []),
      ...(serverOptions.extraArgs ?? []),
    ];
    const env = { ...process.env, ...S3_ENV, TASKLANE_S3_ENDPOINT: s3.endpoint, ...options.env, ...serverOptions.env };
    const server = await spawnServer(args, env);
    servers.push(server);
    return server;
  };

  try {
    await Promise.all(Array.from({ length: options.count ?? 2 }, () => startServer()));
  } catch (error) {
    await stopAll(servers);
    await postgres.dropDatabase(dbUrl).catch(() => undefined);
    if (ownS3) await s3.close();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dbUrl,
    s3,
    filesUrl,
    prefix,
    servers,
    startServer,
    stop: async () => {
      await stopAll(servers);
      await postgres.dropDatabase(dbUrl).catch(() => undefined);
      if (ownS3) await s3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopAll(servers: readonly ClusterServer[]): Promise<void> {
  await Promise.all(servers.map((server) => server.stop()));
}

/** Spawns one server and waits for its "listening on" line (60 s at most: the test machine may be busy). */
async function spawnServer(args: string[], env: NodeJS.ProcessEnv): Promise<ClusterServer> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (out += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 60 s:\n${out}`));
    }, 60_000);
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => out,
    errors: () => logLines(out).filter((line) => typeof line.level === 'number' && line.level >= 50),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The JSON log lines of a server's output (other lines, such as the start banner, left out). */
export function logLines(output: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by the end of the output so far
    }
  }
  return lines;
}
