import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache, NotSupportedError } from '../src/index.js'
import { AsyncBytesBackend, FullMapBackend } from './support/backends.js'

// cache.stats(): every call counts once as a hit or a miss; stale answers, computations, failures, errors,
// invalidations and compute time are counted per function and in total, on every kind of store.

afterEach(() => {
  vi.useRealTimers()
})

const stores = [
  ['local coordination (in-process values)', () => new FullMapBackend(false)],
  ['shared coordination (bytes, synchronous)', () => new FullMapBackend(true)],
  ['asynchronous store', () => new AsyncBytesBackend()],
] as const

describe.each(stores)('statistics on %s', (_name, makeBackend) => {
  it('counts hits, misses, computations, invalidations and the hit ratio per function and in total', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: makeBackend() })
    const double = cache.wrap('DOUBLE', (n: number) => n * 2)
    const square = cache.wrap('SQUARE', async (n: number) => n * n)
    expect(cache.stats().functions.DOUBLE).toMatchObject({ hits: 0, misses: 0, hitRatio: undefined })
    await double(1) // miss
    await double(1) // hit
    await double(1) // hit
    await double(2) // miss
    await square(3) // miss
    await square(3) // hit
    await cache.invalidateResult('DOUBLE', 1)
    await double(1) // miss again
    await cache.invalidateFunc('SQUARE')
    await cache.invalidateDomain()
    const { functions, total, domainInvalidations } = cache.stats()
    expect(functions.DOUBLE).toMatchObject({ hits: 2, misses: 3, computations: 3, invalidations: 1 })
    expect(functions.DOUBLE!.hitRatio).toBeCloseTo(2 / 5)
    expect(functions.SQUARE).toMatchObject({ hits: 1, misses: 1, computations: 1, invalidations: 1 })
    expect(total).toMatchObject({ hits: 3, misses: 4, computations: 4, invalidations: 2, failures: 0 })
    expect(domainInvalidations).toBe(1)
    await cache.close()
  })

  it('counts failed computations and their time, and a joined computation as a miss without a computation', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: makeBackend() })
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const slow = cache.wrap('SLOW', async (n: number) => {
      await gate
      if (n < 0) throw new Error('negative')
      return n
    })
    const first = slow(1)
    const second = slow(1) // joins the first computation
    await new Promise((resolve) => setTimeout(resolve, 20))
    release()
    expect(await first).toBe(1)
    expect(await second).toBe(1)
    await expect(slow(-1)).rejects.toThrow('negative')
    const stats = cache.stats().functions.SLOW!
    expect(stats).toMatchObject({ misses: 3, computations: 2, failures: 1, hits: 0 })
    expect(stats.computeMs).toBeGreaterThanOrEqual(15)
    await cache.close()
  })

  it('resets on request and reports when counting started', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: makeBackend() })
    const id = cache.wrap('ID', (n: number) => n)
    await id(1)
    await id(1)
    const before = cache.stats({ reset: true })
    expect(before.total).toMatchObject({ hits: 1, misses: 1 })
    const after = cache.stats()
    expect(after.total).toMatchObject({ hits: 0, misses: 0, computations: 0 })
    expect(after.since).toBeGreaterThanOrEqual(before.since)
    await id(1)
    expect(cache.stats().functions.ID).toMatchObject({ hits: 1, misses: 0 })
    await cache.close()
  })
})

describe('statistics: stale answers, errors and the off switch', () => {
  it('counts a stale-while-revalidate answer as a hit and as stale, and its background refresh as a computation', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'STATS', backend: new FullMapBackend(true) })
    let version = 0
    const read = cache.wrap('READ', () => ++version, { ttl: 1, staleWhileRevalidate: 10 })
    expect(read()).toBe(1)
    await vi.advanceTimersByTimeAsync(1500)
    expect(read()).toBe(1) // stale, refreshed in the background
    await vi.advanceTimersByTimeAsync(1)
    expect(read()).toBe(2)
    expect(cache.stats().functions.READ).toMatchObject({ hits: 2, misses: 1, stale: 1, computations: 2 })
    await cache.close()
  })

  it('counts a fail-safe answer as a miss and as stale, with the failure', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate'] })
    const cache = createCache({ domainKey: 'STATS', backend: new FullMapBackend(true) })
    let fail = false
    const read = cache.wrap(
      'READ',
      () => {
        if (fail) throw new Error('down')
        return 'kept'
      },
      { ttl: 1, failSafe: 60 },
    )
    expect(read()).toBe('kept')
    fail = true
    await vi.advanceTimersByTimeAsync(1500)
    expect(read()).toBe('kept')
    expect(cache.stats().functions.READ).toMatchObject({
      hits: 0,
      misses: 2,
      stale: 1,
      computations: 2,
      failures: 1,
    })
    await cache.close()
  })

  it('counts cache-side errors by operation and on the function whose key failed', async () => {
    const backend = new FullMapBackend(true)
    const cache = createCache({ domainKey: 'STATS', backend })
    const id = cache.wrap('ID', (n: number) => n)
    id(1)
    // Damage the stored result: the next call reports a decode error and computes.
    for (const [key, entry] of backend.data) {
      if (!key.includes('r:{ID')) continue
      const bytes = entry.value as Uint8Array
      bytes[6] = bytes[6]! ^ 0xff
    }
    expect(id(1)).toBe(1)
    const stats = cache.stats()
    expect(stats.functions.ID).toMatchObject({ errors: 1, misses: 2 })
    expect(stats.errorsByOperation).toEqual({ decode: 1 })
    await cache.close()
  })

  it('a duplicate wrap does not reset the counters of the function already wrapped', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: new FullMapBackend(false) })
    const id = cache.wrap('ID', (n: number) => n)
    id(1)
    id(1)
    expect(() => cache.wrap('ID', (n: number) => n)).toThrow()
    expect(cache.stats().functions.ID).toMatchObject({ hits: 1, misses: 1 })
    await cache.close()
  })

  it('stats: false counts nothing and says so when asked', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: new FullMapBackend(false), stats: false })
    const id = cache.wrap('ID', (n: number) => n)
    expect(id(1)).toBe(1)
    expect(() => cache.stats()).toThrow(NotSupportedError)
    expect(() =>
      createCache({ domainKey: 'S', backend: new FullMapBackend(false), stats: 'yes' as never }),
    ).toThrow(/stats/)
    await cache.close()
  })
})

describe.each(stores)('key-value statistics on %s', (_name, makeBackend) => {
  it('counts reads found and not found, per key', async () => {
    const cache = createCache({ domainKey: 'STATS', backend: makeBackend() })
    await cache.set('a', 1)
    expect(await cache.get('a')).toBe(1)
    expect(await cache.get('missing')).toBeUndefined()
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, undefined, undefined])
    expect(cache.stats().keyValue).toEqual({ hits: 2, misses: 3, hitRatio: 2 / 5 })
    expect(cache.stats({ reset: true }).keyValue.hits).toBe(2)
    expect(cache.stats().keyValue).toEqual({ hits: 0, misses: 0, hitRatio: undefined })
    await cache.close()
  })
})
