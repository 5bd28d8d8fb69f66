import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, cpus, availableParallelism, hostname, platform, totalmem, userInfo } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** What Task.init records about the machine and the script's dependencies. */
export interface EnvironmentInfo {
  /**
   * The task's requirements: `node` (the Node.js version); and when a package.json is found, `npm` (one
   * `name@installedVersion` line per dependency, sorted) and `lockfile` (`package-lock.json sha256:<hex>`).
   */
  requirements: Record<string, string>;
  /** `node_version`, `platform`, `arch`, `hostname`, `user`, `cpu_count`, `total_memory_gb`. */
  runtime: Record<string, string>;
}

/** Lock files in order of preference, when a folder holds several. */
const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock'];

interface PackageJson {
  name?: unknown;
  workspaces?: unknown;
  version?: unknown;
  dependencies?: unknown;
  devDependencies?: unknown;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<PackageJson | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as PackageJson) : undefined;
  } catch {
    return undefined;
  }
}

function dependencyMap(value: unknown): Array<[string, string]> {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}

/** The nearest package.json at or above `directory`. */
async function findPackageJson(directory: string): Promise<string | undefined> {
  for (let current = directory; ; current = dirname(current)) {
    const candidate = join(current, 'package.json');
    if (await exists(candidate)) return candidate;
    if (dirname(current) === current) return undefined;
  }
}

/**
 * The installed version of `name` as Node would load it for code in `fromDir`: first `node_modules/<name>` in
 * `fromDir` and its parents (works when the package's `exports` hide its package.json), then `require.resolve`
 * (Yarn Plug'n'Play and other resolvers that have no node_modules folders).
 */
async function installedVersion(name: string, fromDir: string, packageJsonPath: string): Promise<string | undefined> {
  for (let current = fromDir; ; current = dirname(current)) {
    const manifest = await readJson(join(current, 'node_modules', name, 'package.json'));
    if (manifest && typeof manifest.version === 'string') return manifest.version;
    if (dirname(current) === current) break;
  }
  const require = createRequire(packageJsonPath);
  try {
    const manifest = await readJson(require.resolve(`${name}/package.json`));
    if (manifest && typeof manifest.version === 'string') return manifest.version;
  } catch {
    // `exports` without ./package.json, or not installed: try the package's main file below
  }
  try {
    for (let current = dirname(require.resolve(name)); ; current = dirname(current)) {
      const manifest = await readJson(join(current, 'package.json'));
      if (manifest?.name === name && typeof manifest.version === 'string') return manifest.version;
      if (dirname(current) === current) break;
    }
  } catch {
    // not installed
  }
  return undefined;
}

async function lockFileIn(directory: string): Promise<string | undefined> {
  for (const name of LOCK_FILES) {
    const candidate = join(directory, name);
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

async function isWorkspaceRoot(directory: string): Promise<boolean> {
  if (await exists(join(directory, 'pnpm-workspace.yaml'))) return true;
  const manifest = await readJson(join(directory, 'package.json'));
  return manifest !== undefined && 'workspaces' in manifest;
}

/**
 * The lock file next to the package.json; else the one at the workspace root above it (the nearest folder whose
 * package.json has `workspaces`, or with a pnpm-workspace.yaml), looking no higher than the git repository's root.
 */
async function findLockFile(packageDir: string): Promise<string | undefined> {
  const beside = await lockFileIn(packageDir);
  if (beside || (await exists(join(packageDir, '.git')))) return beside;
  for (let current = dirname(packageDir); ; current = dirname(current)) {
    if (await isWorkspaceRoot(current)) return lockFileIn(current);
    if (dirname(current) === current || (await exists(join(current, '.git')))) return undefined;
  }
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function runtimeInfo(): Record<string, string> {
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers running as an arbitrary uid)
  }
  return {
    node_version: process.version,
    platform: platform(),
    arch: arch(),
    hostname: hostname(),
    user,
    cpu_count: String(cpus().length || availableParallelism()),
    total_memory_gb: (totalmem() / 1024 ** 3).toFixed(2),
  };
}

/**
 * Records the runtime (Node.js version, platform, machine, user) and the script's requirements: the dependencies of
 * the nearest package.json above the entry script with the versions actually installed (`name@1.2.3`, dev
 * dependencies marked `(dev)`, missing ones `name@^1.0.0 (not installed)`), and a SHA-256 of the lock file.
 *
 * @example
 * const { requirements, runtime } = await captureEnvironment(process.argv[1]!);
 * // requirements.npm === 'commander@14.0.3\nzod@4.1.12 (dev)'
 */
export async function captureEnvironment(entryFile: string): Promise<EnvironmentInfo> {
  const requirements: Record<string, string> = { node: process.version };
  const runtime = runtimeInfo();
  const packageJsonPath = await findPackageJson(dirname(resolve(entryFile)));
  if (!packageJsonPath) return { requirements, runtime };

  const packageDir = dirname(packageJsonPath);
  const [manifest, lockFile] = await Promise.all([readJson(packageJsonPath), findLockFile(packageDir)]);
  const declared = [
    ...dependencyMap(manifest?.dependencies).map(([name, range]) => ({ name, range, isDev: false })),
    ...dependencyMap(manifest?.devDependencies).map(([name, range]) => ({ name, range, isDev: true })),
  ];
  const lines = await Promise.all(
    declared.map(async ({ name, range, isDev }) => {
      const version = await installedVersion(name, packageDir, packageJsonPath);
      const marks = [isDev ? 'dev' : '', version === undefined ? 'not installed' : ''].filter(Boolean);
      return `${name}@${version ?? range}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}`;
    }),
  );
  requirements.npm = [...new Set(lines)].sort().join('\n');
  if (lockFile) {
    const hash = createHash('sha256').update(await readFile(lockFile)).digest('hex');
    requirements.lockfile = `${toPosix(relative(packageDir, lockFile))} sha256:${hash}`;
  }
  return { requirements, runtime };
}
