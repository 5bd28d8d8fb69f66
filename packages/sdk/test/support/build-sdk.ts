import { join } from 'node:path';
import { WORKSPACE_ROOT, buildWorkspace } from '../../../../test/support/workspace-build.js';

/** The workspace root. */
export const REPO_ROOT = WORKSPACE_ROOT;
/** The SDK package folder: what `node_modules/tasklane` points at in the scripts' repositories. */
export const SDK_DIR = join(REPO_ROOT, 'packages/sdk');

/** Builds the SDK (and the protocol it references): the scripts run as child processes import the built package. */
export function buildSdk(): Promise<void> {
  return buildWorkspace(['packages/sdk']);
}
