import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgParam } from './argv.js';
import { hookArgParsers } from './arg-parsers.js';

const execFileAsync = promisify(execFile);
const captureDir = dirname(fileURLToPath(import.meta.url));
const fixtures = join(captureDir, '../../test/fixtures/arg-parsers');
let buildDir = '';

// The fixtures run in child processes, which cannot load TypeScript on Node 20: transpile src/capture to a temp
// folder (no type check, a few ms) instead of depending on the package build.
beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'tasklane-hook-'));
  await writeFile(join(buildDir, 'package.json'), '{"type":"module"}');
  for (const file of await readdir(captureDir)) {
    if (!file.endsWith('.ts') || file.endsWith('.test.ts')) continue;
    const { outputText } = ts.transpileModule(await readFile(join(captureDir, file), 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    await writeFile(join(buildDir, file.replace(/\.ts$/, '.js')), outputText);
  }
});

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

interface FixtureRun {
  /** What the script saw: value and JavaScript type per option. */
  seen: Record<string, [unknown, string]>;
  captured: Array<{ parser: string; params?: ArgParam[]; error?: string }>;
  hooked: string[];
  /** The marker lines in order: `onParsed <parser>`, `seen`, `done`. */
  events: string[];
}

async function runFixture(file: string, args: string[], overrides?: Record<string, string>): Promise<FixtureRun> {
  const { stdout } = await execFileAsync(process.execPath, [join(fixtures, file), ...args], {
    cwd: fixtures,
    env: {
      ...process.env,
      TASKLANE_TEST_HOOK_MODULE: pathToFileURL(join(buildDir, 'arg-parsers.js')).href,
      TASKLANE_TEST_OVERRIDES: overrides ? JSON.stringify(overrides) : '',
    },
  });
  const run: FixtureRun = { seen: {}, captured: [], hooked: [], events: [] };
  for (const line of stdout.split('\n')) {
    const match = /^@@(\w+) ?(.*)$/.exec(line);
    if (!match) continue;
    const [, marker, rest = ''] = match;
    if (marker === 'seen') run.seen = JSON.parse(rest) as FixtureRun['seen'];
    if (marker === 'captured') Object.assign(run, JSON.parse(rest) as Pick<FixtureRun, 'captured' | 'hooked'>);
    run.events.push(marker === 'onParsed' ? `onParsed ${rest}` : (marker ?? ''));
  }
  return run;
}

const COMMANDER_PARAMS: ArgParam[] = [
  { name: 'lr', value: '0.01', type: 'float', description: 'learning rate', default: '0.1' },
  { name: 'epochs', value: '5', type: 'int', description: 'number of epochs', default: '3' },
  { name: 'runName', value: 'baseline', type: 'str', description: 'name of the run', default: 'baseline' },
  { name: 'fast', value: 'true', type: 'bool', description: 'skip the slow checks' },
  { name: 'cache', value: 'true', type: 'bool', description: 'do not cache the data set', default: 'true' },
  { name: 'tags', value: '["a","b"]', type: 'list', description: 'tags of the run' },
];

const YARGS_PARAMS: ArgParam[] = [
  { name: 'learning-rate', value: '0.01', type: 'float', description: 'learning rate', default: '0.1' },
  { name: 'epochs', value: '5', type: 'int', description: 'number of epochs', default: '3' },
  { name: 'run-name', value: 'baseline', type: 'str', description: 'name of the run', default: 'baseline' },
  { name: 'fast', value: 'true', type: 'bool', description: 'skip the slow checks' },
  { name: 'tags', value: '["a","b"]', type: 'list', description: 'tags of the run' },
];

describe.concurrent('hookArgParsers with commander', () => {
  it('records the options of the `program` singleton imported from ESM', async () => {
    const run = await runFixture('commander-program.mjs', ['--lr', '0.01', '-e', '5', '--fast', '--tags', 'a', 'b']);
    expect(run.hooked).toEqual(['commander', 'yargs']);
    expect(run.captured).toEqual([{ parser: 'commander', params: COMMANDER_PARAMS }]);
  });

  it('hands the script the server values, typed like each option', async () => {
    const run = await runFixture('commander-program.mjs', ['--lr', '0.01', '--fast'], {
      lr: '0.5',
      epochs: '10',
      runName: 'tuned',
      fast: 'false',
      cache: 'false',
      tags: '["x"]',
    });
    expect(run.seen).toEqual({
      lr: [0.5, 'number'],
      epochs: [10, 'number'],
      runName: ['tuned', 'string'],
      fast: [false, 'boolean'],
      cache: [false, 'boolean'],
      tags: [['x'], 'array'],
    });
    expect(run.captured[0]?.params?.find((param) => param.name === 'lr')?.value).toBe('0.5');
  });

  it('captures a CommonJS `new Command()` with parseAsync before its action runs, with the server values', async () => {
    const run = await runFixture('commander-command.cjs', ['--lr', '0.2'], { lr: '0.7', verbose: 'true' });
    expect(run.events).toEqual(['onParsed commander', 'seen', 'done', 'captured']);
    expect(run.seen).toEqual({ lr: [0.7, 'number'], verbose: [true, 'boolean'] });
    expect(run.captured[0]?.params).toEqual([
      { name: 'lr', value: '0.7', type: 'float', description: 'learning rate', default: '0.1' },
      { name: 'verbose', value: 'true', type: 'bool', description: 'talk more', default: 'false' },
    ]);
  });

  it('names sub-command options after the sub-command', async () => {
    const run = await runFixture('commander-subcommand.mjs', ['--seed', '5', 'train'], { 'train.epochs': '11' });
    expect(run.seen).toEqual({ seed: [5, 'number'], epochs: [11, 'number'] });
    expect(run.captured[0]?.params).toEqual([
      { name: 'seed', value: '5', type: 'int', description: 'random seed', default: '1' },
      { name: 'train.epochs', value: '11', type: 'int', description: 'epochs', default: '2' },
    ]);
  });
});

describe.concurrent('hookArgParsers with yargs', () => {
  it.each(['parse', 'parseSync', 'parseAsync', 'argv'])('records the options of the ESM entry with .%s', async (form) => {
    const run = await runFixture('yargs-forms.mjs', [form, '--lr', '0.01', '-e', '5', '--fast', '--tags', 'a', 'b']);
    expect(run.captured).toEqual([{ parser: 'yargs', params: YARGS_PARAMS }]);
  });

  it('writes the server values into argv under the name, its aliases and its camelCase twin', async () => {
    const run = await runFixture('yargs-forms.mjs', ['argv', '--lr', '0.01', '--fast'], {
      'learning-rate': '0.5',
      epochs: '10',
      fast: 'false',
      tags: '["x"]',
    });
    expect(run.seen).toEqual({
      'learning-rate': [0.5, 'number'],
      lr: [0.5, 'number'],
      learningRate: [0.5, 'number'],
      epochs: [10, 'number'],
      e: [10, 'number'],
      fast: [false, 'boolean'],
      tags: [['x'], 'array'],
      'run-name': ['baseline', 'string'],
      runName: ['baseline', 'string'],
    });
  });

  it('works through require() too', async () => {
    const run = await runFixture('yargs-require.cjs', ['-b', '8'], { 'dry-run': 'true' });
    expect(run.seen).toEqual({
      b: [8, 'number'],
      'batch-size': [8, 'number'],
      batchSize: [8, 'number'],
      'dry-run': [true, 'boolean'],
      dryRun: [true, 'boolean'],
    });
    expect(run.captured).toEqual([
      {
        parser: 'yargs',
        params: [
          { name: 'batch-size', value: '8', type: 'int', description: 'batch size', default: '32' },
          { name: 'dry-run', value: 'true', type: 'bool', description: 'do nothing', default: 'false' },
        ],
      },
    ]);
  });

  it('captures a command before its handler runs, with the command options and the server values', async () => {
    const run = await runFixture('yargs-command.mjs', ['--seed', '3', 'train'], { epochs: '11' });
    expect(run.events).toEqual(['onParsed yargs', 'seen', 'captured']);
    expect(run.seen).toEqual({ seed: [3, 'number'], epochs: [11, 'number'] });
    expect(run.captured[0]?.params).toEqual([
      { name: 'seed', value: '3', type: 'int', description: 'random seed', default: '1' },
      { name: 'epochs', value: '11', type: 'int', description: 'epochs', default: '2' },
    ]);
  });
});

describe('hookArgParsers in this process', () => {
  const require = createRequire(import.meta.url);
  const { Command } = require('commander') as typeof import('commander');
  const entryFile = fileURLToPath(import.meta.url);

  it('puts the original methods back once the last hook is gone', async () => {
    const originalParse = Command.prototype.parse;
    const seen: string[] = [];
    const first = await hookArgParsers({ entryFile, onParsed: (params) => seen.push(`first ${params[0]?.value}`) });
    const second = await hookArgParsers({ entryFile, onParsed: (params) => seen.push(`second ${params[0]?.value}`) });
    expect(first.hookedParsers).toEqual(['commander', 'yargs']);
    expect(Command.prototype.parse).not.toBe(originalParse);

    new Command().option('--lr <rate>').parse(['--lr', '1'], { from: 'user' });
    first.unhook();
    new Command().option('--lr <rate>').parse(['--lr', '2'], { from: 'user' });
    second.unhook();
    second.unhook();
    new Command().option('--lr <rate>').parse(['--lr', '3'], { from: 'user' });

    expect(seen).toEqual(['first 1', 'second 1', 'second 2']);
    expect(Command.prototype.parse).toBe(originalParse);
  });

  it('never lets a failing listener break the parse', async () => {
    const errors: unknown[] = [];
    const hook = await hookArgParsers({
      entryFile,
      onParsed: () => {
        throw new Error('listener broke');
      },
      overrides: () => {
        throw new Error('overrides broke');
      },
      onError: (error) => errors.push(error),
    });
    try {
      const command = new Command().option('--lr <rate>', 'learning rate', '0.1').parse([], { from: 'user' });
      expect(command.opts()).toEqual({ lr: '0.1' });
      expect(errors.map((error) => (error as Error).message)).toEqual(['overrides broke', 'listener broke']);
    } finally {
      hook.unhook();
    }
  });

  it('hooks nothing when the script cannot see the libraries', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tasklane-nolib-'));
    try {
      const hook = await hookArgParsers({ entryFile: join(dir, 'train.js'), onParsed: () => undefined });
      expect(hook.hookedParsers).toEqual([]);
      hook.unhook();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
