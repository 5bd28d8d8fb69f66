// ClearML's own Python SDK (2.1.7) and agent (clearml-agent 3.0.3), unmodified, against a real Tasklane server:
// a training script (fixtures/clearml-flow.py) records a whole run with the SDK and reads it back, then clearml-agent
// runs a clone of it whose Args/lr was edited through Tasklane's API. The clients come from ../shared/compat
// (setup.sh unpacks them and installs the Debian packages they need; .ci/run has CI do the same). Guards issue 13's
// requirement that ClearML's clients keep working as the server is hardened.
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '@tasklane/protocol';
import { ApiClient } from 'tasklane/client';
import { consoleLines, waitFor, waitForStatus } from '../support/agent-e2e.js';
import { startCliServer, type CliServer } from '../support/cli.js';
import {
  locateClearmlCompat,
  prepareClearmlRun,
  runSystemPython,
  setupClearmlCompat,
  startClearmlAgentDaemon,
  unexpectedClearmlRefusals as unexpectedRefusals,
  whyClearmlCompatIsMissing,
  type ClearmlAgentDaemon,
  type ClearmlPythonPaths,
  type ProcessResult,
} from '../support/clearml-compat.js';
import { parseRequestLog, type LoggedRequest } from '../support/request-log.js';
import { buildWorkspace } from '../support/workspace-build.js';

const FLOW_SCRIPT = fileURLToPath(new URL('./fixtures/clearml-flow.py', import.meta.url));
const TITLE = "ClearML's Python SDK and clearml-agent against Tasklane";
const COMPAT_DIR = locateClearmlCompat();
const unavailable = whyClearmlCompatIsMissing(COMPAT_DIR);

/** `FLOW_RESULT <json>`: what the SDK read back, printed by the script. */
interface FlowResult {
  id: string;
  status: string;
  last_scalar_metrics: Record<string, Record<string, { last: number; min: number; max: number }>>;
  parameters: Record<string, Record<string, unknown>>;
  configuration: unknown;
  artifacts: { stats: unknown; notes: string; uris: Record<string, string> };
  scalars: Record<string, Record<string, number[]>>;
  console_has_run_line: boolean;
  plot_metrics: string[];
  clone: { id: string; status_before_enqueue: string; parent: string };
  queued: number;
}

/** The script's losses for `--lr 0.02` (5 epochs), as Python computes and rounds them. */
const TRAIN_LOSS_LR_002 = [1, 0.333333, 0.2, 0.142857, 0.111111];
const VALIDATION_LOSS_LR_002 = [1.5, 0.499999, 0.3, 0.214286, 0.166666];
/** The same for the edited `Args/lr` 0.05. */
const TRAIN_LOSS_LR_005 = [1, 0.166667, 0.090909, 0.0625, 0.047619];

/** `task.last_metrics` (keyed by hashes) as `metric/variant` → value, min and max. */
function lastMetrics(task: Task): Record<string, { value: unknown; min: unknown; max: unknown }> {
  const flat: Record<string, { value: unknown; min: unknown; max: unknown }> = {};
  for (const variants of Object.values(task.last_metrics)) {
    for (const m of Object.values(variants)) flat[`${m.metric}/${m.variant}`] = { value: m.value, min: m.min_value, max: m.max_value };
  }
  return flat;
}

/** The task's console as lines (the agent sends several lines in one event). */
async function consoleText(api: ApiClient, taskId: string): Promise<string[]> {
  return (await consoleLines(api, taskId)).flatMap((event) => event.msg.split('\n'));
}

async function bytesAt(url: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(url);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

if (unavailable && process.env.CI) {
  describe(TITLE, () => {
    it('has ClearML\'s clients to run (in CI this must not be skipped)', () => {
      throw new Error(`${unavailable}. CI runs bash .ci/run beside a copy of shared/, which has compat/.`);
    });
  });
} else {
  if (unavailable) console.warn(`Skipping "${TITLE}": ${unavailable}.`);
  describe.skipIf(unavailable !== undefined)(unavailable ? `${TITLE} (skipped: ${unavailable})` : TITLE, { timeout: 180_000 }, () => {
    let dir: string;
    let server: CliServer;
    let api: ApiClient;
    let paths: ClearmlPythonPaths;
    /** The workflow script's run, done once for the tests below. */
    let flow: ProcessResult;
    let flowResult: FlowResult | undefined;
    let flowRequests: LoggedRequest[];
    let original: Task;
    let daemon: ClearmlAgentDaemon | undefined;

    /** A fresh HOME and TMPDIR for each client run, in a folder outside any git repository. */
    const envFor = (name: string, pythonPath: string) => prepareClearmlRun(dir, name, { serverUrl: server.url, pythonPath });

    const requestsSoFar = () => parseRequestLog(server.output());

    beforeAll(async () => {
      const [compatPaths] = await Promise.all([setupClearmlCompat(COMPAT_DIR), buildWorkspace()]);
      paths = compatPaths;
      dir = await mkdtemp(join(tmpdir(), 'tasklane-clearml-e2e-'));
      // Debug level: the server logs each request with its status, which the tests read to see what was refused.
      server = await startCliServer(['--log-level', 'debug']);
      api = new ApiClient({ baseUrl: server.url });

      const { cwd, env } = await envFor('flow', paths.sdk);
      await copyFile(FLOW_SCRIPT, join(cwd, 'clearml-flow.py'));
      flow = await runSystemPython(['clearml-flow.py', '--lr', '0.02'], { cwd, env, timeoutMs: 90_000 });
      const line = flow.stdout.split('\n').find((l) => l.startsWith('FLOW_RESULT '));
      flowResult = line ? (JSON.parse(line.slice('FLOW_RESULT '.length)) as FlowResult) : undefined;
      flowRequests = requestsSoFar();
      if (flowResult) original = (await api.call('tasks.get_by_id', { task: flowResult.id })).task;
    }, 240_000);

    afterAll(async () => {
      await daemon?.stop();
      await server?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('the SDK workflow ends well and reads back what it recorded', () => {
      expect({ code: flow.code, hasResult: flowResult !== undefined, stdout: flow.stdout.slice(-3000), stderr: flow.stderr.slice(-3000) })
        .toMatchObject({ code: 0, hasResult: true });
      expect(flowResult).toMatchObject({
        status: 'completed',
        last_scalar_metrics: {
          loss: { train: { last: 0.111111, min: 0.111111, max: 1 }, validation: { last: 0.166666, min: 0.166666, max: 1.5 } },
          used: { lr: { last: 0.02, min: 0.02, max: 0.02 } },
        },
        parameters: {
          Args: { lr: 0.02, epochs: 5, optimizer: 'sgd' },
          General: { batch_size: 32, dropout: 0.25, use_bias: true },
        },
        configuration: { model: { depth: 3, activation: 'relu' }, data: { shuffle: true } },
        artifacts: { stats: { accuracy: 0.91, epochs: 5 }, notes: 'notes from the flow check, lr=0.02\n' },
        scalars: { loss: { train: TRAIN_LOSS_LR_002, validation: VALIDATION_LOSS_LR_002 }, used: { lr: [0.02] } },
        console_has_run_line: true,
        plot_metrics: ['pr', 'weights'],
        clone: { status_before_enqueue: 'created', parent: flowResult?.id },
        queued: 1,
      });
    });

    it('stores the task completed, with its script, Args and General hyperparameters, configuration and progress', () => {
      expect(original.status).toBe('completed');
      expect(original.completed).not.toBeNull();
      expect(original.script).toMatchObject({ entry_point: 'clearml-flow.py', repository: '', binary: expect.stringMatching(/^python3/) });
      // Outside a repository the SDK stores the script itself, which is what an agent runs.
      expect(original.script.diff).toContain('FLOW_RESULT');
      // The packages it records while the task runs (tasks.set_requirements on a running task, taken since #16).
      expect(original.script.requirements).toMatchObject({ pip: expect.stringContaining('clearml') });
      expect(original.hyperparams.Args).toMatchObject({
        lr: { section: 'Args', name: 'lr', value: '0.02', type: 'float' },
        epochs: { value: '5', type: 'int' },
        optimizer: { value: 'sgd' },
      });
      expect(original.hyperparams.General).toMatchObject({
        batch_size: { value: '32', type: 'int' },
        dropout: { value: '0.25', type: 'float' },
        use_bias: { value: 'True', type: 'bool' },
      });
      expect(original.configuration.model_config).toEqual({
        name: 'model_config',
        type: 'dictionary',
        value: 'model {\n  depth = 3\n  activation = "relu"\n}\ndata {\n  shuffle = true\n}',
      });
      expect(original.runtime).toMatchObject({ progress: '100' });
    });

    it('stores the scalars: last_metrics and every series', async () => {
      expect(lastMetrics(original)).toMatchObject({
        'loss/train': { value: 0.111111, min: 0.111111, max: 1 },
        'loss/validation': { value: 0.166666, min: 0.166666, max: 1.5 },
        'used/lr': { value: 0.02, min: 0.02, max: 0.02 },
      });
      expect(original.last_iteration).toBe(4);
      const series = await api.call('events.scalar_metrics_iter_histogram', { task: original.id });
      expect(series).toMatchObject({
        loss: {
          train: { x: [0, 1, 2, 3, 4], y: TRAIN_LOSS_LR_002 },
          validation: { x: [0, 1, 2, 3, 4], y: VALIDATION_LOSS_LR_002 },
        },
        used: { lr: { x: [0], y: [0.02] } },
      });
    });

    it('stores the console output and report_text, once each, and both plots', async () => {
      const lines = await consoleText(api, original.id);
      expect(lines.filter((l) => l.startsWith('RUN '))).toEqual(['RUN lr=0.02 epochs=5 optimizer=sgd batch_size=32 depth=3']);
      expect(lines.filter((l) => l.startsWith('epoch '))).toEqual([
        'epoch 0 train_loss=1.0',
        'epoch 1 train_loss=0.333333',
        'epoch 2 train_loss=0.2',
        'epoch 3 train_loss=0.142857',
        'epoch 4 train_loss=0.111111',
      ]);
      expect(lines.filter((l) => l === 'training finished after 5 epochs')).toHaveLength(1);

      const { plots } = await api.call('events.get_task_plots', { task: original.id, iters: 1 });
      const figures = Object.fromEntries(plots.map((p) => [`${p.metric}/${p.variant}`, JSON.parse(String(p.plot_str)) as { data: unknown[] }]));
      expect(Object.keys(figures).sort()).toEqual(['pr/curve', 'weights/layer1']);
      expect(figures['pr/curve']!.data).toMatchObject([{ type: 'scatter', mode: 'lines+markers', x: [0, 0.5, 1], y: [1, 0.8, 0.2] }]);
      expect(figures['weights/layer1']!.data).toMatchObject([{ type: 'bar', y: [3, 1, 4, 1, 5] }]);
    });

    it('stores both artifacts, and the file server under /files serves their bytes', async () => {
      const artifacts = Object.fromEntries((original.execution.artifacts ?? []).map((a) => [a.key, a]));
      expect(Object.keys(artifacts).sort()).toEqual(['notes', 'stats']);
      const prefix = `${server.url}/files/compat/clearml-python/python%20flow.${original.id}/artifacts`;
      expect(artifacts.stats).toMatchObject({ type: 'dict', mode: 'output', uri: `${prefix}/stats/stats.json` });
      expect(artifacts.notes).toMatchObject({ type: 'custom', mode: 'output', uri: `${prefix}/notes/notes.txt` });
      expect(flowResult?.artifacts.uris).toEqual({ stats: artifacts.stats!.uri, notes: artifacts.notes!.uri });

      const stats = await bytesAt(artifacts.stats!.uri!);
      expect(stats.status).toBe(200);
      expect(JSON.parse(stats.bytes.toString('utf8'))).toEqual({ accuracy: 0.91, epochs: 5 });
      const notes = await bytesAt(artifacts.notes!.uri!);
      expect({ status: notes.status, text: notes.bytes.toString('utf8') }).toEqual({ status: 200, text: 'notes from the flow check, lr=0.02\n' });
      // What the SDK registered matches what the file server holds.
      for (const [artifact, file] of [[artifacts.stats!, stats], [artifacts.notes!, notes]] as const) {
        expect({ size: file.bytes.length, hash: createHash('sha256').update(file.bytes).digest('hex') })
          .toEqual({ size: artifact.content_size, hash: artifact.hash });
      }
    });

    it('stores the clone as a draft child of the task (hyperparameters and configuration copied), then queued in the default queue', async () => {
      const cloneId = flowResult!.clone.id;
      const { task: clone } = await api.call('tasks.get_by_id', { task: cloneId });
      expect(clone).toMatchObject({ name: 'python flow (clone)', parent: original.id, status: 'queued', project: original.project });
      expect(clone.hyperparams).toEqual(original.hyperparams);
      expect(clone.configuration).toEqual(original.configuration);
      expect(clone.script.diff).toBe(original.script.diff);
      expect(clone.execution.artifacts).toEqual([]);
      expect(clone.last_metrics).toEqual({});
      const defaultQueue = await api.call('queues.get_default', {});
      expect(clone.execution.queue).toBe(defaultQueue.id);
      const { queue } = await api.call('queues.get_by_id', { queue: defaultQueue.id });
      expect(queue.entries.map((e) => e.task)).toEqual([cloneId]);
    });

    it('refuses none of the SDK\'s calls but the accepted ones', () => {
      const endpoints = new Set(flowRequests.map((r) => r.endpoint));
      // The log was read (a change of its format must not make this test pass on nothing).
      for (const endpoint of ['auth.login', 'tasks.create', 'tasks.edit', 'tasks.set_requirements', 'events.add_batch', '/files', 'tasks.completed', 'tasks.clone', 'tasks.enqueue']) {
        expect(endpoints).toContain(endpoint);
      }
      expect(unexpectedRefusals(flowRequests)).toEqual([]);
    });

    it('clearml-agent daemon runs a clone whose Args/lr and General/batch_size were edited through the API', async () => {
      const queueName = 'clearml-agent-e2e';
      const { id: taskId } = await api.call('tasks.clone', { task: original.id, new_task_name: 'python flow (agent, lr 0.05)' });
      await api.call('tasks.edit_hyper_params', {
        task: taskId,
        hyperparams: [
          { section: 'Args', name: 'lr', value: '0.05', type: 'float' },
          { section: 'General', name: 'batch_size', value: '64', type: 'int' },
        ],
      });
      await api.call('tasks.enqueue', { task: taskId, queue_name: queueName });
      const requestsBefore = requestsSoFar().length;

      const { cwd, env } = await envFor('agent', paths.agent);
      daemon = startClearmlAgentDaemon({ queue: queueName, workerId: 'clearml-agent-e2e', cwd, env });
      let done: Task;
      try {
        done = await waitForStatus(api, taskId, ['completed', 'failed', 'stopped'], 90_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\nclearml-agent output:\n${daemon.output().slice(-5000)}`, { cause: error });
      }
      // The daemon sends the run's console as it tails it; its last lines may follow the final status.
      const lines = await waitFor('the agent to send the run\'s console', async () => {
        const text = await consoleText(api, taskId);
        return text.some((l) => l.startsWith('REMOTE RUN done')) ? text : undefined;
      }, 30_000, 250);
      await daemon.stop();
      daemon = undefined;

      expect({ status: done.status, reason: done.status_reason }).toMatchObject({ status: 'completed' });
      expect(done.parent).toBe(original.id);
      expect(done.hyperparams.Args?.lr?.value).toBe('0.05');
      expect(done.hyperparams.General?.batch_size?.value).toBe('64');
      // The script ran with the edited values, as its console and scalars show.
      expect(lines.filter((l) => l.startsWith('RUN '))).toEqual(['RUN lr=0.05 epochs=5 optimizer=sgd batch_size=64 depth=3']);
      expect(lines).toContain('REMOTE RUN done lr=0.05');
      const series = await api.call('events.scalar_metrics_iter_histogram', { task: taskId });
      expect(series).toMatchObject({ loss: { train: { x: [0, 1, 2, 3, 4], y: TRAIN_LOSS_LR_005 } }, used: { lr: { y: [0.05] } } });
      expect(lastMetrics(done)).toMatchObject({ 'used/lr': { value: 0.05 }, 'loss/train': { value: 0.047619 } });
      const notes = (done.execution.artifacts ?? []).find((a) => a.key === 'notes');
      expect(notes?.uri).toBeDefined();
      expect((await bytesAt(notes!.uri!)).bytes.toString('utf8')).toBe('notes from the flow check, lr=0.05\n');

      const agentRequests = requestsSoFar().slice(requestsBefore);
      const endpoints = new Set(agentRequests.map((r) => r.endpoint));
      for (const endpoint of ['workers.register', 'queues.get_next_task', 'tasks.started', 'events.add_batch', 'tasks.completed']) {
        expect(endpoints).toContain(endpoint);
      }
      expect(unexpectedRefusals(agentRequests)).toEqual([]);
    });
  });
}
