import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig } from './config.js';
import { failureReason } from './execute-task.js';
import { npmSpecsFromRequirements, packageNameOf } from './npm-requirements.js';

describe('loadAgentConfig', () => {
  it('has defaults, below the environment, below flags', () => {
    expect(loadAgentConfig({})).toMatchObject({
      apiUrl: 'http://127.0.0.1:8008',
      filesUrl: 'http://127.0.0.1:8008/files',
      queues: ['default'],
      workdir: join(homedir(), '.tasklane', 'agent'),
      pollIntervalMs: 2000,
      createQueues: false,
    });
    const env = { TASKLANE_API_HOST: 'http://ml:9000/', TASKLANE_AGENT_QUEUES: 'gpu, cpu', TASKLANE_AGENT_POLL_INTERVAL_SEC: '5' };
    expect(loadAgentConfig(env)).toMatchObject({ apiUrl: 'http://ml:9000', filesUrl: 'http://ml:9000/files', queues: ['gpu', 'cpu'], pollIntervalMs: 5000 });
    expect(loadAgentConfig(env, { queues: ['q1', 'q1', 'q2'], pollIntervalSec: '0.25', workdir: 'rel/dir' })).toMatchObject({
      apiUrl: 'http://ml:9000',
      queues: ['q1', 'q2'],
      pollIntervalMs: 250,
      workdir: join(process.cwd(), 'rel/dir'),
    });
  });

  it('names the source of a bad value', () => {
    expect(() => loadAgentConfig({}, { pollIntervalSec: 'soon' }, { pollIntervalSec: '--poll-interval' })).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: --poll-interval: expected a number of seconds > 0, got "soon"]`,
    );
    expect(() => loadAgentConfig({ TASKLANE_API_HOST: 'ftp://x' })).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: TASKLANE_API_HOST: expected an http:// or https:// URL, got "ftp://x"]`,
    );
    expect(() => loadAgentConfig({}, { logLevel: 'loud' }, { logLevel: '--log-level' })).toThrowErrorMatchingInlineSnapshot(
      `[TasklaneError: --log-level: expected one of debug, info, warn, error, silent, got "loud"]`,
    );
  });
});

describe('npmSpecsFromRequirements', () => {
  it('reads the SDK-recorded lines: marks dropped, the Tasklane SDK left out (the agent links its own)', () => {
    const npm = 'commander@14.0.3\nzod@4.1.12 (dev)\nleft-pad@^1.0.0 (dev, not installed)\ntasklane@0.1.0\n@tasklane/protocol@0.1.0\n\n# a comment\n@scope/pkg@2.0.0';
    expect(npmSpecsFromRequirements({ npm, node: 'v20.19.0' })).toEqual(['commander@14.0.3', 'zod@4.1.12', 'left-pad@^1.0.0', '@scope/pkg@2.0.0']);
    expect(npmSpecsFromRequirements({ node: 'v20.19.0' })).toEqual([]);
    expect(npmSpecsFromRequirements(undefined)).toEqual([]);
  });

  it('names a package from its spec', () => {
    expect(['a@1', '@s/b@^2', 'c', '@s/d'].map(packageNameOf)).toEqual(['a', '@s/b', 'c', '@s/d']);
  });
});

describe('failureReason', () => {
  it('gives the exit code and the last lines, cut from the front to fit', () => {
    expect(failureReason({ code: 1, signal: null }, ['', 'Traceback', 'Error: boom'])).toBe('exit code 1; last output:\nTraceback\nError: boom');
    expect(failureReason({ code: null, signal: 'SIGKILL' }, [])).toBe('killed by SIGKILL');
    const long = failureReason({ code: 2, signal: null }, Array.from({ length: 20 }, (_, i) => `${i} ${'x'.repeat(200)}`));
    expect(long.length).toBeLessThanOrEqual(2000);
    expect(long).toMatch(/^exit code 2; last output:\n…/);
    expect(long.endsWith(`19 ${'x'.repeat(200)}`)).toBe(true);
  });
});
