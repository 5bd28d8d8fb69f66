import { StringDecoder } from 'node:string_decoder';

/** Longest console line kept whole; longer ones are cut into pieces of this size (as the agent's console does). */
export const MAX_LINE_CHARS = 65_536;

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * Cuts a program's output (raw chunks of bytes) into lines; the unfinished last line waits for the rest (or the end).
 * A UTF-8 character split between two chunks is decoded whole, and a line that never ends (a progress bar that only
 * rewrites itself with \r, binary output) is handed over in pieces of `maxLineChars` instead of growing without bound.
 */
export function outputLines(onLine: (line: string) => void, maxLineChars = MAX_LINE_CHARS): { write(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const take = (text: string) => {
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      onLine(partial + text.slice(start, newline));
      partial = '';
      start = newline + 1;
    }
    partial += text.slice(start);
    while (partial.length > maxLineChars) {
      // Not between the two halves of a surrogate pair (an emoji): the piece would end in half a character.
      const cut = isHighSurrogate(partial.charCodeAt(maxLineChars - 1)) ? maxLineChars - 1 : maxLineChars;
      onLine(partial.slice(0, cut));
      partial = partial.slice(cut);
    }
  };
  return {
    write(chunk) {
      take(decoder.write(chunk));
    },
    end() {
      take(decoder.end());
      if (partial !== '') onLine(partial);
      partial = '';
    },
  };
}
