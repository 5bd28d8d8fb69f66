import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCommand, findProgram } from './describe-command.js';
import { parseProcStat } from './process-tree-usage.js';

describe('describeCommand', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tasklane-describe-'));
    await writeFile(join(dir, 'train.py'), 'print(1)\n');
    await writeFile(join(dir, 'run.sh'), 'echo hi\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('finds the script of an interpreter after its own options', () => {
    expect(describeCommand(['python3', '-u', '-W', 'ignore', 'train.py', '--lr', '0.1'], dir)).toEqual({
      program: 'python3', interpreter: 'python3', entryIndex: 3, entryFile: join(dir, 'train.py'),
    });
    expect(describeCommand(['/usr/bin/bash', 'run.sh'], dir)).toMatchObject({ interpreter: 'bash', entryIndex: 0 });
  });

  it('has no script for a module, inline code, a missing file, or a program that is not an interpreter', () => {
    expect(describeCommand(['python3', '-m', 'train', 'train.py'], dir)).toEqual({ program: 'python3', interpreter: 'python3' });
    expect(describeCommand(['python3', 'nope.py'], dir)).toEqual({ program: 'python3', interpreter: 'python3' });
    expect(describeCommand(['./run.sh', 'train.py'], dir)).toEqual({ program: './run.sh', entryFile: join(dir, 'run.sh') });
    expect(describeCommand(['echo', 'train.py'], dir)).toEqual({ program: 'echo', entryFile: undefined });
  });

  it('finds programs by path or on PATH', () => {
    expect(findProgram('./run.sh', dir)).toBe(true);
    expect(findProgram('./missing', dir)).toBe(false);
    expect(findProgram('sh', dir)).toBe(true);
    expect(findProgram('no-such-program-here', dir)).toBe(false);
  });
});

describe('parseProcStat', () => {
  it('reads pid, parent, CPU ticks and resident memory, with spaces and parentheses in the command', () => {
    const line = '4242 (my (odd) prog) S 100 4242 4242 0 -1 4194304 500 0 0 0 70 30 0 0 20 0 3 0 12345 1000000 250 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 100, cpuTicks: 100, rssBytes: 250 * 4096 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});
