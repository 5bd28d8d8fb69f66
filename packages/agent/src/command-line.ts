import { TasklaneError, type HyperParams } from '@tasklane/protocol';

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

const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;
const FLOAT_TEXT = /^-?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)$/;

/** The type of an argument's text, as the SDK infers it: `5` int, `0.1` float, `true` bool, else str. */
function typeOfText(text: string): ScriptArg['type'] {
  if (INTEGER_TEXT.test(text) && Number.isSafeInteger(Number(text))) return 'int';
  if (FLOAT_TEXT.test(text) && Number.isFinite(Number(text))) return 'float';
  if (text === 'true' || text === 'false') return 'bool';
  return 'str';
}

function isOptionToken(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && token !== '--' && typeOfText(token) === 'str';
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
 * without an argument parser: `--name value` and `--name=value` give a typed value, a lone `--flag` is a bool,
 * `--no-flag` is `flag=false`, a repeated name is a list, and positionals (and all after `--`) go to `_`.
 */
export function parseScriptArgs(args: readonly string[]): ScriptArg[] {
  const values = new Map<string, unknown[]>();
  const positionals: string[] = [];
  const add = (name: string, value: unknown) => values.set(name, [...(values.get(name) ?? []), value]);
  for (let index = 0; index < args.length; index += 1) {
    const token = args[index]!;
    if (token === '--') {
      positionals.push(...args.slice(index + 1));
      break;
    }
    if (!isOptionToken(token)) {
      positionals.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const equals = body.indexOf('=');
    if (equals > 0) add(body.slice(0, equals), body.slice(equals + 1));
    else if (body.startsWith('no-') && body.length > 3) add(body.slice(3), false);
    else if (args[index + 1] !== undefined && args[index + 1] !== '--' && !isOptionToken(args[index + 1]!)) add(body, args[++index]);
    else add(body, true);
  }
  const out: ScriptArg[] = [];
  for (const [name, list] of values) {
    if (list.length === 1) {
      const only = list[0];
      out.push(typeof only === 'boolean' ? { name, value: String(only), type: 'bool' } : { name, value: String(only), type: typeOfText(String(only)) });
    } else {
      out.push({ name, value: JSON.stringify(list.map((v) => (typeof v === 'string' && typeOfText(v) !== 'str' ? JSON.parse(v) : v))), type: 'list' });
    }
  }
  if (positionals.length > 0) out.push({ name: POSITIONALS_NAME, value: JSON.stringify(positionals), type: 'list' });
  return out;
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

function listItems(text: string): string[] {
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
