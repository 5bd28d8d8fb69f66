import { castParam, formatParamValue, paramTypeOf, type ArgParam, type ArgParamType } from './argv.js';
import { guarded, mergedOverrides, notifyParsed, type MethodWrapper, type ParseListener } from './prototype-patch.js';

/** The parts of commander's `Option` we read (stable from commander 8 to 14). */
interface CommanderOption {
  flags: string;
  description?: string;
  defaultValue?: unknown;
  required?: boolean;
  optional?: boolean;
  negate?: boolean;
  variadic?: boolean;
  attributeName(): string;
  isBoolean?(): boolean;
}

/** The parts of commander's `Command` we read and call. */
interface CommanderCommand {
  options: readonly CommanderOption[];
  parent?: CommanderCommand | null;
  _versionOptionName?: string;
  opts(): Record<string, unknown>;
  name(): string;
  hook?(event: 'preAction', listener: (hooked: CommanderCommand, action: CommanderCommand) => void): unknown;
  setOptionValue(key: string, value: unknown): unknown;
  setOptionValueWithSource?(key: string, value: unknown, source: string): unknown;
}

/** Commands that carry our preAction hook (added on their first parse). */
const hookedCommands = new WeakSet<object>();
/** Commands whose current parse has been captured already (by the preAction hook, before the action ran). */
const capturedCommands = new WeakSet<object>();

function distinctOptions(command: CommanderCommand): CommanderOption[] {
  const seen = new Set<string>();
  return command.options.filter((option) => {
    const name = option.attributeName();
    if (seen.has(name) || name === command._versionOptionName) return false;
    seen.add(name);
    return true;
  });
}

function optionType(option: CommanderOption, value: unknown): ArgParamType {
  const isBoolean = option.isBoolean ? option.isBoolean() : !option.required && !option.optional;
  if (option.negate || isBoolean) return 'bool';
  if (option.variadic) return 'list';
  return paramTypeOf(value !== undefined ? value : option.defaultValue);
}

function optionParams(command: CommanderCommand, prefix: string): ArgParam[] {
  const values = command.opts();
  return distinctOptions(command).map((option) => {
    const name = option.attributeName();
    const value = values[name];
    const param: ArgParam = { name: prefix + name, value: formatParamValue(value), type: optionType(option, value) };
    if (option.description) param.description = option.description;
    // `--no-cache` alone makes `cache` default to true without setting defaultValue
    const defaultValue = option.defaultValue ?? (option.negate ? true : undefined);
    if (defaultValue !== undefined) param.default = formatParamValue(defaultValue);
    return param;
  });
}

/** Sets the server's values, typed like the option's current value (or default); unchanged text is left alone. */
function applyOverrides(command: CommanderCommand, prefix: string, overrides: Record<string, string>): void {
  const values = command.opts();
  for (const option of distinctOptions(command)) {
    const name = option.attributeName();
    const text = overrides[prefix + name];
    const current = values[name];
    if (text === undefined || text === formatParamValue(current)) continue;
    const value = castParam(text, optionType(option, current));
    if (command.setOptionValueWithSource) command.setOptionValueWithSource(name, value, 'config');
    else command.setOptionValue(name, value);
  }
}

/** From the command `parse` was called on down to the one whose action runs; sub-command options get `sub.` names. */
function commandChain(root: CommanderCommand, action: CommanderCommand): Array<{ command: CommanderCommand; prefix: string }> {
  const path: CommanderCommand[] = [];
  for (let command: CommanderCommand | null | undefined = action; command; command = command.parent) {
    path.unshift(command);
    if (command === root) break;
  }
  if (path[0] !== root) return [{ command: root, prefix: '' }];
  return path.map((command, index) => ({
    command,
    prefix: path
      .slice(1, index + 1)
      .map((step) => `${step.name()}.`)
      .join(''),
  }));
}

function capture(root: CommanderCommand, action: CommanderCommand, listeners: ReadonlySet<ParseListener>): void {
  if (capturedCommands.has(root)) return;
  capturedCommands.add(root);
  guarded(listeners, 'commander', () => {
    const chain = commandChain(root, action);
    const overrides = mergedOverrides(listeners, 'commander');
    if (overrides) for (const { command, prefix } of chain) applyOverrides(command, prefix, overrides);
    notifyParsed(listeners, 'commander', chain.flatMap(({ command, prefix }) => optionParams(command, prefix)));
  });
}

/**
 * Before the original parse: forget the previous parse, and give the command a preAction hook (once) so a script
 * whose work runs inside `.action()` is captured, and sees the server's values, before that action starts.
 */
function prepare(command: CommanderCommand, listeners: ReadonlySet<ParseListener>): void {
  capturedCommands.delete(command);
  if (hookedCommands.has(command) || typeof command.hook !== 'function') return;
  hookedCommands.add(command);
  command.hook('preAction', (hooked, action) => {
    if (listeners.size > 0) capture(hooked, action, listeners);
  });
}

/**
 * Wrappers of commander's `Command.prototype.parse` and `parseAsync`: after the original parse (or in the preAction
 * hook, when an action handler runs) the options are reported and the server's values applied.
 * @internal
 */
export const COMMANDER_WRAPPERS: Record<string, MethodWrapper> = {
  parse: (original, listeners) =>
    function (this: CommanderCommand, ...args: unknown[]): unknown {
      if (listeners.size === 0) return original.apply(this, args);
      guarded(listeners, 'commander', () => prepare(this, listeners));
      const result: unknown = original.apply(this, args);
      capture(this, this, listeners);
      return result;
    },
  parseAsync: (original, listeners) =>
    function (this: CommanderCommand, ...args: unknown[]): unknown {
      if (listeners.size === 0) return original.apply(this, args);
      guarded(listeners, 'commander', () => prepare(this, listeners));
      return Promise.resolve(original.apply(this, args)).then((result: unknown) => {
        capture(this, this, listeners);
        return result;
      });
    },
};
