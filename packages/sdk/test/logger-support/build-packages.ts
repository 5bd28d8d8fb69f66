import { join } from 'node:path';
import { WORKSPACE_ROOT, buildWorkspace } from '../../../../test/support/workspace-build.js';

/** The workspace root. */
export const REPO_ROOT = WORKSPACE_ROOT;
/** The SDK package folder: what `node_modules/tasklane` points at in the fixtures' folder. */
export const SDK_DIR = join(REPO_ROOT, 'packages/sdk');
/** The built CLI, which starts the server as a child process. */
export const CLI_BIN = join(REPO_ROOT, 'packages/cli/dist/bin.js');

/** Builds the SDK and the CLI: fixture scripts import the built `tasklane` and the server runs from the built CLI. */
export function buildSdkAndCli(): Promise<void> {
  return buildWorkspace(['packages/sdk', 'packages/cli']);
}
