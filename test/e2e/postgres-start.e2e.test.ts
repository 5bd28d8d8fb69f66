// `tasklane server --db-url postgres://...` on a database it cannot use stops at start (issue 15): exit status not 0,
// one line on standard error naming the URL with its password hidden and the cause, and within ~15 s when nothing
// answers. The wrong password is tried on the run's throwaway PostgreSQL.
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runCli } from '../support/cli.js';
import { postgresSkipReason, testPostgres } from '../support/postgres.js';

const postgres = testPostgres();

/** A loopback port nothing listens on (bound a moment ago, then let go). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('tasklane server on a PostgreSQL it cannot use', () => {
  let dir: string;
  beforeAll(async () => {
    assertCliBuilt();
    dir = await mkdtemp(join(tmpdir(), 'tasklane-pg-start-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const start = (dbUrl: string) => runCli(['server', '--port', '0', '--data-dir', join(dir, 'data'), '--db-url', dbUrl]);

  it('exits 1 within ~15 s when nothing listens, naming the URL with its password hidden', async () => {
    const port = await freePort();
    const started = Date.now();
    const result = await start(`postgres://tasklane:s3cret-value@127.0.0.1:${port}/tasklane`);
    const elapsedMs = Date.now() - started;
    expect(result.code).toBe(1);
    expect(elapsedMs).toBeGreaterThanOrEqual(14_000);
    expect(elapsedMs).toBeLessThan(25_000);
    expect(result.stderr.replaceAll(String(port), 'PORT').trim()).toMatchInlineSnapshot(
      `"error (SERVER_UNREACHABLE): Cannot connect to PostgreSQL at postgres://tasklane:***@127.0.0.1:PORT/tasklane: connection refused (nothing listens at 127.0.0.1:PORT); gave up after 15 s. Start the database, or fix the host and port in the URL."`,
    );
    expect(result.stderr + result.stdout).not.toContain('s3cret-value');
    expect(result.stdout).not.toContain('listening on');
  }, 40_000);

  it.skipIf(!postgres)(`exits 2 at once on a wrong password, saying so${postgres ? '' : ` (skipped: ${postgresSkipReason()})`}`, async () => {
    const url = new URL(postgres!.url);
    url.password = 'not-the-password';
    const started = Date.now();
    const result = await start(url.toString());
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.code).toBe(2); // the URL must change before another try can work
    expect(result.stderr.replaceAll(`:${url.port}/`, ':PORT/').trim()).toMatchInlineSnapshot(`"error (INVALID_INPUT): Cannot connect to PostgreSQL at postgres://tasklane:***@127.0.0.1:PORT/tasklane: password authentication failed for user "tasklane". Fix the user or password in the URL."`);
    expect(result.stderr + result.stdout).not.toContain('not-the-password');
  });
});
