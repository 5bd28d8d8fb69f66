import { execFile } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';

/** One sample: metric (`:monitor:machine` / `:monitor:gpu`) → variant → value. */
export type ResourceSample = Record<string, Record<string, number>>;

const GB = 1024 ** 3;

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

function queryGpus(): Promise<ResourceSample[':monitor:gpu'] | undefined> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=utilization.gpu,memory.used,memory.total,temperature.gpu', '--format=csv,noheader,nounits'],
      { timeout: 5000 },
      (error, stdout) => {
        if (error) return resolve(undefined);
        const out: Record<string, number> = {};
        stdout
          .trim()
          .split('\n')
          .forEach((line, i) => {
            const [util, used, total, temp] = line.split(',').map((v) => Number(v.trim()));
            if (util !== undefined && !Number.isNaN(util)) out[`gpu_${i}_utilization`] = util;
            if (used !== undefined && !Number.isNaN(used)) out[`gpu_${i}_mem_used_gb`] = used / 1024;
            if (total !== undefined && !Number.isNaN(total) && used !== undefined) out[`gpu_${i}_mem_usage`] = (100 * used) / total;
            if (temp !== undefined && !Number.isNaN(temp)) out[`gpu_${i}_temperature`] = temp;
          });
        resolve(Object.keys(out).length > 0 ? out : undefined);
      },
    );
  });
}

/**
 * Samples CPU (machine-wide, %), memory (GB) and, when `nvidia-smi` answers, each GPU's utilisation and memory,
 * every `intervalMs`, handing each sample to `onSample`. Answers a stop function. Its timer does not keep the
 * process alive.
 */
export function startResourceMonitor(intervalMs: number, onSample: (sample: ResourceSample, elapsedSec: number) => void): () => void {
  const startedAt = Date.now();
  let last = cpuTimes();
  let hasGpu = true;
  const timer = setInterval(() => {
    const now = cpuTimes();
    const totalDelta = now.total - last.total;
    const cpuUsage = totalDelta > 0 ? 100 * (1 - (now.idle - last.idle) / totalDelta) : 0;
    last = now;
    const sample: ResourceSample = {
      ':monitor:machine': {
        cpu_usage: Math.round(cpuUsage * 10) / 10,
        memory_used_gb: (totalmem() - freemem()) / GB,
        memory_free_gb: freemem() / GB,
        process_memory_gb: process.memoryUsage.rss() / GB,
      },
    };
    const elapsedSec = Math.round((Date.now() - startedAt) / 1000);
    if (!hasGpu) return onSample(sample, elapsedSec);
    void queryGpus().then((gpu) => {
      if (gpu) sample[':monitor:gpu'] = gpu;
      else hasGpu = false;
      onSample(sample, elapsedSec);
    });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
