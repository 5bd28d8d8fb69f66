/** A new key pair, with the server it belongs to (the origin the UI was loaded from). */
export interface KeyPairSetup {
  /** e.g. `http://127.0.0.1:8008`: the server serves the API, the UI and the files on one port. */
  origin: string;
  accessKey: string;
  secretKey: string;
}

/** A value for a POSIX shell: bare when that is safe, single-quoted otherwise. */
function shellValue(value: string): string {
  return /^[\w.:/@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A HOCON string, quoted as ClearML writes them. */
function hoconString(value: string): string {
  return JSON.stringify(value);
}

/**
 * The `api` section of ClearML's `clearml.conf` (what `clearml-init` writes), for ClearML's SDK and agent. Its file
 * server is this server's `/files`: ClearML's clients would otherwise guess a separate host or port for it.
 */
export function clearmlConfSnippet({ origin, accessKey, secretKey }: KeyPairSetup): string {
  return [
    'api {',
    `    web_server: ${origin}`,
    `    api_server: ${origin}`,
    `    files_server: ${origin}/files`,
    '    credentials {',
    `        "access_key" = ${hoconString(accessKey)}`,
    `        "secret_key" = ${hoconString(secretKey)}`,
    '    }',
    '}',
  ].join('\n');
}

/** Environment variables for Tasklane's SDK, agent and CLI, and the same for ClearML's clients. */
export function environmentSnippet({ origin, accessKey, secretKey }: KeyPairSetup): string {
  const lines: [string, string][] = [
    ['TASKLANE_API_HOST', origin],
    ['TASKLANE_API_ACCESS_KEY', accessKey],
    ['TASKLANE_API_SECRET_KEY', secretKey],
    ['CLEARML_API_HOST', origin],
    ['CLEARML_WEB_HOST', origin],
    ['CLEARML_FILES_HOST', `${origin}/files`],
    ['CLEARML_API_ACCESS_KEY', accessKey],
    ['CLEARML_API_SECRET_KEY', secretKey],
  ];
  return lines.map(([name, value]) => `export ${name}=${shellValue(value)}`).join('\n');
}
