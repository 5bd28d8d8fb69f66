/**
 * Delivers a task's last requests when its process is already exiting (the 'exit' event allows no async work):
 * the SDK runs this file with spawnSync and hands it the requests as JSON on stdin.
 * Input: `{ baseUrl, headers, calls: [{ endpoint, body, contentType }] }`; calls go out in order.
 */
import { readFileSync } from 'node:fs';

interface FlushCall {
  endpoint: string;
  body: string;
  contentType: string;
}

const input = JSON.parse(readFileSync(0, 'utf8')) as { baseUrl: string; headers: Record<string, string>; calls: FlushCall[] };
let failed = 0;
for (const call of input.calls) {
  try {
    const response = await fetch(`${input.baseUrl}/${call.endpoint}`, {
      method: 'POST',
      headers: { ...input.headers, 'content-type': call.contentType },
      body: call.body,
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) {
      failed += 1;
      process.stderr.write(`tasklane: ${call.endpoint} failed at exit: HTTP ${response.status} ${(await response.text()).slice(0, 300)}\n`);
    }
  } catch (error) {
    failed += 1;
    process.stderr.write(`tasklane: ${call.endpoint} failed at exit: ${(error as Error).message}\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
