import { InvalidPatternError } from '../errors.js'

/** A compiled glob pattern: `test(text)` says whether the whole of `text` matches. */
export interface GlobMatcher {
  /** The pattern as given. */
  readonly pattern: string
  /** Whether `text` matches the whole pattern; O(text × pattern) in the worst case, never worse. */
  test(text: string): boolean
}

/**
 * One pattern element; each matches exactly one character except `star`. Classes hold code point
 * ranges as flat `[low, high, low, high, …]` pairs.
 */
type Token =
  | { readonly kind: 'star' }
  | { readonly kind: 'any' }
  | { readonly kind: 'char'; readonly char: number }
  | { readonly kind: 'class'; readonly negate: boolean; readonly ranges: readonly number[] }

const STAR: Token = { kind: 'star' }
const ANY: Token = { kind: 'any' }

/**
 * Compiles a glob pattern (Redis `KEYS` syntax) into a matcher of whole strings:
 * - `*` any run of characters (newlines included), `?` exactly one character;
 * - `[abc]` one of the listed characters, `[a-z]` a range, `[^a]` / `[!a]` any character but those;
 *   inside a class `\x` is a literal `x`, a `]` right after `[` (or `[^`) is a member, and a `-` first or
 *   last is a literal;
 * - `\x` a literal `x` (`\*`, `\?`, `\[`, `\\`);
 * - everything else is literal, including regular-expression syntax such as `.` or `(`.
 *
 * A character is a Unicode code point (an emoji is one `?`). Matching never backtracks more than to the
 * last `*`, so it takes at most O(text × pattern) steps whatever the pattern: a pattern such as
 * `*a*a*a*a*a*a*b` cannot stall the event loop the way a regular expression would.
 *
 * Malformed patterns throw {@link InvalidPatternError} rather than guess: a reversed range (`[z-a]`), an
 * unclosed class (`[abc`; write `\[` for a literal bracket) and a trailing lone `\`.
 *
 * @example
 * const matcher = compileGlob('session:[0-9]*')
 * matcher.test('session:42') // true
 * matcher.test('session:x')  // false
 */
export function compileGlob(pattern: string): GlobMatcher {
  const tokens = parse(pattern)
  // Patterns without wildcards or classes (the common `deletePattern('exact:key')` aside) go through
  // the general loop; a literal-only pattern is compared directly.
  if (tokens.every((token) => token.kind === 'char')) {
    const literal = unescapeLiteral(tokens)
    return { pattern, test: (text) => text === literal }
  }
  return { pattern, test: (text) => matchTokens(tokens, codePoints(text)) }
}

/**
 * The former name of {@link compileGlob}, kept for compatibility. It used to return a `RegExp`, whose
 * backtracking made some patterns take seconds (or minutes) per key; it now returns the same linear-time
 * {@link GlobMatcher}, which keeps the `test(text)` method callers used.
 *
 * @deprecated Use {@link compileGlob}.
 * @example
 * globToRegExp('user:*').test('user:1') // true
 */
export function globToRegExp(pattern: string): GlobMatcher {
  return compileGlob(pattern)
}

function parse(pattern: string): Token[] {
  const chars = codePoints(pattern)
  const tokens: Token[] = []
  let i = 0
  while (i < chars.length) {
    const c = chars[i]!
    if (c === CH_STAR) {
      // Runs of stars mean the same as one; collapsing them keeps the matcher's work proportional.
      if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR)
      i++
    } else if (c === CH_QUESTION) {
      tokens.push(ANY)
      i++
    } else if (c === CH_BACKSLASH) {
      if (i + 1 >= chars.length) {
        throw new InvalidPatternError(pattern, 'it ends with a lone "\\" (write "\\\\" for a backslash)')
      }
      tokens.push({ kind: 'char', char: chars[i + 1]! })
      i += 2
    } else if (c === CH_OPEN) {
      i = parseClass(pattern, chars, i, tokens)
    } else {
      tokens.push({ kind: 'char', char: c })
      i++
    }
  }
  return tokens
}

/** Parses the class opening at `start`; returns the index after its closing `]`. */
function parseClass(pattern: string, chars: readonly number[], start: number, tokens: Token[]): number {
  let i = start + 1
  let negate = false
  if (chars[i] === CH_CARET || chars[i] === CH_BANG) {
    negate = true
    i++
  }
  const ranges: number[] = []
  const first = i
  const unclosed = () =>
    new InvalidPatternError(
      pattern,
      `the "[" at position ${start} is never closed (write "\\[" for a literal bracket)`,
    )
  const member = (): number => {
    if (i >= chars.length) throw unclosed()
    if (chars[i] === CH_BACKSLASH) {
      if (i + 1 >= chars.length) throw unclosed()
      i += 2
      return chars[i - 1]!
    }
    return chars[i++]!
  }
  for (;;) {
    if (i >= chars.length) throw unclosed()
    // A "]" right after "[" or "[^" is a member (POSIX), so "[]]" and "[^]]" mean what they say.
    if (chars[i] === CH_CLOSE && i > first) break
    const low = member()
    if (chars[i] === CH_DASH && i + 1 < chars.length && chars[i + 1] !== CH_CLOSE) {
      i++
      const high = member()
      if (low > high) {
        throw new InvalidPatternError(
          pattern,
          `the range "${String.fromCodePoint(low)}-${String.fromCodePoint(high)}" is reversed`,
        )
      }
      ranges.push(low, high)
    } else {
      ranges.push(low, low)
    }
  }
  tokens.push({ kind: 'class', negate, ranges })
  return i + 1
}

/**
 * The classic wildcard match: walk text and pattern together; on a mismatch go back to just after the
 * last `*` and let it swallow one more character. Every other token matches exactly one character, so
 * returning to the last star is enough (an earlier star could only have swallowed less), and each
 * restart advances the text: at most text × pattern steps.
 */
function matchTokens(tokens: readonly Token[], text: readonly number[]): boolean {
  let p = 0
  let t = 0
  let starP = -1
  let starT = 0
  while (t < text.length) {
    const token = tokens[p]
    if (token === STAR) {
      starP = p++
      starT = t
    } else if (token !== undefined && matchesOne(token, text[t]!)) {
      p++
      t++
    } else if (starP >= 0) {
      p = starP + 1
      t = ++starT
    } else {
      return false
    }
  }
  while (tokens[p] === STAR) p++
  return p === tokens.length
}

function matchesOne(token: Token, c: number): boolean {
  switch (token.kind) {
    case 'any':
      return true
    case 'char':
      return token.char === c
    case 'class': {
      const { ranges } = token
      let inside = false
      for (let r = 0; r < ranges.length; r += 2) {
        if (c >= ranges[r]! && c <= ranges[r + 1]!) {
          inside = true
          break
        }
      }
      return inside !== token.negate
    }
    default:
      return false
  }
}

function unescapeLiteral(tokens: readonly Token[]): string {
  let out = ''
  for (const token of tokens) if (token.kind === 'char') out += String.fromCodePoint(token.char)
  return out
}

/** The string as code points (a lone surrogate stays one element). */
function codePoints(text: string): number[] {
  const out: number[] = new Array(text.length)
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i)!
    if (c > 0xffff) i++
    out[n++] = c
  }
  out.length = n
  return out
}

const CH_STAR = 0x2a
const CH_QUESTION = 0x3f
const CH_BACKSLASH = 0x5c
const CH_OPEN = 0x5b
const CH_CLOSE = 0x5d
const CH_CARET = 0x5e
const CH_BANG = 0x21
const CH_DASH = 0x2d
