// Several `tasklane server` processes on one PostgreSQL database and one S3 bucket (issue 15), through the built CLI,
// with authentication on (one signing secret for all, as docs/configuration.md asks of several processes):
// - a real Chromium signed in on process A shows the console lines, scalars and status change a script reports
//   through process B with the real SDK, within the UI's polling interval (it polls; nothing is pushed);
// - a key pair revoked through B stops working on A within the authenticator's documented cache time;
// - the SDK talks to the processes through a switching proxy (a load balancer's stand-in); mid-ingest the process
//   behind it is killed with SIGKILL twice (once after it answered a batch the client never got, once while it worked
//   on one), then once more while it works on the run's final status; the proxy switches to another each time, and
//   the run's points, console lines and status all arrive, each once.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { CLI_BIN, runCli, runNode } from '../support/cli.js';
import { startServerCluster, type ClusterServer, type ServerCluster } from '../support/multi-process.js';
import { testPostgres, postgresSkipReason } from '../support/postgres.js';
import { startSwitchingProxy, type ProxiedRequest, type SwitchingProxy } from '../support/switching-proxy.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/web-ui.js';
import { WORKSPACE_ROOT, buildWorkspace } from '../support/workspace-build.js';

const SDK_ENTRY = pathToFileURL(join(WORKSPACE_ROOT, 'packages/sdk/dist/index.js')).href;
/** The web UI polls a live task's console and status this often (packages/web/src/use-polling.ts, POLL_MS)... */
const UI_POLL_MS = 2000;
/** ...and its scalars five times less often (scalars-tab.tsx). */
const UI_SCALARS_POLL_MS = 5 * UI_POLL_MS;
/** How long a key's state read from the store is trusted (AUTH_STATE_TTL_MS, packages/server/src/services/authenticator.ts). */
const AUTH_STATE_TTL_MS = 500;
/** The run of the failover test: SERIES series of ITERATIONS points, a console line every LINE_EVERY iterations. */
const SERIES = 5;
const ITERATIONS = 2000;
const LINE_EVERY = 10;

const postgres = testPostgres();

/** Waits for `promise`, failing after `ms` with what was awaited. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A user script run with the real SDK: its output so far, a line to its standard input, its end. */
interface ScriptRun {
  stdout(): string;
  stderr(): string;
  send(line: string): void;
  /** Resolves when `marker` appears on its standard output. */
  waitForOutput(marker: string, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  kill(): void;
}

function startScript(file: string, env: Record<string, string>): ScriptRun {
  // The script's environment is ours without any TASKLANE_* setting, plus what the test gives it.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TASKLANE_') && key !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, [file], { env: { ...clean, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { marker: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out += text;
    for (const waiter of waiters.splice(0)) {
      if (out.includes(waiter.marker)) waiter.resolve();
      else waiters.push(waiter);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (err += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    stdout: () => out,
    stderr: () => err,
    send: (line) => child.stdin.write(`${line}\n`),
    waitForOutput: (marker, timeoutMs = 30_000) =>
      within(
        timeoutMs,
        `the script to print ${JSON.stringify(marker)} (stdout:\n${out}\nstderr:\n${err})`,
        new Promise<void>((resolve, reject) => {
          if (out.includes(marker)) return resolve();
          waiters.push({ marker, resolve });
          void exited.then((code) => reject(new Error(`the script exited with ${code} before printing ${JSON.stringify(marker)}:\n${out}\n${err}`)));
        }),
      ),
    exited,
    kill: () => child.kill('SIGKILL'),
  };
}

/** The script the browser test drives through its standard input: each `wave N` reports, flushes and says so. */
const WAVES_SCRIPT = `
import { createInterface } from 'node:readline';
import { Task } from ${JSON.stringify(SDK_ENTRY)};

const task = await Task.init({ projectName: 'e2e/multi-process', taskName: 'written through B', autoResourceMonitoring: false });
const logger = task.getLogger();
console.log('@@task ' + task.id);
for await (const command of createInterface({ input: process.stdin })) {
  const wave = /^wave (\\d+)$/.exec(command);
  if (wave) {
    const n = Number(wave[1]);
    console.log('console line of wave ' + n + ', written through B');
    for (let i = (n - 1) * 10; i < n * 10; i++) logger.reportScalar('loss', 'train', 1 / (i + 1), i);
    await task.flush();
    process.stdout.write('@@flushed ' + n + '\\n');
  } else if (command === 'close') {
    await task.close();
    process.stdout.write('@@closed\\n');
    process.exit(0);
  }
}
`;

/** The failover run: SERIES series of ITERATIONS points (value s * 1e6 + i), a console line every LINE_EVERY. */
const FAILOVER_SCRIPT = `
import { Task } from ${JSON.stringify(SDK_ENTRY)};

const SERIES = ${SERIES}, ITERATIONS = ${ITERATIONS}, LINE_EVERY = ${LINE_EVERY};
const PACE_MS = Number(process.env.PACE_MS);
const task = await Task.init({ projectName: 'e2e/multi-process', taskName: 'failover run', autoResourceMonitoring: false });
process.stdout.write('@@task ' + task.id + '\\n');
const logger = task.getLogger();
for (let i = 0; i < ITERATIONS; i++) {
  for (let s = 0; s < SERIES; s++) logger.reportScalar('failover', 'series ' + s, s * 1e6 + i, i);
  if (i % LINE_EVERY === 0) console.log('line ' + i / LINE_EVERY + ' at iteration ' + i);
  if (i % 20 === 19) await new Promise((resolve) => setTimeout(resolve, PACE_MS));
}
await task.close();
process.stdout.write('@@done\\n');
`;

const basic = (accessKey: string, secretKey: string) => `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

describe.skipIf(!postgres || !hasChromium)(`two server processes on one PostgreSQL${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, { timeout: 180_000 }, () => {
  let dir: string;
  let cluster: ServerCluster;
  /** The processes by address, named A, B, ... in order of start (for the figures). */
  const names = new Map<string, string>();
  let a: ClusterServer;
  let b: ClusterServer;
  let keys: { access_key: string; secret_key: string };
  let browser: Browser | undefined;
  const scripts: ScriptRun[] = [];
  const proxies: SwitchingProxy[] = [];

  /** One more server process on the cluster's database and bucket. */
  async function startServer(name: string): Promise<ClusterServer> {
    const server = await cluster.startServer();
    names.set(server.url, name);
    return server;
  }

  const apiOf = (server: { url: string }) => new ApiClient({ baseUrl: server.url, headers: { authorization: basic(keys.access_key, keys.secret_key) } });
  const sdkEnv = (apiHost: string, extra: Record<string, string> = {}): Record<string, string> => ({
    TASKLANE_API_HOST: apiHost,
    TASKLANE_API_ACCESS_KEY: keys.access_key,
    TASKLANE_API_SECRET_KEY: keys.secret_key,
    TASKLANE_STATE_DIR: join(dir, `state-${randomBytes(3).toString('hex')}`),
    TASKLANE_TASK_NO_REUSE: '1',
    XDG_CONFIG_HOME: join(dir, 'config-home'),
    ...extra,
  });

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-failover-'));
    // Authentication on, with one signing secret for every process (a token one issues works on the others). No
    // process yet: a server with auth on refuses to start without a user.
    cluster = await startServerCluster({ count: 0, extraArgs: ['--auth', 'on'], env: { TASKLANE_AUTH_SECRET: randomBytes(32).toString('hex') } });
    const { dbUrl } = cluster;
    // The first admin and a key pair, made on the database as an operator would, before the servers start.
    const cliEnv = { TASKLANE_DATA_DIR: join(dir, 'cli-data') };
    const added = await runNode(CLI_BIN, ['users', 'add', 'alice', '--admin', '--password-stdin', '--db-url', dbUrl], { env: cliEnv, input: 'alice-password\n' });
    expect(added.code, added.stderr).toBe(0);
    const created = await runCli(['credentials', 'create', '--user', 'alice', '--json', '--db-url', dbUrl], cliEnv);
    expect(created.code, created.stderr).toBe(0);
    keys = JSON.parse(created.stdout) as typeof keys;
    [a, b] = await Promise.all([startServer('A'), startServer('B')]);
  }, 180_000);

  afterAll(async () => {
    for (const script of scripts) script.kill();
    await browser?.close();
    for (const proxy of proxies) await proxy.close();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a browser on A shows the console lines, scalars and status change a script reports through B', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Every API call the page makes goes to A.
    const apiHosts = new Set<string>();
    page.on('request', (request) => {
      if (request.method() === 'POST') apiHosts.add(new URL(request.url()).origin);
    });
    const signIn = await page.context().request.post(`${a.url}/auth.sign_in`, { data: { name: 'alice', password: 'alice-password' }, headers: { 'content-type': 'application/json' } });
    expect(signIn.status()).toBe(200);

    const scriptDir = await mkdtemp(join(dir, 'waves-'));
    await writeFile(join(scriptDir, 'waves.mjs'), WAVES_SCRIPT);
    const script = startScript(join(scriptDir, 'waves.mjs'), sdkEnv(b.url, { TASKLANE_FLUSH_INTERVAL_MS: '200' }));
    scripts.push(script);
    await script.waitForOutput('@@task ');
    const taskId = /@@task ([0-9a-f]+)/.exec(script.stdout())![1]!;
    script.send('wave 1');
    await script.waitForOutput('@@flushed 1');

    await page.goto(`${a.url}/#/tasks/${taskId}/console`);
    const consoleBox = page.locator('pre.console');
    await consoleBox.locator('text=console line of wave 1, written through B').waitFor({ timeout: 15_000 });
    await page.locator('.task-title [data-status="in_progress"]').waitFor();

    // A line written through B while the page is open on A: shown by the next poll, without a reload.
    script.send('wave 2');
    await script.waitForOutput('@@flushed 2');
    let since = performance.now();
    await consoleBox.locator('text=console line of wave 2, written through B').waitFor({ timeout: UI_POLL_MS + 3000 });
    const consoleLagMs = Math.round(performance.now() - since);

    // Scalars: the chart on A has B's points, and grows by the next scalars poll.
    await page.goto(`${a.url}/#/tasks/${taskId}/scalars`);
    const chart = page.locator('.chart[data-metric="loss"][data-series-count="1"]');
    await chart.locator('canvas').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-x-max') === '19', undefined, { timeout: 5000 });
    script.send('wave 3');
    await script.waitForOutput('@@flushed 3');
    since = performance.now();
    await page.waitForFunction(() => document.querySelector('.chart[data-metric="loss"]')?.getAttribute('data-x-max') === '29', undefined, {
      timeout: UI_SCALARS_POLL_MS + 3000,
    });
    const scalarsLagMs = Math.round(performance.now() - since);

    // The status change (the script ends its run through B): the badge on A follows.
    script.send('close');
    await script.waitForOutput('@@closed');
    since = performance.now();
    await page.locator('.task-title [data-status="completed"]').waitFor({ timeout: UI_POLL_MS + 3000 });
    const statusLagMs = Math.round(performance.now() - since);
    expect(await script.exited).toBe(0);

    expect([...apiHosts]).toEqual([a.url]);
    expect(pageErrors).toEqual([]);
    // What B stored is what A serves: the same lines in the same order.
    const linesOf = async (server: ClusterServer) =>
      (await apiOf(server).call('events.get_task_log', { task: taskId, batch_size: 100, navigate_earlier: false, order: 'asc' })).events.map((e) => e.msg);
    const [linesOnA, linesOnB] = await Promise.all([linesOf(a), linesOf(b)]);
    expect(linesOnA).toEqual(linesOnB);
    expect(linesOnA.filter((line) => line.includes('written through B'))).toEqual([1, 2, 3].map((n) => `console line of wave ${n}, written through B`));
    process.stdout.write(`multi-process UI: shown on A after written through B: console ${consoleLagMs} ms, scalars ${scalarsLagMs} ms, status ${statusLagMs} ms\n`);
  });

  it(`a key pair revoked through B stops working on A within ${AUTH_STATE_TTL_MS} ms (and its tokens with it)`, async () => {
    const { credentials } = await apiOf(a).call('auth.create_credentials', { label: 'to revoke' });
    const onA = new ApiClient({ baseUrl: a.url, headers: { authorization: basic(credentials.access_key, credentials.secret_key) } });
    // Used on A first, so A has the key's state and its verified secret in memory.
    expect((await onA.call('users.get_current_user', {})).user.name).toBe('alice');
    const { token } = await onA.call('auth.login', {});
    const byToken = (server: ClusterServer) => new ApiClient({ baseUrl: server.url, headers: { authorization: `Bearer ${token}` } });
    // One signing secret: a token A issued works on B.
    expect((await byToken(b).call('users.get_current_user', {})).user.name).toBe('alice');
    expect((await byToken(a).call('users.get_current_user', {})).user.name).toBe('alice');

    expect(await apiOf(b).call('auth.revoke_credentials', { access_key: credentials.access_key })).toEqual({ revoked: 1 });
    const revokedAt = performance.now();
    // At once on B, which made the change...
    await expect(new ApiClient({ baseUrl: b.url, headers: { authorization: basic(credentials.access_key, credentials.secret_key) } }).call('users.get_current_user', {})).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      details: { reason: 'revoked_key' },
    });
    // ...and on A, the key pair and the token made from it (each a state A read before the revocation), once that
    // copy is older than AUTH_STATE_TTL_MS: no request sent later than that after the revocation is let in. (Measured
    // from when each request was sent, so a slow answer on a busy machine does not count against the server.)
    const polled = async (client: ApiClient, what: string) => {
      let lastAcceptedMs: number | undefined;
      for (;;) {
        const sentMs = Math.round(performance.now() - revokedAt);
        const refusal = await client.call('users.get_current_user', {}).then(
          () => undefined,
          (error: unknown) => error,
        );
        if (refusal !== undefined) {
          expect(refusal, what).toMatchObject({ code: 'UNAUTHORIZED', details: { reason: 'revoked_key' } });
          return { lastAcceptedMs, refusedMs: Math.round(performance.now() - revokedAt) };
        }
        lastAcceptedMs = sentMs;
        expect(sentMs, `the revoked ${what} still works on A`).toBeLessThan(AUTH_STATE_TTL_MS + 5000);
        await sleep(20);
      }
    };
    const [key, tokenOfKey] = await Promise.all([polled(onA, 'key pair'), polled(byToken(a), 'token')]);
    // The secret's own 10-minute memory and the token's verified signature must not keep them working.
    expect(key.lastAcceptedMs ?? 0).toBeLessThan(AUTH_STATE_TTL_MS);
    expect(tokenOfKey.lastAcceptedMs ?? 0).toBeLessThan(AUTH_STATE_TTL_MS);
    // The key pair the other tests use still works on both.
    for (const server of [a, b]) expect((await apiOf(server).call('users.get_current_user', {})).user.name).toBe('alice');
    process.stdout.write(
      `multi-process auth: revoked through B; on A the key pair was last let in by a request sent ${key.lastAcceptedMs ?? '(none)'} ms after, refused by ${key.refusedMs} ms; its token ${tokenOfKey.lastAcceptedMs ?? '(none)'} / ${tokenOfKey.refusedMs} ms\n`,
    );
  });

  it(`the SDK keeps going through a switching proxy while the process behind it is killed -9 (twice mid-ingest, once at the final status); ${SERIES} × ${ITERATIONS} points and every console line arrive once`, async () => {
    // Three more processes: the proxy starts on C; C is killed, then D; E takes the rest of the run, and is killed in
    // turn while it works on the run's final status (tasks.completed), which A then gets.
    const [c, d, e] = await Promise.all([startServer('C'), startServer('D'), startServer('E')]);
    const proxy = await startSwitchingProxy(c.url);
    proxies.push(proxy);
    const isEvents = (request: ProxiedRequest, backend: ClusterServer, path: string) => request.backend === backend.url && request.path === `/${path}`;

    // Kill 1: C stores the third batch of console lines and answers; the answer never reaches the SDK (C is killed
    // with it on the way), so the SDK sends that batch again, scalars and lines, to D.
    let linesToC = 0;
    const answeredByC = proxy.holdAnswer((request) => isEvents(request, c, 'events.add_batch') && ++linesToC === 3);
    // Kill 2: D is killed the moment the whole body of its third scalar batch reached it (working on it).
    let scalarsToD = 0;
    const workingOnD = proxy.whenForwarded((request) => isEvents(request, d, 'events.add_scalars') && ++scalarsToD === 3);
    // Kill 3: E is killed the moment the run's final status reached it.
    const closingOnE = proxy.whenForwarded((request) => request.backend === e.url && request.path === '/tasks.completed');

    const scriptDir = await mkdtemp(join(dir, 'failover-'));
    await writeFile(join(scriptDir, 'failover.mjs'), FAILOVER_SCRIPT);
    const started = performance.now();
    const script = startScript(join(scriptDir, 'failover.mjs'), sdkEnv(proxy.url, { TASKLANE_FLUSH_INTERVAL_MS: '250', PACE_MS: '60' }));
    scripts.push(script);
    await script.waitForOutput('@@task ');
    const taskId = /@@task ([0-9a-f]+)/.exec(script.stdout())![1]!;

    const held = await within(60_000, "C's answer to the third console batch", answeredByC);
    expect(held.status).toBe(200);
    expect(await c.stop('SIGKILL')).toBeNull();
    const firstKillAt = performance.now();
    proxy.switchTo(d.url);
    held.drop();
    await expect(fetch(`${c.url}/health`)).rejects.toThrow();

    const working = await within(60_000, 'the third scalar batch to reach D', workingOnD);
    expect(await d.stop('SIGKILL')).toBeNull();
    const secondKillAt = performance.now();
    proxy.switchTo(e.url);

    const closing = await within(60_000, 'the final status to reach E', closingOnE);
    expect(await e.stop('SIGKILL')).toBeNull();
    proxy.switchTo(a.url);

    expect(await within(120_000, 'the failover script to end', script.exited), `stdout:\n${script.stdout()}\nstderr:\n${script.stderr()}`).toBe(0);
    const runMs = Math.round(performance.now() - started);
    expect(script.stdout()).toContain('@@done');

    // Both kills were mid-ingest: batches were answered after each of them, by D, then by E.
    const requests = proxy.requests;
    const answeredEvents = (backend: ClusterServer) =>
      requests.filter((r) => r.backend === backend.url && r.path.startsWith('/events.add_') && r.outcome?.kind === 'answered' && r.outcome.status === 200);
    expect(answeredEvents(c).length).toBeGreaterThanOrEqual(3);
    expect(answeredEvents(d).length).toBeGreaterThanOrEqual(2);
    expect(answeredEvents(e).length).toBeGreaterThanOrEqual(1);
    expect(held.request.outcome).toEqual({ kind: 'dropped', why: 'the test dropped the held answer' });
    expect(working.outcome?.kind).toBe('dropped');
    // The SDK did send the batch C had stored again (the same line ids, to D): the duplicates a resend could make.
    const lineIdsOf = (request: ProxiedRequest) =>
      request.body!.toString('utf8').split('\n').filter(Boolean).map((line) => (JSON.parse(line) as { id: string }).id);
    const heldIds = lineIdsOf(held.request);
    const resentTo = requests.filter((r) => r.seq > held.request.seq && r.path === '/events.add_batch' && r.body && lineIdsOf(r).some((id) => heldIds.includes(id)));
    expect(resentTo.map((r) => r.backend)[0]).toBe(d.url);

    expect(closing.outcome?.kind).toBe('dropped');
    // The SDK said nothing was lost (a warning of a report or status it could not deliver would be on stderr).
    expect(script.stderr()).not.toMatch(/could not mark|could not be delivered|refused/);

    // Everything, once, read through A (which saw none of the run) ...
    const api = apiOf(a);
    const scalars = await api.call('events.scalar_metrics_iter_histogram', { task: taskId, samples: 0 });
    const iterations = Array.from({ length: ITERATIONS }, (_v, i) => i);
    expect(Object.keys(scalars)).toEqual(['failover']);
    expect(Object.keys(scalars.failover!).sort()).toEqual(Array.from({ length: SERIES }, (_v, s) => `series ${s}`));
    for (let s = 0; s < SERIES; s++) {
      const series = scalars.failover![`series ${s}`]!;
      expect(series.x, `series ${s} iterations`).toEqual(iterations);
      expect(series.y, `series ${s} values`).toEqual(iterations.map((i) => s * 1e6 + i));
    }
    const task = (await api.call('tasks.get_by_id', { task: taskId })).task;
    expect({ status: task.status, last_iteration: task.last_iteration }).toEqual({ status: 'completed', last_iteration: ITERATIONS - 1 });
    for (let s = 0; s < SERIES; s++) {
      expect(task.last_metrics[md5('failover')]?.[md5(`series ${s}`)], `last_metrics of series ${s}`).toMatchObject({
        value: s * 1e6 + ITERATIONS - 1,
        min_value: s * 1e6,
        max_value: s * 1e6 + ITERATIONS - 1,
        first_value: s * 1e6,
        count: ITERATIONS,
      });
    }
    const { total: scalarEvents } = await api.call('events.get_task_events', { task: taskId, event_type: 'training_stats_scalar', batch_size: 1 });
    expect(scalarEvents).toBe(SERIES * ITERATIONS);
    const log = await api.call('events.get_task_log', { task: taskId, batch_size: 10_000, navigate_earlier: false, order: 'asc' });
    const loopLines = log.events.map((event) => event.msg).filter((msg) => msg.startsWith('line '));
    expect(loopLines).toEqual(Array.from({ length: ITERATIONS / LINE_EVERY }, (_v, k) => `line ${k} at iteration ${k * LINE_EVERY}`));
    expect(new Set(log.events.map((event) => event.id)).size).toBe(log.events.length);
    expect(log.total).toBe(log.events.length);

    // ... and in the tables themselves.
    const db = new pg.Client({ connectionString: cluster.dbUrl });
    await db.connect();
    try {
      const points = await db.query<{ variant: string; points: number; iterations: number; first: number; last: number }>(
        `SELECT s.variant, count(*)::int AS points, count(DISTINCT e.iter)::int AS iterations, min(e.iter)::int AS first, max(e.iter)::int AS last
           FROM event_series s JOIN scalar_events e ON e.series = s.id WHERE s.task = $1 GROUP BY s.variant ORDER BY s.variant`,
        [taskId],
      );
      expect(points.rows).toEqual(Array.from({ length: SERIES }, (_v, s) => ({ variant: `series ${s}`, points: ITERATIONS, iterations: ITERATIONS, first: 0, last: ITERATIONS - 1 })));
      const lines = await db.query<{ lines: number; ids: number; texts: number }>(
        `SELECT count(*)::int AS lines, count(DISTINCT event_id)::int AS ids, count(DISTINCT msg)::int AS texts FROM log_events WHERE task = $1 AND msg LIKE 'line %'`,
        [taskId],
      );
      expect(lines.rows[0]).toEqual({ lines: ITERATIONS / LINE_EVERY, ids: ITERATIONS / LINE_EVERY, texts: ITERATIONS / LINE_EVERY });
    } finally {
      await db.end();
    }

    // From a kill to the arrival of the first batch the next backend answered: the SDK's retry back-off, mostly.
    const failoverMs = (killedAt: number, backend: ClusterServer) => Math.round((answeredEvents(backend)[0]?.arrivedAt ?? NaN) - killedAt);
    const dropped = requests.filter((r) => r.outcome?.kind === 'dropped');
    process.stdout.write(
      `multi-process failover: ${SERIES}×${ITERATIONS} points + ${ITERATIONS / LINE_EVERY} lines in ${runMs} ms; ` +
        `${requests.length} requests through the proxy (${requests.filter((r) => r.path.startsWith('/events.add_')).length} event batches), ${dropped.length} dropped ` +
        `(${dropped.map((r) => `${r.path} on ${names.get(r.backend)}: ${(r.outcome as { why: string }).why}`).join('; ')}); ` +
        `kills at ${Math.round(firstKillAt - started)} ms and ${Math.round(secondKillAt - started)} ms; next batch answered ${failoverMs(firstKillAt, d)} ms and ${failoverMs(secondKillAt, e)} ms after them\n`,
    );
  });
});
