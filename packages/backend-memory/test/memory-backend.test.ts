import {
  ClosedError,
  CounterOverflowError,
  createCache,
  InvalidOptionError,
  NotACounterError,
  ValueTooLargeError,
} from '@rapide/core'
import { describe, expect, it } from 'vitest'
import { estimateSize, hiddenBytes, MemoryBackend, type MemoryBackendOptions } from '../src/index.js'

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

  it('a scoped view indexes its namespace: evicted and replaced entries leave the index', () => {
    const backend = new MemoryBackend({ maxEntries: 2 })
    const view = backend.accelerations().scope!('ns:')
    view.set('a', 1, undefined)
    view.set('b', 2, undefined)
    view.set('c', 3, undefined)
    expect(view.get('a')).toBeUndefined()
    expect(view.get('c')).toBe(3)
    // A plain write over an indexed key replaces it, and the view reads the plain value.
    backend.set('ns:c', 'plain', undefined)
    expect(view.get('c')).toBe('plain')
    // Views of one namespace share its index.
    expect(backend.accelerations().scope!('ns:').get('c')).toBe('plain')
  })

  it('after close() every operation throws ClosedError, views made before included; close twice is harmless', () => {
    const backend = new MemoryBackend()
    const view = backend.accelerations().scope!('ns:')
    view.set('a', 1, undefined)
    backend.set('k', 1, undefined)
    backend.close()
    backend.close()
    expect(() => view.get('a')).toThrow(ClosedError)
    expect(() => view.set('b', 1, undefined)).toThrow(ClosedError)
    expect(() => backend.get('k')).toThrow(ClosedError)
    expect(() => backend.keys('')).toThrow(ClosedError)
    expect(() => backend.deletePrefix('')).toThrow(ClosedError)
    expect(() => backend.accelerations().scope!('other:')).toThrow(ClosedError)
    expect(backend.size).toBe(0)
  })

  it('implements contract version 2 with no version 1 member left', () => {
    const backend = new MemoryBackend()
    expect(backend.specificationVersion).toBe(2)
    for (const member of ['getIn', 'setIn', 'setGuarded', 'reclaimPrefix'])
      expect(member in backend).toBe(false)
  })

  it('refuses invalid bounds', () => {
    expect(() => new MemoryBackend({ maxEntries: 0 })).toThrow(InvalidOptionError)
    expect(() => new MemoryBackend({ maxEntries: 1.5 })).toThrow(InvalidOptionError)
    expect(() => new MemoryBackend({ maxBytes: -1 })).toThrow(InvalidOptionError)
  })

  it('refuses unknown options, naming them', () => {
    const misspelt = { maxEntires: 5 } as MemoryBackendOptions
    expect(() => new MemoryBackend(misspelt)).toThrow(InvalidOptionError)
    expect(() => new MemoryBackend(misspelt)).toThrow(/"maxEntires".*did you mean "maxEntries"/)
    expect(() => new MemoryBackend({ ttl: 5 } as MemoryBackendOptions)).toThrow(/unknown option "ttl"/)
    expect(() => new MemoryBackend({ maxEntries: undefined, maxBytes: 1000 })).not.toThrow()
  })
})

describe('MemoryBackend counters', () => {
  it('refuses an increment that would leave the safe integer range, leaving the counter unchanged', () => {
    const backend = new MemoryBackend()
    const max = Number.MAX_SAFE_INTEGER
    expect(backend.incr('up', max - 1, undefined)).toBe(max - 1)
    expect(backend.incr('up', 1, undefined)).toBe(max)
    expect(() => backend.incr('up', 1, undefined)).toThrow(CounterOverflowError)
    expect(backend.get('up')).toBe(max)
    expect(backend.incr('up', -1, undefined)).toBe(max - 1)

    expect(backend.incr('down', -max, undefined)).toBe(-max)
    expect(() => backend.incr('down', -1, undefined)).toThrow(CounterOverflowError)
    expect(backend.get('down')).toBe(-max)
  })

  it('through the key-value API: a typed error, the counter unchanged', () => {
    const cache = createCache({ domainKey: 'COUNT', backend: new MemoryBackend() })
    cache.incr('n', Number.MAX_SAFE_INTEGER - 2)
    cache.incr('n', 2)
    expect(() => cache.incr('n')).toThrow(CounterOverflowError)
    expect(cache.incr('n', 0)).toBe(Number.MAX_SAFE_INTEGER)
  })

  it('an increment of a number that is not an integer is not a counter', () => {
    const backend = new MemoryBackend()
    backend.set('f', 1.5, undefined)
    expect(() => backend.incr('f', 1, undefined)).toThrow(NotACounterError)
    expect(backend.get('f')).toBe(1.5)
  })
})

describe('MemoryBackend maxBytes', () => {
  it('counts the whole buffer behind a small view', () => {
    const backend = new MemoryBackend({ maxBytes: 1_000_000 })
    const big = new ArrayBuffer(10_000_000)
    expect(() => backend.set('view', new Uint8Array(big, 0, 10), undefined)).toThrow(ValueTooLargeError)
    expect(() => backend.set('sub', Buffer.alloc(10_000_000).subarray(0, 4), undefined)).toThrow(
      ValueTooLargeError,
    )
    expect(backend.size).toBe(0)
  })

  it('keeps the bound however many small views of one big buffer are stored', () => {
    const backend = new MemoryBackend({ maxEntries: 10_000, maxBytes: 1_000_000 })
    const shared = new ArrayBuffer(400_000)
    for (let i = 0; i < 100; i++) backend.set(`v${i}`, new Uint8Array(shared, i, 1), undefined)
    // Each entry keeps the 400 kB buffer alive as far as the bound can tell: two fit, not a hundred.
    expect(backend.size).toBeLessThanOrEqual(2)
    expect(backend.calculatedBytes).toBeLessThanOrEqual(1_000_000)
  })

  it('counts one buffer once within a value', () => {
    const buffer = new ArrayBuffer(100_000)
    const views = Array.from({ length: 10 }, (_, i) => new Uint8Array(buffer, i * 10, 10))
    expect(estimateSize(views)).toBeGreaterThan(100_000)
    expect(estimateSize(views)).toBeLessThan(200_000)
  })

  it('counts non-enumerable, symbol-keyed and boxed contents', () => {
    const hidden = {}
    Object.defineProperty(hidden, 'data', { value: 'x'.repeat(50_000), enumerable: false })
    expect(estimateSize(hidden)).toBeGreaterThan(100_000)
    expect(estimateSize({ [Symbol('s')]: 'x'.repeat(50_000) })).toBeGreaterThan(100_000)
    expect(estimateSize(new String('x'.repeat(50_000)))).toBeGreaterThan(100_000)
    const error = new Error('x'.repeat(50_000))
    expect(estimateSize(error)).toBeGreaterThan(100_000)
  })

  it('does not call getters, and measures deep nesting without recursion', () => {
    const trap = {
      get boom(): never {
        throw new Error('a getter ran')
      },
    }
    expect(() => estimateSize(trap)).not.toThrow()
    let deep: { next?: unknown } = {}
    for (let i = 0; i < 200_000; i++) deep = { next: deep }
    expect(estimateSize(deep)).toBeGreaterThan(200_000 * 32)
  })

  it('counts #private state its class declares with [hiddenBytes]()', () => {
    class Opaque {
      readonly #pixels = new Uint8Array(2_000_000)
      get width(): number {
        return this.#pixels.length
      }
    }
    class Declared {
      readonly #pixels = new Uint8Array(2_000_000);
      [hiddenBytes](): number {
        return this.#pixels.buffer.byteLength
      }
    }
    // Private fields are invisible to any walk: without the declaration the instance looks tiny.
    expect(estimateSize(new Opaque())).toBeLessThan(1000)
    expect(estimateSize(new Declared())).toBeGreaterThan(2_000_000)
    const backend = new MemoryBackend({ maxBytes: 1_000_000 })
    expect(() => backend.set('tile', new Declared(), undefined)).toThrow(ValueTooLargeError)
  })

  it('refuses a value larger than the bound instead of dropping it silently; the key is left empty', () => {
    const backend = new MemoryBackend({ maxBytes: 10_000 })
    backend.set('k', 'small', undefined)
    expect(() => backend.set('k', 'x'.repeat(20_000), undefined)).toThrow(ValueTooLargeError)
    expect(backend.get('k')).toBeUndefined()
    expect(() => backend.setNx('n', 'x'.repeat(20_000), undefined)).toThrow(ValueTooLargeError)
    expect(backend.get('n')).toBeUndefined()
    const view = backend.accelerations().scope!('ns:')
    expect(() => view.set('a', 'x'.repeat(20_000), undefined)).toThrow(ValueTooLargeError)
    expect(view.get('a')).toBeUndefined()
  })

  it('a setMany with one value over the bound writes none of the batch', () => {
    const backend = new MemoryBackend({ maxBytes: 10_000 })
    expect(() =>
      backend.setMany([
        { key: 'a', value: 'ok', ttlMs: undefined },
        { key: 'b', value: 'x'.repeat(20_000), ttlMs: undefined },
      ]),
    ).toThrow(ValueTooLargeError)
    expect(backend.get('a')).toBeUndefined()
    expect(backend.size).toBe(0)
  })

  it('measures a huge value no further than the bound', () => {
    const backend = new MemoryBackend({ maxBytes: 1_000_000 })
    const sparse: unknown[] = []
    sparse[30_000_000] = 1
    const map = new Map<number, { i: number }>()
    for (let i = 0; i < 300_000; i++) map.set(i, { i })
    let visited = 0
    const counted = new Set<object>()
    const spy = new Proxy(counted, {
      get(target, name) {
        if (name === 'add') visited++
        const member = Reflect.get(target, name, target)
        return typeof member === 'function' ? member.bind(target) : member
      },
    })
    // The walk stops just past twice the bound: a few thousand objects, not 300 000.
    expect(estimateSize(map, spy, 2_000_000)).toBeGreaterThan(2_000_000)
    expect(visited).toBeLessThan(100_000)
    expect(() => backend.set('sparse', sparse, undefined)).toThrow(ValueTooLargeError)
    expect(() => backend.set('map', map, undefined)).toThrow(ValueTooLargeError)
  })

  it('key-value set of an oversized value throws ValueTooLargeError to the caller', () => {
    const cache = createCache({ domainKey: 'KV', backend: new MemoryBackend({ maxBytes: 10_000 }) })
    expect(() => cache.set('big', 'x'.repeat(20_000))).toThrow(ValueTooLargeError)
    expect(cache.get('big')).toBeUndefined()
    cache.set('small', 'ok')
    expect(cache.get('small')).toBe('ok')
  })

  it('a wrapped function whose result is too large returns it, reports ValueTooLargeError and stores nothing', () => {
    const cache = createCache({ domainKey: 'BIG', backend: new MemoryBackend({ maxBytes: 10_000 }) })
    const errors: unknown[] = []
    cache.on('error', ({ error }) => errors.push(error))
    let calls = 0
    const make = cache.wrap('MAKE', (n: number) => {
      calls++
      return 'x'.repeat(n)
    })
    expect(make(20_000)).toHaveLength(20_000)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(ValueTooLargeError)
    expect(make(20_000)).toHaveLength(20_000)
    expect(calls).toBe(2)
    // Values within the bound are still cached.
    make(10)
    make(10)
    expect(calls).toBe(3)
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
