import { zipFolder } from '../storage/zip.js';
import type { OfflineSession } from './offline-session.js';

/**
 * Packs a session folder into `<folder>.zip` beside it (written under a temporary name and renamed, so a zip there is
 * always whole); answers the zip's path. The folder stays: either one can be imported. @internal
 */
export async function packSession(session: OfflineSession): Promise<string> {
  const zipPath = `${session.dir}.zip`;
  await zipFolder(session.dir, zipPath);
  return zipPath;
}
