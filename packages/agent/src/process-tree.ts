import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A process started in its own process group, so that it and everything it starts can be ended together. */
export interface GroupProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  /** Resolves when the process has exited (its output may still be draining). */
  exited: Promise<ProcessExit>;
}

/**
 * Starts `command` as the leader of a new process group (`detached`), stdin closed, stdout and stderr piped.
 * Rejects when it cannot start at all (command not found, not executable, working directory missing).
 */
export async function spawnGroup(command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<GroupProcess> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  // Errors after the start (a failed kill) must not crash the agent; the exit is what counts.
  child.on('error', () => undefined);
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, pid: child.pid!, exited };
}

/** Sends `signal` to every process of the group led by `pid`; answers false when none is left. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * Ends a process group: SIGTERM to all of it, then SIGKILL to whatever is left after `graceMs` (a script that
 * ignores SIGTERM, or children that outlive their parent). Resolves when the group leader has exited.
 */
export async function endGroup(running: GroupProcess, graceMs: number): Promise<ProcessExit> {
  signalGroup(running.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signalGroup(running.pid, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  const exit = await running.exited;
  // The leader is gone; children that ignore SIGTERM get the rest of the grace period, then SIGKILL.
  await Promise.race([killed, waitUntilGroupGone(running.pid, graceMs)]);
  clearTimeout(timer);
  signalGroup(running.pid, 'SIGKILL');
  return exit;
}

async function waitUntilGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await hasLiveMembers(pgid))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Tells whether a process group still has a running member. On Linux it reads /proc, so that zombies (children
 * whose new parent does not reap them, as in some containers) count as gone; elsewhere it asks kill(-pgid, 0).
 */
async function hasLiveMembers(pgid: number): Promise<boolean> {
  if (!existsSync('/proc/self/stat')) return signalGroup(pgid, 0);
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const state = parseProcStat(await readFile(`/proc/${name}/stat`, 'utf8').catch(() => ''));
    if (state && state.pgrp === pgid && state.state !== 'Z' && state.state !== 'X') return true;
  }
  return false;
}

/** State and process group from a /proc/<pid>/stat line (`pid (comm) S ppid pgrp ...`; comm may hold spaces). */
function parseProcStat(text: string): { state: string; pgrp: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const fields = text.slice(close + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}
