import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI entry (npm test builds before running tests). */
export const CLI_BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export function assertCliBuilt(): void {
  if (!existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: run npm run build (npm test does it first).`);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (in `cwd`, this process's folder by default). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<CliResult> {
  return runNode(CLI_BIN, args, { cwd, env });
}

/**
 * Runs a Node.js script to its end, collecting its output; `env` is added to `baseEnv` (this process's environment
 * unless given).
 */
export function runNode(
  script: string,
  args: string[],
  options: { cwd?: string | undefined; env?: Record<string, string>; baseEnv?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...(options.baseEnv ?? process.env), ...options.env };
    const child = spawn(process.execPath, [script, ...args], { cwd: options.cwd, env, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (options.input !== undefined) child.stdin!.end(options.input);
    let stdout = '';
    let stderr = '';
    // Decoded by the streams, so a character split between two chunks stays whole.
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CliServer {
  url: string;
  dir: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `tasklane server --port 0` in a temp data dir and waits for its "listening on" line. */
export async function startCliServer(extraArgs: string[] = []): Promise<CliServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tasklane-e2e-'));
  const child = spawn(process.execPath, [CLI_BIN, 'server', '--port', '0', '--data-dir', join(dir, 'data'), ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in time:\n${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const match = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return {
    url,
    dir,
    child,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      if (child.exitCode === null) child.kill(signal);
      const code = child.exitCode ?? (await exited);
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
