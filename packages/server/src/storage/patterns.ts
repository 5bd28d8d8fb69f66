import { TasklaneError } from '@tasklane/protocol';
import { RE2JS, RE2JSSyntaxException } from 're2js';

/**
 * User patterns (ClearML treats `name` filters as regular expressions): compiled and matched here only, by the
 * services' in-memory filters and by SQLite's `regexp` function alike. RE2 semantics (re2js), so that matching takes
 * time linear in the text whatever the pattern — JavaScript's RegExp backtracks, and `^(a+)+$` against a 40-character
 * name froze the process (issue 13). Never fall back to RegExp for a user's pattern.
 */

/** Longest pattern accepted, in UTF-8 bytes. */
export const MAX_PATTERN_BYTES = 1024;

/**
 * Largest program a pattern may compile to, as estimated before compiling (see `estimateProgramSize`): compiling
 * costs ~5 µs per instruction, and a 1 KiB pattern of counted repeats (`a{0,1000}` × 100) compiles to 220,000 of them,
 * ~0.8 s of a blocked event loop. Ordinary filters are far below: `^examples/sub$` is ~15.
 */
export const MAX_PATTERN_SIZE = 5000;

const CACHE_ENTRIES = 256;
const PREVIEW_CHARS = 40;

/** A compiled pattern: whether a text contains a match, ignoring case. */
export interface NamePattern {
  readonly source: string;
  test(text: string): boolean;
}

const cache = new Map<string, NamePattern>();
let last: NamePattern | undefined;

/**
 * Compiles a user's pattern (RE2 syntax, case-insensitive), from a bounded cache. Throws INVALID_INPUT naming
 * `body.<field>` for a pattern that is too long, too large, or not valid RE2; the message quotes only a preview.
 */
export function compilePattern(pattern: string, field = 'name'): NamePattern {
  // SQLite's regexp asks once per row, with the same pattern: skip the cache's bookkeeping then.
  if (last?.source === pattern) return last;
  const cached = cache.get(pattern);
  if (cached) {
    last = cached;
    // Least recently used first: a hit moves to the end.
    cache.delete(pattern);
    cache.set(pattern, cached);
    return cached;
  }
  const compiled = compileUncached(pattern, field);
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, compiled);
  last = compiled;
  return compiled;
}

/** Escapes text for an exact-match pattern. */
export function escapePattern(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compileUncached(pattern: string, field: string): NamePattern {
  const bytes = Buffer.byteLength(pattern, 'utf8');
  if (bytes > MAX_PATTERN_BYTES) {
    throw invalid(field, `pattern is too long (${bytes} bytes; at most ${MAX_PATTERN_BYTES})`, pattern, 'Filter with a shorter pattern.');
  }
  const literal = parseLiteral(pattern);
  if (literal) return literalPattern(pattern, literal);
  const size = estimateProgramSize(pattern);
  if (size > MAX_PATTERN_SIZE) {
    throw invalid(
      field,
      `pattern is too complex (it expands to about ${size} steps; at most ${MAX_PATTERN_SIZE})`,
      pattern,
      'Use fewer or smaller counted repeats such as {1000}.',
    );
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  } catch (cause) {
    if (!(cause instanceof RE2JSSyntaxException)) throw cause;
    throw invalid(field, `not a valid regular expression (${describeSyntaxError(cause, pattern)})`, pattern, 'Escape special characters for an exact match, e.g. "^my\\\\.name$".', cause);
  }
  return new Re2Pattern(pattern, re, requiredTexts(pattern));
}

/**
 * A pattern for RE2, with two shortcuts that never change an answer. First, ASCII texts that lack a text every match
 * needs (`requiredTexts`) are turned down by a string search, as long as that turns down at least half of them.
 * Second, RE2's lazy DFA (`test`) is the fastest matcher for most patterns, but on some (`[ab]*a[ab]{20}`) it builds a new
 * state at nearly every character, ~10× slower than RE2's other matchers (`matcher().find()`: one-pass, bit-state
 * backtracking or NFA, all linear in the text too). So every 16th match is timed, and a pattern whose DFA matches
 * take more than 0.5 µs per character (an ordinary one takes ~0.01 µs) in the median of a window, two windows in a
 * row, moves to `find` for good. The median, so that a garbage collection during one timed match does not count.
 */
class Re2Pattern implements NamePattern {
  private calls = 0;
  private readonly samples = new Float64Array(DFA_WINDOW_SAMPLES);
  private slowWindows = 0;
  private isDfaSlow = false;
  private isPrefiltering: boolean;
  private prefiltered = 0;
  private turnedDown = 0;

  constructor(
    readonly source: string,
    private readonly re: RE2JS,
    /** Lower-case ASCII texts every match contains (see `requiredTexts`), checked before RE2 on ASCII texts. */
    private readonly required: string[],
  ) {
    this.isPrefiltering = required.length > 0;
  }

  test(text: string): boolean {
    if (this.isPrefiltering && isAscii(text)) {
      const lower = text.toLowerCase();
      this.prefiltered += 1;
      if (!this.required.every((part) => lower.includes(part))) {
        this.turnedDown += 1;
        return false;
      }
      // A prefilter that turns down fewer than half the texts costs more than it saves: stop using it.
      if (this.prefiltered === PREFILTER_TRIAL_CALLS) this.isPrefiltering = this.turnedDown * 2 >= this.prefiltered;
    }
    if (this.isDfaSlow) return this.re.matcher(text).find();
    this.calls += 1;
    if (this.calls % DFA_SAMPLE_EVERY !== 0) return this.re.test(text);
    const start = performance.now();
    const found = this.re.test(text);
    const sample = (this.calls / DFA_SAMPLE_EVERY) % DFA_WINDOW_SAMPLES;
    this.samples[sample] = ((performance.now() - start) * 1000) / (text.length + 1);
    if (sample === DFA_WINDOW_SAMPLES - 1) {
      const median = [...this.samples].sort((a, b) => a - b)[DFA_WINDOW_SAMPLES / 2]!;
      this.slowWindows = median > DFA_SLOW_US_PER_CHAR ? this.slowWindows + 1 : 0;
      this.isDfaSlow = this.slowWindows >= 2;
    }
    return found;
  }
}

const PREFILTER_TRIAL_CALLS = 1024;
const DFA_SAMPLE_EVERY = 16;
const DFA_WINDOW_SAMPLES = 32;
const DFA_SLOW_US_PER_CHAR = 0.5;

function invalid(field: string, reason: string, pattern: string, advice: string, cause?: unknown): TasklaneError {
  return new TasklaneError(
    'INVALID_INPUT',
    `Invalid request: body.${field}: ${reason}, got ${preview(pattern)}. ${advice}`,
    { fields: [`body.${field}`] },
    cause === undefined ? undefined : { cause },
  );
}

/** The pattern as JSON, cut to a short preview (a pattern can be 1 KiB; it is echoed to the client, never logged). */
function preview(text: string): string {
  const cut = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  return `${JSON.stringify(cut)}${text.length > PREVIEW_CHARS ? ` (${text.length} characters)` : ''}`;
}

/** RE2's reason in plain words; Perl features RE2 refuses are named, since users often come from Python's `re`. */
function describeSyntaxError(error: RE2JSSyntaxException, pattern: string): string {
  const at = (error.input ?? '').replace(/^\(\?i\)/, '');
  const refused = (what: string) => `${what} is not supported; patterns use RE2 syntax`;
  if (error.error === 'invalid escape sequence' && /^\\[1-9]/.test(at)) return refused(`the backreference ${at.slice(0, 2)}`);
  if (error.error === 'invalid escape sequence' && at.startsWith('\\k')) return refused('the named backreference \\k<…>');
  if (error.error === 'invalid or unsupported Perl syntax' || error.error === 'invalid named capture') {
    if (at.startsWith('(?=')) return refused('lookahead (?=…)');
    if (at.startsWith('(?!')) return refused('negative lookahead (?!…)');
    if (at.startsWith('(?<=')) return refused('lookbehind (?<=…)');
    if (at.startsWith('(?<!')) return refused('negative lookbehind (?<!…)');
    // For (?P=name) RE2 quotes only "(?P".
    if (at.startsWith('(?P=') || (at === '(?P' && pattern.includes('(?P='))) return refused('the named backreference (?P=…)');
    if (at.startsWith('(?>')) return refused('the atomic group (?>…)');
  }
  if (error.error === 'invalid nested repetition operator' && /^[*+?}]\+/.test(at.slice(-2))) {
    return refused(`the possessive quantifier ${at.slice(-2)}`);
  }
  return at ? `${error.error}: ${JSON.stringify(at.length > 20 ? `${at.slice(0, 20)}…` : at)}` : error.error;
}

/** A pattern that is plain text, with optional ^ and $ anchors. */
interface Literal {
  text: string;
  isStart: boolean;
  isEnd: boolean;
}

/**
 * Recognises the patterns most filters are — ClearML's SDK looks names up as `^<escaped name>$` — so that they are
 * matched as text rather than by the regular expression engine (re2js is ~8× slower than a string comparison).
 * Only ASCII text qualifies, each character itself or escaped punctuation (`\.`, `\ `, `\-`, as Python's re.escape
 * writes them); anything else is left to RE2.
 */
function parseLiteral(pattern: string): Literal | undefined {
  let text = '';
  let i = 0;
  const isStart = pattern.startsWith('^');
  if (isStart) i = 1;
  let isEnd = false;
  for (; i < pattern.length; i += 1) {
    const c = pattern.charCodeAt(i);
    if (c >= 0x80) return undefined;
    const char = pattern[i]!;
    if (char === '\\') {
      const next = pattern.charCodeAt(i + 1);
      if (!(next < 0x80) || isAsciiAlphanumeric(next)) return undefined;
      text += pattern[i + 1];
      i += 1;
    } else if (char === '$' && i === pattern.length - 1) {
      isEnd = true;
    } else if ('.*+?()[]{}|^$'.includes(char)) {
      return undefined;
    } else {
      text += char;
    }
  }
  return { text: text.toLowerCase(), isStart, isEnd };
}

function literalPattern(source: string, { text, isStart, isEnd }: Literal): NamePattern {
  // The same engine decides every text whose compared part is not plain ASCII, so case folding beyond ASCII stays
  // RE2's (it folds K, the Kelvin sign, to k, for instance).
  let re: RE2JS | undefined;
  const byRe2 = (value: string) => (re ??= RE2JS.compile(source, RE2JS.CASE_INSENSITIVE)).test(value);
  return {
    source,
    test(value) {
      if (isStart || isEnd) {
        if (value.length < text.length || (isStart && isEnd && value.length !== text.length)) return false;
        const matched = asciiEqualsIgnoringCase(value, isStart ? 0 : value.length - text.length, text);
        return matched === undefined ? byRe2(value) : matched;
      }
      return isAscii(value) ? value.toLowerCase().includes(text) : byRe2(value);
    },
  };
}

/**
 * Whether `value` holds `lower` (lower-case ASCII) at `offset`, ignoring ASCII case. An ASCII character that differs
 * decides (it folds to no other); otherwise a non-ASCII one in that part leaves it undecided (RE2 folds K to k).
 */
function asciiEqualsIgnoringCase(value: string, offset: number, lower: string): boolean | undefined {
  let isAsciiSoFar = true;
  for (let i = 0; i < lower.length; i += 1) {
    let c = value.charCodeAt(offset + i);
    if (c >= 0x80) {
      isAsciiSoFar = false;
      continue;
    }
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return isAsciiSoFar ? true : undefined;
}

/**
 * The runs of plain ASCII characters (3 or more) in the pattern's top level, which any match must contain —
 * `^train/resnet-[0-9]+ run 7700[0-9]$` needs "train/resnet-" and " run 7700" — so that most texts are turned down by
 * a string search before RE2 runs (~0.05 µs against ~1 µs). Conservative: nothing when the top level has an
 * alternation, `\Q`, or anything this reading does not know; a character followed by a quantifier, and groups,
 * classes and escapes other than punctuation, end a run.
 */
function requiredTexts(pattern: string): string[] {
  if (pattern.includes('\\Q')) return [];
  const runs: string[] = [];
  let run = '';
  const endRun = () => {
    if (run.length >= 3) runs.push(run.toLowerCase());
    run = '';
  };
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    const code = pattern.charCodeAt(i);
    let literal: string | undefined;
    let end = i;
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      end = i + 1;
      if (next.charCodeAt(0) < 0x80 && !isAsciiAlphanumeric(next.charCodeAt(0))) literal = next;
      else if (next === 'p' || next === 'P') end = pattern[i + 2] === '{' ? skipTo(pattern, i + 2, '}') : i + 2;
      // Escapes of one letter (classes, assertions, \n); others (\x41, \012) have lengths this reading skips.
      else if (!'dDsSwWbBAznrtfva'.includes(next) || next === '') return [];
    } else if (char === '[') {
      end = skipClass(pattern, i);
    } else if (char === '(') {
      end = skipGroup(pattern, i);
      if (end === -1) return [];
    } else if (char === '|') {
      return [];
    } else if (char === '{') {
      // A counted repeat's digits are not text; a `{` that starts none is text to RE2, but ends a run here.
      end = i + (/^\{\d+(,\d*)?\}/.exec(pattern.slice(i, i + 16))?.[0].length ?? 1) - 1;
    } else if (code < 0x80 && !'.*+?{}^$)'.includes(char)) {
      literal = char;
    }
    const next = pattern[end + 1];
    const isQuantified = next === '*' || next === '+' || next === '?' || next === '{';
    if (literal !== undefined && !isQuantified) run += literal;
    else endRun();
    i = end;
  }
  endRun();
  return runs;
}

/** The index of the `)` that closes the group opened at `open`, or -1 when it is not closed. */
function skipGroup(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i += 1) {
    const char = pattern[i];
    if (char === '\\') i += 1;
    else if (char === '[') i = skipClass(pattern, i);
    else if (char === '(') depth += 1;
    else if (char === ')') {
      depth -= 1;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

function isAsciiAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * An upper estimate of the number of instructions a pattern compiles to, read without compiling: RE2's own size
 * rule (a counted repeat `x{n,m}` costs m copies of x plus m − n), over a rough parse that errs on the large side.
 * Syntax is checked later, by RE2 itself.
 */
export function estimateProgramSize(pattern: string): number {
  // One frame per open group: the size of its finished alternatives, and of the concatenation being read.
  const frames: { done: number; alternatives: number; current: number; last: number }[] = [];
  let frame = { done: 0, alternatives: 0, current: 0, last: 0 };
  const atom = (size: number) => {
    frame.current += size;
    frame.last = size;
  };
  for (let i = 0; i < pattern.length; i += 1) {
    const char = pattern[i]!;
    if (char === '\\') {
      const next = pattern[i + 1];
      if ((next === 'p' || next === 'P' || next === 'x') && pattern[i + 2] === '{') i = skipTo(pattern, i + 2, '}');
      else if (next === 'Q') {
        const end = pattern.indexOf('\\E', i + 2);
        const stop = end === -1 ? pattern.length : end;
        atom(stop - (i + 2));
        i = end === -1 ? pattern.length : end + 1;
        continue;
      } else i += 1;
      atom(1);
    } else if (char === '[') {
      i = skipClass(pattern, i);
      atom(1);
    } else if (char === '(') {
      frames.push(frame);
      frame = { done: 0, alternatives: 0, current: 0, last: 0 };
    } else if (char === ')') {
      const inner = frame.done + frame.current + frame.alternatives;
      frame = frames.pop() ?? { done: 0, alternatives: 0, current: 0, last: 0 };
      atom(inner + 2);
    } else if (char === '|') {
      frame.done += frame.current;
      frame.alternatives += 1;
      frame.current = 0;
      frame.last = 0;
    } else if (char === '*' || char === '+' || char === '?') {
      frame.current += 2;
      frame.last += 2;
    } else if (char === '{') {
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i, i + 16));
      if (!repeat) {
        atom(1);
        continue;
      }
      const min = Number(repeat[1]);
      const max = repeat[2] === undefined ? min : repeat[3] === '' ? -1 : Number(repeat[3]);
      const sub = frame.last;
      const size = max === -1 ? 1 + min * sub : max * sub + (max - min);
      frame.current += size - sub;
      frame.last = size;
      i += repeat[0].length - 1;
    } else {
      atom(1);
    }
  }
  // Every program has a fail and a match instruction.
  let size = 2 + frame.done + frame.current + frame.alternatives;
  // Groups left open (a syntax error RE2 will report) count as closed.
  while (frames.length > 0) {
    const outer = frames.pop()!;
    size = outer.done + outer.current + outer.alternatives + size + 2;
  }
  return size;
}

function skipTo(pattern: string, from: number, close: string): number {
  const end = pattern.indexOf(close, from);
  return end === -1 ? pattern.length : end;
}

/** The index of the `]` that closes the class opened at `open` (a `]` right after `[` or `[^` is a member). */
function skipClass(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1;
  for (; i < pattern.length; i += 1) {
    if (pattern[i] === '\\') i += 1;
    else if (pattern[i] === '[' && pattern[i + 1] === ':') i = skipTo(pattern, i + 2, ']');
    else if (pattern[i] === ']') return i;
  }
  return pattern.length;
}
