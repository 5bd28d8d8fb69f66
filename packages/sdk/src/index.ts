export { Task, type TaskInitOptions, type TaskQuery, type TaskCreateOptions } from './task.js';
export { loadSdkConfig, SDK_ENV_VARS, type SdkConfig } from './config.js';
export * from './client/index.js';
export { Logger, SINGLE_VALUE_ITERATION, type PlotlyFigure, type SampleSource, type LogLevel } from './logger.js';
export * from './storage/index.js';
