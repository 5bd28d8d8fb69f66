// Storage throughput and memory: a large file (500 MB by default, random bytes, made in /tmp and removed after)
// uploaded to and downloaded from the built-in file server through StorageManager, against a plain fs.copyFile of
// the same file in the same run. Samples this process's RSS during each transfer (peak minus the RSS just before),
// and reads the server's peak RSS (VmHWM) at the end.
// Needs a build first (npx tsc -b). Run: node bench/storage-upload.mjs [--mb 500] [--runs 3]
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { median, startServerProcess } from './events-support.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MB = option('mb', 500);
const RUNS = option('runs', 3);
const BYTES = MB * 1024 * 1024;

const mib = (bytes) => bytes / (1024 * 1024);


/** Peak resident memory of a process so far, from /proc (Linux), in bytes; undefined elsewhere. */
async function peakRss(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `fn`, sampling this process's RSS every 10 ms; answers seconds, MB/s and the RSS rise over the start. */
async function measure(fn) {
  global.gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { seconds, mbPerSec: mib(BYTES) / seconds, rssBefore: before, rssPeak: peak, rssRise: peak - before };
}

const dir = await mkdtemp(join(tmpdir(), 'tasklane-bench-storage-'));
const source = join(dir, 'large.bin');
let server;
try {
  // Random content in 1 MiB blocks (nothing compressible, nothing cached by content).
  await pipeline(
    (async function* () {
      for (let i = 0; i < MB; i++) yield randomBytes(1024 * 1024);
    })(),
    createWriteStream(source),
  );
  server = await startServerProcess(join(dir, 'data'));
  process.env.TASKLANE_API_HOST = server.url;
  process.env.TASKLANE_STATE_DIR = join(dir, 'state');
  const { StorageManager, joinUrl, loadSdkConfig } = await import('tasklane');
  const config = loadSdkConfig();
  const url = joinUrl(config.filesHost, 'bench', 'storage', 'large.bin');

  const results = { copy: [], upload: [], download: [] };
  let sha256;
  for (let run = 0; run < RUNS; run++) {
    // Alternate what goes first, so neither side always gets the warmer page cache.
    const steps = [
      ['copy', () => copyFile(source, join(dir, 'copy.bin'))],
      ['upload', async () => {
        const result = await StorageManager.uploadFile(source, url, { config });
        sha256 ??= result.sha256;
        if (result.sha256 !== sha256 || result.size !== BYTES) throw new Error('upload answered another hash or size');
      }],
      ['download', async () => {
        const result = await StorageManager.downloadFile(url, join(dir, 'download.bin'), { config, expectedSha256: sha256 });
        if (result.size !== BYTES) throw new Error('download answered another size');
      }],
    ];
    const order = run % 2 === 0 ? steps : [steps[1], steps[2], steps[0]];
    for (const [name, fn] of order) {
      results[name].push(await measure(fn));
      if (name === 'copy') await rm(join(dir, 'copy.bin'));
      if (name === 'download') await rm(join(dir, 'download.bin'));
    }
    await StorageManager.delete(url, { config }).catch(() => undefined);
  }
  const serverPeak = await peakRss(server.pid);
  const clientPeak = await peakRss(process.pid);

  const summary = {};
  console.log(`${MB} MB file (${(await stat(source).catch(() => ({ size: BYTES }))).size} bytes), ${RUNS} runs, median (min-max):`);
  for (const name of ['copy', 'upload', 'download']) {
    const speeds = results[name].map((r) => r.mbPerSec);
    const rises = results[name].map((r) => mib(r.rssRise));
    const peaks = results[name].map((r) => mib(r.rssPeak));
    summary[name] = {
      mbPerSec: Number(median(speeds).toFixed(0)),
      mbPerSecMin: Number(Math.min(...speeds).toFixed(0)),
      mbPerSecMax: Number(Math.max(...speeds).toFixed(0)),
      seconds: Number(median(results[name].map((r) => r.seconds)).toFixed(2)),
      rssRiseMiB: Number(Math.max(...rises).toFixed(1)),
      rssPeakMiB: Number(Math.max(...peaks).toFixed(1)),
    };
    const label = { copy: 'fs.copyFile', upload: 'StorageManager.uploadFile', download: 'StorageManager.downloadFile' }[name];
    console.log(
      `  ${label.padEnd(28)} ${String(summary[name].mbPerSec).padStart(5)} MB/s (${summary[name].mbPerSecMin}-${summary[name].mbPerSecMax})` +
        `   ${summary[name].seconds} s   RSS peak ${summary[name].rssPeakMiB} MiB (+${summary[name].rssRiseMiB} MiB over the start)`,
    );
  }
  console.log(`  upload / copy speed: ${(summary.upload.mbPerSec / summary.copy.mbPerSec).toFixed(2)}x; download / copy: ${(summary.download.mbPerSec / summary.copy.mbPerSec).toFixed(2)}x`);
  if (clientPeak !== undefined) console.log(`  bench process peak RSS (VmHWM, whole run): ${mib(clientPeak).toFixed(1)} MiB`);
  if (serverPeak !== undefined) console.log(`  server process peak RSS (VmHWM, whole run): ${mib(serverPeak).toFixed(1)} MiB`);
  console.log(
    JSON.stringify({
      bench: 'storage-upload',
      mb: MB,
      runs: RUNS,
      ...summary,
      clientPeakRssMiB: clientPeak && Number(mib(clientPeak).toFixed(1)),
      serverPeakRssMiB: serverPeak && Number(mib(serverPeak).toFixed(1)),
      node: process.version,
    }),
  );
} finally {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
}
