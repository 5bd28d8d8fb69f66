import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { API_VERSION, ENDPOINTS, READ_ENDPOINTS, isEndpointName, isWriteEndpoint, type EndpointName } from './endpoints.js';

const TASK_ID = '3f2c9a1b4d5e6f708192a3b4c5d6e7f8';
const QUEUE_ID = '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b';
const PROJECT_ID = '0123456789abcdef0123456789abcdef';
const MODEL_ID = 'fedcba9876543210fedcba9876543210';

const NAMES = Object.keys(ENDPOINTS) as EndpointName[];

describe('ENDPOINTS', () => {
  it('has endpoints', () => {
    expect(NAMES.length).toBeGreaterThan(0);
  });

  it.each(NAMES)('%s is named service.action in snake_case', (name) => {
    expect(name).toMatch(/^[a-z_]+\.[a-z_]+$/);
  });

  it.each(NAMES)('%s has a one-sentence-or-more summary ending with a period', (name) => {
    const { summary } = ENDPOINTS[name];
    expect(typeof summary).toBe('string');
    expect(summary.trim()).toBe(summary);
    expect(summary.length).toBeGreaterThan(1);
    expect(summary).toMatch(/^[A-Z]/);
    expect(summary).toMatch(/\.$/);
  });

  it.each(NAMES)('%s has zod request and response schemas', (name) => {
    const { request, response } = ENDPOINTS[name];
    expect(request).toBeInstanceOf(z.ZodType);
    expect(response).toBeInstanceOf(z.ZodType);
  });

  it('are all known to isEndpointName, and nothing else is', () => {
    for (const name of NAMES) expect(isEndpointName(name)).toBe(true);
    for (const name of ['tasks.nope', 'tasks', '', 'toString', 'constructor']) expect(isEndpointName(name)).toBe(false);
  });

  it('marks as reads only endpoints whose action reads (get_*, peek_*, download_*, debug_images, auth.login)', () => {
    for (const name of READ_ENDPOINTS) expect(isEndpointName(name)).toBe(true);
    const reads = NAMES.filter((name) => !isWriteEndpoint(name));
    const readingAction = /\.(get_(?!next_task$)\w+|peek_task|download_task_log|debug_images|next_debug_image_sample|scalar_metrics_iter_histogram|multi_task_scalar_metrics_iter_histogram|login)$/;
    expect(reads.filter((name) => !readingAction.test(name))).toEqual([]);
    // Everything named like a read is one, so no read endpoint demands a JSON body by mistake...
    expect(NAMES.filter((name) => readingAction.test(name) && isWriteEndpoint(name))).toEqual([]);
    // ...and the actions that change state despite their name stay writes.
    for (const name of ['queues.get_next_task', 'tasks.ping', 'events.add_batch', 'tasks.delete'] as const) {
      expect(isWriteEndpoint(name)).toBe(true);
    }
  });

  it('declares the API version as ClearML clients expect it (a string "major.minor")', () => {
    expect(API_VERSION).toMatch(/^\d+\.\d+$/);
  });
});

describe('request schemas', () => {
  const MINIMAL_BODIES: ReadonlyArray<readonly [EndpointName, unknown, unknown]> = [
    ['auth.login', {}, {}],
    ['tasks.create', { name: 'train' }, { name: 'train' }],
    ['tasks.get_by_id', { task: TASK_ID }, { task: TASK_ID }],
    ['tasks.get_all', {}, {}],
    ['tasks.ping', { task: TASK_ID }, { task: TASK_ID }],
    ['tasks.started', { task: TASK_ID }, { task: TASK_ID, force: false }],
    ['tasks.completed', { task: TASK_ID }, { task: TASK_ID, force: false, publish: false }],
    ['tasks.enqueue', { task: TASK_ID }, { task: TASK_ID, force: false, priority: 0 }],
    ['tasks.enqueue', { task: TASK_ID, queue: QUEUE_ID }, { task: TASK_ID, force: false, queue: QUEUE_ID, priority: 0 }],
    ['tasks.delete', { task: TASK_ID }, { task: TASK_ID, force: false, delete_output_models: true }],
    ['models.create', { uri: 'file:///w.bin', name: 'best' }, { uri: 'file:///w.bin', name: 'best', ready: false }],
    ['models.get_by_id', { model: MODEL_ID }, { model: MODEL_ID }],
    ['models.edit', { model: MODEL_ID, design: 'layers: 3' }, { model: MODEL_ID, design: { design: 'layers: 3' }, force: false }],
    [
      'models.add_or_update_metadata',
      { model: MODEL_ID, metadata: [{ key: 'epochs', value: 10 }] },
      { model: MODEL_ID, metadata: [{ key: 'epochs', type: '', value: '10' }], replace_metadata: false },
    ],
    ['models.set_ready', { model: MODEL_ID }, { model: MODEL_ID, publish_task: true, force_publish_task: false }],
    ['models.delete', { model: MODEL_ID }, { model: MODEL_ID, force: false }],
    ['projects.create', { name: 'examples/mnist' }, { name: 'examples/mnist' }],
    ['projects.delete', { project: PROJECT_ID }, { project: PROJECT_ID, force: false, delete_contents: false }],
    ['queues.create', { name: 'default' }, { name: 'default' }],
    ['queues.get_default', {}, {}],
    ['queues.get_next_task', { queue: QUEUE_ID }, { queue: QUEUE_ID, get_task_info: false }],
    ['workers.register', { worker: 'gpu-box:0' }, { worker: 'gpu-box:0', timeout: 600 }],
    ['workers.status_report', { worker: 'gpu-box:0', timestamp: 1_700_000_000_000 }, { worker: 'gpu-box:0', timestamp: 1_700_000_000_000 }],
  ];

  it.each(MINIMAL_BODIES)('%s parses the minimal body %j', (name, body, expected) => {
    const result = ENDPOINTS[name].request.safeParse(body);
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual(expected);
  });

  it.each([
    ['tasks.get_by_id', {}],
    ['tasks.create', {}],
    ['tasks.enqueue', { task: 'not-an-id' }],
    ['queues.get_next_task', {}],
    ['workers.register', { worker: '   ' }],
    ['models.create', { name: 'no weights' }],
    ['models.create', { uri: 'file:///w.bin', name: 'best', labels: { cat: 1.5 } }],
    ['models.edit', { model: 'not-an-id' }],
  ] as const)('%s refuses %j', (name, body) => {
    expect(ENDPOINTS[name].request.safeParse(body).success).toBe(false);
  });
});

describe('response schemas', () => {
  it('parse replies shaped as the server sends them', () => {
    expect(ENDPOINTS['tasks.create'].response.parse({ id: TASK_ID })).toEqual({ id: TASK_ID });
    expect(ENDPOINTS['tasks.ping'].response.parse({})).toEqual({});
    expect(ENDPOINTS['tasks.enqueue'].response.parse({ updated: 1, fields: {}, queued: 1, queue: QUEUE_ID })).toEqual({
      updated: 1,
      fields: {},
      queued: 1,
      queue: QUEUE_ID,
    });
    expect(ENDPOINTS['queues.get_next_task'].response.parse({})).toEqual({});
  });
});
