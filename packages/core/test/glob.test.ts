import { describe, expect, it } from 'vitest'
import { globToRegExp } from '../src/index.js'

describe('globToRegExp', () => {
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
  ]
  for (const [pattern, yes, no] of cases) {
    it(`${pattern}`, () => {
      const re = globToRegExp(pattern)
      for (const s of yes) expect(re.test(s), s).toBe(true)
      for (const s of no) expect(re.test(s), s).toBe(false)
    })
  }
})
