/** Type of a captured argument, as stored in the task's `Args` hyperparameter section. */
export type ArgParamType = 'str' | 'int' | 'float' | 'bool' | 'list';

/** One command-line argument of the script, recorded as a hyperparameter of the `Args` section. */
export interface ArgParam {
  /** Option name without dashes (`lr` for `--lr`), or `_` for the positional arguments. */
  name: string;
  /** The value as text; lists are JSON text (`["a","b"]`). */
  value: string;
  /** How to turn `value` back into what the script saw; see {@link castParam}. */
  type: ArgParamType;
  /** Help text, when the argument parser has one. */
  description?: string;
  /** The default value as text, when the argument parser has one. */
  default?: string;
}

const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;
const FLOAT_TEXT = /^-?(?:\d+\.\d*|\.\d+|\d+(?:\.\d*)?[eE][+-]?\d+)$/;
const TRUE_TEXTS = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE_TEXTS = new Set(['false', '0', 'no', 'n', 'off', '']);

/**
 * Infers the type of an argument from its text: `5` is an int, `0.1` and `1e-3` are floats, `true`/`false` are
 * bools, everything else (`007`, `abc`, `1.2.3`) is a string.
 */
export function inferParamType(text: string): ArgParamType {
  if (INTEGER_TEXT.test(text)) return Number.isSafeInteger(Number(text)) ? 'int' : 'str';
  if (FLOAT_TEXT.test(text)) return Number.isFinite(Number(text)) ? 'float' : 'str';
  if (text === 'true' || text === 'false') return 'bool';
  return 'str';
}

/** The type of a value an argument parser produced: boolean → bool, integer → int, array → list, and so on. */
export function paramTypeOf(value: unknown): ArgParamType {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return 'list';
  return 'str';
}

/** Renders a parsed value as the text stored on the server: `undefined` → `''`, arrays and objects → JSON. */
export function formatParamValue(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Date) return value.toISOString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value); // circular structures: text is all we can keep
  }
}

/**
 * Turns a stored argument value back into the type the script expects.
 *
 * - `int`/`float` → number (text that is not a number is returned unchanged);
 * - `bool` → boolean (`true/1/yes/y/on` and `false/0/no/n/off/''`, any case; other text is returned unchanged);
 * - `list` → array (JSON array text; otherwise the text split at commas, `''` → `[]`);
 * - anything else → the text itself.
 *
 * @example castParam('0.1', 'float') // 0.1
 */
export function castParam(value: string, type: string): unknown {
  switch (type) {
    case 'int':
    case 'float': {
      const trimmed = value.trim();
      const number = Number(trimmed);
      return trimmed !== '' && Number.isFinite(number) ? number : value;
    }
    case 'bool': {
      const lowered = value.trim().toLowerCase();
      if (TRUE_TEXTS.has(lowered)) return true;
      if (FALSE_TEXTS.has(lowered)) return false;
      return value;
    }
    case 'list': {
      const trimmed = value.trim();
      if (trimmed === '') return [];
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        // not JSON: fall through to the comma-separated form
      }
      return trimmed.split(',').map((item) => item.trim());
    }
    default:
      return value;
  }
}

type ArgvEntry = { kind: 'text'; text: string } | { kind: 'flag'; value: boolean };

function isOptionToken(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && token !== '--' && inferParamType(token) === 'str';
}

function entryValue(entry: ArgvEntry): unknown {
  return entry.kind === 'flag' ? entry.value : castParam(entry.text, inferParamType(entry.text));
}

/**
 * Turns raw command-line arguments (`process.argv.slice(2)`) into named parameters, for scripts that do not use an
 * argument parser Tasklane knows.
 *
 * `--lr 0.1`, `--lr=0.1`, `-n 5` give a value (typed by {@link inferParamType}); `--flag` followed by another option
 * or nothing is a bool `true`; `--no-cache` is `cache` = `false`; a key given more than once becomes a `list` (JSON
 * text of the typed values); the positional arguments (and everything after `--`) become one `list` param named `_`.
 * Single-dash tokens are read like double-dash ones (`-lr 0.1` is `lr`, `-abc` is one flag `abc`), and a value that
 * looks like a negative number (`--delta -1`) is a value, not an option. Without a parser's knowledge, `--verbose
 * file.txt` reads `file.txt` as the value of `verbose`.
 *
 * @example parseArgv(['--lr', '0.1', '--no-cache', 'data.csv'])
 * // [{ name: 'lr', value: '0.1', type: 'float' }, { name: 'cache', value: 'false', type: 'bool' },
 * //  { name: '_', value: '["data.csv"]', type: 'list' }]
 */
export function parseArgv(args: readonly string[]): ArgParam[] {
  const entries = new Map<string, ArgvEntry[]>();
  const positionals: string[] = [];
  const add = (name: string, entry: ArgvEntry): void => {
    const list = entries.get(name);
    if (list) list.push(entry);
    else entries.set(name, [entry]);
  };

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
    const body = token.startsWith('--') ? token.slice(2) : token.slice(1);
    const equals = body.indexOf('=');
    if (equals > 0) {
      add(body.slice(0, equals), { kind: 'text', text: body.slice(equals + 1) });
      continue;
    }
    if (equals === 0) {
      positionals.push(token); // `--=x` names nothing
      continue;
    }
    if (token.startsWith('--no-') && body.length > 3) {
      add(body.slice(3), { kind: 'flag', value: false });
      continue;
    }
    const next = args[index + 1];
    if (next !== undefined && next !== '--' && !isOptionToken(next)) {
      add(body, { kind: 'text', text: next });
      index += 1;
    } else {
      add(body, { kind: 'flag', value: true });
    }
  }

  const params: ArgParam[] = [];
  for (const [name, list] of entries) {
    const [only] = list;
    if (list.length === 1 && only) {
      params.push(
        only.kind === 'flag'
          ? { name, value: String(only.value), type: 'bool' }
          : { name, value: only.text, type: inferParamType(only.text) },
      );
    } else {
      params.push({ name, value: JSON.stringify(list.map(entryValue)), type: 'list' });
    }
  }
  if (positionals.length > 0) params.push({ name: '_', value: JSON.stringify(positionals), type: 'list' });
  return params;
}
