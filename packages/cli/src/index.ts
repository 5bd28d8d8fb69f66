export { buildProgram, runCli, CLI_VERSION } from './program.js';
