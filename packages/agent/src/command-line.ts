import { TasklaneError, type HyperParams } from '@tasklane/protocol';
import { parseArgv } from 'tasklane/args';

/** The hyperparameter section that holds a script's command-line arguments (ClearML's name). */
export const ARGS_SECTION = 'Args';
/** The `Args` item that holds the positional arguments, as JSON list text. */
export const POSITIONALS_NAME = '_';

/** One recorded argument: what `tasklane task create --args` stores in the `Args` section. */
export interface ScriptArg {
  name: string;
  value: string;
  type: 'str' | 'int' | 'float' | 'bool' | 'list';
}

/**
 * Splits a command line the way a POSIX shell would for plain words: whitespace separates, single quotes keep text
 * as is, double quotes keep spaces (with `\"` and `\\` escapes), a backslash outside quotes escapes the next
 * character. No variables, globs or substitutions.
 *
 * @example splitCommandLine(`--name "my run" --tags 'a b'`) // ['--name', 'my run', '--tags', 'a b']
 */
export function splitCommandLine(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let hasWord = false;
  let quote: '"' | "'" | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (text[index + 1] === '"' || text[index + 1] === '\\')) word += text[++index];
      else word += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      hasWord = true;
    } else if (char === '\\' && index + 1 < text.length) {
      word += text[++index];
      hasWord = true;
    } else if (/\s/.test(char)) {
      if (hasWord) words.push(word);
      word = '';
      hasWord = false;
    } else {
      word += char;
      hasWord = true;
    }
  }
  if (quote) throw new TasklaneError('INVALID_INPUT', `Unclosed ${quote} quote in the arguments: ${text}`);
  if (hasWord) words.push(word);
  return words;
}

/**
 * Reads arguments (`['--lr', '0.1', '--verbose', 'data.csv']`) as the `Args` items the SDK records for a script
 * without an argument parser — the SDK's own reading, so a task made by `tasklane task create` looks like one
 * recorded by `Task.init`.
 */
export function parseScriptArgs(args: readonly string[]): ScriptArg[] {
  return parseArgv(args).map(({ name, value, type }) => ({ name, value, type }));
}

/** The default the SDK keeps in a parameter's description (`… — default: 0.01`), if any. */
function defaultOf(description: string | undefined): string | undefined {
  const match = /(?:^| — )default: (.*)$/s.exec(description ?? '');
  return match?.[1];
}

/** `batchSize` → `batch-size` (commander records options by their camelCase attribute name). */
function optionName(name: string): string {
  const kebab = /^[a-z][a-zA-Z0-9]*$/.test(name) && /[A-Z]/.test(name) ? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) : name;
  return kebab.length === 1 ? `-${kebab}` : `--${kebab}`;
}

/** `--name value`; `--name=value` when the value starts with a dash, so parsers do not read it as an option. */
function optionWithValue(flag: string, value: string): string[] {
  return value.startsWith('-') && flag.startsWith('--') ? [`${flag}=${value}`] : [flag, value];
}

/** The items of a stored `list` value, as words: JSON array text (non-strings as JSON), or comma-separated text as the SDK reads it. */
export function listItems(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    if (Array.isArray(parsed)) return parsed.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)));
  } catch {
    // not JSON: comma-separated, as the SDK reads it
  }
  return text.trim() === '' ? [] : text.split(',').map((item) => item.trim());
}

/**
 * Rebuilds a script's arguments from its `Args` section, so values edited on the server apply: positionals (`_`)
 * first, then `--name value` per argument (in the stored order). A bool is a bare flag when true (`--no-name` when
 * false and its recorded default is true; nothing otherwise), a list repeats the option per item, an empty value
 * is left out, and names of sub-command options (`sub.name`) are left to the SDK, which hands the script the stored
 * values anyway.
 *
 * @example buildScriptArgs({ Args: { lr: { value: '0.05', type: 'float' }, _: { value: '["a.csv"]', type: 'list' } } })
 * // ['a.csv', '--lr', '0.05']
 */
export function buildScriptArgs(hyperparams: HyperParams | undefined): string[] {
  const section = hyperparams?.[ARGS_SECTION] ?? {};
  const positionals = section[POSITIONALS_NAME] ? listItems(section[POSITIONALS_NAME].value ?? '') : [];
  const options: string[] = [];
  for (const [key, item] of Object.entries(section)) {
    const name = item.name || key;
    if (name === POSITIONALS_NAME || name.includes('.')) continue;
    const value = item.value ?? '';
    const flag = optionName(name);
    if (item.type === 'bool' || item.type === 'boolean') {
      const isTrue = /^(true|1|yes|y|on)$/i.test(value.trim());
      const fallback = defaultOf(item.description);
      const defaultIsTrue = fallback !== undefined && /^(true|1|yes)$/i.test(fallback.trim());
      if (isTrue && !defaultIsTrue) options.push(flag);
      else if (!isTrue && defaultIsTrue) options.push(`--no-${flag.replace(/^--?/, '')}`);
      continue;
    }
    if (value === '') continue;
    if (item.type === 'list') {
      for (const entry of listItems(value)) options.push(...optionWithValue(flag, entry));
      continue;
    }
    options.push(...optionWithValue(flag, value));
  }
  return [...positionals, ...options];
}
