import { InvalidOptionError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { memoryOptionsFromUrl } from '../src/from-url.js'
import { MemoryBackend } from '../src/index.js'

// Review of setup by URL (memory): the URL names bounds only; anything else is refused.

describe('mem: URL', () => {
  it('reads the scheme in any case and an empty query as the defaults', () => {
    expect(memoryOptionsFromUrl('MEM://?maxEntries=5')).toEqual({ maxEntries: 5 })
    expect(memoryOptionsFromUrl('mem://?')).toEqual({})
    expect(memoryOptionsFromUrl('mem:?maxEntries=7&')).toEqual({ maxEntries: 7 })
  })

  it('refuses zero and negative zero bounds, an empty value, a lone slash and a differently cased option', () => {
    for (const url of [
      'mem:?maxEntries=0',
      'mem:?maxEntries=-0',
      'mem:?maxBytes=',
      'mem:/',
      'mem:?maxentries=5',
    ]) {
      expect(() => MemoryBackend.fromUrl(url), url).toThrow(InvalidOptionError)
    }
  })
})
