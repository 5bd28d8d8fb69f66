import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TasklaneError } from '@tasklane/protocol';

/** What the storage layer needs from the SDK settings. */
export interface StorageConfig {
  /** Base URL of the Tasklane file server, e.g. `http://127.0.0.1:8008/files` (no trailing slash). */
  filesHost: string;
  /**
   * The key pair for the file server (only the files host gets credentials). With `apiHost` the SDK logs in there and
   * sends the token, shared with its API client; without it, the key pair goes as HTTP Basic.
   */
  accessKey?: string | undefined;
  secretKey?: string | undefined;
  /** Where the key pair was configured, named in errors. */
  accessKeySource?: string | undefined;
  secretKeySource?: string | undefined;
  /** The API server that issues tokens for the files host (the SDK settings' `apiHost`). */
  apiHost?: string | undefined;
  /** The SDK config file, named in errors that say how to configure a key pair. */
  configFile?: string | undefined;
  /** The download cache lives in `<stateDir>/cache`. */
  stateDir: string;
  /** Size bound of the download cache. */
  cacheMaxBytes: number;
  /** Custom S3 endpoint (S3-compatible servers). */
  s3Endpoint?: string | undefined;
  /** Path-style bucket addressing. */
  s3ForcePathStyle: boolean;
}

/** Where a storage URL points, as the drivers see it. */
export type StorageLocation =
  | {
      kind: 'file-server';
      /** The URL uploads are POSTed to: the files host for its own URLs, else the URL's origin (ClearML's rule). */
      base: string;
      /** The storage key: the decoded path after `base`, `/`-separated, without a leading `/`. */
      key: string;
      /** Whether `base` is the configured files host (only then the SDK's credentials are sent). */
      isFilesHost: boolean;
      /** The URL in its canonical spelling (each key segment percent-encoded as `joinUrl` does). */
      url: string;
    }
  | { kind: 'folder'; path: string; url: string; style: 'file-url' | 'path' }
  | { kind: 's3'; bucket: string; key: string; url: string };

const SPECIAL_CHARACTERS = /[#"';?:@&=+$,%!\r\n\\]/g;

/**
 * Quotes one name for use inside a storage key, as ClearML does: `/` becomes `.slash.`, and the characters
 * `#"';?:@&=+$,%!` plus CR, LF and `\` become `0xNN` (two lowercase hex digits), so a name is always exactly one
 * path segment and needs no URL escaping for those characters.
 *
 * @example
 * quoteKeyPart('loss/train?') // 'loss.slash.train0x3f'
 */
export function quoteKeyPart(name: string): string {
  return name
    .replaceAll('/', '.slash.')
    .replace(SPECIAL_CHARACTERS, (c) => `0x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function encodeSegment(segment: string): string {
  return encodeURIComponent(segment);
}

function invalidUrl(url: string, why: string): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `Unsupported storage URL ${JSON.stringify(url)}: ${why}. Use the file server (http(s)://<files host>/<key>), ` +
      'a folder (file:///abs/path or /abs/path) or S3 (s3://bucket/key).',
    { url },
  );
}

function isWindowsAbsolute(path: string): boolean {
  return /^[a-zA-Z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/**
 * Joins a base URL (or absolute path) and names into a storage URL, quoting each name with {@link quoteKeyPart}
 * and then, for `http(s)://` and `file://` bases, percent-encoding what URLs need. Each part is one segment: split a
 * project path yourself (`joinUrl(base, ...project.split('/'), 'task.id', 'artifacts', name, file)`). Refuses empty,
 * `.` and `..` parts.
 *
 * @example
 * joinUrl('http://127.0.0.1:8008/files', 'proj', 'train.3f2c', 'artifacts', 'loss/curve', 'data #1.csv')
 * // 'http://127.0.0.1:8008/files/proj/train.3f2c/artifacts/loss.slash.curve/data%200x231.csv'
 */
export function joinUrl(base: string, ...parts: string[]): string {
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') {
      throw new TasklaneError(
        'INVALID_INPUT',
        `Cannot build a storage URL under ${base} from the parts ${JSON.stringify(parts)}: a part may not be empty, "." or "..".`,
        { base, parts },
      );
    }
  }
  const quoted = parts.map(quoteKeyPart);
  const trimmed = base.replace(/[\\/]+$/, '');
  if (/^https?:\/\//i.test(base)) return [trimmed, ...quoted.map(encodeSegment)].join('/');
  if (/^file:/i.test(base)) return pathToFileURL([fileURLToPath(base).replace(/[\\/]+$/, ''), ...quoted].join('/')).href;
  return [trimmed, ...quoted].join('/');
}

/**
 * The base URL where a task's files go: its output URI when set, else the file server (ClearML's rule for
 * artifacts and debug samples). Trailing slashes are dropped; an unsupported scheme is refused.
 *
 * @example
 * destinationFor(task.outputUri, loadSdkConfig()) // 's3://bucket/experiments' or 'http://127.0.0.1:8008/files'
 */
export function destinationFor(outputUri: string | undefined, config: Pick<StorageConfig, 'filesHost'>): string {
  const chosen = outputUri === undefined || outputUri.trim() === '' ? config.filesHost : outputUri.trim();
  const location = parseStorageUrl(chosen, { filesHost: config.filesHost }, { allowRoot: true });
  if (location.kind === 'folder') return location.style === 'path' ? location.path.replace(/[\\/]+$/, '') || '/' : location.url.replace(/\/+$/, '');
  return chosen.replace(/\/+$/, '');
}

/**
 * Reads a storage URL: `s3://bucket/key`, `file:///abs/path`, an absolute path, or `http(s)://...` (the file server).
 * `allowRoot` accepts URLs without a key (a bucket, the files host), as list prefixes and destinations are.
 *
 * @internal
 */
export function parseStorageUrl(
  url: string,
  config: Pick<StorageConfig, 'filesHost'>,
  options: { allowRoot?: boolean } = {},
): StorageLocation {
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const key = slash === -1 ? '' : rest.slice(slash + 1);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(bucket)) throw invalidUrl(url, `"${bucket}" is not a valid S3 bucket name`);
    if (key === '' && !options.allowRoot) throw invalidUrl(url, 'it names a bucket but no object key');
    return { kind: 's3', bucket, key, url: `s3://${bucket}/${key}` };
  }
  if (/^file:/i.test(url)) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (cause) {
      throw invalidUrl(url, (cause as Error).message);
    }
    return { kind: 'folder', path, url: pathToFileURL(path).href, style: 'file-url' };
  }
  if (isAbsolute(url) || isWindowsAbsolute(url)) {
    const path = resolve(url);
    return { kind: 'folder', path, url: path, style: 'path' };
  }
  if (/^https?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalidUrl(url, 'it is not a valid URL');
    }
    if (parsed.search || parsed.hash) {
      throw invalidUrl(url, 'a file URL has no query (?...) or fragment (#...); quote "?" and "#" in names (joinUrl does)');
    }
    const filesHost = new URL(config.filesHost);
    const hostPath = filesHost.pathname.replace(/\/+$/, '');
    const isFilesHost = parsed.origin === filesHost.origin && (parsed.pathname === hostPath || parsed.pathname.startsWith(`${hostPath}/`));
    const basePath = isFilesHost ? hostPath : '';
    const base = `${parsed.origin}${basePath}`;
    let segments: string[];
    try {
      segments = parsed.pathname
        .slice(basePath.length)
        .split('/')
        .filter((s) => s !== '')
        .map((s) => decodeURIComponent(s));
    } catch {
      throw invalidUrl(url, 'its path has a broken %-escape');
    }
    if (segments.length === 0 && !options.allowRoot) throw invalidUrl(url, 'it names the file server but no file');
    const key = segments.join('/');
    return { kind: 'file-server', base, key, isFilesHost, url: [base, ...segments.map(encodeSegment)].join('/') };
  }
  throw invalidUrl(url, 'unknown scheme');
}

/** The URL of `key` in the same storage and style as `location` (for listings). @internal */
export function siblingUrl(location: StorageLocation, key: string): string {
  switch (location.kind) {
    case 'file-server':
      return [location.base, ...key.split('/').map(encodeSegment)].join('/');
    case 's3':
      return `s3://${location.bucket}/${key}`;
    case 'folder':
      return location.style === 'file-url' ? pathToFileURL(key).href : key;
  }
}
