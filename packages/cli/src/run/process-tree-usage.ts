import { readdir, readFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';

/** Linux reports CPU time in clock ticks (USER_HZ, 100 on every mainstream kernel) and memory in pages. */
const CLOCK_TICKS_PER_SEC = 100;
const PAGE_BYTES = 4096;
const GB = 1024 ** 3;

/** What one process's /proc/<pid>/stat says about it. */
interface ProcStat {
  pid: number;
  ppid: number;
  cpuTicks: number;
  rssBytes: number;
}

/** Parses a /proc/<pid>/stat line (`pid (comm) S ppid ...`; comm may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close === -1) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const fields = text.slice(close + 2).split(' ');
  // After the command: state(0) ppid(1) ... utime(11) stime(12) ... rss(21).
  const ppid = Number(fields[1]);
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  const rssBytes = Number(fields[21]) * PAGE_BYTES;
  if (![pid, ppid, cpuTicks, rssBytes].every(Number.isFinite)) return undefined;
  return { pid, ppid, cpuTicks, rssBytes };
}

/** The processes of the tree under `rootPid` (itself included), read from /proc; empty where there is no /proc. */
export async function readProcessTree(rootPid: number): Promise<ProcStat[]> {
  const names = await readdir('/proc').catch(() => [] as string[]);
  const stats = await Promise.all(
    names.filter((name) => /^\d+$/.test(name)).map((name) => readFile(`/proc/${name}/stat`, 'utf8').then(parseProcStat, () => undefined)),
  );
  const children = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const stat of stats) {
    if (!stat) continue;
    if (stat.pid === rootPid) root = stat;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(stat);
    children.set(stat.ppid, siblings);
  }
  if (!root) return [];
  const tree: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}

/** One sample, as `:monitor:machine` variants. */
export type UsageSample = Record<string, number>;

function machineCpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.idle + cpu.times.irq;
  }
  return { idle, total };
}

/**
 * Samples the process tree of `rootPid` and the machine: `process_cpu_usage` (the tree's CPU, % of the whole
 * machine, summed over its processes since the last sample), `process_memory_gb` (the tree's resident memory),
 * `process_count`, and the machine's `cpu_usage`, `memory_used_gb`, `memory_free_gb` as the SDK reports them.
 * Processes that ended between two samples take their last CPU time with them, so short-lived children are under-
 * counted (as `top` does).
 */
export function createTreeSampler(rootPid: number): () => Promise<UsageSample | undefined> {
  let last = { at: Date.now(), ticks: new Map<number, number>(), machine: machineCpuTimes() };
  const coreCount = Math.max(1, cpus().length);
  return async () => {
    const tree = await readProcessTree(rootPid);
    if (tree.length === 0) return undefined;
    const now = Date.now();
    const machine = machineCpuTimes();
    const ticks = new Map(tree.map((p) => [p.pid, p.cpuTicks]));
    let usedTicks = 0;
    // A process new since the last sample counts from its start (its whole CPU time falls in the interval or is small).
    for (const p of tree) usedTicks += p.cpuTicks - (last.ticks.get(p.pid) ?? 0);
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    const machineDelta = machine.total - last.machine.total;
    const sample: UsageSample = {
      process_cpu_usage: round((100 * Math.max(0, usedTicks)) / CLOCK_TICKS_PER_SEC / seconds / coreCount),
      process_memory_gb: tree.reduce((sum, p) => sum + p.rssBytes, 0) / GB,
      process_count: tree.length,
      cpu_usage: machineDelta > 0 ? round(100 * (1 - (machine.idle - last.machine.idle) / machineDelta)) : 0,
      memory_used_gb: (totalmem() - freemem()) / GB,
      memory_free_gb: freemem() / GB,
    };
    last = { at: now, ticks, machine };
    return sample;
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
