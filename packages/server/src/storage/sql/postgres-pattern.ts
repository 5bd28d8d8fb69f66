import { TasklaneError } from '@tasklane/protocol';

/**
 * A user's name pattern (RE2 syntax, already checked by compilePattern) written for PostgreSQL's regular expressions
 * (AREs, matched with `~*`), so that a filter means on PostgreSQL what it means on SQLite, where RE2 itself matches.
 * Handed over as it is, RE2's syntax fails there (`(?P<name>…)`, `\z`, `\Q…\E`, `\pL`, repeats over 255) or means
 * something else (`\b` is a backspace, `.` and `[^a]` match a newline, `\d` and `[[:alpha:]]` take in non-ASCII
 * digits and letters). So the pattern is read as RE2 reads it and written anew: classes as explicit code point ranges
 * (RE2's ASCII `\d \s \w` and POSIX classes, Unicode classes from JavaScript's tables), `.` and `^ $` by RE2's flags
 * (`s`, `m`, at any place, scoped by groups), groups without names, long repeats split. Only whether a text matches
 * counts, so capture and greediness are dropped. Case stays ignored by `~*` (see the dialect); a case-sensitive part
 * (`(?-i)`) cannot be written for it and is refused.
 */
export function toPostgresPattern(pattern: string): string {
  const reader = new Re2Reader(pattern);
  const translated = reader.sequence({ m: false, s: false }, false);
  if (!reader.isDone()) throw reader.unsupported('an unmatched ")"');
  return translated;
}

/** RE2's flags that change what matches once case is ignored anyway: `m` (^ $ at lines), `s` (. takes \n too). */
interface Flags {
  m: boolean;
  s: boolean;
}

/** Code point ranges, inclusive, sorted and disjoint. */
type Ranges = [number, number][];

/** PostgreSQL's largest repeat count (RE_DUP_MAX); RE2 allows 1,000. */
const PG_MAX_REPEAT = 255;
const MAX_CODE_POINT = 0x10ffff;
const NEWLINE = 0x0a;

const ASCII_CLASSES: Record<string, Ranges> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};
/** RE2's Perl classes: ASCII only (`\s` without \v). */
const PERL_CLASSES: Record<string, Ranges> = {
  d: ASCII_CLASSES.digit!,
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: ASCII_CLASSES.word!,
};
const SIMPLE_ESCAPES: Record<string, number> = { a: 0x07, f: 0x0c, t: 0x09, n: 0x0a, r: 0x0d, v: 0x0b };

class Re2Reader {
  private at = 0;

  constructor(private readonly pattern: string) {}

  isDone(): boolean {
    return this.at >= this.pattern.length;
  }

  /** Alternatives up to the end, or to the `)` of the group being read (left for the caller). */
  sequence(outer: Flags, isInGroup: boolean): string {
    const flags = { ...outer };
    let out = '';
    let lastAtom: number | undefined;
    while (!this.isDone()) {
      const char = this.pattern[this.at]!;
      if (char === ')') {
        if (!isInGroup) break;
        return out;
      }
      if (char === '|') {
        out += '|';
        this.at += 1;
        lastAtom = undefined;
        continue;
      }
      const repeat = this.repeat();
      if (repeat) {
        // RE2 refused a repeat of nothing already; a flag group alone is nothing to repeat there either.
        if (lastAtom === undefined) throw this.unsupported('a repeat with nothing before it');
        out = out.slice(0, lastAtom) + repeated(out.slice(lastAtom), repeat.min, repeat.max);
        continue;
      }
      const start = out.length;
      const atom = this.atom(flags);
      if (atom === undefined) {
        lastAtom = undefined;
        continue;
      }
      out += atom;
      lastAtom = start;
    }
    return out;
  }

  unsupported(what: string): TasklaneError {
    return new TasklaneError(
      'INVALID_INPUT',
      `Invalid request: body.name: ${what} in the pattern cannot be matched on this server's database (PostgreSQL), got ${JSON.stringify(
        this.pattern.length > 40 ? `${this.pattern.slice(0, 40)}…` : this.pattern,
      )}. Write that part another way.`,
      { fields: ['body.name'] },
    );
  }

  /** A repeat operator at the reading position (consumed, with a lazy `?` after it), or undefined. */
  private repeat(): { min: number; max: number } | undefined {
    const char = this.pattern[this.at];
    let repeat: { min: number; max: number } | undefined;
    if (char === '*') repeat = { min: 0, max: Infinity };
    else if (char === '+') repeat = { min: 1, max: Infinity };
    else if (char === '?') repeat = { min: 0, max: 1 };
    if (repeat) {
      this.at += 1;
    } else if (char === '{') {
      // A `{` that starts no repeat is a literal to RE2 (`{,3}` too).
      const counted = /^\{(\d+)(,(\d*))?\}/.exec(this.pattern.slice(this.at, this.at + 16));
      if (!counted) return undefined;
      const min = Number(counted[1]);
      repeat = { min, max: counted[2] === undefined ? min : counted[3] === '' ? Infinity : Number(counted[3]) };
      this.at += counted[0].length;
    } else {
      return undefined;
    }
    // Lazy or greedy, the same texts match.
    if (this.pattern[this.at] === '?') this.at += 1;
    return repeat;
  }

  /** One atom, translated; undefined for a flag group `(?s)`, which changes `flags` for the rest of the group. */
  private atom(flags: Flags): string | undefined {
    const char = this.pattern[this.at]!;
    if (char === '(') return this.group(flags);
    if (char === '[') return this.bracket();
    if (char === '\\') return this.escape(flags);
    this.at += 1;
    if (char === '.') return flags.s ? '.' : '[^\\n]';
    // PostgreSQL's ^ and $ (in its default mode, where `.` takes a newline) are the text's ends, as RE2's without m.
    if (char === '^') return flags.m ? '(?:^|(?<=\\n))' : '^';
    if (char === '$') return flags.m ? '(?:$|(?=\\n))' : '$';
    const code = char.codePointAt(0)!;
    if (code > 0xffff) this.at += 1;
    return literal(code);
  }

  private group(flags: Flags): string | undefined {
    const rest = this.pattern.slice(this.at);
    const named = /^\(\?P?<[A-Za-z0-9_]+>/.exec(rest);
    const modifiers = /^\(\?([imsU-]*)([:)])/.exec(rest);
    let inner: Flags = flags;
    if (named) {
      this.at += named[0].length;
    } else if (modifiers) {
      this.at += modifiers[0].length;
      inner = { ...flags };
      let isOn = true;
      for (const letter of modifiers[1]!) {
        if (letter === '-') isOn = false;
        else if (letter === 'i' && !isOn) throw this.unsupported('a case-sensitive part ((?-i))');
        else if (letter === 'm') inner.m = isOn;
        else if (letter === 's') inner.s = isOn;
        // i on: case is ignored everywhere already; U (lazy by default): the same texts match.
      }
      if (modifiers[2] === ')') {
        Object.assign(flags, inner);
        return undefined;
      }
    } else if (rest.startsWith('(?')) {
      throw this.unsupported(`the group ${JSON.stringify(rest.slice(0, 4))}`);
    } else {
      this.at += 1;
    }
    const body = this.sequence(inner, true);
    if (this.pattern[this.at] !== ')') throw this.unsupported('a group without its ")"');
    this.at += 1;
    return `(?:${body})`;
  }

  private escape(flags: Flags): string {
    const next = this.pattern[this.at + 1];
    if (next === undefined) throw this.unsupported('a "\\" at the end');
    if (next === 'A') return this.take(2, '^');
    if (next === 'z') return this.take(2, '\\Z');
    if (next === 'b') return this.take(2, '\\y');
    if (next === 'B') return this.take(2, '\\Y');
    if (next === 'C') return this.take(2, flags.s ? '.' : '[^\\n]');
    if (next === 'Q') {
      const end = this.pattern.indexOf('\\E', this.at + 2);
      const text = this.pattern.slice(this.at + 2, end === -1 ? undefined : end);
      this.at = end === -1 ? this.pattern.length : end + 2;
      return [...text].map((c) => literal(c.codePointAt(0)!)).join('');
    }
    const named = this.classEscape();
    if (named) return bracketOf(named.ranges, named.isNegated);
    return literal(this.escapedCode());
  }

  /**
   * `\d \D \s \S \w \W \pX \p{X} \PX \P{^X}` at the reading position (consumed): the ranges of the class and whether
   * the escape takes everything else; undefined for another escape.
   */
  private classEscape(): { ranges: Ranges; isNegated: boolean } | undefined {
    const next = this.pattern[this.at + 1]!;
    const lower = next.toLowerCase();
    if (PERL_CLASSES[lower] && 'dswDSW'.includes(next)) {
      this.at += 2;
      return { ranges: PERL_CLASSES[lower], isNegated: next !== lower };
    }
    if (next !== 'p' && next !== 'P') return undefined;
    let name: string;
    if (this.pattern[this.at + 2] === '{') {
      const end = this.pattern.indexOf('}', this.at + 3);
      if (end === -1) throw this.unsupported('a "\\p{" without its "}"');
      name = this.pattern.slice(this.at + 3, end);
      this.at = end + 1;
    } else {
      name = this.pattern[this.at + 2] ?? '';
      this.at += 3;
    }
    let isNegated = next === 'P';
    if (name.startsWith('^')) {
      isNegated = !isNegated;
      name = name.slice(1);
    }
    const ranges = unicodeClass(name);
    if (!ranges) throw this.unsupported(`the Unicode class ${JSON.stringify(name)}`);
    return { ranges, isNegated };
  }

  /** The character an escape that stands for one (`\n`, `\x41`, `\x{263a}`, `\012`, `\.`) names; consumed. */
  private escapedCode(): number {
    const next = this.pattern[this.at + 1]!;
    if (SIMPLE_ESCAPES[next] !== undefined) {
      this.at += 2;
      return SIMPLE_ESCAPES[next];
    }
    if (next === 'x') {
      const hex = /^\\x(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(this.pattern.slice(this.at));
      if (!hex) throw this.unsupported('a "\\x" escape');
      this.at += hex[0].length;
      return Number.parseInt(hex[1] ?? hex[2]!, 16);
    }
    if (next >= '0' && next <= '7') {
      const octal = /^\\([0-7]{1,3})/.exec(this.pattern.slice(this.at))!;
      this.at += octal[0].length;
      return Number.parseInt(octal[1]!, 8);
    }
    const code = next.codePointAt(0)!;
    if (code < 0x80 && !/[0-9A-Za-z]/.test(next)) {
      this.at += 2;
      return code;
    }
    throw this.unsupported(`the escape "\\${next}"`);
  }

  /** A bracket expression `[…]` as ranges (RE2: a `]` first is a member; `[:alpha:]`, escapes and ranges inside). */
  private bracket(): string {
    this.at += 1;
    const isNegated = this.pattern[this.at] === '^';
    if (isNegated) this.at += 1;
    const members: Ranges = [];
    let isFirst = true;
    for (;;) {
      if (this.isDone()) throw this.unsupported('a "[" without its "]"');
      const char = this.pattern[this.at]!;
      if (char === ']' && !isFirst) {
        this.at += 1;
        break;
      }
      isFirst = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.pattern.slice(this.at, this.at + 12));
      if (posix) {
        const ranges = ASCII_CLASSES[posix[2]!];
        if (!ranges) throw this.unsupported(`the class [:${posix[2]}:]`);
        members.push(...(posix[1] ? complement(ranges) : ranges));
        this.at += posix[0].length;
        continue;
      }
      if (char === '\\') {
        const named = this.classEscape();
        if (named) {
          members.push(...(named.isNegated ? complement(named.ranges) : named.ranges));
          continue;
        }
      }
      const low = this.bracketChar();
      if (this.pattern[this.at] === '-' && this.pattern[this.at + 1] !== ']' && this.at + 1 < this.pattern.length) {
        this.at += 1;
        members.push([low, this.bracketChar()]);
      } else {
        members.push([low, low]);
      }
    }
    return bracketOf(members, isNegated);
  }

  private bracketChar(): number {
    if (this.pattern[this.at] === '\\') return this.escapedCode();
    const code = this.pattern.codePointAt(this.at)!;
    this.at += code > 0xffff ? 2 : 1;
    return code;
  }

  private take(length: number, translated: string): string {
    this.at += length;
    return translated;
  }
}

/** An atom repeated min to max times, in repeats of at most 255 (PostgreSQL's limit). */
function repeated(atom: string, min: number, max: number): string {
  const unit = `(?:${atom})`;
  const bound = (low: number, high: number) =>
    high === Infinity ? (low === 0 ? '*' : low === 1 ? '+' : `{${low},}`) : low === high ? `{${low}}` : `{${low},${high}}`;
  if (min <= PG_MAX_REPEAT && (max === Infinity || max <= PG_MAX_REPEAT)) return `${unit}${bound(min, max)}`;
  const parts: string[] = [];
  let required = min;
  while (required > PG_MAX_REPEAT) {
    parts.push(`${unit}{${PG_MAX_REPEAT}}`);
    required -= PG_MAX_REPEAT;
  }
  if (max === Infinity) {
    parts.push(`${unit}${bound(required, Infinity)}`);
  } else {
    if (required > 0) parts.push(`${unit}{${required}}`);
    let optional = max - min;
    while (optional > 0) {
      parts.push(`${unit}{0,${Math.min(optional, PG_MAX_REPEAT)}}`);
      optional -= Math.min(optional, PG_MAX_REPEAT);
    }
  }
  return `(?:${parts.join('')})`;
}

/** One character as an ARE atom: ASCII letters and digits as they are, other ASCII escaped, the rest as it is. */
function literal(code: number): string {
  if (code === NEWLINE) return '\\n';
  if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) return String.fromCharCode(code);
  if (code >= 0x21 && code < 0x7f) return `\\${String.fromCharCode(code)}`;
  if (code < 0x80) return codeEscape(code);
  return String.fromCodePoint(code);
}

/** `\uXXXX` or `\UXXXXXXXX`, which AREs read inside brackets and out. */
function codeEscape(code: number): string {
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\U${code.toString(16).padStart(8, '0')}`;
}

function bracketMember(code: number): string {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)
    ? String.fromCharCode(code)
    : codeEscape(code);
}

/**
 * A class as a bracket expression, negated as RE2 has it (with case ignored, `[^a]` leaves out `A` too, in both).
 * Text in PostgreSQL holds no NUL, so ranges start at U+0001 (an ARE may not name NUL). A class nothing can match
 * becomes a lookahead nothing passes.
 */
function bracketOf(ranges: Ranges, isNegated: boolean): string {
  const members = normalized(ranges)
    .map(([low, high]): [number, number] => [Math.max(low, 1), high])
    .filter(([low, high]) => low <= high);
  const written = members.map(([low, high]) => (low === high ? bracketMember(low) : `${bracketMember(low)}-${bracketMember(high)}`)).join('');
  if (isNegated) return members.length === 0 ? '(?:.|\\n)' : complement(members).every(([low]) => low === 0) ? '(?=a)b' : `[^${written}]`;
  return members.length === 0 ? '(?=a)b' : `[${written}]`;
}

function normalized(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: Ranges = [];
  for (const [low, high] of sorted) {
    const last = merged.at(-1);
    if (last && low <= last[1] + 1) last[1] = Math.max(last[1], high);
    else merged.push([low, high]);
  }
  return merged;
}

function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [low, high] of normalized(ranges)) {
    if (low > next) out.push([next, low - 1]);
    next = high + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

const unicodeClasses = new Map<string, Ranges | undefined>();

/**
 * A Unicode class RE2 names (`L`, `Lu`, `Greek`, `Any`) as ranges, from JavaScript's tables (a general category, else
 * a script). Computed once per name, by one pass over the code points (~50 ms).
 */
function unicodeClass(name: string): Ranges | undefined {
  if (unicodeClasses.has(name)) return unicodeClasses.get(name);
  let ranges: Ranges | undefined;
  if (name === 'Any') {
    ranges = [[0, MAX_CODE_POINT]];
  } else if (/^[A-Za-z_]+$/.test(name)) {
    let re: RegExp | undefined;
    for (const source of [`^\\p{General_Category=${name}}$`, `^\\p{Script=${name}}$`]) {
      try {
        re = new RegExp(source, 'u');
        break;
      } catch {
        // not this kind of name: try the next
      }
    }
    if (re) {
      ranges = [];
      let start = -1;
      for (let code = 0; code <= MAX_CODE_POINT + 1; code += 1) {
        const isMember = code <= MAX_CODE_POINT && (code < 0xd800 || code > 0xdfff) && re.test(String.fromCodePoint(code));
        if (isMember && start === -1) start = code;
        if (!isMember && start !== -1) {
          ranges.push([start, code - 1]);
          start = -1;
        }
      }
    }
  }
  unicodeClasses.set(name, ranges);
  return ranges;
}
