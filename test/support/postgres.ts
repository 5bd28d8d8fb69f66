import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

/**
 * Throwaway PostgreSQL clusters for tests (issue 15): `initdb` in a temp dir as an unprivileged user, `postgres` on a
 * free loopback port with a generated password (scram-sha-256 on TCP), durability off (fsync, synchronous_commit,
 * full_page_writes: a test cluster is thrown away anyway). A cluster starts in well under a second or two; each test
 * file takes a fresh, empty database of its own from it (`CREATE DATABASE`, ~0.1 s).
 *
 * One cluster serves a whole vitest run: `postgres-global-setup.ts` starts it and hands its URL to the test files in
 * `TASKLANE_TEST_PG_URL`; a test file calls `testPostgres()`. Where PostgreSQL is not installed the global setup says
 * so in one line and `testPostgres()` answers undefined, so PostgreSQL tests skip. Environment:
 * - `TASKLANE_TEST_PG_URL`: a PostgreSQL to test on instead of a throwaway cluster (a role that may create
 *   databases); set by the global setup otherwise.
 * - `TASKLANE_TEST_PG=off`: no PostgreSQL in this run.
 * - `TASKLANE_TEST_PG_BIN`: the folder of initdb and postgres (default: the newest /usr/lib/postgresql/N/bin, else PATH).
 * - `TASKLANE_TEST_PG_OS_USER`: who runs the cluster when the tests run as root (default `postgres`, else `nobody`):
 *   PostgreSQL refuses to run as root.
 */

/** A running throwaway cluster. */
export interface PostgresCluster extends TestPostgres {
  /** The cluster's data folder and log live in here; removed by `stop`. */
  readonly dir: string;
  /** How long initdb and the start took, in milliseconds. */
  readonly startupMs: number;
  /** Stops the server (fast shutdown) and removes its folder. */
  stop(): Promise<void>;
}

/** A PostgreSQL server the tests may use. */
export interface TestPostgres {
  /** The administrative URL: a superuser (or a role that may create databases), on the database `tasklane`. */
  readonly url: string;
  /** Creates a fresh, empty database and answers its URL (same user and password). */
  newDatabase(): Promise<string>;
  /** Drops a database `newDatabase` made, disconnecting whoever is still connected to it. */
  dropDatabase(url: string): Promise<void>;
}

export const PG_URL_ENV = 'TASKLANE_TEST_PG_URL';
/** Set by the global setup when it found no PostgreSQL: why the PostgreSQL tests skip. */
export const PG_SKIPPED_ENV = 'TASKLANE_TEST_PG_SKIPPED';

const ADMIN_DATABASE = 'tasklane';
const SUPERUSER = 'tasklane';
const DIR_PREFIX = 'tasklane-pg-';
const READY_TIMEOUT_MS = 30_000;

/** The folder holding initdb and postgres, or undefined where PostgreSQL is not installed. */
export function findPostgresBinaries(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const has = (dir: string) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  if (env.TASKLANE_TEST_PG_BIN) return has(env.TASKLANE_TEST_PG_BIN) ? env.TASKLANE_TEST_PG_BIN : undefined;
  // Debian keeps the server binaries outside PATH, one folder per major version.
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (has(join(debian, version, 'bin'))) return join(debian, version, 'bin');
  }
  return (env.PATH ?? '').split(delimiter).find((dir) => dir !== '' && has(dir));
}

/** Who runs the cluster: nobody in particular (the current user) unless the tests run as root. */
function clusterOwner(env: NodeJS.ProcessEnv): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const candidates = env.TASKLANE_TEST_PG_OS_USER ? [env.TASKLANE_TEST_PG_OS_USER] : ['postgres', 'nobody'];
  for (const name of candidates) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid !== 0) return { name, uid, gid };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error(
    `The tests run as root and PostgreSQL refuses to: no unprivileged user to run it as (tried ${candidates.join(', ')}). ` +
      'Create one (useradd -m tasklane-pg) and set TASKLANE_TEST_PG_OS_USER=tasklane-pg.',
  );
}

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs a program as the cluster's owner; answers its output, or fails with it. */
function run(file: string, args: string[], owner: ReturnType<typeof clusterOwner>, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: clusterEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${file} ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

/** The environment of the cluster's programs: the C.UTF-8 locale, none of the caller's PG* variables. */
function clusterEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
}

/**
 * Stops the clusters of earlier runs that died without stopping theirs (a killed vitest): each folder records the
 * pid of the process that started it.
 */
function reapOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (isAlive(owner)) continue;
    } catch {
      continue; // not ours to look into, or just being made
    }
    try {
      const postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (isAlive(postmaster) && readFileSync(`/proc/${postmaster}/cmdline`, 'utf8').includes('postgres')) process.kill(postmaster, 'SIGQUIT');
    } catch {
      // no server running there
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts a throwaway cluster. Fails (with the server's last log lines) when it does not come up. */
export async function startPostgresCluster(options: { binDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<PostgresCluster> {
  const env = options.env ?? process.env;
  const binDir = options.binDir ?? findPostgresBinaries(env);
  if (binDir === undefined) throw new Error('No PostgreSQL binaries (initdb, postgres) found; install the postgresql package.');
  const started = performance.now();
  reapOrphans();
  const owner = clusterOwner(env);
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  let server: ChildProcess | undefined;
  const stopOnExit = () => {
    // The run ends without teardown (an uncaught error): an immediate shutdown, and the folder goes.
    server?.kill('SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await writeFile(join(dir, 'owner.pid'), String(process.pid));
    await chmod(dir, 0o700);
    const password = randomBytes(18).toString('base64url');
    await writeFile(join(dir, 'password'), password, { mode: 0o600 });
    if (owner) {
      await chown(dir, owner.uid, owner.gid);
      await chown(join(dir, 'password'), owner.uid, owner.gid);
    }
    const data = join(dir, 'data');
    await run(
      join(binDir, 'initdb'),
      ['-D', data, '-U', SUPERUSER, `--pwfile=${join(dir, 'password')}`, '--auth-host=scram-sha-256', '--auth-local=trust',
        '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions'],
      owner,
      dir,
    );
    await rm(join(dir, 'password'));

    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const log: string[] = [];
      server = spawn(
        join(binDir, 'postgres'),
        ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
          '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=300',
          '-c', 'shared_buffers=64MB'],
        { cwd: dir, env: clusterEnv(), stdio: ['ignore', 'pipe', 'pipe'], ...(owner ? { uid: owner.uid, gid: owner.gid } : {}) },
      );
      const keep = (chunk: Buffer) => {
        log.push(...chunk.toString().split('\n').filter((line) => line !== ''));
        if (log.length > 200) log.splice(0, log.length - 200);
      };
      server.stdout?.on('data', keep);
      server.stderr?.on('data', keep);
      server.on('error', (error) => log.push(`could not run postgres: ${error.message}`));
      process.once('exit', stopOnExit);
      const url = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`;
      const ready = await waitUntilReady(url, server);
      if (ready) {
        await adminQuery(url, `CREATE DATABASE ${ADMIN_DATABASE}`);
        const adminUrl = withDatabase(url, ADMIN_DATABASE);
        const child = server;
        return {
          dir,
          url: adminUrl,
          startupMs: Math.round(performance.now() - started),
          ...databasesOf(adminUrl),
          stop: async () => {
            process.removeListener('exit', stopOnExit);
            if (child.exitCode === null && child.signalCode === null) {
              const exited = new Promise((resolve) => child.once('exit', resolve));
              child.kill('SIGINT'); // fast shutdown: disconnects the sessions still open
              await exited;
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      process.removeListener('exit', stopOnExit);
      const portTaken = log.some((line) => line.includes('could not bind') || line.includes('Address already in use'));
      if (!portTaken || attempt === 3) throw new Error(`PostgreSQL did not start (${join(binDir, 'postgres')}):\n${log.slice(-30).join('\n')}`);
      // another process took the free port first: once more on another
    }
  } catch (error) {
    process.removeListener('exit', stopOnExit);
    server?.kill('SIGQUIT');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Waits until the server takes connections: true, or false when it exited first. */
async function waitUntilReady(url: string, server: ChildProcess): Promise<boolean> {
  const exited = new Promise<false>((resolve) => {
    server.once('exit', () => resolve(false));
    server.once('error', () => resolve(false));
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const attempt = adminQuery(url, 'SELECT 1').then(
      () => true,
      () => undefined,
    );
    const outcome = await Promise.race([attempt, exited]);
    if (outcome !== undefined) return outcome;
    if (Date.now() > deadline) {
      server.kill('SIGQUIT');
      return Promise.race([exited, new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000))]);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // An error of a connection already given up on (the server went away) must not crash the run.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(text);
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

let databaseCount = 0;

/** newDatabase and dropDatabase on the server of an administrative URL. */
function databasesOf(adminUrl: string): Omit<TestPostgres, 'url'> {
  return {
    newDatabase: async () => {
      databaseCount += 1;
      const name = `tasklane_test_${process.pid}_${databaseCount}_${randomBytes(3).toString('hex')}`;
      await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
      return withDatabase(adminUrl, name);
    },
    dropDatabase: async (url: string) => {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      if (!/^tasklane_test_\w+$/.test(name)) throw new Error(`Refusing to drop "${name}": not a database newDatabase made.`);
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * The PostgreSQL of this test run (the global setup's cluster, or `TASKLANE_TEST_PG_URL`), or undefined where there is
 * none: then `postgresSkipReason()` says why.
 */
export function testPostgres(env: NodeJS.ProcessEnv = process.env): TestPostgres | undefined {
  const url = env[PG_URL_ENV];
  if (!url) return undefined;
  return { url, ...databasesOf(url) };
}

/** Why there is no PostgreSQL in this run, in words for a skipped test's title. */
export function postgresSkipReason(env: NodeJS.ProcessEnv = process.env): string {
  return env[PG_SKIPPED_ENV] ?? `${PG_URL_ENV} is not set (run through vitest.config.ts, whose global setup starts a cluster)`;
}

/** Runs SQL on a database outside any store (one connection, closed after). */
export async function queryPostgres<TRow extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<TRow[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<TRow>(text, values)).rows;
  } finally {
    await client.end();
  }
}
