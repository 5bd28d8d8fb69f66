import { TasklaneError, type HyperParams } from '@tasklane/protocol';
import { castParam, inferParamType, parseArgv, type ArgParam } from 'tasklane/args';
import { ARGS_SECTION, POSITIONALS_NAME, listItems } from './command-line.js';

/** The system tag of tasks made by `tasklane run`: the agent runs their command itself, with no SDK inside. */
export const RUN_SYSTEM_TAG = 'run';
/** The configuration object holding a `tasklane run` task's command template. */
export const RUN_COMMAND_CONFIGURATION = 'Command';

/**
 * One word of the recorded command after the program: literal text, the entry script, an option whose value comes
 * from the `Args` section (`--lr 0.1`, `--lr=0.1`; `item` for repeated options), a flag (`--verbose`; `--no-cache`
 * is `negated`), or the n-th positional argument (`Args/_`).
 */
export type CommandWord =
  | string
  | { entry: true }
  | { option: string; arg: string; form: 'separate' | 'equals'; item?: number }
  | { flag: string; arg: string; negated?: boolean; item?: number }
  | { positional: number };

/** How a `tasklane run` command is rebuilt: its words after the program, stored as JSON in the `Command` object. */
export interface CommandTemplate {
  version: 1;
  words: CommandWord[];
}

/** The recorded command: its template and the `Args` items it refers to. */
export interface RecordedCommand {
  template: CommandTemplate;
  args: ArgParam[];
}

function isOptionToken(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && token !== '--' && inferParamType(token) === 'str';
}

/**
 * Records a command's words after the program: the words before `entryIndex` (interpreter options) and the entry
 * script stay as they are; the rest is read as `tasklane/args`' `parseArgv` reads arguments (`--key value`,
 * `--key=value`, `--flag`, `--no-flag`, repeated keys as lists, positionals as `_`), and each word remembers where
 * its value comes from, so the command is rebuilt word for word — with edited values.
 *
 * @example recordCommand(['train.py', '--lr', '0.1', 'data.csv'], 0).template.words
 * // [{ entry: true }, { option: '--lr', arg: 'lr', form: 'separate' }, { positional: 0 }]
 */
export function recordCommand(words: readonly string[], entryIndex?: number): RecordedCommand {
  const template: CommandWord[] = [];
  const start = entryIndex === undefined ? 0 : entryIndex + 1;
  for (let index = 0; index < start; index += 1) template.push(index === entryIndex ? { entry: true } : words[index]!);

  // Which occurrence of its option each word is: the n-th item of a repeated option's list.
  const counts = new Map<string, number>();
  const add = (name: string): number => {
    const count = counts.get(name) ?? 0;
    counts.set(name, count + 1);
    return count;
  };
  let positionals = 0;
  const positional = () => template.push({ positional: positionals++ });
  for (let index = start; index < words.length; index += 1) {
    const token = words[index]!;
    if (token === '--') {
      template.push('--');
      for (let rest = index + 1; rest < words.length; rest += 1) positional();
      break;
    }
    if (!isOptionToken(token)) {
      positional();
      continue;
    }
    const dashes = token.startsWith('--') ? '--' : '-';
    const body = token.slice(dashes.length);
    const equals = body.indexOf('=');
    if (equals === 0) {
      positional();
      continue;
    }
    if (equals > 0) {
      const name = body.slice(0, equals);
      template.push({ option: `${dashes}${name}`, arg: name, form: 'equals', item: add(name) });
      continue;
    }
    if (dashes === '--' && body.startsWith('no-') && body.length > 3) {
      const name = body.slice(3);
      template.push({ flag: token, arg: name, negated: true, item: add(name) });
      continue;
    }
    const next = words[index + 1];
    if (next !== undefined && next !== '--' && !isOptionToken(next)) {
      template.push({ option: token, arg: body, form: 'separate', item: add(body) });
      index += 1;
    } else {
      template.push({ flag: token, arg: body, item: add(body) });
    }
  }
  // A single-use item index says nothing: keep the template short.
  for (const word of template) {
    if (typeof word === 'object' && 'arg' in word && counts.get(word.arg) === 1) delete word.item;
  }
  // The values themselves, as the SDK reads a script's arguments: the same words, so the same names.
  return { template: { version: 1, words: template }, args: parseArgv(words.slice(start)) };
}

/** Reads the stored template; a clear error when it was edited into something else. */
export function parseCommandTemplate(text: string | undefined): CommandTemplate {
  const problem = (why: string) =>
    new TasklaneError(
      'INVALID_INPUT',
      `the "${RUN_COMMAND_CONFIGURATION}" configuration of this task is not a tasklane run command template (${why}); ` +
        'restore it from the task it was cloned from, or record the command again with tasklane run --queue',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(text ?? '');
  } catch (error) {
    throw problem(`not JSON: ${(error as Error).message}`);
  }
  const words = (parsed as { words?: unknown } | null)?.words;
  if ((parsed as { version?: unknown } | null)?.version !== 1 || !Array.isArray(words)) throw problem('expected {"version": 1, "words": [...]}');
  for (const word of words as unknown[]) {
    if (typeof word === 'string') continue;
    const w = word as Record<string, unknown> | null;
    const isValid =
      w !== null &&
      typeof w === 'object' &&
      (w.entry === true ||
        (typeof w.option === 'string' && typeof w.arg === 'string') ||
        (typeof w.flag === 'string' && typeof w.arg === 'string') ||
        (typeof w.positional === 'number' && Number.isInteger(w.positional) && w.positional >= 0));
    if (!isValid) throw problem(`unknown word ${JSON.stringify(word)}`);
  }
  return parsed as CommandTemplate;
}

/** `--name value` (or `--name=value` for a value that starts with a dash, so it is not read as an option). */
function optionWords(flag: string, value: string, form: 'separate' | 'equals'): string[] {
  return form === 'equals' || (value.startsWith('-') && inferParamType(value) === 'str' && flag.startsWith('--')) ? [`${flag}=${value}`] : [flag, value];
}

function isTrue(value: string): boolean | undefined {
  const cast = castParam(value, 'bool');
  return typeof cast === 'boolean' ? cast : undefined;
}

/**
 * Rebuilds the words after the program from the template and the (edited) `Args` section: each option takes its
 * current value; a flag is given when its value is true (a `--no-x` flag when false); a list fills the recorded
 * places of a repeated option (extra items follow the last one, missing ones are left out); positionals fill their
 * places the same way; an argument deleted from `Args` is left out; one added to it goes at the end (before a `--`)
 * as `--name value`. `entry` is what the entry script word becomes (its path from the working directory).
 *
 * @example renderCommand(template, { Args: { lr: { value: '0.05' } } }, 'train.py') // ['train.py', '--lr', '0.05']
 */
export function renderCommand(template: CommandTemplate, hyperparams: HyperParams | undefined, entry: string | undefined): string[] {
  const section = hyperparams?.[ARGS_SECTION] ?? {};
  const byName = new Map(Object.entries(section).map(([key, item]) => [item.name || key, item]));
  const lastItem = new Map<string, number>();
  let lastPositional = -1;
  for (const word of template.words) {
    if (typeof word !== 'object') continue;
    if ('arg' in word) lastItem.set(word.arg, Math.max(lastItem.get(word.arg) ?? 0, word.item ?? 0));
    if ('positional' in word) lastPositional = Math.max(lastPositional, word.positional);
  }
  const used = new Set<string>([POSITIONALS_NAME]);
  const positionals = byName.get(POSITIONALS_NAME) ? listItems(byName.get(POSITIONALS_NAME)!.value ?? '') : [];

  /** The values this word stands for: its own item, plus the list's extra items at the last recorded place. */
  const valuesOf = (arg: string, itemIndex: number | undefined): string[] | undefined => {
    const item = byName.get(arg);
    if (!item) return undefined;
    const value = item.value ?? '';
    const isList = item.type === 'list';
    if (!isList) return (itemIndex ?? 0) === 0 ? [value] : [];
    const items = listItems(value);
    const index = itemIndex ?? 0;
    return index === lastItem.get(arg) ? items.slice(index) : items.slice(index, index + 1);
  };

  const out: string[] = [];
  for (const word of template.words) {
    if (typeof word === 'string') {
      out.push(word);
    } else if ('entry' in word) {
      if (entry !== undefined && entry !== '') out.push(entry);
    } else if ('positional' in word) {
      out.push(...(word.positional === lastPositional ? positionals.slice(word.positional) : positionals.slice(word.positional, word.positional + 1)));
    } else if ('option' in word) {
      used.add(word.arg);
      for (const value of valuesOf(word.arg, word.item) ?? []) out.push(...optionWords(word.option, value, word.form));
    } else {
      used.add(word.arg);
      for (const value of valuesOf(word.arg, word.item) ?? []) {
        const truth = isTrue(value);
        if (truth === undefined) out.push(...optionWords(word.negated ? `--${word.arg}` : word.flag, value, 'separate'));
        else if (truth !== Boolean(word.negated)) out.push(word.flag);
      }
    }
  }
  // Positionals added beyond a template that had none.
  if (lastPositional === -1 && positionals.length > 0) out.push(...positionals);

  const added: string[] = [];
  for (const [name, item] of byName) {
    if (used.has(name) || name.includes('.')) continue;
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    const value = item.value ?? '';
    if (item.type === 'bool' || item.type === 'boolean') {
      if (isTrue(value)) added.push(flag);
    } else if (item.type === 'list') {
      for (const entry of listItems(value)) added.push(...optionWords(flag, entry, 'separate'));
    } else if (value !== '') {
      added.push(...optionWords(flag, value, 'separate'));
    }
  }
  const endOfOptions = out.indexOf('--');
  if (endOfOptions === -1) out.push(...added);
  else out.splice(endOfOptions, 0, ...added);
  return out;
}
