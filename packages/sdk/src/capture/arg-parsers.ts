import { access, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArgParam } from './argv.js';
import { COMMANDER_WRAPPERS } from './commander-hook.js';
import { listenOnPrototype, reportError, type ArgParserName, type ParseListener } from './prototype-patch.js';
import { YARGS_WRAPPERS } from './yargs-hook.js';

export type { ArgParserName } from './prototype-patch.js';

/** Options of {@link hookArgParsers}. */
export interface HookArgParsersOptions {
  /** The user's script (`process.argv[1]`): commander and yargs are resolved from here, as the script would. */
  entryFile: string;
  /**
   * Called after each parse with the parsed options: name (commander's attribute name, e.g. `learningRate`; yargs'
   * option as declared, e.g. `learning-rate`; sub-command options as `train.epochs`), value text as the script sees
   * it (after overrides), type, description and default.
   */
  onParsed: (params: ArgParam[], parser: ArgParserName) => void;
  /**
   * Values stored on the server (remote mode), name → value text, same names as `onParsed` reports. Applied after
   * parsing, typed like the option's current value or default; `undefined` (or `{}`) changes nothing. Read at each
   * parse.
   */
  overrides?: () => Record<string, string> | undefined;
  /** Tasklane's own failures while capturing (never the user's parse errors, which propagate untouched). */
  onError?: (error: unknown, parser: ArgParserName) => void;
}

/** What {@link hookArgParsers} installed. */
export interface ArgParserHook {
  /** Stops listening; the original methods come back when no other hook listens. */
  unhook(): void;
  /** The parsers found from the entry script and hooked, e.g. `['commander', 'yargs']`. */
  hookedParsers: ArgParserName[];
}

interface CommanderModule {
  Command?: { prototype: object };
}

interface YargsFactoryModule {
  YargsInstance?: { prototype: object };
  default?: unknown;
}

type YargsFactory = (processArgs?: string[]) => object;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The folder of the installed package `name` that holds `file` (resolved entry point). */
async function packageRoot(file: string, name: string): Promise<string | undefined> {
  for (let current = dirname(file); dirname(current) !== current; current = dirname(current)) {
    try {
      const manifest = JSON.parse(await readFile(join(current, 'package.json'), 'utf8')) as { name?: unknown };
      if (manifest.name === name) return current;
    } catch {
      // no package.json here: keep walking up
    }
  }
  return undefined;
}

function commanderPrototypes(require: NodeJS.Require): object[] {
  // commander's ESM entry (esm.mjs) re-exports the CommonJS classes, so this prototype serves `import` and `require`.
  const commander = require('commander') as CommanderModule;
  return commander.Command ? [commander.Command.prototype] : [];
}

/**
 * The yargs instance prototypes the user's script can reach:
 * - `build/lib/yargs-factory.js` (an ES module) defines the class behind `import yargs from 'yargs'` in yargs 17
 *   and 18, and behind `require('yargs')` in yargs 18 (ESM-only; `require` loads the same module through Node's
 *   require(esm), and ES modules are cached by URL, so importing the file by URL reaches the very class the user
 *   gets);
 * - yargs 17's CommonJS bundle `build/index.cjs` has its own copy of the class, behind `require('yargs')` and
 *   `yargs/yargs`; we take its prototype from a throwaway instance (calling `require('yargs')()` would replace the
 *   singleton the user may rely on).
 */
async function yargsPrototypes(require: NodeJS.Require): Promise<object[]> {
  const root = await packageRoot(require.resolve('yargs'), 'yargs');
  if (!root) return [];
  const prototypes = new Set<object>();
  const factoryFile = join(root, 'build', 'lib', 'yargs-factory.js');
  const esmEntry = join(root, 'index.mjs');
  if (await exists(factoryFile)) {
    const module = (await import(pathToFileURL(factoryFile).href)) as YargsFactoryModule;
    if (module.YargsInstance) prototypes.add(module.YargsInstance.prototype);
  } else if (await exists(esmEntry)) {
    const module = (await import(pathToFileURL(esmEntry).href)) as YargsFactoryModule;
    if (typeof module.default === 'function') prototypes.add(Object.getPrototypeOf((module.default as YargsFactory)([])) as object);
  }
  const cjsBundle = join(root, 'build', 'index.cjs');
  if (await exists(cjsBundle)) {
    const bundle = require(cjsBundle) as { Yargs?: unknown };
    if (typeof bundle.Yargs === 'function') prototypes.add(Object.getPrototypeOf((bundle.Yargs as YargsFactory)([])) as object);
  }
  return [...prototypes].filter((prototype) => typeof (prototype as { parse?: unknown }).parse === 'function');
}

/**
 * Listens to the script's own commander and yargs, so the options they parse after `Task.init` are recorded (names,
 * values, defaults, descriptions) and, in remote mode, replaced by the values stored on the server.
 *
 * The libraries are resolved from the entry script, as the script itself resolves them; a missing library is
 * skipped. Their prototypes are patched (commander's `Command.prototype.parse`/`parseAsync`, yargs'
 * `YargsInstance.prototype.parse`), so the hook works whether the script imported the library before or after this
 * call, from ESM or CommonJS. Async because yargs' classes live in ES modules, reached with `import()`.
 *
 * @example
 * const hook = await hookArgParsers({
 *   entryFile: process.argv[1]!,
 *   onParsed: (params, parser) => task.setArgs(params, parser),
 *   overrides: () => (isRemote ? serverArgs : undefined),
 * });
 * // … at task close: hook.unhook();
 */
export async function hookArgParsers(options: HookArgParsersOptions): Promise<ArgParserHook> {
  const listener: ParseListener = { onParsed: options.onParsed, overrides: options.overrides, onError: options.onError };
  const require = createRequire(resolve(options.entryFile));
  const sources: Array<{ parser: ArgParserName; find: () => object[] | Promise<object[]> }> = [
    { parser: 'commander', find: () => commanderPrototypes(require) },
    { parser: 'yargs', find: () => yargsPrototypes(require) },
  ];
  const found = await Promise.all(
    sources.map(async ({ parser, find }) => {
      try {
        require.resolve(parser);
      } catch {
        return { parser, prototypes: [] }; // not installed where the script can see it: nothing to hook
      }
      try {
        return { parser, prototypes: await find() };
      } catch (error) {
        reportError(listener, error, parser);
        return { parser, prototypes: [] };
      }
    }),
  );

  const removers: Array<() => void> = [];
  const hookedParsers: ArgParserName[] = [];
  for (const { parser, prototypes } of found) {
    const wrappers = parser === 'commander' ? COMMANDER_WRAPPERS : YARGS_WRAPPERS;
    for (const prototype of prototypes) removers.push(listenOnPrototype(prototype, wrappers, listener));
    if (prototypes.length > 0) hookedParsers.push(parser);
  }
  let isHooked = true;
  return {
    hookedParsers,
    unhook() {
      if (!isHooked) return;
      isHooked = false;
      for (const remove of removers) remove();
    },
  };
}
