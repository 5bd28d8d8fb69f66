import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { ApiClient } from 'tasklane/client';
import { assertCliBuilt, startCliServer, type CliServer } from './cli.js';
import { WORKSPACE_ROOT, buildWorkspace } from './workspace-build.js';

/** The system Chromium the web e2e tests drive; without it they skip (`describe.skipIf(!hasChromium)`). */
export const CHROMIUM = '/usr/bin/chromium';

export const hasChromium = existsSync(CHROMIUM);

/** Where the web e2e tests write the screenshots used in the docs (with a trailing slash). */
export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

/**
 * Saves the page as docs/screenshots/<name>.png when TASKLANE_SCREENSHOTS=1 (the README shows them), so that a plain
 * test run leaves the working tree as it was: `TASKLANE_SCREENSHOTS=1 npx vitest run test/e2e/web` refreshes them.
 */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.TASKLANE_SCREENSHOTS !== '1') return;
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png` });
}

const WEB_INDEX = fileURLToPath(new URL('../../packages/web/dist/index.html', import.meta.url));

/** The flags every test browser starts with (no sandbox as root, no background traffic on this closed network). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface WebUiOptions {
  /** Options of each page beyond the 1280×800 viewport, e.g. `{ acceptDownloads: true }`. */
  page?: BrowserContextOptions;
}

export interface WebUi {
  server: CliServer;
  /** An API client of `server`, for setting up data and checking what the UI did. */
  api: ApiClient;
  browser: Browser;
  page: Page;
  /** Messages of the `alert`/`confirm`/`prompt` dialogs any page opened (each dismissed): script run from user data. */
  dialogs: string[];
  /** Uncaught errors of any page. */
  pageErrors: string[];
  /** Another page with the same options, recording into the same `dialogs` and `pageErrors`. */
  newPage(): Promise<Page>;
  /** Closes the browser and stops the server. */
  close(): Promise<void>;
}

/**
 * Builds what the web e2e tests need, starts `tasklane server` (which serves the web app) and opens a page in headless
 * Chromium that records dialogs and page errors.
 */
export async function startWebUi(options: WebUiOptions = {}): Promise<WebUi> {
  await buildWorkspace();
  assertCliBuilt();
  // npm install builds the web app; build it here when a test run comes first.
  if (!existsSync(WEB_INDEX)) {
    await promisify(execFile)('npm', ['run', 'build', '-w', '@tasklane/web'], { cwd: WORKSPACE_ROOT });
  }
  const server = await startCliServer();
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  } catch (error) {
    await server.stop();
    throw error;
  }
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const newPage = async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ...options.page });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // A Content-Security-Policy violation is the UI doing something its policy forbids (or the policy forbidding
    // what the UI needs): either way a failure, reported with the page errors.
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    return page;
  };
  const close = async () => {
    try {
      await browser.close();
    } finally {
      await server.stop();
    }
  };
  let page: Page;
  try {
    page = await newPage();
  } catch (error) {
    await close();
    throw error;
  }
  return { server, api: new ApiClient({ baseUrl: server.url }), browser, page, dialogs, pageErrors, newPage, close };
}
