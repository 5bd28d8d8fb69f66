import { Command, Option } from 'commander';
import { TASK_STATUSES, TASK_STATUS_LABEL, TasklaneError, isId, shortId, type Task } from '@tasklane/protocol';
import type { ApiClient } from 'tasklane/client';
import { CONNECTION_HELP, clientFor, printJson, type ApiOptions } from '../api-options.js';
import { registerTaskCreateCommand } from './task-create.js';
import { registerTaskEditCommand } from './task-edit.js';
import { formatTable, truncate } from '../format-table.js';
import { timeAgo } from '../format-time.js';

/** Resolves a full id or a unique id prefix (as shown in `task list`) to a task id. */
export async function resolveTaskId(api: ApiClient, ref: string): Promise<string> {
  if (isId(ref)) return ref;
  if (!/^[0-9a-f]{4,31}$/.test(ref)) {
    throw new TasklaneError('INVALID_INPUT', `"${ref}" is not a task id: give the id or its first characters (at least 4 hex digits).`);
  }
  const { tasks } = await api.call('tasks.get_all', { search_text: ref, only_fields: ['id'], search_hidden: true });
  const matches = tasks.map((t) => t.id!).filter((id) => id.startsWith(ref));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new TasklaneError('TASK_NOT_FOUND', `No task id starts with "${ref}". List tasks with: tasklane task list`);
  throw new TasklaneError(
    'INVALID_INPUT',
    `"${ref}" matches ${matches.length} tasks (${matches.slice(0, 5).map(shortId).join(', ')}...); give more characters.`,
  );
}

async function projectNames(api: ApiClient): Promise<Map<string, string>> {
  const { projects } = await api.call('projects.get_all', { only_fields: ['name'], search_hidden: true });
  return new Map(projects.map((p) => [p.id!, p.name!]));
}

function progressOf(task: Partial<Task>): string {
  const value = task.runtime?.progress;
  return value === undefined || value === null || value === '' ? '' : `${String(value)}%`;
}

/** Prints the reply of a status-changing command. */
function reportChange(options: ApiOptions, data: unknown, line: string): void {
  if (options.json) printJson(data);
  else process.stdout.write(`${line}\n`);
}

export function registerTaskCommands(program: Command): void {
  const task = program.command('task').description('List, inspect and act on tasks of a running server').addHelpText('afterAll', CONNECTION_HELP);
  const common = (command: Command) =>
    command
      .option('--server <url>', 'server URL (default: $TASKLANE_API_HOST or http://127.0.0.1:8008)')
      .option('--json', 'print the raw API reply as JSON');

  common(task.command('list'))
    .description('List tasks, most recently updated first')
    .option('-p, --project <name>', 'only tasks of this project (full name, e.g. main/sub) and its sub-projects')
    .addOption(new Option('-s, --status <status...>', 'only tasks in these statuses').choices([...TASK_STATUSES]))
    .option('-n, --name <regex>', 'only tasks whose name matches this regular expression')
    .option('-t, --tag <tag...>', 'only tasks with any of these tags')
    .option('--archived', 'show archived tasks instead of active ones')
    .option('--limit <n>', 'show at most this many tasks', '50')
    .action(async (options: ApiOptions & { project?: string; status?: string[]; name?: string; tag?: string[]; archived?: boolean; limit: string }) => {
      const api = clientFor(options);
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new TasklaneError('INVALID_INPUT', `--limit expects a positive integer, got "${options.limit}"`);
      let project: string[] | undefined;
      if (options.project) {
        const name = options.project.split('/').map((p) => p.trim()).filter(Boolean).join('/');
        const { projects } = await api.call('projects.get_all', { name: `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, only_fields: ['id'] });
        if (projects.length === 0) throw new TasklaneError('PROJECT_NOT_FOUND', `No project named "${name}".`);
        project = [projects[0]!.id!];
      }
      const { tasks } = await api.call('tasks.get_all', {
        project,
        include_subprojects: true,
        status: options.status,
        name: options.name,
        tags: options.tag,
        system_tags: [options.archived ? 'archived' : '-archived'],
        order_by: ['-last_update'],
        page: 0,
        page_size: limit,
        only_fields: ['id', 'name', 'project', 'type', 'status', 'last_update', 'runtime', 'tags'],
      });
      if (options.json) return printJson(tasks);
      if (tasks.length === 0) {
        process.stdout.write('No tasks match. Create one from a script with Task.init, or widen the filters.\n');
        return;
      }
      const names = await projectNames(api);
      const rows = tasks.map((t) => [
        shortId(t.id!),
        truncate(t.name ?? '', 40),
        truncate(t.project ? (names.get(t.project) ?? t.project) : '-', 30),
        t.type ?? '',
        TASK_STATUS_LABEL[t.status!] ?? t.status ?? '',
        progressOf(t),
        timeAgo(t.last_update),
      ]);
      process.stdout.write(`${formatTable(['ID', 'NAME', 'PROJECT', 'TYPE', 'STATUS', 'PROGRESS', 'UPDATED'], rows)}\n`);
      if (tasks.length === limit) process.stdout.write(`(first ${limit}; use --limit to see more)\n`);
    });

  common(task.command('show'))
    .description('Show everything recorded about a task')
    .argument('<task>', 'task id, or its first characters')
    .action(async (ref: string, options: ApiOptions) => {
      const api = clientFor(options);
      const { task: t } = await api.call('tasks.get_by_id', { task: await resolveTaskId(api, ref) });
      if (options.json) return printJson(t);
      const names = await projectNames(api);
      process.stdout.write(`${describeTask(t, t.project ? names.get(t.project) : undefined)}\n`);
    });

  common(task.command('clone'))
    .description('Make a new draft with the configuration of a task (none of its outputs)')
    .argument('<task>', 'task id, or its first characters')
    .option('--name <name>', 'name of the new task (default: "Clone Of <name>")')
    .option('--project <name>', 'project of the new task, created if missing (default: the same project)')
    .action(async (ref: string, options: ApiOptions & { name?: string; project?: string }) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const data = await api.call('tasks.clone', { task: id, new_task_name: options.name, new_project_name: options.project });
      reportChange(options, data, `Cloned ${shortId(id)} → new draft ${data.id}`);
    });

  common(task.command('enqueue'))
    .description('Put a draft in a queue for an agent to run')
    .argument('<task>', 'task id, or its first characters')
    .option('-q, --queue <name>', 'queue name, created if missing (default: the default queue)')
    .option('--priority <n>', 'from 0 to 100; higher leaves the queue first (default: 0)')
    .action(async (ref: string, options: ApiOptions & { queue?: string; priority?: string }) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const priority = options.priority === undefined ? undefined : Number(options.priority);
      if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 100)) {
        throw new TasklaneError('INVALID_INPUT', `--priority expects an integer from 0 to 100, got "${options.priority}"`);
      }
      const data = await api.call('tasks.enqueue', { task: id, queue_name: options.queue, priority });
      reportChange(options, data, `Enqueued ${shortId(id)} in ${options.queue ? `queue "${options.queue}"` : 'the default queue'}`);
    });

  common(task.command('dequeue'))
    .description('Take a queued task out of its queue, back to draft')
    .argument('<task>', 'task id, or its first characters')
    .action(async (ref: string, options: ApiOptions) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const data = await api.call('tasks.dequeue', { task: id });
      reportChange(options, data, `Dequeued ${shortId(id)}; it is a ${TASK_STATUS_LABEL[(data.fields?.status as Task['status']) ?? 'created'] ?? 'draft'} again`);
    });

  common(task.command('reset'))
    .description('Make a task a draft again, deleting its outputs (events, output artifacts and models)')
    .argument('<task>', 'task id, or its first characters')
    .option('--force', 'reset even a published task')
    .action(async (ref: string, options: ApiOptions & { force?: boolean }) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const data = await api.call('tasks.reset', { task: id, force: options.force });
      reportChange(options, data, `Reset ${shortId(id)}: it is a draft again`);
    });

  common(task.command('publish'))
    .description('Publish a finished task: read-only from then on')
    .argument('<task>', 'task id, or its first characters')
    .option('--force', 'publish whatever its status')
    .action(async (ref: string, options: ApiOptions & { force?: boolean }) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const data = await api.call('tasks.publish', { task: id, force: options.force });
      reportChange(options, data, `Published ${shortId(id)}`);
    });

  common(task.command('abort'))
    .description('Abort a queued or running task (an agent running it is told to stop)')
    .argument('<task>', 'task id, or its first characters')
    .option('--force', 'mark it aborted at once, even if an agent still runs it')
    .action(async (ref: string, options: ApiOptions & { force?: boolean }) => {
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const data = await api.call('tasks.stop', { task: id, force: options.force });
      const stopping = data.fields?.status_message === 'stopping';
      reportChange(options, data, stopping ? `Asked the agent running ${shortId(id)} to stop it` : `Aborted ${shortId(id)}`);
    });

  registerTaskCreateCommand(task, common);
  registerTaskEditCommand(task, common);
}

/** A readable, sectioned description of a task for `task show`. */
export function describeTask(t: Task, projectName?: string): string {
  const out: string[] = [];
  const field = (label: string, value: unknown) => {
    if (value === undefined || value === null || value === '') return;
    out.push(`  ${label.padEnd(14)} ${String(value)}`);
  };
  out.push(`${t.name}  (${t.id})`);
  field('status', `${TASK_STATUS_LABEL[t.status]} (${t.status})${t.status_reason ? ` — ${t.status_reason}` : ''}`);
  field('message', t.status_message);
  field('project', projectName ?? t.project);
  field('type', t.type);
  field('progress', progressOf(t));
  field('tags', t.tags.join(', '));
  field('system tags', t.system_tags.join(', '));
  field('parent', t.parent);
  field('created', t.created);
  field('started', t.started);
  field('completed', t.completed);
  field('last update', t.last_update);
  field('iteration', t.last_iteration || undefined);
  field('comment', t.comment);
  const section = (title: string, lines: string[]) => {
    if (lines.length === 0) return;
    out.push('', `${title}:`, ...lines);
  };
  const s = t.script;
  section(
    'Code',
    [
      ['repository', s.repository],
      ['branch', s.branch],
      ['commit', s.version_num],
      ['entry point', s.entry_point],
      ['working dir', s.working_dir],
      ['binary', s.binary],
      ['diff', s.diff ? `${s.diff.split('\n').length} lines` : undefined],
    ]
      .filter(([, v]) => v)
      .map(([k, v]) => `  ${String(k).padEnd(14)} ${String(v)}`),
  );
  section(
    'Hyperparameters',
    Object.entries(t.hyperparams).flatMap(([sectionName, items]) =>
      Object.values(items).map((p) => `  ${`${sectionName}/${p.name ?? ''}`.padEnd(30)} ${p.value}${p.type ? `  (${p.type})` : ''}`),
    ),
  );
  section(
    'Configuration objects',
    Object.values(t.configuration).map((c) => `  ${String(c.name).padEnd(30)} ${c.type ?? ''}  ${String(c.value).split('\n').length} lines`),
  );
  section(
    'Artifacts',
    (t.execution.artifacts ?? []).map((a) => `  ${a.key.padEnd(30)} ${a.type} (${a.mode})  ${a.uri ?? ''}`),
  );
  section('Models', [
    ...t.models.input.map((m) => `  input   ${m.name}  ${m.model}`),
    ...t.models.output.map((m) => `  output  ${m.name}  ${m.model}`),
  ]);
  section('Container', Object.entries(t.container).filter(([, v]) => v).map(([k, v]) => `  ${k.padEnd(14)} ${v}`));
  section(
    'Runtime',
    Object.entries(t.runtime).map(([k, v]) => `  ${k.padEnd(30)} ${typeof v === 'string' ? v : JSON.stringify(v)}`),
  );
  return out.join('\n');
}
