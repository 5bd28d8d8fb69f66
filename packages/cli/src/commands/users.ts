import type { Command } from 'commander';
import { TasklaneError } from '@tasklane/protocol';
import {
  MIN_PASSWORD_LENGTH,
  addUser,
  createCredentials,
  listCredentials,
  listUsers,
  loadServerConfig,
  openStore,
  removeUser,
  revokeCredentials,
  setUserPassword,
  type Store,
} from '@tasklane/server';
import { printJson } from '../api-options.js';
import { formatTable } from '../format-table.js';
import { timeAgo } from '../format-time.js';

interface StoreOptions {
  dataDir?: string;
  dbUrl?: string;
  config?: string;
  json?: boolean;
}

/**
 * The server's own store (same --data-dir / --db-url / config / TASKLANE_* settings as `tasklane server`). SQLite
 * and PostgreSQL take other processes while the server runs, and the server reads users and keys on every request, so a change
 * here holds on a running server within half a second (AUTH_STATE_TTL_MS).
 */
async function withStore<T>(options: StoreOptions, work: (store: Store) => Promise<T>): Promise<T> {
  const config = loadServerConfig(process.env, { dataDir: options.dataDir, dbUrl: options.dbUrl }, options.config ?? process.env.TASKLANE_CONFIG);
  const store = await openStore(config.dbUrl, { maxConnections: 2 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function storeOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', "the server's data dir (default: $TASKLANE_DATA_DIR or ./.tasklane)")
    .option('--db-url <url>', "the server's database URL (default: sqlite://<data-dir>/tasklane.sqlite)")
    .option('--config <file>', "the server's JSON config file, for its dataDir / dbUrl");
}

/**
 * A password from standard input: typed without echo at a terminal (asked twice), else the first line of what is
 * piped in (`echo "$PASS" | tasklane users add ...`).
 */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await readHidden('Password: ');
    const second = await readHidden('Repeat it: ');
    if (first !== second) throw new TasklaneError('INVALID_INPUT', 'The two passwords differ; nothing was changed.');
    return first;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  const password = Buffer.concat(chunks).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  if (password === '') throw new TasklaneError('INVALID_INPUT', '--password-stdin read no password: pipe it in (one line) or type it at the prompt.');
  return password;
}

function readHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = process.stdin;
    process.stderr.write(prompt);
    input.setRawMode(true);
    input.resume();
    let typed = '';
    const done = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003') return done(new TasklaneError('INVALID_INPUT', 'Cancelled; nothing was changed.'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

/**
 * How to use a new key pair: environment variables for Tasklane and ClearML clients, and a clearml.conf section —
 * whole (with the server's addresses) when the server's URL is known.
 */
function keyPairUsage(accessKey: string, secretKey: string, server: string | undefined): string {
  const base = server?.replace(/\/+$/, '');
  const lines = ['Use it from the SDK, the agent and the CLI:'];
  if (base) lines.push(`  export TASKLANE_API_HOST=${base}`);
  lines.push(`  export TASKLANE_API_ACCESS_KEY=${accessKey}`, `  export TASKLANE_API_SECRET_KEY=${secretKey}`);
  if (!base) {
    lines.push(
      "or from ClearML's SDK and agent (clearml.conf; add --server URL for the whole section):",
      `  api { credentials { access_key: "${accessKey}", secret_key: "${secretKey}" } }`,
    );
    return lines.join('\n');
  }
  lines.push(
    "or from ClearML's SDK and agent, in ~/clearml.conf:",
    '  api {',
    `    web_server: ${base}`,
    `    api_server: ${base}`,
    `    files_server: ${base}/files`,
    `    credentials { access_key: "${accessKey}", secret_key: "${secretKey}" }`,
    '  }',
  );
  return lines.join('\n');
}

/** `tasklane users ...` and `tasklane credentials ...`: accounts and key pairs, on the server's own data. */
export function registerUserCommands(program: Command): void {
  const users = program
    .command('users')
    .description("Manage the server's users (works on its data dir / database, also while it runs)");

  storeOptions(users.command('add <name>'))
    .description('Add a user (sign in to the web UI with a password; use key pairs from the SDK, agent and CLI)')
    .option('--admin', 'make the user an admin (manages users and everyone\'s key pairs)')
    .option('--display-name <text>', 'the name the web UI shows (default: the user name)')
    .option('--password-stdin', `read the web UI password from standard input (at least ${MIN_PASSWORD_LENGTH} characters; typed hidden at a terminal)`)
    .option('--json', 'print the new user as JSON')
    .addHelpText(
      'after',
      `
Examples:
  tasklane users add admin --admin --password-stdin     # the first admin; type the password
  echo "$PASSWORD" | tasklane users add alice --password-stdin --data-dir /srv/tasklane
  tasklane credentials create --user alice              # then a key pair for her scripts and agents`,
    )
    .action(async (name: string, options: StoreOptions & { admin?: boolean; displayName?: string; passwordStdin?: boolean }) => {
      const password = options.passwordStdin ? await readPassword() : undefined;
      const user = await withStore(options, (store) =>
        addUser(store, { name, role: options.admin ? 'admin' : 'user', ...(options.displayName ? { displayName: options.displayName } : {}), ...(password ? { password } : {}) }),
      );
      if (options.json) return printJson(user);
      process.stdout.write(`Added ${user.role === 'admin' ? 'admin' : 'user'} ${user.name}.\n`);
      if (!password) process.stdout.write(`No password: set one with \`tasklane users set-password ${user.name}\` to sign in to the web UI.\n`);
      process.stdout.write(`Make a key pair for the SDK, agent and CLI with: tasklane credentials create --user ${user.name}\n`);
    });

  storeOptions(users.command('set-password <name>'))
    .description('Set a user\'s web UI password, read from standard input (typed hidden at a terminal)')
    .action(async (name: string, options: StoreOptions) => {
      const password = await readPassword();
      const user = await withStore(options, (store) => setUserPassword(store, name, password));
      process.stdout.write(`Set the password of ${user.name}.\n`);
    });

  storeOptions(users.command('list'))
    .description('List the users')
    .option('--json', 'print them as JSON')
    .action(async (options: StoreOptions) => {
      const list = await withStore(options, listUsers);
      if (options.json) return printJson(list);
      if (list.length === 0) {
        process.stdout.write('No users yet. Add the first admin with: tasklane users add admin --admin --password-stdin\n');
        return;
      }
      process.stdout.write(`${formatTable(['NAME', 'DISPLAY NAME', 'ROLE', 'CREATED'], list.map((u) => [u.name, u.display_name, u.role, timeAgo(u.created)]))}\n`);
    });

  storeOptions(users.command('remove <name>'))
    .description('Remove a user: their key pairs and sessions stop working at once; their tasks stay')
    .action(async (name: string, options: StoreOptions) => {
      const user = await withStore(options, (store) => removeUser(store, name));
      process.stdout.write(`Removed ${user.name}; their key pairs no longer work.\n`);
    });

  const credentials = program
    .command('credentials')
    .description('Manage key pairs (access key + secret key) for the SDK, agent and CLI');

  storeOptions(credentials.command('create'))
    .description('Make a key pair for a user and print it; the secret key is shown this once')
    .requiredOption('--user <name>', 'the user it belongs to')
    .option('--label <text>', 'a note on what it is for (e.g. "laptop", "agent gpu-01")')
    .option('--server <url>', "the server's address as its users reach it, to print a whole clearml.conf section")
    .option('--json', 'print {access_key, secret_key, user} as JSON')
    .action(async (options: StoreOptions & { user: string; label?: string; server?: string }) => {
      const made = await withStore(options, (store) => createCredentials(store, { name: options.user }, options.label));
      if (options.json) return printJson({ access_key: made.access_key, secret_key: made.secret_key, label: made.label, user: made.user.name });
      process.stdout.write(
        [
          `New key pair for ${made.user.name}. The secret key is shown only now: store it somewhere safe.`,
          `  access key: ${made.access_key}`,
          `  secret key: ${made.secret_key}`,
          '',
          keyPairUsage(made.access_key, made.secret_key, options.server),
          '',
        ].join('\n'),
      );
    });

  storeOptions(credentials.command('list'))
    .description('List working key pairs (access keys only; secrets are never shown again)')
    .option('--user <name>', "only this user's")
    .option('--json', 'print them as JSON')
    .action(async (options: StoreOptions & { user?: string }) => {
      const list = await withStore(options, (store) => listCredentials(store, options.user));
      if (options.json) return printJson(list);
      if (list.length === 0) {
        process.stdout.write(`No key pairs${options.user ? ` for ${options.user}` : ''}. Make one with: tasklane credentials create --user NAME\n`);
        return;
      }
      const rows = list.map((c) => [c.access_key, c.user_name, c.label ?? '', timeAgo(c.created), c.last_used ? timeAgo(c.last_used) : 'never']);
      process.stdout.write(`${formatTable(['ACCESS KEY', 'USER', 'LABEL', 'CREATED', 'LAST USED'], rows)}\n`);
    });

  storeOptions(credentials.command('revoke <access-key>'))
    .description('Revoke a key pair: it and the tokens made from it stop working at once')
    .action(async (accessKey: string, options: StoreOptions) => {
      await withStore(options, (store) => revokeCredentials(store, accessKey));
      process.stdout.write(`Revoked ${accessKey}.\n`);
    });
}
