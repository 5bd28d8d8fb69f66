// A hostile web page, opened in a real Chromium while a Tasklane server and an agent run on the same machine, tries
// what any page on the web can do without asking: text/plain POSTs (fetch, form), a GET through an <img>, a JSON
// fetch (which needs a CORS preflight), and DNS rebinding (its own host name pointed at 127.0.0.1). None of it may
// create, enqueue or delete anything, and no code may run on the agent; the server answers 403. With auth on and the
// user signed in to the UI, a page on another port of the same host (same site: the browser sends the session cookie)
// gets nothing done with that cookie either.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { addUser, createCredentials, loadServerConfig, openSqliteStore, startServer, type RunningServer } from '@tasklane/server';
import { runCli } from '../support/cli.js';
import { startAgent, startServerAt, waitFor, waitForStatus, type AgentProcess, type ServerProcess } from '../support/agent-e2e.js';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/web-ui.js';
import { buildWorkspace } from '../support/workspace-build.js';

const QUEUE = 'e2e-cross-site';

/** The attacker's page: every request a page can make to another origin without the user's leave. */
function attackPage(api: string, victimId: string, bystanderId: string, script: unknown): string {
  const payload = JSON.stringify({ api, victimId, bystanderId, script, queue: QUEUE });
  return `<!doctype html><html><body><iframe name="sink"></iframe><script>
const { api, victimId, bystanderId, script, queue } = ${payload};
const plain = (path, body) => fetch(api + path, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(body) }).catch(() => {});
(async () => {
  await plain('/tasks.create', { name: 'created by a hostile page', script, project_name: 'pwned' });
  await plain('/tasks.enqueue', { task: victimId, queue_name: queue });
  await plain('/v2.23/tasks.enqueue', { task: victimId, queue_name: queue });
  // A JSON fetch needs a preflight, which must be refused.
  await fetch(api + '/tasks.enqueue', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ task: victimId, queue_name: queue }) }).catch(() => {});
  // A GET that would delete, through an image.
  await new Promise((done) => { const img = new Image(); img.onload = img.onerror = done; img.src = api + '/tasks.delete?task=' + bystanderId + '&force=true'; });
  // A form post (text/plain encoding) into a hidden frame.
  const form = document.createElement('form');
  form.method = 'POST'; form.action = api + '/tasks.enqueue'; form.enctype = 'text/plain'; form.target = 'sink';
  const field = document.createElement('input');
  field.name = '{"task": "' + victimId + '", "queue_name": "' + queue + '", "x": "'; field.value = '"}';
  form.appendChild(field); document.body.appendChild(form);
  await new Promise((done) => { document.querySelector('iframe').onload = done; form.submit(); setTimeout(done, 3000); });
  document.title = 'attack done';
})();
</script></body></html>`;
}

describe.skipIf(!hasChromium)('a hostile web page against the embedded default', { timeout: 120_000 }, () => {
  let dir: string;
  let server: ServerProcess;
  let api: ApiClient;
  let agent: AgentProcess;
  let browser: Browser;
  let attacker: Server;
  let attackerUrl: string;
  let sdkEnv: Record<string, string>;

  beforeAll(async () => {
    await buildWorkspace();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-cross-site-'));
    sdkEnv = { XDG_CONFIG_HOME: join(dir, 'config'), TASKLANE_STATE_DIR: join(dir, 'state'), TASKLANE_TASK_NO_REUSE: '1' };
    server = await startServerAt(join(dir, 'data'));
    api = new ApiClient({ baseUrl: server.url });
    agent = await startAgent({ serverUrl: server.url, queues: [QUEUE], workdir: join(dir, 'agent'), name: 'e2e-cross-site', env: sdkEnv });
    // Both names resolve to this machine, as a rebinding attacker's DNS would make its own name do.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => (attacker ? attacker.close(done) : done(undefined)));
    await agent?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates, enqueues and deletes nothing, and no code runs on the agent; the API answers 403', async () => {
    const marker = join(dir, 'the-attack-ran');
    const jobFile = join(dir, 'job.sh');
    await writeFile(jobFile, `touch ${JSON.stringify(marker)}\necho ran\n`);
    const created = await runCli(['task', 'create', '--project', 'e2e/cross-site', '--name', 'victim', '--script', jobFile, '--interpreter', 'bash', '--json', '--server', server.url], sdkEnv);
    expect(created.code).toBe(0);
    const victimId = (JSON.parse(created.stdout) as { id: string }).id;
    const victim = (await api.call('tasks.get_by_id', { task: victimId })).task;
    const bystanderId = (await api.call('tasks.create', { name: 'bystander', project_name: 'e2e/cross-site' })).id;

    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(server.url, victimId, bystanderId, victim.script));
    });
    await new Promise<void>((done) => attacker.listen(0, '127.0.0.1', done));
    // Another port of the same loopback address: cross-origin but same-site, which Chromium lets pages reach.
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;

    const page = await browser.newPage();
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(server.url)) sent.push(request.url().slice(server.url.length).split('?')[0]!);
    });
    const logBefore = server.output().length;
    await page.goto(attackerUrl);
    await page.waitForFunction(() => document.title === 'attack done', undefined, { timeout: 20_000 });

    // Each kind of attempt left the browser (the preflight of the JSON fetch is not shown to pages)...
    expect(sent).toEqual(expect.arrayContaining(['/tasks.create', '/tasks.enqueue', '/v2.23/tasks.enqueue', '/tasks.delete']));
    // ...and the server refused every one with 403, for its foreign Origin (the <img> GET, which carries none, is
    // refused by the content-type rule: a query string alone never changes anything).
    const refusals = server
      .output()
      .slice(logBefore)
      .split('\n')
      .filter((line) => line.includes('Refused a request from the web page at'))
      .map((line) => (JSON.parse(line) as { url: string }).url.split('?')[0]);
    expect(refusals).toEqual(expect.arrayContaining(['/tasks.create', '/tasks.enqueue', '/v2.23/tasks.enqueue']));
    expect(refusals.length).toBeGreaterThanOrEqual(sent.filter((path) => path !== '/tasks.delete').length);
    const deleteByImage = await fetch(`${server.url}/tasks.delete?task=${bystanderId}&force=true`);
    expect(deleteByImage.status).toBe(415);

    // Nothing changed: no new task or project, the victim is still a draft, the bystander still exists, no queue entry.
    expect((await api.call('tasks.get_all', { name: 'hostile' })).tasks).toEqual([]);
    expect((await api.call('projects.get_all', { name: '^pwned$' })).projects).toEqual([]);
    expect((await api.call('tasks.get_by_id', { task: victimId })).task.status).toBe('created');
    expect((await api.call('tasks.get_by_id', { task: bystanderId })).task.id).toBe(bystanderId);
    const queue = (await api.call('queues.get_all', { name: `^${QUEUE}$` })).queues[0]!;
    expect((await api.call('queues.get_num_entries', { queue: queue.id! })).num).toBe(0);
    // The agent polls every 0.2 s: had anything been queued, it would have run by now.
    await sleep(2000);
    expect(existsSync(marker)).toBe(false);

    // The agent was alive all along: the same task, enqueued by its owner, runs.
    const enqueued = await runCli(['task', 'enqueue', victimId, '--queue', QUEUE, '--server', server.url], sdkEnv);
    expect(enqueued.code).toBe(0);
    expect((await waitForStatus(api, victimId, ['completed', 'failed'])).status).toBe('completed');
    await waitFor('the marker of the owner’s run', async () => existsSync(marker));
  });

  it('refuses a page that rebinds its own host name to 127.0.0.1 (DNS rebinding), for the API, the files and the UI', async () => {
    const { port } = new URL(server.url);
    const page = await browser.newPage();
    for (const path of ['/', '/tasks.get_all', '/files/anything.txt']) {
      const response = await page.goto(`http://rebind.attacker.test:${port}${path}`);
      expect({ path, status: response?.status() }).toEqual({ path, status: 403 });
    }
    // The same server under its own address still answers.
    expect((await page.goto(`${server.url}/queues.get_default`))?.status()).toBe(200);
  });
});

/** The attacker's page once the user is signed in to the UI: every request that would carry the session cookie. */
function cookieAttackPage(api: string, imagePath: string): string {
  const payload = JSON.stringify({ api, imagePath });
  return `<!doctype html><html><body><iframe name="sink"></iframe><script>
const { api, imagePath } = ${payload};
const report = {};
(async () => {
  await fetch(api + '/tasks.create', { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ name: 'created with the session cookie' }) }).catch(() => {});
  await fetch(api + '/tasks.get_all', { mode: 'no-cors', credentials: 'include' }).catch(() => {});
  report.image = await new Promise((done) => { const img = new Image(); img.onload = () => done('loaded'); img.onerror = () => done('failed'); img.src = api + imagePath; });
  await new Promise((done) => { const s = document.createElement('script'); s.onload = s.onerror = done; s.src = api + '/tasks.get_all?only_fields=name'; document.body.appendChild(s); });
  const form = document.createElement('form');
  form.method = 'POST'; form.action = api + '/tasks.create'; form.enctype = 'text/plain'; form.target = 'sink';
  const field = document.createElement('input');
  field.name = '{"name": "created by a form", "x": "'; field.value = '"}';
  form.appendChild(field); document.body.appendChild(form);
  await new Promise((done) => { document.querySelector('iframe').onload = done; form.submit(); setTimeout(done, 3000); });
  document.title = 'attack done: ' + JSON.stringify(report);
})();
</script></body></html>`;
}

describe.skipIf(!hasChromium)('a hostile page on another port while the user is signed in (auth on)', { timeout: 120_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let attacker: Server | undefined;
  let keys: { access_key: string; secret_key: string };
  const log: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-cross-site-auth-'));
    const store = openSqliteStore(join(dir, 'tasklane.sqlite'));
    await addUser(store, { name: 'alice', role: 'admin', password: 'alice-password' });
    keys = await createCredentials(store, { name: 'alice' });
    await store.close();
    server = await startServer(loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'debug', auth: 'on' }), { logStream: { write: (line: string) => log.push(line) } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => (attacker ? attacker.close(done) : done(undefined)));
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('gets nothing done with the session cookie: no task created, the image and the listing refused 401', async () => {
    const basic = `Basic ${Buffer.from(`${keys.access_key}:${keys.secret_key}`).toString('base64')}`;
    const form = new FormData();
    form.append('private/plot.png', new Blob([PNG_1X1], { type: 'image/png' }), 'plot.png');
    expect((await fetch(`${server.url}/files/`, { method: 'POST', headers: { authorization: basic }, body: form })).status).toBe(200);

    const context = await browser.newContext();
    const own = await context.newPage();
    await own.goto(`${server.url}/`);
    const signedIn = await own.evaluate(async () => {
      const reply = await fetch('/auth.sign_in', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice', password: 'alice-password' }) });
      return reply.status;
    });
    expect(signedIn).toBe(200);
    // The cookie works for the UI's own page: the image loads there.
    const ownImage = await own.evaluate(
      (src) => new Promise((done) => { const img = new Image(); img.onload = () => done('loaded'); img.onerror = () => done('failed'); img.src = src; }),
      '/files/private/plot.png',
    );
    expect(ownImage).toBe('loaded');

    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(cookieAttackPage(server.url, '/files/private/plot.png')));
    await new Promise<void>((done) => attacker!.listen(0, '127.0.0.1', done));
    const page = await context.newPage();
    const logFrom = log.length;
    await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => document.title.startsWith('attack done'), undefined, { timeout: 20_000 });
    expect(await page.title()).toBe('attack done: {"image":"failed"}');

    // The browser sent the cookie (same site), and the server did not take it: Sec-Fetch-Site is same-site. The
    // server's request log (debug level) says what it answered each request of the page.
    const statuses = answeredStatuses(log.slice(logFrom));
    expect(statuses['/files/private/plot.png']).toEqual([401]);
    expect(statuses['/tasks.get_all']?.every((status) => status === 401)).toBe(true);
    const tasks = await fetch(`${server.url}/tasks.get_all`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic }, body: '{}' });
    expect(((await tasks.json()) as { data: { tasks: unknown[] } }).data.tasks).toEqual([]);
    expect(log.join('')).not.toContain('alice-password');
    await context.close();
  });
});

/** Path → the statuses the server answered, from its request log lines ("incoming request" / "request completed"). */
function answeredStatuses(lines: string[]): Record<string, number[]> {
  const urls = new Map<string, string>();
  const statuses: Record<string, number[]> = {};
  for (const line of lines.join('').split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { reqId?: string; req?: { url: string }; res?: { statusCode: number } };
    if (entry.reqId === undefined) continue;
    if (entry.req) urls.set(entry.reqId, entry.req.url.split('?')[0]!);
    if (entry.res) (statuses[urls.get(entry.reqId) ?? '?'] ??= []).push(entry.res.statusCode);
  }
  return statuses;
}

/** A 1×1 PNG. */
const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
