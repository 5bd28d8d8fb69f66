import type { ArgParam } from './argv.js';

/** The argument parsers Tasklane knows how to listen to. */
export type ArgParserName = 'commander' | 'yargs';

/**
 * One `hookArgParsers` call's callbacks, shared by every patched method of a prototype.
 * @internal
 */
export interface ParseListener {
  onParsed: (params: ArgParam[], parser: ArgParserName) => void;
  overrides?: () => Record<string, string> | undefined;
  onError?: (error: unknown, parser: ArgParserName) => void;
}

// `any`: patched methods keep whatever signature they had.
type AnyMethod = (this: any, ...args: any[]) => any;

/** Builds the replacement of one method from the original and the live set of listeners. */
export type MethodWrapper = (original: AnyMethod, listeners: ReadonlySet<ParseListener>) => AnyMethod;

interface PatchRecord {
  listeners: Set<ParseListener>;
  restore: () => boolean;
}

const patches = new WeakMap<object, PatchRecord>();

/**
 * Wraps methods of a class prototype once, however many listeners come and go: the wrappers read the live listener
 * set, so a second `hookArgParsers` adds a listener instead of wrapping the wrappers. The returned function removes
 * the listener, and the last one out puts the original methods back (unless someone wrapped them after us; then
 * our wrappers stay and pass calls straight through).
 * @internal
 */
export function listenOnPrototype(
  prototype: object,
  wrappers: Record<string, MethodWrapper>,
  listener: ParseListener,
): () => void {
  let record = patches.get(prototype);
  if (!record) {
    const listeners = new Set<ParseListener>();
    const installed: Array<{ name: string; descriptor: PropertyDescriptor; wrapper: AnyMethod }> = [];
    for (const [name, wrap] of Object.entries(wrappers)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      if (!descriptor || typeof descriptor.value !== 'function') continue;
      const wrapper = wrap(descriptor.value as AnyMethod, listeners);
      Object.defineProperty(wrapper, 'name', { value: name });
      Object.defineProperty(prototype, name, { ...descriptor, value: wrapper });
      installed.push({ name, descriptor, wrapper });
    }
    const restore = (): boolean => {
      const isOurs = installed.every(({ name, wrapper }) => (prototype as Record<string, unknown>)[name] === wrapper);
      if (!isOurs) return false;
      for (const { name, descriptor } of installed) Object.defineProperty(prototype, name, descriptor);
      return true;
    };
    record = { listeners, restore };
    patches.set(prototype, record);
  }
  const current = record;
  current.listeners.add(listener);
  return () => {
    if (!current.listeners.delete(listener) || current.listeners.size > 0) return;
    if (current.restore()) patches.delete(prototype);
  };
}

/**
 * The overrides of every listener merged (later listeners win); `undefined` when there are none.
 * @internal
 */
export function mergedOverrides(listeners: ReadonlySet<ParseListener>, parser: ArgParserName): Record<string, string> | undefined {
  let merged: Record<string, string> | undefined;
  for (const listener of listeners) {
    try {
      const overrides = listener.overrides?.();
      if (overrides && Object.keys(overrides).length > 0) merged = { ...merged, ...overrides };
    } catch (error) {
      listener.onError?.(error, parser);
    }
  }
  return merged;
}

/**
 * Calls every listener's `onParsed`; a listener that throws never breaks the user's argument parsing.
 * @internal
 */
export function notifyParsed(listeners: ReadonlySet<ParseListener>, parser: ArgParserName, params: ArgParam[]): void {
  for (const listener of listeners) {
    try {
      listener.onParsed(params, parser);
    } catch (error) {
      reportError(listener, error, parser);
    }
  }
}

/**
 * Hands an error of ours to the listeners' `onError`, never throwing.
 * @internal
 */
export function reportError(listener: ParseListener, error: unknown, parser: ArgParserName): void {
  try {
    listener.onError?.(error, parser);
  } catch {
    // an error handler that throws has nowhere left to report to
  }
}

/**
 * Runs `task` guarded: Tasklane's own failures go to the listeners and the user's parse goes on.
 * @internal
 */
export function guarded(listeners: ReadonlySet<ParseListener>, parser: ArgParserName, task: () => void): void {
  try {
    task();
  } catch (error) {
    for (const listener of listeners) reportError(listener, error, parser);
  }
}
