import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureEnvironment } from './environment.js';

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'tasklane-env-')));
  dirs.push(dir);
  return dir;
}

async function write(root: string, files: Record<string, unknown>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('captureEnvironment', () => {
  it('records the runtime', async () => {
    const dir = await tempDir();
    const { runtime } = await captureEnvironment(join(dir, 'train.js'));
    expect(Object.keys(runtime)).toEqual(['node_version', 'platform', 'arch', 'hostname', 'user', 'cpu_count', 'total_memory_gb']);
    expect(runtime.node_version).toBe(process.version);
    expect(runtime.platform).toBe(process.platform);
    expect(Number(runtime.cpu_count)).toBeGreaterThan(0);
    expect(runtime.total_memory_gb).toMatch(/^\d+\.\d\d$/);
  });

  it('lists installed versions of the nearest package.json and hashes its lock file', async () => {
    const dir = await tempDir();
    const lock = '{"lockfileVersion":3}\n';
    await write(dir, {
      'package.json': {
        name: 'trainer',
        dependencies: { plain: '^1.0.0', hidden: '^2.0.0', '@scope/pkg': '^4.0.0', missing: '^5.0.0' },
        devDependencies: { 'dev-tool': '~6.0.0' },
      },
      'package-lock.json': lock,
      'node_modules/plain/package.json': { name: 'plain', version: '1.2.3' },
      // `exports` without ./package.json: require.resolve('hidden/package.json') fails, the folder walk does not
      'node_modules/hidden/package.json': { name: 'hidden', version: '2.0.1', exports: { '.': './index.js' } },
      'node_modules/hidden/index.js': 'module.exports = 1;\n',
      'node_modules/@scope/pkg/package.json': { name: '@scope/pkg', version: '4.5.6' },
      'node_modules/dev-tool/package.json': { name: 'dev-tool', version: '6.0.2' },
      'scripts/train.js': '',
    });

    const { requirements } = await captureEnvironment(join(dir, 'scripts/train.js'));

    expect(requirements).toEqual({
      node: process.version,
      npm: [
        '@scope/pkg@4.5.6',
        'dev-tool@6.0.2 (dev)',
        'hidden@2.0.1',
        'missing@^5.0.0 (not installed)',
        'plain@1.2.3',
      ].join('\n'),
      lockfile: `package-lock.json sha256:${sha256(lock)}`,
    });
  });

  it('finds packages hoisted to a workspace root and the root lock file', async () => {
    const root = await tempDir();
    const lock = 'lockfileVersion: 9\n';
    await write(root, {
      'package.json': { name: 'workspace', private: true, workspaces: ['packages/*'] },
      'pnpm-lock.yaml': lock,
      'node_modules/zod/package.json': { name: 'zod', version: '4.1.0' },
      'packages/model/package.json': { name: 'model', dependencies: { zod: '^4.0.0' } },
      'packages/model/src/train.mjs': '',
    });

    const { requirements } = await captureEnvironment(join(root, 'packages/model/src/train.mjs'));

    expect(requirements).toEqual({
      node: process.version,
      npm: 'zod@4.1.0',
      lockfile: `../../pnpm-lock.yaml sha256:${sha256(lock)}`,
    });
  });

  it('records only the Node.js version without a package.json', async () => {
    const dir = await tempDir();
    const { requirements } = await captureEnvironment(join(dir, 'train.js'));
    expect(requirements).toEqual({ node: process.version });
  });
});
