type Write = typeof process.stdout.write;

export interface ConsoleLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * Tees the process's stdout and stderr: everything is still written to the terminal, and each complete line is
 * also handed to `onLines`. Answers a function that restores the streams and hands over any unfinished line.
 */
export function captureConsole(onLine: (line: ConsoleLine) => void): () => void {
  const restore: (() => void)[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const stream = process[name];
    const original = stream.write;
    let partial = '';
    const patched = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      try {
        const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
        if (text) {
          const lines = (partial + text).split(/\r?\n/);
          partial = lines.pop() ?? '';
          for (const line of lines) onLine({ stream: name, text: line });
        }
      } catch {
        // Capturing must never break the user's output.
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as Write;
    stream.write = patched;
    restore.push(() => {
      if (stream.write === patched) stream.write = original;
      if (partial) onLine({ stream: name, text: partial });
      partial = '';
    });
  }
  return () => {
    for (const undo of restore) undo();
  };
}
