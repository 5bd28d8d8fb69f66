import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from 'tasklane/client';
import type { CliServer } from '../support/cli.js';
import { hasChromium, startWebUi, type WebUi } from '../support/web-ui.js';
import { png } from '../support/png.js';

/** Script a hostile upload would run in the web UI's origin: announce itself and create a queue with the user's session. */
const payload = (name: string) =>
  `console.log('${name} script ran'); fetch('/queues.create', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'pwned-${name}' }) });`;

/** A 40×30 SVG drawn blue by an inline style, with a script. */
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" viewBox="0 0 40 30">
<style>rect { fill: rgb(0, 0, 255); }</style>
<rect width="40" height="30"/>
<script>${payload('svg')}</script>
<image href="x" onerror="${payload('svg-onerror').replaceAll('"', '&quot;')}"/>
</svg>`;

const HTML = `<!doctype html><html><body><h1 id="rendered">rendered as a page</h1><img src="x" onerror="${payload('html-onerror').replaceAll('"', '&quot;')}"><script>${payload('html')}</script></body></html>`;


/** A WAV file of `seconds` of a quiet tone (16-bit mono PCM). */
function wav(seconds: number): Buffer {
  const rate = 8000;
  const data = Buffer.alloc(rate * seconds * 2);
  for (let i = 0; i < rate * seconds; i++) data.writeInt16LE(Math.round(Math.sin(i / 4) * 4000), i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'ascii');
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVEfmt ', 8, 'ascii');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'ascii');
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

describe.skipIf(!hasChromium)('uploaded files opened in the web UI origin (Chromium)', () => {
  let ui: WebUi;
  let server: CliServer;
  let api: ApiClient;
  /** Console messages of every page this suite opens. */
  const consoleMessages: string[] = [];
  /** API calls any page made to create a queue. */
  const queueCreations: string[] = [];

  async function uploadFile(key: string, body: string | Buffer): Promise<string> {
    const form = new FormData();
    form.append(key, new Blob([body]), 'file');
    const reply = await fetch(`${server.url}/files`, { method: 'POST', body: form });
    expect(reply.status).toBe(200);
    return `${server.url}/files/${key}`;
  }

  /** A page of the web UI (so it holds the UI origin and its session), recording console messages and queue creations. */
  async function uiPage(): Promise<Page> {
    const page = await ui.newPage();
    page.setDefaultTimeout(8000);
    page.on('console', (message) => consoleMessages.push(message.text()));
    page.on('request', (request) => {
      if (request.url().includes('queues.create')) queueCreations.push(request.url());
    });
    await page.goto(`${server.url}/#/projects`);
    await page.locator('#root *').first().waitFor();
    return page;
  }

  /** Opens `url` in `page` as a user following a link would; answers whether Chromium showed it or downloaded it. */
  async function open(page: Page, url: string): Promise<'download' | 'shown'> {
    const download = page.waitForEvent('download', { timeout: 5000 });
    try {
      await page.goto(url);
    } catch (error) {
      // A navigation that turns into a download is aborted ("Download is starting"); any other failure is one.
      const started = await download.catch(() => undefined);
      if (!started) throw error;
      await started.cancel();
      return 'download';
    }
    download.catch(() => undefined);
    return 'shown';
  }

  async function expectNoScriptRan(): Promise<void> {
    // Long enough for a script's fetch to have left the page.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(consoleMessages.filter((m) => m.includes('script ran'))).toEqual([]);
    expect(queueCreations).toEqual([]);
    const queues = await api.call('queues.get_all', {});
    expect(queues.queues.map((q) => q.name).filter((n) => n.startsWith('pwned'))).toEqual([]);
    expect(ui.dialogs).toEqual([]);
  }

  beforeAll(async () => {
    ui = await startWebUi({ page: { acceptDownloads: true } });
    ({ server, api } = ui);
  }, 120_000);

  afterAll(async () => {
    await ui?.close();
  });

  it('an uploaded SVG opened at its /files URL runs none of its script: no console message, no queue created', async () => {
    const url = await uploadFile('xss/evil.svg', SVG);
    const page = await uiPage();
    const opened = [await open(page, url), await open(page, `${url}?download`)];
    await expectNoScriptRan();
    // Not even shown: an SVG is an attachment (the Content-Security-Policy would keep its script from running anyway).
    expect(opened).toEqual(['download', 'download']);
    await page.close();
  });

  it('an uploaded HTML file is shown as text, never rendered as a page; other HTML-ish files are downloads', async () => {
    const page = await uiPage();
    const html = await uploadFile('xss/page.html', HTML);
    expect(await open(page, html)).toBe('shown');
    expect(await page.evaluate(() => document.getElementById('rendered'))).toBeNull();
    expect(await page.evaluate(() => document.body.innerText)).toContain('<h1 id="rendered">');
    for (const name of ['page.htm', 'page.xhtml', 'page.xml', 'page.shtml', 'page.js', 'report.pdf']) {
      expect(await open(page, await uploadFile(`xss/${name}`, HTML))).toBe('download');
    }
    await expectNoScriptRan();
    await page.close();
  });

  it('still shows an image in a tab, and SVG and audio debug samples in the Debug samples tab', async () => {
    const page = await uiPage();
    const pngUrl = await uploadFile('show/red.png', png(8, 6, [255, 0, 0]));
    expect(await open(page, pngUrl)).toBe('shown');
    await page.waitForFunction(() => (document.querySelector('img') as HTMLImageElement | null)?.naturalWidth === 8);

    // An SVG debug sample, shown by the UI with <img>: drawn (with its inline style), and its script never runs.
    const { id } = await api.call('tasks.create', { name: 'svg sample', project_name: 'files/svg' });
    await api.call('tasks.started', { task: id });
    const key = `files/svg/svg sample.${id}/metrics/plots/vector/plots_vector_00000000.svg`;
    const svgUrl = await uploadFile(key, SVG);
    const audioKey = `files/svg/svg sample.${id}/metrics/sounds/tone/sounds_tone_00000000.wav`;
    const audioUrl = await uploadFile(audioKey, wav(1));
    await api.callJsonLines('events.add_batch', [
      { type: 'training_debug_image', task: id, iter: 0, metric: 'plots', variant: 'vector', key, url: svgUrl },
      { type: 'training_debug_image', task: id, iter: 0, metric: 'sounds', variant: 'tone', key: audioKey, url: audioUrl },
    ]);
    await page.goto(`${server.url}/#/tasks/${id}/debug-samples`);
    const img = page.locator('.sample-group[data-sample-title="plots"] .sample[data-sample-series="vector"] img');
    await img.waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector('.sample[data-sample-series="vector"] img') as HTMLImageElement | null;
      return el?.complete === true && el.naturalWidth === 40;
    });
    const pixel = await img.evaluate((el: HTMLImageElement) => {
      const canvas = document.createElement('canvas');
      canvas.width = 40;
      canvas.height = 30;
      const context = canvas.getContext('2d')!;
      context.drawImage(el, 0, 0);
      return Array.from(context.getImageData(20, 15, 1, 1).data);
    });
    expect(pixel).toEqual([0, 0, 255, 255]);
    await page.waitForFunction(() => {
      const audio = document.querySelector('.sample[data-sample-series="tone"] audio') as HTMLAudioElement | null;
      return audio !== null && audio.readyState >= 1 && Math.abs(audio.duration - 1) < 0.01;
    });
    await expectNoScriptRan();
    expect(ui.pageErrors).toEqual([]);
    await page.close();
  });
});
