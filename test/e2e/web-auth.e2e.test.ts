// The web UI against a server with authentication on, in a real Chromium: the sign-in page (wrong password, too
// many attempts, a deep link opened after signing in), pages and files under the HttpOnly session cookie, the
// profile page making and revoking a key pair that then works (and stops working) for API clients, the session
// renewed while the UI is open, signing out, and a session ending under an open page. And, with auth off, no sign-in.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { addUser, createCredentials, loadServerConfig, openSqliteStore, removeUser, startServer, type RunningServer } from '@tasklane/server';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium, saveScreenshot } from '../support/web-ui.js';
import { WORKSPACE_ROOT } from '../support/workspace-build.js';
import { png } from '../support/png.js';

const WEB_DIR = join(WORKSPACE_ROOT, 'packages/web/dist');
const JSON_TYPE = { 'content-type': 'application/json' };

function basic(accessKey: string, secretKey: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secretKey}`).toString('base64')}`;
}


async function ensureWebBuilt(): Promise<void> {
  // npm install builds the web app; build it here when a test run comes first.
  if (!existsSync(join(WEB_DIR, 'index.html'))) await promisify(execFile)('npm', ['run', 'build', '-w', '@tasklane/web'], { cwd: WORKSPACE_ROOT });
}

/** Chromium pages that record uncaught errors and Content-Security-Policy violations (each a failure). */
function pageRecorder(browser: Browser) {
  const pageErrors: string[] = [];
  const contexts: BrowserContext[] = [];
  const newPage = async (options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    page.on('dialog', (dialog) => {
      pageErrors.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    return page;
  };
  const closeAll = async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  };
  return { pageErrors, newPage, closeAll };
}

describe.skipIf(!hasChromium)('web UI with authentication on (Chromium)', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let api: ApiClient;
  let pages: ReturnType<typeof pageRecorder>;
  let aliceKeys: { access_key: string; secret_key: string };
  let projectId: string;
  let taskId: string;
  let imageUrl: string;
  let notesUrl: string;
  const notes = 'trained on the small split\n';

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) });

  async function upload(key: string, body: Buffer | string): Promise<string> {
    const form = new FormData();
    form.append(key, new Blob([body]), 'file');
    const reply = await fetch(`${server.url}/files`, { method: 'POST', body: form, headers: { authorization: basic(aliceKeys.access_key, aliceKeys.secret_key) } });
    expect(reply.status).toBe(200);
    return `${server.url}/files/${key}`;
  }

  /** A page in a fresh browser context, signed in as `name` (the cookie set by auth.sign_in, as the form does). */
  async function signedInPage(name = 'alice', password = 'alice-password', options: Parameters<Browser['newContext']>[0] = {}): Promise<Page> {
    const page = await pages.newPage(options);
    const reply = await page.context().request.post(`${server.url}/auth.sign_in`, { data: { name, password }, headers: JSON_TYPE });
    expect(reply.status()).toBe(200);
    return page;
  }

  async function expectSignInPage(page: Page): Promise<void> {
    await page.locator('form.sign-in').waitFor();
    expect(await page.locator('form.sign-in h1').textContent()).toBe('Sign in');
    expect(await page.locator('header.topbar').count()).toBe(0);
  }

  async function focusedField(page: Page): Promise<string | null> {
    return page.evaluate(() => (document.activeElement as HTMLInputElement | null)?.name ?? null);
  }

  beforeAll(async () => {
    await ensureWebBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-web-auth-'));
    const store = openSqliteStore(join(dir, 'tasklane.sqlite'));
    await addUser(store, { name: 'alice', displayName: 'Alice Liddell', role: 'admin', password: 'alice-password' });
    await addUser(store, { name: 'carol', role: 'user', password: 'carol-password' });
    await addUser(store, { name: 'dave', role: 'user', password: 'dave-password' });
    aliceKeys = await createCredentials(store, { name: 'alice' }, 'setup');
    await store.close();
    server = await startServer(loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'silent', auth: 'on', webDir: WEB_DIR }));
    api = new ApiClient({ baseUrl: server.url, headers: { authorization: basic(aliceKeys.access_key, aliceKeys.secret_key) } });

    projectId = (await api.call('projects.create', { name: 'auth/vision' })).id;
    taskId = (await api.call('tasks.create', { name: 'train resnet', project: projectId, type: 'training' })).id;
    await api.call('tasks.create', { name: 'evaluate resnet', project: projectId, type: 'testing' });
    await api.call('tasks.started', { task: taskId });
    const imageKey = `auth/vision/train resnet.${taskId}/metrics/samples/input/samples_input_00000000.png`;
    imageUrl = await upload(imageKey, png(8, 6, [200, 30, 30]));
    notesUrl = await upload(`auth/vision/train resnet.${taskId}/artifacts/notes/notes.txt`, notes);
    await api.callJsonLines('events.add_batch', [{ type: 'training_debug_image', task: taskId, iter: 0, metric: 'samples', variant: 'input', key: imageKey, url: imageUrl }]);
    await api.call('tasks.add_or_update_artifacts', { task: taskId, artifacts: [{ key: 'notes', type: 'custom', mode: 'output', uri: notesUrl }] });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    pages = pageRecorder(browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the sign-in page for a deep link, says so for a wrong password, then opens the linked page with an HttpOnly cookie', async () => {
    const page = await pages.newPage();
    await page.goto(`${server.url}/#/projects/${projectId}/tasks`);
    await expectSignInPage(page);
    expect(await focusedField(page)).toBe('username');
    expect(await page.locator('.sign-in-notice').count()).toBe(0);
    await saveScreenshot(page, 'sign-in');

    await page.keyboard.type('alice');
    await page.fill('input[name=password]', 'not-her-password');
    await page.keyboard.press('Enter');
    const problem = page.locator('#sign-in-problem');
    await problem.waitFor();
    expect(await problem.textContent()).toMatchInlineSnapshot(`"Wrong user name or password. An admin can set a new password with: tasklane users set-password NAME"`);
    expect(await problem.getAttribute('role')).toBe('alert');
    // The password is cleared for the next try and has the focus; the name stays.
    expect(await page.inputValue('input[name=password]')).toBe('');
    expect(await page.inputValue('input[name=username]')).toBe('alice');
    expect(await focusedField(page)).toBe('password');
    expect(await page.getAttribute('input[name=password]', 'aria-invalid')).toBe('true');

    await page.keyboard.type('alice-password');
    await page.keyboard.press('Enter');
    // Where the link pointed: the project's tasks.
    await page.locator('tr[data-task] a.task-name', { hasText: 'train resnet' }).waitFor();
    expect(await page.locator('tr[data-task]').count()).toBe(2);
    expect(new URL(page.url()).hash).toBe(`#/projects/${projectId}/tasks`);
    expect(await page.locator('.user-menu-button').textContent()).toContain('Alice Liddell');

    // The session is in an HttpOnly, SameSite=Strict cookie that the page's scripts cannot read.
    expect(await page.evaluate(() => document.cookie)).not.toContain('tasklane_session');
    const cookies = await page.context().cookies();
    expect(cookies.filter((c) => c.name === 'tasklane_session').map((c) => ({ httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([
      { httpOnly: true, sameSite: 'Strict' },
    ]);
    expect(pages.pageErrors).toEqual([]);
  });

  it('tells a rate-limited sign-in how long to wait, with the form closed until then', async () => {
    for (let i = 0; i < 10; i++) expect((await post('/auth.sign_in', { name: 'carol', password: `guess-${i}` })).status).toBe(401);
    const page = await pages.newPage();
    await page.goto(`${server.url}/#/queues`);
    await expectSignInPage(page);
    await page.fill('input[name=username]', 'carol');
    await page.fill('input[name=password]', 'carol-password');
    await page.click('form.sign-in button[type=submit]');
    const problem = page.locator('#sign-in-problem');
    await problem.waitFor();
    expect(await problem.textContent()).toMatch(/^Too many failed sign-ins for this user or from this address: try again in \d{3} s\.$/);
    expect(await page.locator('form.sign-in button[type=submit]').isDisabled()).toBe(true);
    expect(pages.pageErrors).toEqual([]);
  });

  it('shows debug images and downloads artifacts from /files under the session cookie alone', async () => {
    // Without credentials the file server refuses: what the page shows below comes through the cookie.
    expect((await fetch(imageUrl)).status).toBe(401);
    expect((await fetch(notesUrl)).status).toBe(401);

    const page = await signedInPage('alice', 'alice-password', { acceptDownloads: true });
    await page.goto(`${server.url}/#/tasks/${taskId}/debug-samples`);
    await page.locator('.sample[data-sample-series="input"] img').waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('.sample[data-sample-series="input"] img') as HTMLImageElement | null;
      return img?.complete === true && img.naturalWidth === 8 && img.naturalHeight === 6;
    });

    await page.goto(`${server.url}/#/tasks/${taskId}/artifacts`);
    const link = page.locator('tr[data-artifact="notes"] a.download');
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(await download.failure()).toBeNull();
    expect(await readFile((await download.path())!, 'utf8')).toBe(notes);
    expect(pages.pageErrors).toEqual([]);
  });

  it('makes a key pair on the profile page, shows its secret once, and the key works for the API until revoked', async () => {
    const page = await signedInPage('alice', 'alice-password', { permissions: ['clipboard-read', 'clipboard-write'] });
    await page.goto(`${server.url}/#/projects`);
    await page.locator('.user-menu-button').click();
    await page.locator('[role=menuitem]', { hasText: 'Profile' }).click();
    await page.locator('h1', { hasText: 'Profile' }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/profile');
    const fields = await page.locator('.profile-card dl.fields').innerText();
    expect(fields).toMatch(/Name\s+alice/);
    expect(fields).toMatch(/Display name\s+Alice Liddell/);
    expect(fields).toMatch(/Role\s+admin/);
    // The key pair made for the setup is listed, without its secret.
    await page.locator(`tr[data-access-key="${aliceKeys.access_key}"]`).waitFor();
    expect(await page.content()).not.toContain(aliceKeys.secret_key);

    await page.locator('button', { hasText: 'Create new credentials' }).click();
    await page.fill('dialog input', 'e2e laptop');
    await page.keyboard.press('Enter');
    const dialog = page.locator('dialog.new-credentials');
    await dialog.waitFor();
    const accessKey = (await dialog.locator('[data-field=access-key]').textContent())!;
    const secretKey = (await dialog.locator('[data-field=secret-key]').textContent())!;
    expect(accessKey).toMatch(/^[A-Z0-9]{30}$/);
    expect(secretKey.length).toBeGreaterThanOrEqual(40);
    expect(await dialog.locator('.secret-warning').textContent()).toContain('you won’t see it again');
    const conf = (await dialog.locator('[data-snippet="clearml.conf"]').textContent())!;
    expect(conf).toBe(
      [
        'api {',
        `    web_server: ${server.url}`,
        `    api_server: ${server.url}`,
        `    files_server: ${server.url}/files`,
        '    credentials {',
        `        "access_key" = "${accessKey}"`,
        `        "secret_key" = "${secretKey}"`,
        '    }',
        '}',
      ].join('\n'),
    );
    const env = (await dialog.locator('[data-snippet="environment"]').textContent())!;
    for (const line of [
      `export TASKLANE_API_HOST=${server.url}`,
      `export TASKLANE_API_ACCESS_KEY=${accessKey}`,
      `export TASKLANE_API_SECRET_KEY=${secretKey}`,
      `export CLEARML_API_HOST=${server.url}`,
      `export CLEARML_API_ACCESS_KEY=${accessKey}`,
      `export CLEARML_API_SECRET_KEY=${secretKey}`,
    ]) {
      expect(env.split('\n')).toContain(line);
    }
    await saveScreenshot(page, 'new-credentials');
    // The copy button puts the secret on the clipboard.
    await dialog.locator('button[title="Copy the secret key"]').click();
    await dialog.locator('button[title="Copy the secret key"]', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secretKey);

    // The new pair works as HTTP Basic, as the SDK and ClearML's clients send it.
    const withNewKey = { authorization: basic(accessKey, secretKey) };
    const tasks = await post('/tasks.get_all', {}, withNewKey);
    expect(tasks.status).toBe(200);
    expect(((await tasks.json()) as { data: { tasks: unknown[] } }).data.tasks.length).toBe(2);

    await dialog.locator('button', { hasText: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    const row = page.locator(`tr[data-access-key="${accessKey}"]`);
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('e2e laptop');
    // Shown once: after the dialog, the secret is nowhere on the page, nor after a reload.
    expect(await page.content()).not.toContain(secretKey);
    await page.reload();
    await row.waitFor();
    expect(await page.content()).not.toContain(secretKey);
    await saveScreenshot(page, 'profile');

    await row.locator('button', { hasText: 'Revoke' }).click();
    const confirm = page.locator('dialog', { hasText: 'Revoke key pair' });
    expect(await confirm.locator('.confirm-message').textContent()).toContain(`Revoke access key ${accessKey} (e2e laptop)?`);
    await confirm.locator('button[type=submit]', { hasText: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator(`tr[data-access-key="${aliceKeys.access_key}"]`).waitFor();
    const refused = await post('/tasks.get_all', {}, withNewKey);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { meta: { error_data: { reason: string } } }).meta.error_data.reason).toBe('revoked_key');
    expect(pages.pageErrors).toEqual([]);
  });

  it('signs out from the user menu: the sign-in page shows and the page’s API calls are refused', async () => {
    const page = await signedInPage();
    await page.goto(`${server.url}/#/models`);
    await page.locator('.user-menu-button').waitFor();
    await page.locator('.user-menu-button').click();
    await page.locator('[role=menuitem]', { hasText: 'Sign out' }).click();
    await expectSignInPage(page);
    expect(await page.locator('.sign-in-notice').textContent()).toBe('You have signed out.');
    expect(new URL(page.url()).hash).toBe('#/models');
    expect((await page.context().cookies()).map((c) => c.name)).not.toContain('tasklane_session');
    const status = await page.evaluate(() => fetch('/tasks.get_all', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status));
    expect(status).toBe(401);
    expect(pages.pageErrors).toEqual([]);
  });

  it('brings back the sign-in page where a session ends under an open page, and signing in continues at that address', async () => {
    const page = await signedInPage();
    await page.goto(`${server.url}/#/tasks/${taskId}/info`);
    await page.locator('h1 .task-name', { hasText: 'train resnet' }).waitFor();
    // The cookie runs out (as at the end of its Max-Age): the next call the UI makes is refused.
    await page.context().clearCookies();
    await page.locator('header nav a', { hasText: 'Queues' }).click();
    await expectSignInPage(page);
    expect(await page.locator('.sign-in-notice').textContent()).toBe('Your session has ended. Sign in again to continue where you were.');
    expect(new URL(page.url()).hash).toBe('#/queues');
    // The name is known: only the password is asked for.
    expect(await page.inputValue('input[name=username]')).toBe('alice');
    expect(await focusedField(page)).toBe('password');
    await page.keyboard.type('alice-password');
    await page.keyboard.press('Enter');
    await page.locator('h1', { hasText: 'Queues & workers' }).waitFor();
    expect(pages.pageErrors).toEqual([]);
  });

  it('says so when the signed-in user is removed (by `tasklane users remove`, on the store) while the UI is open', async () => {
    const page = await signedInPage('dave', 'dave-password');
    await page.goto(`${server.url}/#/projects`);
    await page.locator('tr[data-project="auth/vision"]').waitFor();
    const store = openSqliteStore(join(dir, 'tasklane.sqlite'));
    try {
      await removeUser(store, 'dave');
    } finally {
      await store.close();
    }
    // The server reads a user's state again at most every half second; a page polls its data, or the user moves on.
    const notice = page.locator('.sign-in-notice');
    let toModels = true;
    await expect
      .poll(
        async () => {
          if ((await notice.count()) === 0) {
            await page.evaluate((to) => (window.location.hash = to), toModels ? '#/models' : '#/projects');
            toModels = !toModels;
          }
          return notice.count();
        },
        { timeout: 5000, intervals: [200] },
      )
      .toBe(1);
    expect(await notice.textContent()).toBe('Your user was removed from this server. Ask an admin for an account to continue.');
    expect(pages.pageErrors).toEqual([]);
  });

  it('renews the session when half its lifetime has passed while the UI is open', async () => {
    const page = await pages.newPage();
    await page.clock.install();
    const renewals: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/auth.refresh_session')) renewals.push(response.status());
    });
    await page.goto(`${server.url}/#/projects`);
    await expectSignInPage(page);
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', 'alice-password');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-project="auth/vision"]').waitFor();
    expect(renewals).toEqual([]);

    // The default session lasts 12 h: no renewal before 6 h, one right after.
    await page.clock.fastForward('05:59:00');
    await page.waitForTimeout(300);
    expect(renewals).toEqual([]);
    const renewed = page.waitForResponse((response) => response.url().endsWith('/auth.refresh_session'));
    await page.clock.fastForward('00:01:30');
    expect((await renewed).status()).toBe(200);
    expect(renewals).toEqual([200]);
    expect(await (await renewed).headerValue('set-cookie')).toMatch(/^tasklane_session=[^;]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict/);
    // Still signed in, and the next renewal is another 6 h away.
    await page.locator('tr[data-project="auth/vision"]').waitFor();
    expect(await page.locator('form.sign-in').count()).toBe(0);
    expect(pages.pageErrors).toEqual([]);
  });

  it('renews the session at once when the UI is opened with a working cookie', async () => {
    const page = await signedInPage();
    const renewed = page.waitForResponse((response) => response.url().endsWith('/auth.refresh_session'));
    await page.goto(`${server.url}/#/projects`);
    expect((await renewed).status()).toBe(200);
    await page.locator('tr[data-project="auth/vision"]').waitFor();
    expect(pages.pageErrors).toEqual([]);
  });
});

describe.skipIf(!hasChromium)('web UI with authentication off (Chromium)', () => {
  let dir: string;
  let server: RunningServer;
  let browser: Browser;
  let pages: ReturnType<typeof pageRecorder>;

  beforeAll(async () => {
    await ensureWebBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-web-auth-off-'));
    server = await startServer(loadServerConfig({}, { port: 0, dataDir: dir, logLevel: 'silent', auth: 'off', webDir: WEB_DIR }));
    await new ApiClient({ baseUrl: server.url }).call('projects.create', { name: 'open/project' });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    pages = pageRecorder(browser);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the pages without any sign-in, and the profile page says how to turn authentication on', async () => {
    const page = await pages.newPage();
    await page.goto(`${server.url}/#/projects`);
    await page.locator('tr[data-project="open/project"]').waitFor();
    expect(await page.locator('form.sign-in').count()).toBe(0);
    expect((await page.context().cookies()).map((c) => c.name)).toEqual([]);

    await page.locator('.user-menu-button').click();
    expect(await page.locator('.user-menu-list').innerText()).toContain('Authentication is off');
    expect(await page.locator('[role=menuitem]', { hasText: 'Sign out' }).count()).toBe(0);
    await page.locator('[role=menuitem]', { hasText: 'Profile' }).click();
    const notice = page.locator('[data-auth=off]');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('Authentication is off on this server.');
    expect(await notice.locator('pre').textContent()).toBe('tasklane users add admin --admin --password-stdin');
    expect(await notice.innerText()).toContain('then restart the server');
    expect(await page.locator('button', { hasText: 'Create new credentials' }).count()).toBe(0);
    expect(await page.locator('.credentials-table').count()).toBe(0);
    await saveScreenshot(page, 'profile-auth-off');
    expect(pages.pageErrors).toEqual([]);
  });
});
