import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TasklaneError } from '@tasklane/protocol';
import { ApiClient } from 'tasklane/client';
import { buildWorkspace, WORKSPACE_ROOT } from '../../../test/support/workspace-build.js';
import { expectError, makeModel, makeTask } from './support/factories.js';
import { newTestDatabase, type TestDatabase } from './support/test-server.js';

// Name filters are regular expressions (as ClearML's), matched with RE2 semantics in linear time (issue 13). The server
// runs in a child process: a pattern that freezes it (as `^(a+)+$` did with JavaScript's backtracking RegExp) must
// fail these tests by a timeout, not hang the test process with it.

/** What an answer may take: RE2 answers these in milliseconds; a backtracking engine takes hours. */
const ANSWER_MS = 1000;

const SERVER_SOURCE = `
import { loadServerConfig, startServer } from '@tasklane/server';
const server = await startServer(loadServerConfig(process.env, { port: 0, logLevel: 'debug' }));
console.log('listening ' + server.url);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
`;

/** 40-character names that make a backtracking engine explore every way to split them. */
const HOSTILE = {
  endsInB: `${'a'.repeat(39)}b`,
  endsInBB: `${'a'.repeat(38)}bb`,
  mixedCase: `${'A'.repeat(30)}${'a'.repeat(9)}!`,
  allA: 'a'.repeat(40),
  fewA: `${'a'.repeat(19)}${'b'.repeat(21)}`,
};
type HostileKey = keyof typeof HOSTILE;
/** Which hostile names each catastrophic pattern matches (RE2, ignoring case). */
const CATASTROPHIC: { pattern: string; matches: HostileKey[] }[] = [
  { pattern: '^(a+)+$', matches: ['allA'] },
  { pattern: '(a|aa)+$', matches: ['allA'] },
  { pattern: '(.*a){20}', matches: ['endsInB', 'endsInBB', 'mixedCase', 'allA'] },
];

/** Ordinary names, for the meaning of patterns. */
const ORDINARY = ['examples/sub', 'Examples/Sub2', 'train-01', 'train-02', 'eval-01'];
const MEANINGS: { pattern: string; what: string; matches: string[] }[] = [
  { pattern: '^examples/sub$', what: 'exact match, as ClearML looks names up', matches: ['examples/sub'] },
  { pattern: '^EXAMPLES/SUB', what: 'start anchor, ignoring case', matches: ['examples/sub', 'Examples/Sub2'] },
  { pattern: 'sub2$', what: 'end anchor', matches: ['Examples/Sub2'] },
  { pattern: '^train-[0-9]+$', what: 'character class', matches: ['train-01', 'train-02'] },
  { pattern: '^examples\\.sub$', what: 'escaped dot', matches: [] },
  // RE2's (and Python's) syntax, which JavaScript's RegExp refused: inline flags, \z, named groups, POSIX classes.
  { pattern: '(?i)^Eval-\\d{2}\\z', what: 'inline flag and \\z', matches: ['eval-01'] },
  { pattern: '^(?P<kind>train|eval)-0[[:digit:]]$', what: 'named group and POSIX class', matches: ['train-01', 'train-02', 'eval-01'] },
];

let dataDir: string;
let database: TestDatabase | undefined;
let child: ChildProcess;
let output = '';
let api: ApiClient;
/** A second client, for the requests that must be served while a pattern is matched. */
let other: ApiClient;

beforeAll(async () => {
  // The child runs plain Node, which resolves '@tasklane/server' to dist/.
  await buildWorkspace(['packages/server']);
  dataDir = await mkdtemp(join(tmpdir(), 'tasklane-patterns-'));
  database = await newTestDatabase(dataDir);
  child = spawn(process.execPath, ['--input-type=module', '-e', SERVER_SOURCE], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, TASKLANE_DATA_DIR: dataDir, TASKLANE_DB_URL: database.dbUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (http:\/\/[\d.]+:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  // Short timeouts, so that a frozen server fails the tests instead of holding them.
  api = new ApiClient({ baseUrl: url, validateResponses: true, timeoutMs: 5000 });
  other = new ApiClient({ baseUrl: url, timeoutMs: 2 * ANSWER_MS });

  const { id: hostile } = await api.call('projects.create', { name: 'hostile' });
  for (const name of Object.values(HOSTILE)) {
    await makeTask(api, { name, project: hostile });
    await makeModel(api, { name, project: hostile });
    await api.call('queues.create', { name });
    await api.call('projects.create', { name: `nest/${name}` });
  }
  const { id: ordinary } = await api.call('projects.create', { name: 'ordinary' });
  for (const name of ORDINARY) {
    await makeTask(api, { name, project: ordinary });
    await makeModel(api, { name, project: ordinary });
    await api.call('queues.create', { name });
  }
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    // A frozen server cannot run its SIGTERM handler.
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
  await database?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The names each listing answers for a name filter (`field`: name, or basename for projects). */
const LISTINGS: Record<string, (pattern: string, field?: 'name' | 'basename') => Promise<string[]>> = {
  'tasks.get_all': async (name) => (await api.call('tasks.get_all', { name, only_fields: ['name'] })).tasks.map((t) => t.name!),
  'models.get_all': async (name) => (await api.call('models.get_all', { name, only_fields: ['name'] })).models.map((m) => m.name!),
  'queues.get_all': async (name) => (await api.call('queues.get_all', { name, only_fields: ['name'] })).queues.map((q) => q.name!),
  'projects.get_all': async (pattern, field = 'name') =>
    (await api.call('projects.get_all', { [field]: pattern, only_fields: ['name'] })).projects.map((p) => p.name!),
};

/** Runs a listing while the second client asks for the default queue 20 ms later; both must answer quickly. */
async function listWhileServing(list: () => Promise<string[]>): Promise<{ names: string[]; listMs: number; otherMs: number }> {
  const start = performance.now();
  const listing = list().then((names) => ({ names, ms: performance.now() - start }));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const otherStart = performance.now();
  const served = other.call('queues.get_default', {}).then(() => performance.now() - otherStart);
  const [{ names, ms }, otherMs] = await Promise.all([listing, served]);
  return { names, listMs: ms, otherMs };
}

const sorted = (names: string[]) => [...names].sort();

describe('catastrophic patterns are answered in linear time while other clients are served', () => {
  const cases = CATASTROPHIC.flatMap(({ pattern, matches }) => {
    const names = matches.map((key) => HOSTILE[key]);
    return [
      { endpoint: 'tasks.get_all', field: 'name' as const, pattern, want: names },
      { endpoint: 'models.get_all', field: 'name' as const, pattern, want: names },
      { endpoint: 'queues.get_all', field: 'name' as const, pattern, want: names },
      // Project names are "nest/<name>": only the unanchored patterns can match them (and "nest" has one a).
      {
        endpoint: 'projects.get_all',
        field: 'name' as const,
        pattern,
        want: pattern.startsWith('^') ? [] : names.map((n) => `nest/${n}`),
      },
      { endpoint: 'projects.get_all', field: 'basename' as const, pattern, want: names.map((n) => `nest/${n}`) },
    ];
  });

  it.each(cases)('$endpoint $field: $pattern', async ({ endpoint, field, pattern, want }) => {
    const { names, listMs, otherMs } = await listWhileServing(() => LISTINGS[endpoint]!(pattern, field));
    expect(sorted(names)).toEqual(sorted(want));
    expect(listMs).toBeLessThan(ANSWER_MS);
    expect(otherMs).toBeLessThan(ANSWER_MS);
  });
});

describe('patterns keep their meaning, in RE2 (and Python) syntax', () => {
  // Each listing in one test: the classic patterns worked with RegExp too and must keep working; RegExp refused the
  // RE2 syntax ones.
  it.each(['tasks.get_all', 'models.get_all', 'queues.get_all'] as const)('%s', async (endpoint) => {
    const answers: Record<string, string[]> = {};
    const wanted: Record<string, string[]> = {};
    for (const { pattern, what, matches } of MEANINGS) {
      answers[`${what}: ${pattern}`] = sorted(await LISTINGS[endpoint]!(pattern));
      wanted[`${what}: ${pattern}`] = sorted(matches);
    }
    expect(answers).toEqual(wanted);
  });
});

describe('patterns RE2 refuses, or too long, answer 400 naming the field and the reason', () => {
  it('a backreference, in tasks.get_all', async () => {
    const err = await expectError(api.call('tasks.get_all', { name: '(a)\\1' }), 'INVALID_INPUT');
    expect(err.message).toMatchInlineSnapshot(
      `"Invalid request: body.name: not a valid regular expression (the backreference \\1 is not supported; patterns use RE2 syntax), got "(a)\\\\1". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(fields(err)).toEqual(['body.name']);
  });

  it('a lookahead, in projects.get_all basename', async () => {
    const err = await expectError(api.call('projects.get_all', { basename: '^(?=exp)' }), 'INVALID_INPUT');
    expect(err.message).toMatchInlineSnapshot(
      `"Invalid request: body.basename: not a valid regular expression (lookahead (?=…) is not supported; patterns use RE2 syntax), got "^(?=exp)". Escape special characters for an exact match, e.g. "^my\\\\.name$"."`,
    );
    expect(fields(err)).toEqual(['body.basename']);
  });

  it('a lookbehind, in queues.get_all', async () => {
    const err = await expectError(api.call('queues.get_all', { name: '(?<!x)y' }), 'INVALID_INPUT');
    expect(err.message).toContain('body.name: not a valid regular expression (negative lookbehind (?<!…) is not supported; patterns use RE2 syntax)');
  });

  it.each(['tasks.get_all', 'models.get_all', 'queues.get_all', 'projects.get_all'] as const)(
    'a pattern over 1 KiB, in %s, quoted only in part and not logged',
    async (endpoint) => {
      const pattern = `^${'long-name-part-'.repeat(80)}$`;
      const err = await expectError(api.call(endpoint, { name: pattern }), 'INVALID_INPUT');
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid request: body.name: pattern is too long (1202 bytes; at most 1024), got "^long-name-part-long-name-part-long-name…" (1202 characters). Filter with a shorter pattern."`,
      );
      expect(fields(err)).toEqual(['body.name']);
      // The server logs at debug level here, requests included; the pattern is in no log line.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(output).toContain('incoming request');
      expect(output).not.toContain('long-name-part-'.repeat(4));
    },
  );

  it('a pattern whose counted repeats expand too far', async () => {
    const err = await expectError(api.call('tasks.get_all', { name: 'a{0,1000}'.repeat(10) }), 'INVALID_INPUT');
    expect(err.message).toMatchInlineSnapshot(
      `"Invalid request: body.name: pattern is too complex (it expands to about 20002 steps; at most 5000), got "a{0,1000}a{0,1000}a{0,1000}a{0,1000}a{0,…" (90 characters). Use fewer or smaller counted repeats such as {1000}."`,
    );
  });
});

function fields(err: TasklaneError): unknown {
  return err.details?.fields;
}
