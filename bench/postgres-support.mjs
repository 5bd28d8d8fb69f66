// PostgreSQL for the bench/ scripts: a throwaway cluster with a production server's durability (fsync on,
// synchronous_commit on, full_page_writes on), or the server TASKLANE_BENCH_PG_URL names.
//
// The cluster: initdb in a temp dir (as the `postgres` OS user when the bench runs as root: PostgreSQL refuses root),
// then `postgres` on a free loopback port with a generated password (scram-sha-256), PostgreSQL's default settings
// but for the few named in CLUSTER_SETTINGS; pg_stat_statements is loaded so that a bench can say where the time goes.
// Each bench run takes fresh databases from it (newDatabase), and the cluster and its folder go when the bench ends
// (stop(), or at exit). Not the test suite's cluster (test/support/postgres.ts turns durability off); this one must
// measure what a deployment pays.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const BENCH_PG_URL_ENV = 'TASKLANE_BENCH_PG_URL';
const SUPERUSER = 'tasklane';
const READY_TIMEOUT_MS = 30_000;

/** Settings that differ from PostgreSQL's defaults, as a deployment would set them. Durability stays on. */
export const CLUSTER_SETTINGS = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '256MB',
  max_connections: '200',
  shared_preload_libraries: 'pg_stat_statements',
};

/** The newest /usr/lib/postgresql/N/bin with initdb and postgres (Debian's layout), or undefined. */
export function findPostgresBinaries() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/** Whether a bench can have PostgreSQL: a URL given, or the binaries installed. */
export function isPostgresAvailable(env = process.env) {
  return Boolean(env[BENCH_PG_URL_ENV]) || findPostgresBinaries() !== undefined;
}

function unprivilegedOwner() {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (uid !== 0) return { uid, gid };
    } catch {
      // no such user: the next
    }
  }
  throw new Error('The bench runs as root and PostgreSQL refuses to: create an unprivileged user (useradd -m postgres).');
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** The URL with the password hidden, for messages. */
export function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparsable URL>';
  }
}

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs statements on a URL, one connection; answers the last statement's rows. */
export async function query(url, ...statements) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    let rows = [];
    for (const statement of statements) rows = (await client.query(statement)).rows;
    return rows;
  } finally {
    await client.end().catch(() => {});
  }
}

/** utime, stime, cutime, cstime and ppid of a process, from /proc/<pid>/stat (clock ticks of 10 ms). */
function processTimes(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { ppid: Number(fields[1]), own: Number(fields[11]) + Number(fields[12]), children: Number(fields[13]) + Number(fields[14]) };
}

/**
 * CPU time the whole cluster has used so far, in ms: the postmaster, the backends and workers alive now, and those
 * already gone (their time is added to the postmaster's children's time when it reaps them).
 */
function clusterCpuMs(postmaster) {
  const root = processTimes(postmaster);
  let ticks = root.own + root.children;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const times = processTimes(Number(name));
      if (times.ppid === postmaster) ticks += times.own;
    } catch {
      // gone meanwhile
    }
  }
  return ticks * 10;
}

async function waitUntilReady(url, child, log) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${log.join('')}`);
    try {
      await query(url, 'SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`postgres not ready within ${READY_TIMEOUT_MS} ms (${error.message}):\n${log.join('')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * A PostgreSQL for a bench: `{ url, version, settings, source, newDatabase(settings?), dropDatabase(url), cpuMs(),
 * logText(), stop() }`. `cpuMs()` is the cluster's CPU time so far, `logText()` the end of its log (undefined and ''
 * on a server given by URL).
 * `newDatabase({ synchronous_commit: 'off' })` makes a database whose sessions default to those settings
 * (ALTER DATABASE ... SET), for a labelled extra beside the durable figures.
 */
export async function benchPostgres(env = process.env) {
  const given = env[BENCH_PG_URL_ENV];
  let url;
  let stop = async () => {};
  let cpuMs = () => undefined;
  let logText = () => '';
  let source;
  if (given) {
    url = given;
    source = `${BENCH_PG_URL_ENV} (${redactUrl(given)})`;
  } else {
    const bin = findPostgresBinaries();
    if (!bin) throw new Error(`No PostgreSQL: install the postgresql package, or set ${BENCH_PG_URL_ENV}=postgres://user:password@host:5432/db.`);
    const owner = unprivilegedOwner();
    const dir = mkdtempSync(join(tmpdir(), 'tasklane-bench-pg-'));
    const removeDir = () => rmSync(dir, { recursive: true, force: true });
    let child;
    const onExit = () => {
      child?.kill('SIGQUIT');
      removeDir();
    };
    process.once('exit', onExit);
    const password = randomBytes(18).toString('base64url');
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    chmodSync(dir, 0o700);
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      chownSync(passwordFile, owner.uid, owner.gid);
    }
    const ids = owner ? { uid: owner.uid, gid: owner.gid } : {};
    const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
    const data = join(dir, 'data');
    execFileSync(join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, `--pwfile=${passwordFile}`, '--auth-host=scram-sha-256',
      '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-instructions'], { cwd: dir, env: cleanEnv, stdio: 'pipe', ...ids });
    rmSync(passwordFile);
    const port = await freePort();
    const settings = Object.entries(CLUSTER_SETTINGS).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
    child = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1',
      '-c', `unix_socket_directories=${dir}`, ...settings], { cwd: dir, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    const log = [];
    const keep = (chunk) => {
      log.push(String(chunk));
      if (log.length > 500) log.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const admin = `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/postgres`;
    try {
      await waitUntilReady(admin, child, log);
    } catch (error) {
      onExit();
      process.removeListener('exit', onExit);
      throw error;
    }
    url = admin;
    source = `a throwaway cluster (${bin})`;
    cpuMs = () => clusterCpuMs(child.pid);
    logText = () => log.join('');
    stop = async () => {
      process.removeListener('exit', onExit);
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      removeDir();
    };
  }
  const [{ server_version: version }] = await query(url, 'SHOW server_version');
  const shown = {};
  for (const key of ['fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'wal_level', 'max_wal_size']) {
    const [row] = await query(url, `SHOW ${key}`);
    shown[key] = Object.values(row)[0];
  }
  let count = 0;
  const made = new Set();
  return {
    url,
    version,
    settings: shown,
    source,
    cpuMs,
    logText,
    async newDatabase(databaseSettings = {}) {
      count += 1;
      const name = `tasklane_bench_${process.pid}_${count}_${randomBytes(3).toString('hex')}`;
      const statements = [`CREATE DATABASE ${name}`];
      for (const [key, value] of Object.entries(databaseSettings)) {
        if (!/^[\w.]+$/.test(key) || !/^\w+$/.test(String(value))) throw new Error(`Bad database setting ${key}=${value}`);
        statements.push(`ALTER DATABASE ${name} SET ${key} = ${value}`);
      }
      await query(url, ...statements);
      made.add(name);
      return withDatabase(url, name);
    },
    async dropDatabase(databaseUrl) {
      const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
      if (!made.has(name)) throw new Error(`Refusing to drop "${name}": not a database this bench made.`);
      await query(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      made.delete(name);
    },
    async stop() {
      // Databases made on a given server are dropped; a throwaway cluster goes whole.
      if (given) for (const name of made) await query(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await stop();
    },
  };
}
