import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startTestServer, type TestServer } from '../../../server/test/support/test-server.js';
import { buildSdk } from './build-sdk.js';
import { runScript, startScript, type RunningScript, type ScriptRun } from './run-script.js';
import { makeScriptRepo, type ScriptRepo } from './script-repo.js';

export interface RunOptions {
  /** @default the repository root */
  cwd?: string;
  /** Extra environment (overrides the defaults below). */
  env?: Record<string, string>;
  /** The reuse cache; a new empty one when not given. */
  stateDir?: string;
}

/** What a test file gets from {@link useScriptHarness}: ready once its beforeAll has run. */
export interface ScriptHarness {
  readonly server: TestServer;
  readonly repo: ScriptRepo;
  /** The environment of a script: the SDK pointed at the test server, fast flushes and resource samples. */
  env(stateDir: string, extra?: Record<string, string>): Record<string, string>;
  /** Runs `node <script> ...args` (script relative to the repository root, or to `cwd`) to its end. */
  run(script: string, args?: string[], options?: RunOptions): Promise<ScriptRun>;
  /** Starts a script and answers at once (for signals). */
  start(script: string, args?: string[], options?: RunOptions): Promise<RunningScript>;
}

/**
 * Registers the file's setup: builds the SDK (the scripts import the built package), makes the scripts' git
 * repository and starts a real server on an ephemeral port; all torn down after the file.
 */
export function useScriptHarness(): ScriptHarness {
  let server: TestServer | undefined;
  let repo: ScriptRepo | undefined;
  beforeAll(async () => {
    [server, repo] = await Promise.all([startTestServer(), buildSdk().then(makeScriptRepo)]);
  }, 90_000);
  afterAll(async () => {
    await server?.close();
    await repo?.cleanup();
  });
  const ready = () => {
    if (!server || !repo) throw new Error('the script harness is not set up (beforeAll failed?)');
    return { server, repo };
  };
  const harness: ScriptHarness = {
    get server() {
      return ready().server;
    },
    get repo() {
      return ready().repo;
    },
    env(stateDir, extra = {}) {
      const { server, repo } = ready();
      return {
        TASKLANE_API_HOST: server.url,
        TASKLANE_STATE_DIR: stateDir,
        TASKLANE_MONITOR_INTERVAL_MS: '200',
        TASKLANE_FLUSH_INTERVAL_MS: '200',
        // No user config file: the SDK looks for <XDG_CONFIG_HOME>/tasklane/config.json, which does not exist.
        XDG_CONFIG_HOME: join(repo.dir, 'config-home'),
        ...extra,
      };
    },
    async run(script, args = [], options = {}) {
      return (await harness.start(script, args, options)).done;
    },
    async start(script, args = [], options = {}) {
      const { repo } = ready();
      const stateDir = options.stateDir ?? (await repo.newStateDir());
      return startScript(script, args, { cwd: options.cwd ?? repo.root, env: harness.env(stateDir, options.env) });
    },
  };
  return harness;
}

/** One run shared by the tests that read different parts of it (started by the first test that needs it). */
export function shared<T>(start: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= start());
}

/** Throws with the script's output when it did not exit with `code` (more useful than a bare number mismatch). */
export function expectExitCode(run: ScriptRun, code: number): void {
  if (run.code !== code) {
    throw new Error(`expected exit code ${code}, got ${run.code} (signal ${run.signal}):\n${run.stdout}\n${run.stderr}`);
  }
}
