const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIPPED_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

/**
 * Turns the server's JSON log lines into short readable lines for a terminal:
 * `21:50:01 WARN  watchdog aborted non-responsive tasks tasks=["3f2c..."]`.
 */
export function prettyLogStream(out: NodeJS.WritableStream): { write(line: string): boolean } {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return out.write(line);
      }
      const time = new Date(typeof record.time === 'number' ? record.time : Date.now()).toTimeString().slice(0, 8);
      const level = (LEVEL_NAMES[record.level as number] ?? String(record.level)).padEnd(5);
      const extras = Object.entries(record)
        .filter(([key]) => !SKIPPED_KEYS.has(key))
        .map(([key, value]) => {
          if (key === 'err' && value && typeof value === 'object') {
            const err = value as { message?: string; stack?: string };
            return `\n${err.stack ?? err.message ?? JSON.stringify(value)}`;
          }
          return ` ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
        })
        .join('');
      return out.write(`${time} ${level} ${String(record.msg ?? '')}${extras}\n`);
    },
  };
}
