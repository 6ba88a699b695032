import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createCache, globToRegExp, InvalidPatternError } from '../src/index.js'
import { compileGlob } from '../src/keys/glob.js'
import { SyncMapBackend } from './support/backends.js'

describe('compileGlob', () => {
  const cases: [string, string[], string[]][] = [
    ['h?llo', ['hello', 'hallo', 'hxllo'], ['hllo', 'heello']],
    ['h*llo', ['hllo', 'heeeello'], ['hell']],
    ['h[ae]llo', ['hello', 'hallo'], ['hillo']],
    ['h[^e]llo', ['hallo', 'hbllo'], ['hello']],
    ['h[!e]llo', ['hallo'], ['hello']],
    ['h[a-b]llo', ['hallo', 'hbllo'], ['hcllo']],
    ['a.b(c)+', ['a.b(c)+'], ['aXb(c)+', 'a.bc']],
    ['star\\*', ['star*'], ['starX']],
    ['line*', ['line\nbreak'], []],
    // Every syntax element, including the corners of classes.
    ['*', ['', 'anything', '\n'], []],
    ['**a**', ['a', 'xa', 'ax', 'xax'], ['', 'b']],
    ['?', ['a', '\n', '😀'], ['', 'ab']],
    ['a\\?b', ['a?b'], ['aXb']],
    ['a\\[b\\]', ['a[b]'], ['ab']],
    ['a\\\\b', ['a\\b'], ['ab', 'a\\\\b']],
    ['\\a', ['a'], ['\\a']],
    ['[]]', [']'], ['a']],
    ['[^]]', ['a'], [']']],
    ['[a-]', ['a', '-'], ['b']],
    ['[-a]', ['a', '-'], ['b']],
    ['[a-c-e]', ['a', 'b', 'c', '-', 'e'], ['d']],
    ['[\\]]', [']'], ['\\']],
    ['[\\-]', ['-'], ['\\']],
    ['[a\\-c]', ['a', '-', 'c'], ['b']],
    ['[\\^a]', ['^', 'a'], ['b']],
    ['[0-9][0-9]', ['42', '00'], ['4', '4a', '123']],
    ['[^0-9]*', ['a1', 'a'], ['1a', '']],
    ['[*?]', ['*', '?'], ['a']],
    ['[😀-😂]', ['😁'], ['😃', 'a']],
    ['user:*:name', ['user:1:name', 'user::name', 'user:a:b:name'], ['user:1:nam', 'user1:name']],
    ['exact', ['exact'], ['exac', 'exactly', 'Exact']],
    ['^$.|+(){}/', ['^$.|+(){}/'], ['x']],
  ]
  for (const [pattern, yes, no] of cases) {
    it(`${pattern}`, () => {
      const matcher = compileGlob(pattern)
      for (const s of yes) expect(matcher.test(s), s).toBe(true)
      for (const s of no) expect(matcher.test(s), s).toBe(false)
    })
  }

  it('keeps globToRegExp (deprecated) as the same matcher, with its test method', () => {
    const matcher = globToRegExp('h*llo')
    expect(matcher.test('hello')).toBe(true)
    expect(matcher.test('help')).toBe(false)
    expect(matcher.pattern).toBe('h*llo')
  })

  describe('malformed patterns are an InvalidPatternError', () => {
    for (const pattern of ['[z-a]', 'a[9-0]b', '[abc', 'x[', '[^', '[]', '[a\\', 'trailing\\', '[a-']) {
      it(JSON.stringify(pattern), () => {
        expect(() => compileGlob(pattern)).toThrow(InvalidPatternError)
        try {
          compileGlob(pattern)
        } catch (error) {
          expect((error as InvalidPatternError).code).toBe('E_INVALID_PATTERN')
          expect((error as Error).message).toContain(JSON.stringify(pattern))
        }
      })
    }
  })

  describe('pathological patterns finish fast (no backtracking blow-up)', () => {
    const text = 'a'.repeat(10_000)
    for (const pattern of [
      '*a*a*a*a*a*a*a*a*a*b',
      'a*a*a*a*a*a*a*a*a*a*a*c',
      '*?*?*?*?*?*?*?*?*?*?b',
      '*[a]*[a]*[a]*[a]*[a]*b',
    ]) {
      it(`${pattern} against 10 000 × "a"`, { timeout: 1000 }, () => {
        expect(compileGlob(pattern).test(text)).toBe(false)
        expect(compileGlob(pattern).test(`${text}b`)).toBe(pattern.endsWith('b'))
      })
    }

    it('deletePattern with a 22-character pattern over many keys returns promptly', { timeout: 1000 }, () => {
      const cache = createCache({ domainKey: 'GLOB', backend: SyncMapBackend })
      const long = 'a'.repeat(200)
      for (let i = 0; i < 200; i++) cache.set(`${long}${i}`, i)
      cache.set('a-b', 1)
      expect(cache.deletePattern('a*a*a*a*a*a*a*a*a*a*a*c')).toBe(0)
      expect(cache.deletePattern('a*b')).toBe(1)
      expect(() => cache.deletePattern('[z-a]')).toThrow(InvalidPatternError)
    })
  })

  describe('agrees with a simple reference matcher', () => {
    const pieces = [
      'a',
      'b',
      '-',
      '.',
      '*',
      '?',
      '[ab]',
      '[^a]',
      '[!b]',
      '[a-b]',
      '[]a]',
      '\\*',
      '\\?',
      '\\[',
      ']',
    ]
    const pattern = fc.array(fc.constantFrom(...pieces), { maxLength: 8 }).map((parts) => parts.join(''))
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', '*', '?', '[', ']'), maxLength: 12 })

    it('on generated well-formed patterns', () => {
      fc.assert(
        fc.property(pattern, text, (p, t) => {
          expect(compileGlob(p).test(t)).toBe(reference(p, t))
        }),
        { numRuns: 3000 },
      )
    })

    it('on arbitrary strings of glob syntax, malformed ones included', () => {
      const raw = fc.string({
        unit: fc.constantFrom('a', 'b', '*', '?', '[', ']', '^', '!', '-', '\\'),
        maxLength: 8,
      })
      fc.assert(
        fc.property(raw, text, (p, t) => {
          let actual: boolean | 'invalid'
          try {
            actual = compileGlob(p).test(t)
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidPatternError)
            actual = 'invalid'
          }
          expect(actual).toBe(reference(p, t))
        }),
        { numRuns: 3000 },
      )
    })
  })
})

/**
 * A deliberately naive reference: a memoized recursive matcher that reads the pattern string directly
 * (no tokens), BMP characters only. 'invalid' where the pattern is malformed.
 */
function reference(pattern: string, text: string): boolean | 'invalid' {
  // Validate the whole pattern first: a match may stop reading before the malformed part.
  for (let p = 0; p < pattern.length; ) {
    if (pattern[p] === '\\') {
      if (p + 1 >= pattern.length) return 'invalid'
      p += 2
    } else if (pattern[p] === '[') {
      const parsed = readClass(pattern, p)
      if (parsed === undefined) return 'invalid'
      p = parsed.end
    } else p++
  }
  const memo = new Map<number, boolean>()
  const go = (p: number, t: number): boolean => {
    const id = p * (text.length + 1) + t
    const known = memo.get(id)
    if (known !== undefined) return known
    let result: boolean
    const c = pattern[p]
    if (p === pattern.length) result = t === text.length
    else if (c === '*') result = go(p + 1, t) || (t < text.length && go(p, t + 1))
    else if (t === text.length) result = false
    else if (c === '?') result = go(p + 1, t + 1)
    else if (c === '\\') result = pattern[p + 1] === text[t] && go(p + 2, t + 1)
    else if (c === '[') {
      const { end, has } = readClass(pattern, p)!
      result = has(text[t]!) && go(end, t + 1)
    } else result = c === text[t] && go(p + 1, t + 1)
    memo.set(id, result)
    return result
  }
  return go(0, 0)
}

function readClass(pattern: string, start: number): { end: number; has: (c: string) => boolean } | undefined {
  let i = start + 1
  const negate = pattern[i] === '^' || pattern[i] === '!'
  if (negate) i++
  const first = i
  const tests: ((c: string) => boolean)[] = []
  const one = (): string | undefined => {
    if (pattern[i] === '\\') {
      i += 2
      return pattern[i - 1]
    }
    return pattern[i++]
  }
  while (true) {
    if (i >= pattern.length) return undefined
    if (pattern[i] === ']' && i > first) break
    const low = one()
    if (low === undefined) return undefined
    if (pattern[i] === '-' && i + 1 < pattern.length && pattern[i + 1] !== ']') {
      i++
      const high = one()
      if (high === undefined || low > high) return undefined
      tests.push((c) => c >= low && c <= high)
    } else tests.push((c) => c === low)
  }
  return { end: i + 1, has: (c) => tests.some((test) => test(c)) !== negate }
}
