/** A token of a source line, for colouring. */
export interface CodeToken {
  kind: 'plain' | 'comment' | 'string' | 'number' | 'keyword';
  text: string;
}

/** How line comments start in a file; `undefined` means we do not colour it at all. */
export type CodeFlavour = 'hash' | 'slash';

const HASH_FILES = /\.(py|pyi|sh|bash|zsh|ya?ml|toml|cfg|ini|conf|r|rb|pl|mk)$|(^|\/)(Dockerfile|Makefile|requirements[^/]*\.txt)$/i;
const SLASH_FILES = /\.(js|mjs|cjs|ts|mts|cts|tsx|jsx|java|kt|scala|c|cc|cpp|h|hpp|cu|go|rs|swift|cs|json|jsonc)$/i;

/** Picks the comment style of a file by its name; `undefined` for files we leave uncoloured. */
export function flavourOf(path: string): CodeFlavour | undefined {
  if (HASH_FILES.test(path)) return 'hash';
  if (SLASH_FILES.test(path)) return 'slash';
  return undefined;
}

// Keywords of the languages ML code is mostly written in (Python, JS/TS, shell); a shared list is good enough to
// make a diff readable, which is all this is for.
const KEYWORDS =
  'and|as|assert|async|await|break|case|class|const|continue|def|default|del|do|elif|else|except|export|extends|' +
  'false|False|finally|fn|for|from|func|function|global|if|import|in|interface|is|lambda|let|None|new|nonlocal|not|' +
  'null|or|pass|raise|return|self|static|struct|switch|this|throw|true|True|try|type|typeof|undefined|var|while|' +
  'with|yield';

const TOKENS: Record<CodeFlavour, RegExp> = {
  hash: new RegExp(`(#.*$)|("(?:\\\\.|[^"\\\\])*"?|'(?:\\\\.|[^'\\\\])*'?)|(\\b\\d[\\d_]*(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b)|\\b(${KEYWORDS})\\b`, 'g'),
  slash: new RegExp(
    `(\\/\\/.*$|\\/\\*.*?(?:\\*\\/|$))|("(?:\\\\.|[^"\\\\])*"?|'(?:\\\\.|[^'\\\\])*'?|\`(?:\\\\.|[^\`\\\\])*\`?)|(\\b\\d[\\d_]*(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b)|\\b(${KEYWORDS})\\b`,
    'g',
  ),
};

/** Splits one line of code into coloured tokens (line by line: a string spanning lines is not followed). */
export function highlightLine(line: string, flavour: CodeFlavour | undefined): CodeToken[] {
  if (!flavour || line.length === 0) return [{ kind: 'plain', text: line }];
  const tokens: CodeToken[] = [];
  const pattern = TOKENS[flavour];
  pattern.lastIndex = 0;
  let from = 0;
  for (let m = pattern.exec(line); m; m = pattern.exec(line)) {
    if (m[0].length === 0) {
      pattern.lastIndex += 1;
      continue;
    }
    if (m.index > from) tokens.push({ kind: 'plain', text: line.slice(from, m.index) });
    const kind = m[1] !== undefined ? 'comment' : m[2] !== undefined ? 'string' : m[3] !== undefined ? 'number' : 'keyword';
    tokens.push({ kind, text: m[0] });
    from = m.index + m[0].length;
  }
  if (from < line.length) tokens.push({ kind: 'plain', text: line.slice(from) });
  return tokens;
}
