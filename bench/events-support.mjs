// Shared by the bench/ scripts: a Tasklane server in a child process, HTTP calls,
// the scalar data set of the events benches, and small statistics helpers. Linux only (reads /proc for memory).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

// The server as `tasklane server` runs it (startServer with a loaded config), in its own process, so that its memory
// can be read from /proc and the client's work does not run on its thread.
const SERVER_SOURCE = `
import { loadServerConfig, startServer } from '@tasklane/server';
const config = loadServerConfig(process.env, { port: 0, logLevel: 'warn' });
const server = await startServer(config);
console.log('listening ' + server.url);
process.on('SIGTERM', () => { server.close().then(() => process.exit(0), () => process.exit(1)); });
`;

/** Temp dirs and children still alive, so that an error or Ctrl+C leaves nothing behind. */
const liveChildren = new Set();
const liveDirs = new Set();
function cleanUp() {
  for (const child of liveChildren) child.kill('SIGKILL');
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

/** A new temporary directory, removed at exit (or by calling the answered function). */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  liveDirs.add(dir);
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    },
  };
}

/**
 * Starts a server on an ephemeral port with a new data dir (or the one given). Answers its url, pid, and stop().
 * `env` adds to its environment (e.g. TASKLANE_DB_URL for a PostgreSQL store).
 */
export async function startServerProcess(dataDir, { env = {} } = {}) {
  const temp = dataDir ? undefined : tempDir('tasklane-bench-');
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER_SOURCE], {
    cwd: REPO_ROOT,
    env: { ...process.env, TASKLANE_DATA_DIR: dataDir ?? temp.dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  const exited = new Promise((resolveExit) => child.on('exit', (code, signal) => resolveExit({ code, signal })));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server printed no URL within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /listening (http:\/\/[\d.]+:\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening.\n${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid,
    dataDir: dataDir ?? temp.dir,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
      liveChildren.delete(child);
      temp?.remove();
    },
  };
}

/**
 * POSTs a body; answers the reply's `data`, or throws with the server's message. Requests go on the global agent's
 * keep-alive connections; a request that fails at once on a connection the server had just closed as idle (Node
 * servers close keep-alive connections after 5 s) is sent again once on a new one, as Node's docs advise
 * (`request.reusedSocket`). `agent` and `headers`: a client's own connection, and headers it adds.
 */
export function call(url, endpoint, body, contentType = 'application/json', isRetry = false, { agent, headers = {} } = {}) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolveData, reject) => {
    const req = request(
      `${url}/${endpoint}`,
      {
        method: 'POST',
        ...(agent ? { agent } : {}),
        headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let envelope;
          try {
            envelope = JSON.parse(text);
          } catch {
            reject(new Error(`${endpoint}: HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`));
            return;
          }
          if (res.statusCode !== 200) reject(new Error(`${endpoint} on ${url}: HTTP ${res.statusCode}: ${envelope.meta?.result_msg}`));
          else resolveData(envelope.data);
        });
      },
    );
    req.on('error', (error) => {
      if (!isRetry && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) {
        resolveData(call(url, endpoint, body, contentType, true, { agent, headers }));
        return;
      }
      reject(new Error(`${endpoint} on ${url}: ${error.message}`, { cause: error }));
    });
    req.end(payload);
  });
}

/** Creates a running task; answers its id. */
export async function createRunningTask(url, name) {
  const { id } = await call(url, 'tasks.create', { name, type: 'training' });
  await call(url, 'tasks.started', { task: id });
  return id;
}

export const T0 = 1_700_000_000_000;
const METRICS = ['loss', 'accuracy', 'lr', 'grad_norm', 'throughput'];
const VARIANTS = ['train', 'val'];

/** Metric and variant of series k (10 series: 5 metrics × 2 variants, then numbered). */
export function seriesName(k) {
  const metric = METRICS[Math.floor(k / VARIANTS.length) % METRICS.length];
  const variant = VARIANTS[k % VARIANTS.length];
  return { metric: k < METRICS.length * VARIANTS.length ? metric : `${metric}-${k}`, variant };
}

/** The value of series k at iteration i: a noisy decaying curve with a spike every 100,003 iterations. */
export function valueAt(k, i) {
  const noise = (((i * 2654435761 + k * 40503) >>> 0) % 10_000) / 10_000 - 0.5;
  const spike = i % 100_003 === 77_777 ? 100 : 0;
  return Math.exp(-i / 50_000) * (k + 1) + noise * 0.05 + spike;
}

/** Epoch ms of iteration i. */
export function timestampAt(i) {
  return T0 + i * 10;
}

/** Reads VmRSS and VmHWM (peak) of a process, in MiB. */
export function readMemoryMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) throw new Error(`no ${name} in /proc/${pid}/status`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** CPU time (user + system) a process has used so far, in ms (Linux: /proc/<pid>/stat, in clock ticks of 10 ms). */
export function readCpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Prints rows as an aligned table. */
export function printTable(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  for (const [index, row] of rows.entries()) {
    console.log(row.map((cell, column) => String(cell).padEnd(widths[column])).join('  '));
    if (index === 0) console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  }
}
