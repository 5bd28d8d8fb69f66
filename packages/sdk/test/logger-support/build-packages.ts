import { execFile } from 'node:child_process';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The workspace root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The SDK package folder: what `node_modules/tasklane` points at in the fixtures' folder. */
export const SDK_DIR = join(REPO_ROOT, 'packages/sdk');
/** The built CLI, which starts the server as a child process. */
export const CLI_BIN = join(REPO_ROOT, 'packages/cli/dist/bin.js');

// The same lock folder as packages/sdk/test/support/build-sdk.ts: test files run in parallel workers, and two
// `tsc -b` writing the same dist folders at once could leave a half-written file for the other one's scripts.
const LOCK_DIR = join(tmpdir(), 'tasklane-sdk-build.lock');
const STALE_LOCK_MS = 120_000;

/**
 * Builds the SDK and the CLI (with the server, protocol and agent they reference) with `tsc -b`: fixture scripts
 * import the built `tasklane` package and the server runs from the built CLI, as users run them.
 */
export async function buildSdkAndCli(): Promise<void> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(LOCK_DIR).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS || Date.now() > deadline) await rmdir(LOCK_DIR).catch(() => undefined);
      await sleep(50);
    }
  }
  try {
    await execFileAsync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/sdk', 'packages/cli'], {
      cwd: REPO_ROOT,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc -b packages/sdk packages/cli failed:\n${stdout}${stderr}`, { cause: error });
  } finally {
    await rmdir(LOCK_DIR).catch(() => undefined);
  }
}
