import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { TASK_STATUS_LABEL, TasklaneError, shortId } from '@tasklane/protocol';
import { clientFor, printJson, type ApiOptions } from '../api-options.js';
import { resolveTaskId } from './task.js';

interface EditOptions extends ApiOptions {
  param?: string[];
  config?: string[];
  requirements?: string;
}

/** The kinds of `script.requirements` an agent installs from: pip (and conda) for Python tasks, npm for JS ones. */
const REQUIREMENT_KINDS = ['pip', 'conda', 'npm'] as const;

/**
 * `[kind=]@file` or `[kind=]text` → the kind and its text. Without a kind: the one the task records when it records
 * npm alone, else pip (ClearML's Python tasks).
 */
async function parseRequirements(text: string, recorded: Record<string, unknown> | undefined): Promise<{ kind: string; value: string }> {
  const match = /^(pip|conda|npm)=/.exec(text);
  const kind = match?.[1] ?? (recorded?.npm !== undefined && recorded?.pip === undefined ? 'npm' : 'pip');
  const raw = match ? text.slice(match[0].length) : text;
  if (!raw.startsWith('@')) return { kind, value: raw };
  const file = raw.slice(1);
  try {
    return { kind, value: await readFile(file, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return usage(`--requirements ${text}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (error as Error).message)}).`);
  }
}

const GENERAL_SECTION = 'General';

function usage(message: string): never {
  throw new TasklaneError('INVALID_INPUT', message);
}

/** `Section/name=value` → its parts; a name without a section is in General (as the SDK's setParameters). */
export function parseParamAssignment(text: string): { section: string; name: string; value: string } {
  const equals = text.indexOf('=');
  if (equals <= 0) usage(`--param ${text}: expected Section/name=value, e.g. --param Args/lr=0.05`);
  const key = text.slice(0, equals).trim();
  const value = text.slice(equals + 1);
  const slash = key.indexOf('/');
  const section = slash > 0 ? key.slice(0, slash) : GENERAL_SECTION;
  const name = slash > 0 ? key.slice(slash + 1) : key;
  if (!name) usage(`--param ${text}: the parameter name is empty; expected Section/name=value`);
  return { section, name, value };
}

function inferType(value: string): string {
  if (/^-?(?:0|[1-9]\d*)$/.test(value)) return 'int';
  if (/^-?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)$/.test(value)) return 'float';
  if (value === 'true' || value === 'false') return 'bool';
  return 'str';
}

/** `name=@file.yaml` (the file's text, typed by its extension) or `name=text`. */
async function parseConfigAssignment(text: string): Promise<{ name: string; value: string; fileType?: string }> {
  const equals = text.indexOf('=');
  if (equals <= 0) usage(`--config ${text}: expected name=@file (e.g. model=@model.yaml) or name=text`);
  const name = text.slice(0, equals).trim();
  const raw = text.slice(equals + 1);
  if (!raw.startsWith('@')) return { name, value: raw };
  const file = raw.slice(1);
  try {
    return { name, value: await readFile(file, 'utf8'), fileType: extname(file).slice(1).toLowerCase() || 'text' };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return usage(`--config ${name}=@${file}: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : (code ?? (error as Error).message)}).`);
  }
}

function isJsonObject(text: string): boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerTaskEditCommand(task: Command, common: (command: Command) => Command): void {
  common(task.command('edit'))
    .description("Change a draft's hyperparameters, configuration objects and requirements (what an agent hands the script)")
    .argument('<task>', 'task id, or its first characters')
    .option('--param <Section/name=value>', 'set a hyperparameter, e.g. Args/lr=0.05 or General/momentum=0.95 (repeatable)', collect)
    .option('--config <name=@file|name=text>', 'set a configuration object from a file (model=@model.yaml) or text (repeatable)', collect)
    .option(
      '--requirements <[kind=]@file|text>',
      `replace the packages an agent installs, from a file (@requirements.txt) or text; kind ${REQUIREMENT_KINDS.join(', ')} ` +
        '(default: npm for a task that records npm packages only, else pip)',
    )
    .addHelpText(
      'after',
      `
Only a draft can be edited: clone a finished task first (tasklane task clone ID). A parameter keeps the type it
has (a new one is typed from its text: 5 int, 0.1 float, true bool, else str); a name without a section is in
General. Args/<name> are the script's command-line arguments; General and other sections are what the script
connected (task.connect). A configuration object from a file is typed by its extension (yaml, json, ...).

Examples:
  tasklane task edit 3f2c9a1b --param Args/lr=0.05 --param Args/epochs=10
  tasklane task edit 3f2c9a1b --param General/momentum=0.95 --config model=@model.yaml
  tasklane task edit 3f2c9a1b --requirements @requirements.txt      # pin versions: they win over what was recorded`,
    )
    .action(async (ref: string, options: EditOptions) => {
      const params = (options.param ?? []).map(parseParamAssignment);
      const configs = await Promise.all((options.config ?? []).map(parseConfigAssignment));
      if (params.length === 0 && configs.length === 0 && options.requirements === undefined) {
        usage('Nothing to edit: give --param Section/name=value, --config name=@file or --requirements @requirements.txt.');
      }
      const api = clientFor(options);
      const id = await resolveTaskId(api, ref);
      const { task: current } = await api.call('tasks.get_by_id', { task: id });
      if (current.status !== 'created') {
        throw new TasklaneError(
          'TASK_READ_ONLY',
          `Cannot edit task ${shortId(id)}: its status is "${current.status}" (${TASK_STATUS_LABEL[current.status]}); only a draft can be edited. ` +
            `Clone it and edit the clone: tasklane task clone ${shortId(id)}` +
            (current.status === 'queued' ? `, or take it out of its queue first: tasklane task dequeue ${shortId(id)}` : ''),
          { task: id, current_status: current.status },
        );
      }
      const lines: string[] = [];
      if (params.length > 0) {
        const hyperparams = params.map(({ section, name, value }) => {
          const existing = current.hyperparams[section]?.[name];
          lines.push(`  ${section}/${name}: ${existing ? `${existing.value ?? ''} → ` : '(new) '}${value}`);
          return { section, name, value, type: existing?.type ?? inferType(value), description: existing?.description };
        });
        await api.call('tasks.edit_hyper_params', { task: id, hyperparams, replace_hyperparams: 'none' });
      }
      if (configs.length > 0) {
        const configuration = configs.map(({ name, value, fileType }) => {
          const existing = current.configuration[name];
          const type = fileType ?? existing?.type ?? (isJsonObject(value) ? 'dictionary' : 'text');
          lines.push(`  configuration "${name}": ${type}, ${value.split('\n').length} lines${existing ? '' : ' (new)'}`);
          return { name, value, type, description: existing?.description };
        });
        await api.call('tasks.edit_configuration', { task: id, configuration });
      }
      if (options.requirements !== undefined) {
        const recorded = current.script?.requirements as Record<string, unknown> | undefined;
        const { kind, value } = await parseRequirements(options.requirements, recorded);
        await api.call('tasks.set_requirements', { task: id, requirements: { ...recorded, [kind]: value } });
        const count = value.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#')).length;
        lines.push(`  requirements (${kind}): ${count} ${count === 1 ? 'package' : 'packages'}${recorded?.[kind] === undefined ? ' (new)' : ''}`);
      }
      if (options.json) {
        const { task: edited } = await api.call('tasks.get_by_id', { task: id });
        return printJson({ id, hyperparams: edited.hyperparams, configuration: edited.configuration, requirements: edited.script?.requirements });
      }
      process.stdout.write(`Edited draft ${shortId(id)}:\n${lines.join('\n')}\n`);
    });
}
