import { execFile } from 'node:child_process';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The workspace root (/work/main in development). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
/** The SDK package folder: what `node_modules/tasklane` points at in the scripts' repositories. */
export const SDK_DIR = join(REPO_ROOT, 'packages/sdk');

const LOCK_DIR = join(tmpdir(), 'tasklane-sdk-build.lock');
const STALE_LOCK_MS = 120_000;

/**
 * Builds the SDK (and the protocol it references) with `tsc -b`: the scripts run as child processes import the
 * built package, not the TypeScript sources. Test files run in parallel workers, so builds are serialised with a
 * lock directory; once one worker has built, the others' `tsc -b` finds everything up to date in well under a second.
 */
export async function buildSdk(): Promise<void> {
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
    await execFileAsync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/sdk'], {
      cwd: REPO_ROOT,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc -b packages/sdk failed:\n${stdout}${stderr}`, { cause: error });
  } finally {
    await rmdir(LOCK_DIR).catch(() => undefined);
  }
}
