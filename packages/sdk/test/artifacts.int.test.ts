// task.uploadArtifact and task.artifacts against the real server, through three storage backends (the server's file
// server, a folder given as a file:// output URI, an S3-compatible server), read back in this process and in another.
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { TasklaneError } from '@tasklane/protocol';
import { StorageManager, Task, loadSdkConfig } from 'tasklane';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../server/test/support/test-server.js';
import { readNpy } from './artifacts-support/npy-reader.js';
import { S3_ENV } from './storage-support/backends.js';
import { startS3Server, type TestS3Server } from '../../../test/support/s3-server.js';
import { buildSdk } from './support/build-sdk.js';

const execFileAsync = promisify(execFile);
const SUPPORT = join(dirname(fileURLToPath(import.meta.url)), 'artifacts-support');

let server: TestServer;
let s3: TestS3Server;
let work: string;
const savedEnv = { ...process.env };

/** The environment of this process's SDK and of the child scripts: the test server, no user config. */
function sdkEnv(stateDir: string): Record<string, string> {
  return {
    TASKLANE_API_HOST: server.url,
    TASKLANE_STATE_DIR: stateDir,
    XDG_CONFIG_HOME: join(work, 'config-home'),
    TASKLANE_S3_ENDPOINT: s3.endpoint,
    ...S3_ENV,
  };
}

beforeAll(async () => {
  Object.assign(process.env, S3_ENV);
  [server, s3, work] = await Promise.all([startTestServer(), startS3Server(), mkdtemp(join(tmpdir(), 'tasklane-artifacts-'))]);
  await s3.createBucket('artifacts');
  for (const key of Object.keys(process.env)) if (key.startsWith('TASKLANE_')) delete process.env[key];
  Object.assign(process.env, sdkEnv(join(work, 'state')));
  await buildSdk();
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  await server?.close();
  await s3?.close();
  await rm(work, { recursive: true, force: true });
});

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A task handle (no Task.init: no exit hooks in the test process) with the given output destination. */
async function makeTask(projectName: string, outputDest?: string): Promise<Task> {
  const { id } = await server.api.call('tasks.create', {
    name: `artifacts-${Math.random().toString(16).slice(2, 8)}`,
    project_name: projectName,
    type: 'training',
    output_dest: outputDest,
  });
  return Task.getTask({ id });
}

async function storedArtifacts(taskId: string) {
  const { task } = await server.api.call('tasks.get_by_id', { task: taskId });
  return Object.fromEntries((task.execution.artifacts ?? []).map((a) => [a.key, a]));
}

/** Runs read-artifact.mjs in a fresh process with its own empty cache; answers what it printed. */
async function readInChild(taskId: string): Promise<Record<string, any>> {
  const state = await mkdtemp(join(work, 'child-state-'));
  const { stdout } = await execFileAsync(process.execPath, [join(SUPPORT, 'read-artifact.mjs'), taskId], {
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKLANE_') && !k.startsWith('VITEST'))), ...sdkEnv(state) },
  });
  return JSON.parse(stdout) as Record<string, any>;
}

async function errorOf(promise: Promise<unknown>): Promise<TasklaneError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TasklaneError) return error;
    throw error;
  }
  throw new Error('expected a TasklaneError, nothing was thrown');
}

const DICT = { model: 'resnet', layers: [64, 128], dropout: 0.25, isFrozen: false, notes: null, nested: { 'a/b': 'x"y' } };
const TEXT = 'héllo\nworld ✓ — "quoted", commas';
const BYTES = randomBytes(5000);
const RECORDS = [
  { epoch: 1, loss: 0.5, note: 'a,b' },
  { epoch: 2, loss: 0.25, note: 'say "hi"' },
  { epoch: 3, loss: 1e-7, note: '' },
];
const TABLE = { columns: ['x', 'label'], rows: [[1, 'one'], [2.5, 'two']] };
const F32 = new Float32Array([1.5, -2, 3.25, 1e-3]);
const I32 = { data: new Int32Array([1, -2, 3, 4, 5, -2147483648]), shape: [2, 3] };
const F64 = new Float64Array([Math.PI, -0, 1e300]);
const I64 = new BigInt64Array([1n, -9007199254740993n, 42n]);
const U8 = { data: new Uint8Array([0, 1, 254, 255]), shape: [2, 2] };

const BACKENDS = [
  { name: 'file server', slug: 'file-server', destination: () => undefined },
  { name: 'folder (file:// output URI)', slug: 'folder', destination: () => pathToFileURL(join(work, 'shared folder')).href },
  { name: 'S3-compatible server', slug: 's3', destination: () => 's3://artifacts/runs' },
] as const;

describe.each(BACKENDS)('every artifact type round-trips through the $name', ({ slug: backend, destination }) => {
  let task: Task;
  let fileBytes: Buffer;
  let filePath: string;
  let folder: string;

  beforeAll(async () => {
    const dir = await mkdtemp(join(work, 'inputs-'));
    filePath = join(dir, 'weights.dat');
    fileBytes = randomBytes(3000);
    await writeFile(filePath, fileBytes);
    folder = join(dir, 'checkpoint');
    await mkdir(join(folder, 'sub'), { recursive: true });
    await writeFile(join(folder, 'a.txt'), 'first file\n');
    await writeFile(join(folder, 'sub', 'b.bin'), Buffer.from([0, 1, 2, 3]));

    task = await makeTask(`artifacts/${backend}`, destination());
    await task.uploadArtifact('dict', DICT, { waitOnUpload: true, metadata: { split: 'val', count: 3 } });
    await task.uploadArtifact('text', TEXT, { waitOnUpload: true });
    await task.uploadArtifact('bytes', BYTES, { waitOnUpload: true });
    await task.uploadArtifact('file', filePath, { waitOnUpload: true });
    await task.uploadArtifact('folder', folder, { waitOnUpload: true });
    await task.uploadArtifact('records', RECORDS, { waitOnUpload: true });
    await task.uploadArtifact('table', TABLE, { waitOnUpload: true });
    await task.uploadArtifact('f32', F32, { waitOnUpload: true });
    await task.uploadArtifact('i32', I32, { waitOnUpload: true });
    await task.uploadArtifact('f64', F64, { waitOnUpload: true });
    await task.uploadArtifact('i64', I64, { waitOnUpload: true });
    await task.uploadArtifact('u8', U8); // not waited for: flush() must
    await task.flush();
  }, 60_000);

  it('records key, type, mode, uri under <destination>/<project>/<task>.<id>/artifacts/<name>/, hash, size and time', async () => {
    const stored = await storedArtifacts(task.id);
    const base = destination() ?? `${server.url}/files`;
    const prefix = `${base}/artifacts/${backend}/${task.name}.${task.id}/artifacts`;
    const expected = {
      dict: ['dict', 'dict.json', 'application/json'],
      text: ['string', 'text.txt', 'text/plain'],
      bytes: ['custom', 'bytes.bin', 'application/octet-stream'],
      file: ['custom', 'weights.dat', 'application/octet-stream'],
      folder: ['archive', 'folder.zip', 'application/zip'],
      records: ['table', 'records.csv', 'text/csv'],
      table: ['table', 'table.csv', 'text/csv'],
      f32: ['numpy', 'f32.npy', 'application/octet-stream'],
      i32: ['numpy', 'i32.npy', 'application/octet-stream'],
      f64: ['numpy', 'f64.npy', 'application/octet-stream'],
      i64: ['numpy', 'i64.npy', 'application/octet-stream'],
      u8: ['numpy', 'u8.npy', 'application/octet-stream'],
    } as const;
    expect(Object.keys(stored).sort()).toEqual(Object.keys(expected).sort());
    const now = Date.now() / 1000;
    for (const [key, [type, fileName, contentType]] of Object.entries(expected)) {
      const a = stored[key]!;
      expect({ key: a.key, type: a.type, mode: a.mode, uri: a.uri, content_type: a.type_data?.content_type }).toEqual({
        key,
        type,
        mode: 'output',
        uri: `${prefix}/${key}/${fileName}`,
        content_type: contentType,
      });
      expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(a.content_size).toBeGreaterThan(0);
      expect(a.timestamp).toBeGreaterThan(now - 120);
      expect(a.timestamp).toBeLessThanOrEqual(now + 1);
      expect(Number.isInteger(a.timestamp)).toBe(true);
    }
    expect(stored.dict!.display_data).toEqual([
      ['split', 'val'],
      ['count', '3'],
    ]);
    expect(stored.text!.display_data).toEqual([]);
  });

  it('stores each file byte-exactly, with the recorded hash and size', async () => {
    const stored = await storedArtifacts(task.id);
    const expectedBytes: Record<string, Buffer> = {
      dict: Buffer.from(JSON.stringify(DICT, null, 2)),
      text: Buffer.from(TEXT),
      bytes: BYTES,
      file: fileBytes,
      records: Buffer.from('epoch,loss,note\n1,0.5,"a,b"\n2,0.25,"say ""hi"""\n3,1e-7,\n'),
      table: Buffer.from('x,label\n1,one\n2.5,two\n'),
    };
    const dir = await mkdtemp(join(work, 'download-'));
    for (const [key, record] of Object.entries(stored)) {
      const { path, sha256: hash, size } = await StorageManager.downloadFile(record.uri!, join(dir, key), { config: loadSdkConfig() });
      expect({ key, hash, size }).toEqual({ key, hash: record.hash, size: record.content_size });
      if (expectedBytes[key]) expect((await readFile(path)).equals(expectedBytes[key]!), key).toBe(true);
    }
  });

  it('get() on a fresh handle answers the objects; getLocalCopy() answers paths', async () => {
    const handle = await Task.getTask({ id: task.id });
    const a = handle.artifacts;
    expect(await a.dict!.get()).toEqual(DICT);
    expect(await a.text!.get()).toBe(TEXT);
    const bytes = await a.bytes!.get();
    expect(Buffer.isBuffer(bytes) && bytes.equals(BYTES)).toBe(true);
    const file = (await a.file!.get()) as string;
    expect((await readFile(file)).equals(fileBytes)).toBe(true);
    const extracted = (await a.folder!.get()) as string;
    expect((await readdir(extracted, { recursive: true })).sort()).toEqual(['a.txt', 'sub', join('sub', 'b.bin')]);
    expect(await readFile(join(extracted, 'a.txt'), 'utf8')).toBe('first file\n');
    expect(await readFile(join(extracted, 'sub', 'b.bin'))).toEqual(Buffer.from([0, 1, 2, 3]));
    expect(await a.records!.get()).toEqual([
      { epoch: 1, loss: 0.5, note: 'a,b' },
      { epoch: 2, loss: 0.25, note: 'say "hi"' },
      { epoch: 3, loss: 1e-7, note: null },
    ]);
    expect(await a.table!.get()).toEqual([
      { x: 1, label: 'one' },
      { x: 2.5, label: 'two' },
    ]);
    expect(await a.f32!.get()).toEqual({ data: F32, shape: [4], dtype: '<f4' });
    expect(await a.i32!.get()).toEqual({ data: I32.data, shape: [2, 3], dtype: '<i4' });
    expect(await a.f64!.get()).toEqual({ data: F64, shape: [3], dtype: '<f8' });
    expect(await a.i64!.get()).toEqual({ data: I64, shape: [3], dtype: '<i8' });
    expect(await a.u8!.get()).toEqual({ data: U8.data, shape: [2, 2], dtype: '|u1' });
    expect({ name: a.dict!.name, type: a.dict!.type, metadata: a.dict!.metadata, size: a.dict!.size }).toEqual({
      name: 'dict',
      type: 'dict',
      metadata: { split: 'val', count: '3' },
      size: Buffer.byteLength(JSON.stringify(DICT, null, 2)),
    });
    expect(a.dict!.timestamp).toBeInstanceOf(Date);
    const local = await a.bytes!.getLocalCopy();
    expect((await readFile(local)).equals(BYTES)).toBe(true);
  });

  it('get() in another process answers the same objects', async () => {
    const read = await readInChild(task.id);
    expect(read.dict).toEqual({ kind: 'value', value: DICT });
    expect(read.text).toEqual({ kind: 'value', value: TEXT });
    expect(read.bytes).toEqual({ kind: 'buffer', base64: BYTES.toString('base64') });
    expect(read.records.value[1]).toEqual({ epoch: 2, loss: 0.25, note: 'say "hi"' });
    expect(read.i32).toEqual({ kind: 'ndarray', dtype: '<i4', shape: [2, 3], arrayType: 'Int32Array', data: ['1', '-2', '3', '4', '5', '-2147483648'] });
    expect(read.i64).toEqual({ kind: 'ndarray', dtype: '<i8', shape: [3], arrayType: 'BigInt64Array', data: ['1', '-9007199254740993', '42'] });
    expect((await readFile(read.file.value as string)).equals(fileBytes)).toBe(true);
    expect(await readFile(join(read.folder.value as string, 'a.txt'), 'utf8')).toBe('first file\n');
  }, 30_000);
});

describe('.npy files', () => {
  let task: Task;
  const cases = [
    { name: 'f32', value: new Float32Array([1.5, -2, 3.25]), descr: '<f4', shape: [3] },
    { name: 'f64', value: { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] }, descr: '<f8', shape: [3, 2] },
    { name: 'i32', value: { data: new Int32Array([7, -8]), shape: [1, 2, 1] }, descr: '<i4', shape: [1, 2, 1] },
    { name: 'u8', value: { data: new Uint8Array([9, 10, 11]), shape: [3] }, descr: '|u1', shape: [3] },
    { name: 'i64', value: new BigInt64Array([-1n, 2n ** 62n]), descr: '<i8', shape: [2] },
    { name: 'i16', value: new Int16Array([-300, 300]), descr: '<i2', shape: [2] },
    { name: 'scalar', value: { data: new Float64Array([2.5]), shape: [] }, descr: '<f8', shape: [] },
    { name: 'empty', value: { data: new Float32Array([]), shape: [0, 4] }, descr: '<f4', shape: [0, 4] },
  ];

  beforeAll(async () => {
    task = await makeTask('artifacts/npy', pathToFileURL(join(work, 'npy')).href);
    for (const c of cases) await task.uploadArtifact(c.name, c.value, { waitOnUpload: true });
  });

  it('writes a v1.0 header (magic, version, length, dict, padded to 64 bytes) and the data little-endian', async () => {
    for (const c of cases) {
      const file = await readFile(await task.artifacts[c.name]!.getLocalCopy());
      const npy = readNpy(file);
      const data = ArrayBuffer.isView(c.value) ? c.value : c.value.data;
      expect({ name: c.name, descr: npy.descr, fortranOrder: npy.fortranOrder, shape: npy.shape }).toEqual({
        name: c.name,
        descr: c.descr,
        fortranOrder: false,
        shape: c.shape,
      });
      expect(npy.data.equals(Buffer.from(data.buffer, data.byteOffset, data.byteLength)), c.name).toBe(true);
    }
    const f32 = readNpy(await readFile(await task.artifacts.f32!.getLocalCopy()));
    expect(f32.headerText).toBe(`{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }${' '.repeat(60)}\n`);
    expect(f32.dataOffset).toBe(128);
  });

  it('is read by numpy.load in Python (when python3 with numpy is installed)', async (context) => {
    const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      context.skip('python3 with numpy is not installed here: only the independent reader checked the files');
    }
    const paths = Object.fromEntries(await Promise.all(cases.map(async (c) => [c.name, await task.artifacts[c.name]!.getLocalCopy()] as const)));
    const script = [
      'import json, sys, numpy as np',
      'paths = json.loads(sys.argv[1])',
      'out = {k: {"dtype": np.load(p).dtype.str, "shape": list(np.load(p).shape), "values": np.load(p).ravel().tolist()} for k, p in paths.items()}',
      'print(json.dumps(out))',
    ].join('\n');
    const run = spawnSync('python3', ['-c', script, JSON.stringify(paths)], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({
      f32: { dtype: '<f4', shape: [3], values: [1.5, -2, 3.25] },
      f64: { dtype: '<f8', shape: [3, 2], values: [1, 2, 3, 4, 5, 6] },
      i32: { dtype: '<i4', shape: [1, 2, 1], values: [7, -8] },
      u8: { dtype: '|u1', shape: [3], values: [9, 10, 11] },
      i64: { dtype: '<i8', shape: [2], values: [-1, 2 ** 62] },
      i16: { dtype: '<i2', shape: [2], values: [-300, 300] },
      scalar: { dtype: '<f8', shape: [], values: [2.5] },
      empty: { dtype: '<f4', shape: [0, 4], values: [] },
    });
  });

  it('refuses a shape that does not match the data', async () => {
    const error = await errorOf(task.uploadArtifact('bad', { data: new Float32Array(6), shape: [4, 2] }));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toMatchInlineSnapshot(
      `"Cannot store a Float32Array of 6 elements with shape [4, 2]: the shape's dimensions must be whole numbers whose product is the number of elements."`,
    );
  });
});

describe('previews, metadata and options', () => {
  it('keeps the JSON text as a dict preview, cut to 64 KB; a table preview shows its size, columns and first 10 rows', async () => {
    const task = await makeTask('artifacts/previews');
    const big = { values: Array.from({ length: 20_000 }, (_, i) => `value ${i}`) };
    const rows = Array.from({ length: 25 }, (_, i) => ({ id: i, name: `row ${i}` }));
    await task.uploadArtifact('small', { a: 1 }, { waitOnUpload: true });
    await task.uploadArtifact('big', big, { waitOnUpload: true });
    await task.uploadArtifact('rows', rows, { waitOnUpload: true });
    await task.uploadArtifact('custom', 'some text', { waitOnUpload: true, preview: 'my own preview', metadata: { epoch: 3, tags: ['a', 'b'] } });
    const stored = await storedArtifacts(task.id);
    expect(stored.small!.type_data?.preview).toBe('{\n  "a": 1\n}');
    const bigPreview = stored.big!.type_data!.preview!;
    expect(bigPreview.length).toBe(65_536);
    expect(bigPreview.startsWith('{\n  "values": [\n    "value 0",')).toBe(true);
    expect(bigPreview.endsWith('…')).toBe(true);
    expect(stored.rows!.type_data?.preview).toBe(
      `25 rows × 2 columns: id, name\nid,name\n${Array.from({ length: 10 }, (_, i) => `${i},row ${i}`).join('\n')}\n`,
    );
    expect(stored.custom!.type_data?.preview).toBe('my own preview');
    expect(stored.custom!.display_data).toEqual([
      ['epoch', '3'],
      ['tags', '["a","b"]'],
    ]);
    expect(task.artifacts.custom!.preview).toBe('my own preview');
    expect(task.artifacts.custom!.metadata).toEqual({ epoch: '3', tags: '["a","b"]' });
  });

  it('deleteAfterUpload removes the uploaded file once stored; without it the file stays', async () => {
    const task = await makeTask('artifacts/options');
    const dir = await mkdtemp(join(work, 'delete-'));
    await writeFile(join(dir, 'gone.bin'), 'x');
    await writeFile(join(dir, 'kept.bin'), 'y');
    await task.uploadArtifact('gone', join(dir, 'gone.bin'), { deleteAfterUpload: true });
    await task.uploadArtifact('kept', join(dir, 'kept.bin'));
    await task.flush();
    expect([existsSync(join(dir, 'gone.bin')), existsSync(join(dir, 'kept.bin'))]).toEqual([false, true]);
    expect(await readFile((await task.artifacts.gone!.get()) as string, 'utf8')).toBe('x');
  });

  it('uploading under an existing name replaces that artifact', async () => {
    const task = await makeTask('artifacts/options');
    await task.uploadArtifact('stats', { version: 1 }, { waitOnUpload: true });
    await task.uploadArtifact('stats', { version: 2 }, { waitOnUpload: true });
    const stored = await storedArtifacts(task.id);
    expect(Object.keys(stored)).toEqual(['stats']);
    expect(await (await Task.getTask({ id: task.id })).artifacts.stats!.get()).toEqual({ version: 2 });
  });

  it('refuses values that would not survive JSON, naming where they are', async () => {
    const task = await makeTask('artifacts/options');
    const mapError = await errorOf(task.uploadArtifact('m', { settings: { lookup: new Map() } }));
    expect(mapError.message).toMatchInlineSnapshot(
      `"uploadArtifact: cannot store the object.settings.lookup as JSON: it is a Map. Convert it to plain data (objects, arrays, text, finite numbers, booleans, null) first, or write it to a file and upload the file's path."`,
    );
    const nanError = await errorOf(task.uploadArtifact('n', { values: [1, Number.NaN] }));
    expect(nanError.message).toContain('the object.values[1] as JSON: it is NaN');
    const nameError = await errorOf(task.uploadArtifact('', 'x'));
    expect(nameError.message).toMatchInlineSnapshot(`"uploadArtifact: the name must be non-empty text, got """`);
    expect(await storedArtifacts(task.id)).toEqual({});
  });
});

describe('hash checks', () => {
  it('detects a stored file changed after upload (folder destination)', async () => {
    const task = await makeTask('artifacts/tamper', pathToFileURL(join(work, 'tamper')).href);
    await task.uploadArtifact('stats', { accuracy: 0.5 }, { waitOnUpload: true });
    const artifact = task.artifacts.stats!;
    await writeFile(fileURLToPath(artifact.uri), JSON.stringify({ accuracy: 0.99 }, null, 2));
    const error = await errorOf(artifact.get());
    expect({ code: error.code, reason: error.details?.reason, expected: error.details?.expectedSha256 }).toEqual({
      code: 'INTERNAL',
      reason: 'sha256_mismatch',
      expected: artifact.hash,
    });
    expect(error.message).toContain('is not the one recorded');
  });

  it('detects a stored file changed after upload (file server), keeping no bad copy', async () => {
    const task = await makeTask('artifacts/tamper');
    await task.uploadArtifact('notes', 'the real notes', { waitOnUpload: true });
    const artifact = task.artifacts.notes!;
    const key = new URL(artifact.uri).pathname.replace(/^\/files\//, '').split('/').map(decodeURIComponent);
    await writeFile(join(server.dir, 'files', ...key), 'forged notes!!');
    const error = await errorOf(artifact.getLocalCopy());
    expect({ code: error.code, reason: error.details?.reason, actual: error.details?.actualSha256 }).toEqual({
      code: 'INTERNAL',
      reason: 'sha256_mismatch',
      actual: sha256('forged notes!!'),
    });
  });
});
