import { backendFromUrl, InvalidOptionError, RapideError, ValueTooLargeError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { MemoryBackend } from '../src/index.js'

/** The error `open` throws, checked to be an `InvalidOptionError` whose message never shows `secret`. */
function refusal(open: () => unknown): InvalidOptionError {
  let caught: unknown
  try {
    open()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(InvalidOptionError)
  expect((caught as Error).message).not.toContain('secret')
  return caught as InvalidOptionError
}

describe('MemoryBackend.fromUrl', () => {
  it('mem:// alone is a backend with the default bounds', () => {
    for (const url of ['mem://', 'mem:', 'MEM://', '  mem://  ']) {
      const backend = MemoryBackend.fromUrl(url)
      expect(backend).toBeInstanceOf(MemoryBackend)
      for (let i = 0; i < 10_001; i++) backend.set(`k${i}`, i, undefined)
      expect(backend.size).toBe(10_000) // the default maxEntries
    }
  })

  it('maxEntries bounds the entries: the least recently used go first', () => {
    const backend = MemoryBackend.fromUrl('mem://?maxEntries=3')
    for (const key of ['a', 'b', 'c', 'd']) backend.set(key, key, undefined)
    expect(backend.size).toBe(3)
    expect(backend.get('a')).toBeUndefined()
    expect(backend.get('d')).toBe('d')
  })

  it('maxBytes bounds the bytes: a value larger than the bound is refused', () => {
    const backend = MemoryBackend.fromUrl('mem:?maxEntries=100&maxBytes=1000')
    backend.set('small', 'x', undefined)
    expect(() => backend.set('large', 'x'.repeat(1000), undefined)).toThrow(ValueTooLargeError)
    expect(backend.calculatedBytes).toBeGreaterThan(0)
    expect(backend.calculatedBytes).toBeLessThanOrEqual(1000)
  })

  it('refuses an unknown option, with a suggestion for a typo', () => {
    const error = refusal(() => MemoryBackend.fromUrl('mem://?maxEntrie=10'))
    expect(error.message).toMatch(/unknown option "maxEntrie" \(did you mean "maxEntries"\?\)/)
    expect(refusal(() => MemoryBackend.fromUrl('mem://?ttl=10')).message).toContain(
      'known options: maxEntries, maxBytes',
    )
  })

  it('refuses ill-typed values, a value given twice, and values the constructor refuses', () => {
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxEntries=many')).message).toMatch(
      /maxEntries.*whole number/,
    )
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxBytes=1.5')).message).toMatch(/maxBytes/)
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxEntries=')).message).toMatch(/maxEntries/)
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxEntries=1&maxEntries=2')).message).toMatch(
      /"maxEntries" is given 2 times/,
    )
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxEntries=0')).message).toMatch(
      /maxEntries must be a positive integer/,
    )
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxBytes=-5')).message).toMatch(/maxBytes/)
  })

  it('refuses a host, a path, credentials and a fragment, without showing a password', () => {
    expect(refusal(() => MemoryBackend.fromUrl('mem://localhost')).message).toMatch(/no host and no path/)
    expect(refusal(() => MemoryBackend.fromUrl('mem:///cache')).message).toMatch(/no host and no path/)
    expect(refusal(() => MemoryBackend.fromUrl('mem:cache?maxEntries=1')).message).toMatch(
      /no host and no path/,
    )
    const credentials = refusal(() => MemoryBackend.fromUrl('mem://app:secret@?maxEntries=1'))
    expect(credentials.message).toMatch(/no credentials/)
    expect(credentials.message).toContain('app:***@')
    expect(refusal(() => MemoryBackend.fromUrl('mem://?maxEntries=1#top')).message).toMatch(/fragment/)
  })

  it('refuses what is not a mem: URL', () => {
    expect(refusal(() => MemoryBackend.fromUrl('memory://')).message).toMatch(/not a mem: URL/)
    expect(refusal(() => MemoryBackend.fromUrl('redis://u:secret@host')).message).toMatch(/not a mem: URL/)
    expect(refusal(() => MemoryBackend.fromUrl(42 as unknown as string)).message).toMatch(
      /expected a URL string/,
    )
  })

  it('backendFromUrl in core loads this package and gives the same backend', () => {
    const viaCore = backendFromUrl('mem://?maxEntries=2', { resolveFrom: import.meta.url })
    const direct = MemoryBackend.fromUrl('mem://?maxEntries=2')
    // The core loads the built package (dist), so the classes are two copies of one: compare by behaviour.
    expect(viaCore.constructor.name).toBe('MemoryBackend')
    expect(viaCore.name).toBe(direct.name)
    expect(viaCore.capabilities).toEqual(direct.capabilities)
    for (const backend of [viaCore, direct] as MemoryBackend[]) {
      for (const key of ['a', 'b', 'c']) backend.set(key, key, undefined)
      expect(backend.size).toBe(2)
      expect(backend.get('a')).toBeUndefined()
    }
    let caught: unknown
    try {
      backendFromUrl('mem://?maxEntries=nope', { resolveFrom: import.meta.url })
    } catch (error) {
      caught = error
    }
    expect(RapideError.isInstance(caught) && caught.code).toBe('E_INVALID_OPTION')
  })
})
