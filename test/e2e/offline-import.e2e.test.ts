// `tasklane import-offline` end to end: a script records offline with the built SDK, the built CLI imports the session
// into a server it started, and the task is read back through the API.
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'tasklane/client';
import { runCli, runNode, startCliServer, type CliServer } from '../support/cli.js';
import { WORKSPACE_ROOT, buildWorkspace } from '../support/workspace-build.js';

const SCRIPT = `
import { Task } from 'tasklane';
const task = await Task.init({ projectName: 'e2e/offline', taskName: 'offline e2e', autoResourceMonitoring: false });
task.connect({ lr: 0.5 });
const logger = task.getLogger();
// Enough points for several requests on import (and several progress lines).
for (let i = 0; i < 120000; i += 1) logger.reportScalar('loss', 'train', 1 / (i + 1), i);
await task.uploadArtifact('summary', { points: 120000 });
console.log('done training');
`;

/** Runs the session script with none of this process's TASKLANE_ settings, only `env`. */
function runScript(dir: string, env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('TASKLANE_')));
  return runNode(join(dir, 'train.mjs'), [], { cwd: dir, env, baseEnv: clean });
}

describe('tasklane import-offline', () => {
  let server: CliServer;
  let api: ApiClient;
  let dir: string;
  let zipPath: string;
  const cli = (...args: string[]) => runCli(args, { TASKLANE_API_URL: server.url, XDG_CONFIG_HOME: join(dir, 'config-home') });

  beforeAll(async () => {
    await buildWorkspace(['packages/cli']);
    dir = await mkdtemp(join(tmpdir(), 'tasklane-offline-e2e-'));
    await mkdir(join(dir, 'node_modules'), { recursive: true });
    await symlink(join(WORKSPACE_ROOT, 'packages/sdk'), join(dir, 'node_modules/tasklane'), 'dir');
    await writeFile(join(dir, 'train.mjs'), SCRIPT);
    server = await startCliServer();
    api = new ApiClient({ baseUrl: server.url });
    const run = await runScript(dir, {
      TASKLANE_OFFLINE_MODE: '1',
      TASKLANE_STATE_DIR: join(dir, 'state'),
      XDG_CONFIG_HOME: join(dir, 'config-home'),
      // No server is needed: this address answers nothing.
      TASKLANE_API_HOST: 'http://127.0.0.1:9',
    });
    expect(run.code, run.stderr).toBe(0);
    zipPath = /offline session packed into (\S+\.zip);/.exec(run.stdout)?.[1] ?? '';
    expect(zipPath.startsWith(join(dir, 'state', 'offline'))).toBe(true);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('documents itself in --help and in the command list', async () => {
    const help = await runCli(['import-offline', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: tasklane import-offline [options] <session>');
    for (const option of ['-p, --project <name>', '--server <url>', '--json']) expect(help.stdout).toContain(option);
    expect(help.stdout).toContain('a corrupt or truncated one');
    expect((await runCli(['--help'])).stdout).toMatch(/import-offline \[options\] <session>/);
  });

  it('imports the zip with progress on stderr and the result on stdout; a second import is refused', async () => {
    const result = await cli('import-offline', zipPath, '--project', 'e2e/imported');
    expect(result.code, result.stderr).toBe(0);
    const id = /as task ([0-9a-f]{32}) \(completed\) in project "e2e\/imported"/.exec(result.stdout)?.[1];
    expect(id, result.stdout).toBeDefined();
    const progress = result.stderr.split('\n').filter((l) => l.startsWith('import-offline: '));
    expect(progress[0]).toBe(`import-offline: checking ${zipPath}`);
    expect(progress).toContain('import-offline: uploading files 1/1');
    // 120,000 points and the console line.
    expect(progress).toContain('import-offline: replaying events 0/120001');
    expect(progress).toContain('import-offline: replaying events 120001/120001');
    expect(progress.at(-1)).toBe(`import-offline: imported as task ${id} (completed)`);

    const { task } = await api.call('tasks.get_by_id', { task: id! });
    expect({ name: task.name, status: task.status, last_iteration: task.last_iteration, lr: task.hyperparams.General?.lr?.value }).toEqual({
      name: 'offline e2e',
      status: 'completed',
      last_iteration: 119_999,
      lr: '0.5',
    });
    const artifact = task.execution.artifacts?.find((a) => a.key === 'summary');
    expect(artifact?.uri?.startsWith(`${server.url}/files/e2e/imported/offline%20e2e.${id}/artifacts/summary/`)).toBe(true);
    expect(JSON.parse(await (await fetch(artifact!.uri!)).text())).toEqual({ points: 120000 });

    const again = await cli('import-offline', zipPath, '--json');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`error (ALREADY_EXISTS): Offline session `);
    expect(again.stderr).toContain(`was imported already, as task ${id} ("offline e2e")`);
    expect((await api.call('tasks.get_all', { name: '^offline e2e$', only_fields: ['id'] })).tasks).toHaveLength(1);
  }, 60_000);

  it('refuses a damaged zip (exit 2) and a missing path (exit 1) with a clear message', async () => {
    const bytes = await readFile(zipPath);
    const damaged = join(dir, 'damaged.zip');
    await writeFile(damaged, bytes.subarray(0, bytes.length - 100));
    const result = await cli('import-offline', damaged);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error (INVALID_INPUT): Cannot import the offline session ${damaged}: it is not a complete zip file`);
    expect(result.stderr).toContain('Nothing was imported.');

    const missing = await cli('import-offline', join(dir, 'nope.zip'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error (FILE_NOT_FOUND): Cannot import ${join(dir, 'nope.zip')}: there is no such file or folder.`);
  });
});
