export { captureCode, type CaptureCodeOptions, type CodeInfo } from './git.js';
export { captureEnvironment, type EnvironmentInfo } from './environment.js';
export {
  castParam,
  formatParamValue,
  inferParamType,
  paramTypeOf,
  parseArgv,
  type ArgParam,
  type ArgParamType,
} from './argv.js';
export {
  hookArgParsers,
  type ArgParserHook,
  type ArgParserName,
  type HookArgParsersOptions,
} from './arg-parsers.js';
