import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What the SDK remembers of the last task run for a project + name + type against one server. */
export interface LastTaskEntry {
  id: string;
  apiHost: string;
  projectName: string;
  taskName: string;
  taskType: string;
  savedAt: string;
}

function entryFile(stateDir: string, key: Omit<LastTaskEntry, 'id' | 'savedAt'>): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([key.apiHost, key.projectName, key.taskName, key.taskType]))
    .digest('hex')
    .slice(0, 32);
  return join(stateDir, 'last-tasks', `${hash}.json`);
}

/** The last task remembered for this key, if any. */
export async function readLastTask(stateDir: string, key: Omit<LastTaskEntry, 'id' | 'savedAt'>): Promise<LastTaskEntry | undefined> {
  try {
    const entry = JSON.parse(await readFile(entryFile(stateDir, key), 'utf8')) as LastTaskEntry;
    return typeof entry.id === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers the task for this key. One small file per key, written to a temporary name and renamed into place, so
 * runs of other scripts never touch it and concurrent runs of the same one never leave a torn file.
 */
export async function writeLastTask(stateDir: string, entry: LastTaskEntry): Promise<void> {
  const file = entryFile(stateDir, entry);
  await mkdir(join(stateDir, 'last-tasks'), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, JSON.stringify(entry));
  await rename(temp, file);
}
