// Run as a child process by storage-memory.int.test.ts: uploads then downloads one file through StorageManager (the
// built `tasklane` package) while sampling this process's memory, and prints the peaks in MiB.
// Usage: node upload-memory.mjs <local file> <remote url>
import { StorageManager } from 'tasklane';

const [localPath, url] = process.argv.slice(2);
const mib = (bytes) => Math.round(bytes / (1024 * 1024));
const sample = () => {
  const { rss, arrayBuffers } = process.memoryUsage();
  return { rss, arrayBuffers };
};
async function peaks(run) {
  const start = sample();
  const peak = { ...start };
  const timer = setInterval(() => {
    const now = sample();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
  }, 5);
  await run();
  clearInterval(timer);
  return { rssRiseMiB: mib(peak.rss - start.rss), arrayBuffersPeakMiB: mib(peak.arrayBuffers) };
}
const upload = await peaks(() => StorageManager.uploadFile(localPath, url));
const download = await peaks(() => StorageManager.downloadFile(url, `${localPath}.back`));
console.log(`@@memory ${JSON.stringify({ upload, download })}`);
