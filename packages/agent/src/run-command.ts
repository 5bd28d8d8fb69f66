import { endGroup, spawnGroup, type GroupProcess, type ProcessExit } from './process-tree.js';

/** How a setup command ended, with its last output lines (for error messages). */
export interface CommandResult extends ProcessExit {
  lastLines: string[];
}

export interface RunCommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Each chunk of output as it arrives (e.g. to the task's console). */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /** Ends the command's whole process group when this aborts. */
  signal?: AbortSignal;
  /** @default 3000 */
  killGraceMs?: number;
  /** Told the process once it runs (so a watcher can end it). */
  onStart?: (running: GroupProcess) => void;
}

/**
 * Runs a command to its end in its own process group, streaming its output; never rejects for a non-zero exit
 * (the caller reads `code`), only when the command cannot start (e.g. not installed).
 */
export async function runCommand(command: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const running = await spawnGroup(command, args, { cwd: options.cwd, env: options.env });
  options.onStart?.(running);
  const lastLines: string[] = [];
  const keep = (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') lastLines.push(line.trimEnd());
    if (lastLines.length > 20) lastLines.splice(0, lastLines.length - 20);
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    running.child[stream].setEncoding('utf8');
    running.child[stream].on('data', (chunk: string) => {
      keep(chunk);
      options.onOutput?.(stream, chunk);
    });
  }
  const onAbort = () => void endGroup(running, options.killGraceMs ?? 3000);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const closed = new Promise<void>((resolve) => running.child.once('close', () => resolve()));
  try {
    const exit = await running.exited;
    // Output still in the pipes arrives before 'close'; a grandchild holding them open must not hang us.
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return { ...exit, lastLines };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}
