import { execFile } from 'node:child_process';
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The workspace root. */
export const WORKSPACE_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const LOCK_DIR = join(tmpdir(), 'tasklane-workspace-build.lock');
const STALE_LOCK_MS = 180_000;

/**
 * Builds packages with `tsc -b` — all of them, or the given package folders with what they reference (tests run the
 * built CLI, agent and SDK as child processes). Test files run in parallel workers, and two `tsc -b` writing the same
 * dist folders at once could leave a half-written file for another test's child process, so every build in the
 * suite takes turns through this one lock directory; after the first, `tsc -b` finds everything up to date in well
 * under a second.
 */
export async function buildWorkspace(packages: readonly string[] = []): Promise<void> {
  const deadline = Date.now() + STALE_LOCK_MS;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(LOCK_DIR).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > STALE_LOCK_MS || Date.now() > deadline) await rmdir(LOCK_DIR).catch(() => undefined);
      await sleep(100);
    }
  }
  try {
    await execFileAsync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/typescript/bin/tsc'), '-b', ...packages], { cwd: WORKSPACE_ROOT });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc -b ${packages.join(' ')} failed:\n${stdout}${stderr}`, { cause: error });
  } finally {
    await rmdir(LOCK_DIR).catch(() => undefined);
  }
}
