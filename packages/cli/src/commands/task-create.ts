import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { Option, type Command } from 'commander';
import { TASK_TYPES, TasklaneError, type HyperParams, type TaskType } from '@tasklane/protocol';
import { ARGS_SECTION, parseScriptArgs, splitCommandLine } from '@tasklane/agent';
import { clientFor, printJson, type ApiOptions } from '../api-options.js';

const execFileAsync = promisify(execFile);

interface CreateOptions extends ApiOptions {
  project: string;
  name: string;
  repo?: string;
  branch?: string;
  commit?: string;
  script: string;
  args?: string;
  requirements?: string[];
  requirementsFile?: string;
  interpreter?: string;
  workingDir?: string;
  queue?: string;
  type: TaskType;
  tags?: string[];
  comment?: string;
}

function usage(message: string): never {
  throw new TasklaneError('INVALID_INPUT', message);
}

async function git(cwd: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('git', args, { cwd });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * The code part of a task made from a repository: a local path becomes its repository root (absolute), the script
 * a path relative to it; the script is checked to be in the repository at the commit (or branch) when the local
 * repository has it, with a warning when it does not (the agent will tell).
 */
async function repositoryCode(options: CreateOptions): Promise<{ repository: string; entryPoint: string }> {
  const repo = options.repo!;
  const localDir = resolve(repo);
  if (!existsSync(localDir) || !statSync(localDir).isDirectory()) {
    if (/^[./~]/.test(repo) || isAbsolute(repo)) usage(`--repo ${repo}: no such folder; give a git URL or the path of a local repository.`);
    return { repository: repo, entryPoint: toPosix(options.script).replace(/^\.\//, '') };
  }
  const root = await git(localDir, ['rev-parse', '--show-toplevel']);
  if (!root) usage(`--repo ${repo}: not a git repository (git rev-parse found none there).`);
  const scriptOnDisk = resolve(options.script);
  const entryPoint = toPosix(
    isAbsolute(options.script) || (existsSync(scriptOnDisk) && scriptOnDisk.startsWith(`${root}${sep}`))
      ? relative(root, scriptOnDisk)
      : options.script.replace(/^\.\//, ''),
  );
  if (entryPoint.startsWith('../')) usage(`--script ${options.script} is outside the repository ${root}.`);
  const wanted = options.commit ?? options.branch ?? 'HEAD';
  const candidates = options.commit ? [wanted] : [wanted, `origin/${wanted}`];
  let rev: string | undefined;
  for (const candidate of candidates) {
    rev ??= await git(root, ['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`]);
  }
  if (!rev) {
    process.stderr.write(
      `warning: ${options.commit ? `commit ${options.commit}` : options.branch ? `branch ${options.branch}` : 'HEAD'} is not in ${root}; ` +
        'the agent will fail at checkout unless it is there when the task runs.\n',
    );
  } else if ((await git(root, ['cat-file', '-e', `${rev}:${entryPoint}`])) === undefined) {
    usage(`--script ${entryPoint} is not in ${root} at ${wanted}; give the path relative to the repository root (files there: git -C ${root} ls-tree -r --name-only ${wanted}).`);
  }
  return { repository: root, entryPoint };
}

/** npm requirement lines from `--requirements` and `--requirements-file` (a package.json, or one spec per line). */
async function requirementLines(options: CreateOptions): Promise<string[]> {
  const lines = [...(options.requirements ?? [])];
  if (options.requirementsFile) {
    let text: string;
    try {
      text = await readFile(options.requirementsFile, 'utf8');
    } catch (error) {
      usage(`--requirements-file ${options.requirementsFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
    }
    if (basename(options.requirementsFile) === 'package.json' || extname(options.requirementsFile) === '.json') {
      let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      try {
        manifest = JSON.parse(text) as typeof manifest;
      } catch (error) {
        usage(`--requirements-file ${options.requirementsFile}: not valid JSON (${(error as Error).message}).`);
      }
      for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) lines.push(`${name}@${range}`);
    } else {
      lines.push(...text.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#')));
    }
  }
  return [...new Set(lines)];
}

export function registerTaskCreateCommand(task: Command, common: (command: Command) => Command): void {
  common(task.command('create'))
    .description('Create a draft from code, without running it (as clearml-task): a repository and script, or a local script file')
    .requiredOption('--project <name>', 'project of the task (a/b nests; created if missing)')
    .requiredOption('--name <name>', 'task name (at least 3 characters)')
    .option('--repo <url|path>', 'git repository: a URL, or the path of a local repository')
    .option('--branch <branch>', 'branch to run (its head when no --commit)')
    .option('--commit <commit>', 'commit to run')
    .requiredOption('--script <path>', 'entry point: a path in the repository with --repo, else a local file whose content is stored')
    .option('--args <text>', 'the script\'s arguments, e.g. "--lr 0.1 --epochs 3 data.csv" (stored as the Args section, editable)')
    .option('--requirements <spec...>', 'npm packages to install before running, e.g. commander@14.0.3 lodash@^4')
    .option('--requirements-file <file>', 'a package.json (its dependencies) or a text file with one npm spec per line')
    .option('--interpreter <binary>', 'what runs the script: node (default), python3, bash, ...')
    .option('--working-dir <dir>', 'folder to run in, relative to the repository root (default: .)')
    .option('-q, --queue <name>', 'enqueue the new draft in this queue (created if missing)')
    .addOption(new Option('--type <type>', 'task type').choices([...TASK_TYPES]).default('training'))
    .option('--tags <tag...>', 'tags of the task')
    .option('--comment <text>', 'description of the task')
    .addHelpText(
      'after',
      `
An agent runs the draft once it is enqueued (--queue here, or tasklane task enqueue): it clones the repository at
the commit (the branch head when none; the default branch when neither), or writes the stored script; installs the
requirements (npm ci when the repository has a package-lock.json); runs the script with the interpreter and the
arguments of the Args section (edit them first with tasklane task edit ID --param Args/lr=0.05).

Examples:
  tasklane task create --project demo --name "lr sweep 1" --repo https://github.com/me/train.git \\
      --branch main --script src/train.mjs --args "--lr 0.1 --epochs 3" --queue default
  tasklane task create --project demo --name "local repo" --repo ~/code/train --script train.mjs
  tasklane task create --project demo --name "quick job" --script ./job.sh --interpreter bash --args "--size 10"
  tasklane task create --project demo --name "with deps" --script ./fit.mjs --requirements commander@14.0.3`,
    )
    .action(async (options: CreateOptions) => {
      if (!options.repo && (options.branch || options.commit)) usage('--branch and --commit need --repo (the repository they belong to).');
      let code: { repository: string; entryPoint: string; diff: string };
      if (options.repo) {
        code = { ...(await repositoryCode(options)), diff: '' };
      } else {
        let content: string;
        try {
          content = await readFile(options.script, 'utf8');
        } catch (error) {
          const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
          usage(`--script ${options.script}: ${why}. Without --repo, --script is a local file whose content the task stores.`);
        }
        code = { repository: '', entryPoint: basename(options.script), diff: content };
      }
      const args = options.args === undefined ? [] : parseScriptArgs(splitCommandLine(options.args));
      const hyperparams: HyperParams | undefined =
        args.length > 0 ? { [ARGS_SECTION]: Object.fromEntries(args.map((a) => [a.name, { section: ARGS_SECTION, ...a }])) } : undefined;
      const requirements = await requirementLines(options);
      const api = clientFor(options);
      const { id } = await api.call('tasks.create', {
        name: options.name,
        project_name: options.project,
        type: options.type,
        tags: options.tags,
        comment: options.comment,
        script: {
          repository: code.repository,
          branch: options.branch ?? '',
          version_num: options.commit ?? '',
          entry_point: code.entryPoint,
          working_dir: options.workingDir ?? '.',
          binary: options.interpreter ?? 'node',
          diff: code.diff,
          requirements: requirements.length > 0 ? { npm: requirements.join('\n') } : undefined,
        },
        hyperparams,
      });
      const enqueued = options.queue ? await api.call('tasks.enqueue', { task: id, queue_name: options.queue }) : undefined;
      if (options.json) return printJson({ id, queued: enqueued ? 1 : 0, queue: enqueued?.queue });
      process.stdout.write(`Created draft ${id} "${options.name}" in project "${options.project}"\n`);
      if (enqueued) process.stdout.write(`Enqueued it in queue "${options.queue}"\n`);
      else process.stdout.write(`Run it with an agent: tasklane task enqueue ${id.slice(0, 8)} --queue default\n`);
    });
}
