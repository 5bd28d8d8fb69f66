// The task documents of the tasks-table benches (web-tasks-table.mjs, tasks-listing.mjs): two projects filled straight
// through the server's own store (SQLite or PostgreSQL), with documents that look like real ones.
import { createHash, randomBytes } from 'node:crypto';

const BATCH = 5000;
export const md5 = (text) => createHash('md5').update(text).digest('hex');
const newId = () => randomBytes(16).toString('hex');
const T0 = Date.UTC(2025, 0, 1);

/**
 * Task i of a project, as a real one looks: script, 5 hyperparameters (Args/lr varies), 2 metrics in last_metrics
 * (loss/val varies), the tag "best" on every 10th, archived every 7th, every 50th failed (the others completed),
 * last_update one second after the one before.
 */
export function makeTask(projectId, i) {
  const at = new Date(T0 + i * 1000).toISOString();
  const done = new Date(T0 + i * 1000 + 600_000).toISOString();
  const param = (name, value) => ({ section: 'Args', name, value: String(value), type: 'float' });
  const metric = (name, variant, value) => ({ metric: name, variant, value, min_value: value / 2, max_value: value * 2, count: 100 });
  return {
    id: newId(),
    name: `experiment ${i}`,
    project: projectId,
    parent: null,
    type: i % 5 === 0 ? 'testing' : 'training',
    status: i % 50 === 0 ? 'failed' : 'completed',
    status_reason: '',
    status_message: '',
    status_changed: done,
    comment: '',
    tags: i % 10 === 0 ? ['best'] : [],
    system_tags: i % 7 === 0 ? ['archived'] : [],
    created: at,
    started: at,
    completed: done,
    published: null,
    last_update: done,
    last_change: done,
    active_duration: 600,
    script: { repository: 'https://github.com/example/train.git', branch: 'main', entry_point: 'train.py', requirements: { pip: 'torch==2.3.0\nnumpy==1.26.4\n' } },
    execution: { artifacts: [] },
    hyperparams: {
      Args: {
        lr: param('lr', ((i * 7919) % 1000) / 10_000),
        batch_size: param('batch_size', 32 * (1 + (i % 4))),
        epochs: param('epochs', 10),
        dropout: param('dropout', 0.1),
        seed: param('seed', i),
      },
    },
    configuration: {},
    runtime: {},
    models: { input: [], output: [] },
    container: {},
    output: { destination: null },
    last_iteration: 100 + (i % 900),
    last_metrics: {
      [md5('loss')]: { [md5('val')]: metric('loss', 'val', ((i * 104_729) % 1000) / 1000), [md5('train')]: metric('loss', 'train', 0.3) },
    },
    last_worker: null,
    last_worker_report: null,
    enqueue_status: null,
  };
}

/**
 * Fills a store with two projects, `bench-big` of `bigCount` tasks and `bench-small` of `smallCount` (same
 * documents), 5,000 tasks per transaction; answers their ids.
 */
export async function fillTaskProjects(store, bigCount, smallCount) {
  const now = new Date().toISOString();
  const project = (name) => ({ id: newId(), name, basename: name, parent: null, description: '', tags: [], system_tags: [], default_output_destination: null, created: now, last_update: now });
  const big = project('bench-big');
  const small = project('bench-small');
  await store.transaction(async (repos) => {
    await repos.projects.insert(big);
    await repos.projects.insert(small);
  });
  for (const [p, count] of [[big, bigCount], [small, smallCount]]) {
    for (let from = 0; from < count; from += BATCH) {
      await store.transaction(async (repos) => {
        for (let i = from; i < Math.min(count, from + BATCH); i += 1) await repos.tasks.insert(makeTask(p.id, i));
      });
    }
  }
  return { big: big.id, small: small.id };
}
