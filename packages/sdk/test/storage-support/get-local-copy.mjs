// Run as a child process by storage-cache.int.test.ts: fetches one URL through the cache of TASKLANE_STATE_DIR
// (the built `tasklane` package, as a user's script would), then prints the path and the SHA-256 of what it got.
// Usage: node get-local-copy.mjs <url> <expected sha256> <start-at epoch ms>
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { StorageManager } from 'tasklane';

const [url, expectedSha256, startAt] = process.argv.slice(2);
// Both processes start their fetch at the same moment, so their downloads overlap.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const path = await StorageManager.getLocalCopy(url, { expectedSha256 });
const hash = createHash('sha256');
await pipeline(createReadStream(path), hash);
console.log(`@@copy ${JSON.stringify({ path, sha256: hash.digest('hex') })}`);
