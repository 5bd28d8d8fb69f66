import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { prettyLogStream } from '../pretty-log-stream.js';
import { SERVER_ENV_VARS, loadServerConfig, startServer, type ServerConfigInput } from '@tasklane/server';

interface ServerOptions {
  host?: string;
  port?: string;
  dataDir?: string;
  dbUrl?: string;
  dbPoolSize?: string;
  filesUrl?: string;
  config?: string;
  watchdogTimeout?: string;
  watchdogInterval?: string;
  workerTimeout?: string;
  logLevel?: string;
  webDir?: string;
  allowedHosts?: string;
  corsAllowedOrigins?: string;
  trustProxy?: string;
  auth?: string;
}

/** The web UI build in this checkout (`packages/web/dist`), from `packages/cli/{src,dist}/commands/`. */
const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

export function registerServerCommand(program: Command): void {
  program
    .command('server')
    .description('Start the Tasklane server (API, status watchdog, web page) with embedded SQLite storage (or PostgreSQL: --db-url)')
    .option('--host <host>', 'address to listen on; use 0.0.0.0 to accept other machines (default: 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 picks a free one (default: 8008)')
    .option('--data-dir <dir>', 'where the SQLite database and stored files live (default: ./.tasklane)')
    .option(
      '--db-url <url>',
      'database URL: sqlite://<file>, or postgres://user:password@host:5432/database for PostgreSQL, which several ' +
        'server processes can share (libpq options such as ?sslmode=verify-full pass through) ' +
        '(default: sqlite://<data-dir>/tasklane.sqlite)',
    )
    .option('--db-pool-size <n>', 'PostgreSQL only: connections this process opens at most (default: 10)')
    .option(
      '--files-url <url>',
      'where uploaded files and debug samples go: a folder (path or file:///abs/path), or s3://bucket/prefix for a ' +
        'bucket of S3 or an S3-compatible server, shared by several server processes; its endpoint from ' +
        'TASKLANE_S3_ENDPOINT (or AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL), credentials from the usual AWS variables ' +
        '(default: <data-dir>/files)',
    )
    .option('--config <file>', 'JSON file with any of these settings (camelCase keys, e.g. {"port": 9000})')
    .option(
      '--watchdog-timeout <seconds>',
      'abort a running task after this long without a ping, progress or event (default: 7200, two hours)',
    )
    .option('--watchdog-interval <seconds>', 'how often the watchdog checks running tasks (default: 900)')
    .option('--worker-timeout <seconds>', 'a worker that has not reported for this long is gone (default: 600)')
    .option('--web-dir <dir>', 'folder of the built web UI served at / (default: packages/web/dist of this install)')
    .option(
      '--allowed-hosts <hosts>',
      'comma-separated host names the server answers for besides localhost and IP addresses, e.g. ' +
        '"tasklane.internal,*.corp.example" ("*" for any; other Host headers get 403, against DNS rebinding)',
    )
    .option(
      '--cors-allowed-origins <origins>',
      'comma-separated web origins whose pages may call the API from a browser besides the server\'s own UI, e.g. ' +
        '"https://notebook.internal" (other origins get 403)',
    )
    .option(
      '--trust-proxy <addresses>',
      'comma-separated addresses or networks of reverse proxies whose X-Forwarded-For/-Proto/-Host to believe, e.g. ' +
        '"127.0.0.1" or "10.0.0.0/8" (loopback, linklocal, uniquelocal name those ranges; default: none)',
    )
    .option(
      '--auth <mode>',
      'on: every request needs a key pair, token or web sign-in; off: none (loopback only); auto: off only on ' +
        'loopback with no users (default: auto)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: info)')
    .addHelpText(
      'after',
      `
Settings are read from, lowest to highest: defaults, the --config file, environment variables
(${SERVER_ENV_VARS.join(', ')}), then these options.

Examples:
  tasklane server                          # http://127.0.0.1:8008, data in ./.tasklane
  tasklane server --port 9000 --data-dir /srv/tasklane
  tasklane server --files-url s3://ml-team/tasklane                    # files in a bucket (AWS_* credentials)
  TASKLANE_DB_URL=postgres://tasklane:PASS@db:5432/tasklane tasklane server --files-url s3://ml-team/tasklane
  tasklane users add admin --admin --password-stdin                    # first admin, before serving a team
  tasklane server --host 0.0.0.0 --allowed-hosts tasklane.internal   # reachable as http://tasklane.internal:8008 (auth on)
  TASKLANE_WATCHDOG_TIMEOUT_SEC=600 tasklane server`,
    )
    .action(async (options: ServerOptions) => {
      const overrides: ServerConfigInput = {
        host: options.host,
        port: options.port as unknown as number | undefined,
        dataDir: options.dataDir,
        dbUrl: options.dbUrl,
        dbPoolSize: options.dbPoolSize as unknown as number | undefined,
        filesUrl: options.filesUrl,
        watchdogTimeoutSec: options.watchdogTimeout as unknown as number | undefined,
        watchdogIntervalSec: options.watchdogInterval as unknown as number | undefined,
        workerTimeoutSec: options.workerTimeout as unknown as number | undefined,
        logLevel: options.logLevel as ServerConfigInput['logLevel'],
        webDir: options.webDir,
        allowedHosts: options.allowedHosts,
        corsAllowedOrigins: options.corsAllowedOrigins,
        trustProxy: options.trustProxy,
        auth: options.auth as ServerConfigInput['auth'],
      };
      const loaded = loadServerConfig(process.env, overrides, options.config ?? process.env.TASKLANE_CONFIG);
      // The default comes last: only the CLI knows where the web build sits relative to itself.
      const config = Object.freeze({ ...loaded, webDir: loaded.webDir ?? DEFAULT_WEB_DIR });
      let server;
      try {
        server = await startServer(config, { logStream: process.stderr.isTTY ? prettyLogStream(process.stderr) : process.stderr });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') {
          throw new Error(`Port ${config.port} on ${config.host} is already in use: another server runs there. Pick another with --port.`);
        }
        if (code === 'EADDRNOTAVAIL') throw new Error(`Cannot listen on ${config.host}: this machine has no such address.`);
        throw error;
      }
      const running = server;
      // Handlers first, so a signal that follows the "listening" line at once still stops the server cleanly.
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`\n${signal}: stopping the server...\n`);
        running.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.stdout.write(`Tasklane server listening on ${running.url}\n`);
      process.stdout.write(`  data: ${config.dbDescription} (files in ${running.files.description})\n`);
      process.stdout.write(`  watchdog: aborts running tasks silent for ${config.watchdogTimeoutSec} s\n`);
      process.stdout.write(
        running.authEnabled
          ? '  auth: on (key pairs: tasklane credentials create --user NAME; web UI: sign in with a user name and password)\n'
          : '  auth: off (loopback only; `tasklane users add NAME --admin` and a restart turn it on)\n',
      );
      process.stdout.write('Press Ctrl+C to stop.\n');
    });
}
