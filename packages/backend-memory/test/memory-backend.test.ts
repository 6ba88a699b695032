import { createCache, InvalidOptionError } from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { estimateSize, MemoryBackend } from '../src/index.js'

describe('MemoryBackend', () => {
  it('is bounded by maxEntries, least recently used first', () => {
    const backend = new MemoryBackend({ maxEntries: 3 })
    for (const key of ['a', 'b', 'c']) backend.set(key, key, undefined)
    backend.get('a')
    backend.set('d', 'd', undefined)
    expect(backend.size).toBe(3)
    expect(backend.get('b')).toBeUndefined()
    expect(backend.get('a')).toBe('a')
  })

  it('is bounded by maxBytes using estimated sizes', () => {
    const backend = new MemoryBackend({ maxEntries: 1_000_000, maxBytes: 100_000 })
    for (let i = 0; i < 1000; i++) backend.set(`k${i}`, 'x'.repeat(1000), undefined)
    expect(backend.calculatedBytes).toBeLessThanOrEqual(100_000)
    expect(backend.size).toBeLessThan(100)
    expect(backend.get('k999')).toBeDefined()
  })

  it('keeps a wrapped function cache bounded however many keys pass through it', () => {
    const backend = new MemoryBackend({ maxEntries: 500 })
    const cache = createCache({ domainKey: 'BOUNDED', backend })
    const square = cache.wrap('SQUARE', (n: number) => n * n)
    for (let i = 0; i < 20_000; i++) square(i)
    expect(backend.size).toBeLessThanOrEqual(500)
    expect(square(19_999)).toBe(19_999 * 19_999)
  })

  it('returns the stored object itself (no serialization on the hot path)', () => {
    const backend = new MemoryBackend()
    const cache = createCache({ domainKey: 'REF', backend })
    const value = { big: 'object' }
    const get = cache.wrap('GET', (_id: number) => value)
    expect(get(1)).toBe(value)
    expect(get(1)).toBe(value)
  })

  it('an increment keeps the counter’s time to live', async () => {
    const backend = new MemoryBackend()
    expect(backend.incr('n', 1, 30)).toBe(1)
    expect(backend.incr('n', 1, undefined)).toBe(2)
    await new Promise((r) => setTimeout(r, 60))
    expect(backend.get('n')).toBeUndefined()
  })

  it('refuses invalid bounds', () => {
    expect(() => new MemoryBackend({ maxEntries: 0 })).toThrow(InvalidOptionError)
    expect(() => new MemoryBackend({ maxEntries: 1.5 })).toThrow(InvalidOptionError)
    expect(() => new MemoryBackend({ maxBytes: -1 })).toThrow(InvalidOptionError)
  })
})

describe('estimateSize', () => {
  it('grows with content and survives cycles', () => {
    const cyclic: Record<string, unknown> = { a: 'x'.repeat(100) }
    cyclic.self = cyclic
    expect(estimateSize('x'.repeat(1000))).toBeGreaterThan(estimateSize('x'))
    expect(estimateSize(new Uint8Array(5000))).toBeGreaterThan(5000)
    expect(estimateSize(new Map([[1, 'x'.repeat(500)]]))).toBeGreaterThan(1000)
    expect(estimateSize(cyclic)).toBeGreaterThan(200)
  })
})
