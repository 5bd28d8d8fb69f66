import { castParam, formatParamValue, paramTypeOf, type ArgParam, type ArgParamType } from './argv.js';
import { guarded, mergedOverrides, notifyParsed, type MethodWrapper, type ParseListener } from './prototype-patch.js';

/** What `yargs.getOptions()` holds (yargs 17 and 18). */
interface YargsOptions {
  key?: Record<string, unknown>;
  alias?: Record<string, readonly string[]>;
  default?: Record<string, unknown>;
  boolean?: readonly string[];
  number?: readonly string[];
  string?: readonly string[];
  array?: readonly string[];
  count?: readonly string[];
}

/** The parts of a yargs instance we read and call. */
interface YargsInstance {
  getOptions?(): YargsOptions;
  middleware?(callback: (argv: Record<string, unknown>) => void, applyBeforeValidation?: boolean): unknown;
  getInternalMethods?(): { getUsageInstance?(): { getDescriptions?(): Record<string, unknown> } };
  parsed?: false | { aliases?: Record<string, readonly string[]> };
}

type Argv = Record<string, unknown>;

/** yargs marks the descriptions of its own options (help, version, completion) with this prefix. */
const BUILT_IN_DESCRIPTION = '__yargsString__:';
const NOT_OPTIONS = new Set(['_', '$0', '--']);

/** Instances given our capture middleware. */
const instancesWithMiddleware = new WeakSet<object>();
/** Instances inside a parse of ours (yargs may re-enter `parse`, e.g. `.argv` read in a builder). */
const instancesParsing = new WeakSet<object>();
/** The current parse of each instance: whether the middleware captured it already. */
const currentParse = new WeakMap<object, { isCaptured: boolean }>();

function camelCase(key: string): string {
  return key.includes('-') ? key.replace(/-+([^-])/g, (_match, char: string) => char.toUpperCase()) : key;
}

interface OptionGroup {
  /** The name recorded: the option as declared (`learning-rate`), never an alias or camelCase twin. */
  name: string;
  /** The name and every alias and camelCase twin. */
  keys: string[];
}

/**
 * Groups argv keys by option: declared options first, in declaration order, then anything else the parser put in
 * argv (undeclared flags, command options and positionals). Aliases and camelCase twins join their option's group.
 */
function optionGroups(instance: YargsInstance, argv: Argv): { groups: OptionGroup[]; options: YargsOptions; descriptions: Record<string, unknown> } {
  const options = instance.getOptions?.() ?? {};
  const descriptions = instance.getInternalMethods?.().getUsageInstance?.().getDescriptions?.() ?? {};
  const parsedAliases = (instance.parsed && instance.parsed.aliases) || {};
  const links = new Map<string, Set<string>>();
  const link = (left: string, right: string): void => {
    if (left === right) return;
    for (const [from, to] of [[left, right], [right, left]] as const) {
      const set = links.get(from) ?? new Set<string>();
      set.add(to);
      links.set(from, set);
    }
  };
  for (const aliasMap of [options.alias ?? {}, parsedAliases]) {
    for (const [key, aliases] of Object.entries(aliasMap)) for (const alias of aliases) link(key, alias);
  }
  const candidates = [
    ...Object.keys(options.key ?? {}),
    ...Object.keys(options.default ?? {}),
    ...[options.boolean, options.number, options.string, options.array, options.count].flatMap((list) => list ?? []),
    ...Object.keys(argv),
  ];
  for (const key of candidates) link(key, camelCase(key));

  const taken = new Set<string>();
  const groups: OptionGroup[] = [];
  for (const name of candidates) {
    if (taken.has(name) || NOT_OPTIONS.has(name)) continue;
    const keys: string[] = [];
    const pending = [name];
    while (pending.length > 0) {
      const key = pending.pop()!;
      if (taken.has(key)) continue;
      taken.add(key);
      keys.push(key);
      pending.push(...(links.get(key) ?? []));
    }
    const isBuiltIn = keys.some((key) => {
      const description = descriptions[key];
      return typeof description === 'string' && description.startsWith(BUILT_IN_DESCRIPTION);
    });
    if (!isBuiltIn) groups.push({ name, keys });
  }
  return { groups, options, descriptions };
}

function valueOf(group: OptionGroup, argv: Argv): unknown {
  for (const key of group.keys) if (argv[key] !== undefined) return argv[key];
  return undefined;
}

function groupType(group: OptionGroup, options: YargsOptions, value: unknown): ArgParamType {
  const isIn = (list: readonly string[] | undefined): boolean => group.keys.some((key) => list?.includes(key));
  if (isIn(options.boolean)) return 'bool';
  if (isIn(options.count)) return 'int';
  if (isIn(options.array)) return 'list';
  if (isIn(options.number)) return value === undefined ? 'float' : paramTypeOf(value);
  if (isIn(options.string)) return 'str';
  const fallback = value !== undefined ? value : group.keys.map((key) => options.default?.[key]).find((item) => item !== undefined);
  return paramTypeOf(fallback);
}

function yargsParams(instance: YargsInstance, argv: Argv): ArgParam[] {
  const { groups, options, descriptions } = optionGroups(instance, argv);
  return groups.map((group) => {
    const value = valueOf(group, argv);
    const param: ArgParam = { name: group.name, value: formatParamValue(value), type: groupType(group, options, value) };
    const description = group.keys.map((key) => descriptions[key]).find((item) => typeof item === 'string' && item !== '');
    if (typeof description === 'string') param.description = description;
    const defaultKey = group.keys.find((key) => options.default !== undefined && Object.hasOwn(options.default, key));
    if (defaultKey !== undefined) param.default = formatParamValue(options.default?.[defaultKey]);
    return param;
  });
}

/** Writes the server's values into argv, with the option's type, under the name and every alias/camelCase twin. */
function applyOverrides(instance: YargsInstance, argv: Argv, overrides: Record<string, string>): void {
  const { groups, options } = optionGroups(instance, argv);
  for (const group of groups) {
    const text = overrides[group.name];
    const current = valueOf(group, argv);
    if (text === undefined || text === formatParamValue(current)) continue;
    const value = castParam(text, groupType(group, options, current));
    for (const key of group.keys) if (key === group.name || Object.hasOwn(argv, key)) argv[key] = value;
  }
}

function isArgv(value: unknown): value is Argv {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** Applies the server's values to argv and reports the options, once per parse. */
function capture(
  instance: YargsInstance,
  argv: unknown,
  listeners: ReadonlySet<ParseListener>,
  parse: { isCaptured: boolean },
): void {
  if (!isArgv(argv)) return;
  guarded(listeners, 'yargs', () => {
    const overrides = mergedOverrides(listeners, 'yargs');
    if (overrides) applyOverrides(instance, argv, overrides);
    if (parse.isCaptured) return;
    parse.isCaptured = true;
    notifyParsed(listeners, 'yargs', yargsParams(instance, argv));
  });
}

/**
 * A global middleware (once per instance) run before validation: argv gets the server's values and the options are
 * reported there, before a command handler (often the whole training run) starts, with the command's own options
 * and descriptions in view. Forms that skip middleware are captured after the parse instead.
 */
function addCaptureMiddleware(instance: YargsInstance, listeners: ReadonlySet<ParseListener>): void {
  if (instancesWithMiddleware.has(instance) || typeof instance.middleware !== 'function') return;
  instancesWithMiddleware.add(instance);
  instance.middleware((argv) => {
    const parse = currentParse.get(instance);
    if (listeners.size > 0 && parse) capture(instance, argv, listeners, parse);
  }, true);
}

/**
 * Wrapper of yargs' `YargsInstance.prototype.parse`, which `.parse()`, `.parseSync()`, `.parseAsync()` and the
 * `.argv` getter all go through. The options are reported once per parse (by the middleware, else after the
 * parse, sync or async), and the returned argv gets the server's values.
 * @internal
 */
export const YARGS_WRAPPERS: Record<string, MethodWrapper> = {
  parse: (original, listeners) =>
    function (this: YargsInstance, ...args: unknown[]): unknown {
      if (listeners.size === 0 || instancesParsing.has(this)) return original.apply(this, args);
      guarded(listeners, 'yargs', () => addCaptureMiddleware(this, listeners));
      const parse = { isCaptured: false };
      currentParse.set(this, parse);
      instancesParsing.add(this);
      let result: unknown;
      try {
        result = original.apply(this, args);
      } finally {
        instancesParsing.delete(this);
      }
      if (isThenable(result)) {
        return result.then((argv) => {
          capture(this, argv, listeners, parse);
          return argv;
        });
      }
      capture(this, result, listeners, parse);
      return result;
    },
};
