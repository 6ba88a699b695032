import { type CacheEvents, createCache, RateLimitError } from '@rapide/core'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { MemoryBackend } from '../src/index.js'

// Every freshness and resilience strategy on the memory backend, with a fake clock: the strategies judge
// a result's age by when it was stored (Date), and their refreshes run on (fake) timers and immediates.
// The backend's own expiry keeps results for their ttl plus the strategies' windows, so it never removes
// one a strategy still needs within these tests.

const SECOND = 1000
const MINUTE = 60 * SECOND

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate'],
  })
  vi.setSystemTime(new Date('2026-01-01T00:00:00Z'))
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

const settle = async () => {
  for (let i = 0; i < 3; i++) await vi.advanceTimersByTimeAsync(1)
}

function setUp() {
  const cache = createCache({ domainKey: 'STRATEGIES', backend: new MemoryBackend({ maxEntries: 1000 }) })
  const stale: CacheEvents['stale'][] = []
  cache.on('stale', (event) => stale.push(event))
  const source = { version: 1, computations: 0, fail: undefined as Error | undefined, delayMs: 0 }
  const load = async (id: number) => {
    source.computations++
    const version = source.version
    if (source.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, source.delayMs))
    if (source.fail !== undefined) throw source.fail
    return `v${version}-${id}`
  }
  return { cache, stale, source, load }
}

describe('freshness on the memory backend', () => {
  it('staleWhileRevalidate: a stale result answers at once, one background refresh replaces it', async () => {
    const { cache, stale, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '1m', staleWhileRevalidate: '5m' })
    expect(await f(1)).toBe('v1-1')
    source.version = 2
    vi.advanceTimersByTime(2 * MINUTE)
    expect(await Promise.all([f(1), f(1)])).toEqual(['v1-1', 'v1-1'])
    expect(stale.map((event) => event.reason)).toEqual(['staleWhileRevalidate', 'staleWhileRevalidate'])
    await settle()
    expect(source.computations).toBe(2)
    expect(await f(1)).toBe('v2-1')
    await cache.close()
  })

  it('failSafe: a failing computation answers the last good result within grace; an invalidated one never', async () => {
    const { cache, stale, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '1m', failSafe: '1h' })
    await f(1)
    await f(2)
    vi.advanceTimersByTime(5 * MINUTE)
    source.fail = new Error('source down')
    expect(await f(1)).toBe('v1-1')
    expect(stale[0]).toMatchObject({ reason: 'failSafe', error: source.fail })
    f.invalidate(2)
    await expect(f(2)).rejects.toThrow('source down')
    await cache.close()
  })

  it('softTimeout: a slow computation answers the kept result, then stores its own', async () => {
    const { cache, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '1m', failSafe: '1h', softTimeout: '100ms' })
    await f(1)
    vi.advanceTimersByTime(2 * MINUTE)
    source.version = 2
    source.delayMs = 2 * SECOND
    const answer = f(1)
    await vi.advanceTimersByTimeAsync(150)
    expect(await answer).toBe('v1-1')
    await vi.advanceTimersByTimeAsync(2 * SECOND)
    source.delayMs = 0
    expect(await f(1)).toBe('v2-1')
    await cache.close()
  })

  it('earlyRefresh: a hit drawn near expiry refreshes in the background', async () => {
    const { cache, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '1m', earlyRefresh: { beta: 2 } })
    source.delayMs = SECOND
    const first = f(1)
    await vi.advanceTimersByTimeAsync(SECOND)
    await first
    source.delayMs = 0
    source.version = 2
    vi.advanceTimersByTime(55 * SECOND)
    vi.spyOn(Math, 'random').mockReturnValue(1e-6) // −δβ·ln(rand) ≈ 27.6 s ≥ the 5 s left
    expect(await f(1)).toBe('v1-1')
    await settle()
    vi.restoreAllMocks()
    expect(source.computations).toBe(2)
    vi.spyOn(Math, 'random').mockReturnValue(0.999)
    expect(await f(1)).toBe('v2-1')
    await cache.close()
  })

  it('neverDie: refreshed before expiry while called; stops when idle and at close()', async () => {
    const { cache, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '100s', neverDie: { idle: '5m' } })
    await f(1)
    source.version = 2
    await vi.advanceTimersByTimeAsync(91 * SECOND)
    expect(source.computations).toBe(2)
    expect(await f(1)).toBe('v2-1')
    await vi.advanceTimersByTimeAsync(30 * MINUTE)
    const afterIdle = source.computations
    await vi.advanceTimersByTimeAsync(30 * MINUTE)
    expect(source.computations).toBe(afterIdle)
    await cache.close()
  })

  it('cacheIf: refused results are returned, not stored', async () => {
    const { cache } = setUp()
    let computations = 0
    const f = cache.wrap(
      'F',
      (id: number) => {
        computations++
        return id > 0 ? { id } : null
      },
      { cacheIf: (value) => value !== null },
    )
    expect([f(0), f(0), f(1), f(1)]).toEqual([null, null, { id: 1 }, { id: 1 }])
    expect(computations).toBe(3)
    await cache.close()
  })
})

describe('other strategies on the memory backend', () => {
  it('hitLimit: dropped after N hits, refreshed ahead', async () => {
    const { cache, source, load } = setUp()
    const f = cache.wrap('F', load, { ttl: '1h', hitLimit: { hits: 4, refreshBefore: 1 } })
    await f(1)
    await f(1)
    await f(1)
    source.version = 2
    expect(await f(1)).toBe('v1-1') // third hit: refreshed ahead
    await settle()
    expect(await f(1)).toBe('v2-1')
    expect(source.computations).toBe(2)
    await cache.close()
  })

  it('rateLimit: counted per arguments and period in the process', () => {
    const { cache } = setUp()
    const f = cache.wrap('F', (id: number) => id, { ttl: '1h', rateLimit: { limit: 2, period: '1s' } })
    expect([f(1), f(1), f(2)]).toEqual([1, 1, 2])
    expect(() => f(1)).toThrow(RateLimitError)
    vi.advanceTimersByTime(SECOND)
    expect(f(1)).toBe(1)
  })

  it('cacheWhenSlow: stored only once computing is slow', () => {
    const { cache } = setUp()
    let costMs = 5
    let computations = 0
    const f = cache.wrap(
      'F',
      (id: number) => {
        computations++
        vi.advanceTimersByTime(costMs)
        return id
      },
      { ttl: '1h', cacheWhenSlow: true },
    )
    for (let i = 0; i < 4; i++) f(1)
    expect(computations).toBe(4)
    costMs = 50
    f(1)
    f(1)
    expect(computations).toBe(5)
  })

  it('setExpiry, flushExpired, clear', () => {
    const { cache } = setUp()
    let computations = 0
    const f = cache.wrap(
      'F',
      (id: number) => {
        computations++
        return id
      },
      { ttl: '1h' },
    )
    f(1)
    f(2)
    vi.advanceTimersByTime(20 * MINUTE)
    f(3)
    f.setExpiry('10m')
    expect(f.flushExpired()).toBe(2)
    f(3)
    expect(computations).toBe(3)
    expect(f.clear()).toBe(1)
    f(3)
    expect(computations).toBe(4)
  })

  it('invalidator: a write path invalidates what it changes', () => {
    const { cache } = setUp()
    const prices = new Map([['A', 1]])
    const price = cache.wrap('PRICE', (sku: string) => prices.get(sku))
    const setPrice = cache.invalidator(
      (sku: string, value: number) => {
        prices.set(sku, value)
      },
      { invalidates: [{ target: price, args: (_result, sku) => [sku] }] },
    )
    expect(price('A')).toBe(1)
    setPrice('A', 2)
    expect(price('A')).toBe(2)
  })

  it('a stampede of 1 000 concurrent calls on a cold key computes once', async () => {
    const { cache, source, load } = setUp()
    source.delayMs = 50
    const f = cache.wrap('F', load, { ttl: '1m' })
    const answers = Promise.all(Array.from({ length: 1000 }, () => f(9)))
    await vi.advanceTimersByTimeAsync(60)
    expect(new Set(await answers)).toEqual(new Set(['v1-9']))
    expect(source.computations).toBe(1)
    await cache.close()
  })
})
