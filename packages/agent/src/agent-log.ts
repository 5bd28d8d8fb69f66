/** Levels of the agent's own diagnostics: `error` needs a person, `warn` is degraded, `info` lifecycle, `debug` detail. */
export const AGENT_LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type AgentLogLevel = (typeof AGENT_LOG_LEVELS)[number];

type LogMethod = (fields: Record<string, unknown>, message: string) => void;

/**
 * The agent's diagnostics (not the task's console): fields, not string building. The call shape is pino's
 * (`log.info({ taskId }, 'task started')`), so a pino logger can be passed in its place.
 */
export interface AgentLog {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  child(bindings: Record<string, unknown>): AgentLog;
}

const RANK: Record<AgentLogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

function formatValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/**
 * A readable log on a stream (stderr by default), one line per record:
 * `21:50:01 INFO  task started task=3f2c9a1b queue=default`.
 */
export function createAgentLog(options: { level?: AgentLogLevel; write?: (line: string) => void } = {}): AgentLog {
  const minimum = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const make = (bindings: Record<string, unknown>): AgentLog => {
    const method =
      (level: Exclude<AgentLogLevel, 'silent'>): LogMethod =>
      (fields, message) => {
        if (RANK[level] < minimum) return;
        const all = { ...bindings, ...fields };
        const extras = Object.entries(all)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => ` ${key}=${formatValue(value)}`)
          .join('');
        const time = new Date().toTimeString().slice(0, 8);
        write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extras}\n`);
      };
    return {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

/** A log that drops everything (the default for library callers that pass none). */
export const SILENT_LOG: AgentLog = createAgentLog({ level: 'silent' });
