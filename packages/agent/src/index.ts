export { runAgentDaemon, resolveQueues, type AgentDaemonOptions } from './run-agent-daemon.js';
export { executeTask, defaultWorkerName, failureReason, type ExecuteTaskOptions, type TaskRunResult } from './execute-task.js';
export { loadAgentConfig, AGENT_ENV_VARS, type AgentConfig, type AgentConfigInput } from './config.js';
export { createAgentLog, SILENT_LOG, AGENT_LOG_LEVELS, type AgentLog, type AgentLogLevel } from './agent-log.js';
export { buildScriptArgs, parseScriptArgs, splitCommandLine, ARGS_SECTION, POSITIONALS_NAME, type ScriptArg } from './command-line.js';
export { npmSpecsFromRequirements } from './npm-requirements.js';
export { SetupError, type SetupStep } from './setup-error.js';
export {
  recordCommand,
  renderCommand,
  parseCommandTemplate,
  RUN_SYSTEM_TAG,
  RUN_COMMAND_CONFIGURATION,
  type CommandTemplate,
  type CommandWord,
  type RecordedCommand,
} from './run-command-template.js';
export { isRunTask } from './run-task.js';
